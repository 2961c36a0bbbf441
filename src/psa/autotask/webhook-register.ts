import type { RegisterOutcome, SessionContext, WebhookRef } from "../connector.js";
import { isPsaError } from "../errors.js";
import { type AutotaskApi, queryAll } from "./api.js";
import type { AutotaskSettings } from "./settings.js";
import type { AutotaskEntity } from "./types.js";
import {
  matchWebhookField,
  NOTE_ALWAYS_FIELDS,
  NOTE_WEBHOOK_FIELDS,
  normLabel,
  TICKET_WEBHOOK_FIELDS,
} from "./webhook-fields.js";

/** A short, safe description of a failed call: the vendor's error text is bounded, never a URL or secret. */
function describe(e: unknown): string {
  if (isPsaError(e)) {
    const text = e.errors.join(" ").replace(/\s+/g, " ").slice(0, 300);
    return `Autotask answered ${e.status ?? e.code}${text ? `: ${text}` : ""}`;
  }
  return e instanceof Error ? e.message.slice(0, 300) : String(e).slice(0, 300);
}

interface Spec {
  entity: "Ticket" | "TicketNote";
  root: "TicketWebhooks" | "TicketNoteWebhooks";
  fields: Record<string, string[]>;
  always: Record<string, string[]>;
}

const SPECS: Spec[] = [
  { entity: "Ticket", root: "TicketWebhooks", fields: TICKET_WEBHOOK_FIELDS, always: {} },
  {
    entity: "TicketNote",
    root: "TicketNoteWebhooks",
    fields: NOTE_WEBHOOK_FIELDS,
    always: NOTE_ALWAYS_FIELDS,
  },
];

const rootOf = (entity: string) => (entity === "Ticket" ? "TicketWebhooks" : "TicketNoteWebhooks");

/**
 * A partner's TicketWebhook and TicketNoteWebhook (docs/autotask.md, Registration), registered so
 * that repeating it never leaves orphans: nocbridge's existing webhooks are found (the one on record,
 * else by URL or name) and repaired (name, URL, secret, active, subscriptions, missing fields,
 * excluded resource) instead of created again, and extra copies are deleted. A refusal (no
 * permission, maximum reached, URL) is reported, never thrown.
 */
export class AutotaskWebhookRegistrar {
  constructor(
    private readonly api: AutotaskApi,
    private readonly s: AutotaskSettings,
    private readonly ctx: SessionContext,
  ) {}

  async register(o: {
    partnerId: number;
    url: string;
    secret: string;
    known: WebhookRef[];
  }): Promise<RegisterOutcome> {
    const out: RegisterOutcome = { hooks: [], unsubscribed: [], failures: [] };
    let resourceId: number | null = null;
    try {
      resourceId = await this.#ownResource();
    } catch (e) {
      out.failures.push(`the API user's resource could not be read: ${describe(e)}`);
    }
    for (const spec of SPECS) {
      if (out.failures.length > 0) break;
      try {
        const known = o.known.find((k) => k.entity === spec.entity)?.id ?? null;
        const id = await this.#ensure(spec, o.partnerId, o.url, o.secret, known);
        out.hooks.push({ entity: spec.entity, id });
        out.unsubscribed.push(...(await this.#fields(spec, id)));
        if (resourceId !== null) await this.#exclude(spec, id, resourceId);
      } catch (e) {
        out.failures.push(`${spec.root}: ${describe(e)}`);
      }
    }
    return out;
  }

  async unregister(hooks: WebhookRef[]): Promise<string[]> {
    const failed: string[] = [];
    for (const h of hooks) {
      try {
        await this.api.delete(rootOf(h.entity), h.id);
      } catch (e) {
        failed.push(`${rootOf(h.entity)} ${h.id}: ${describe(e)}`);
      }
    }
    return failed;
  }

  #name(entity: string, partnerId: number): string {
    return `nocbridge ${entity === "Ticket" ? "tickets" : "ticket notes"} (partner ${partnerId})`;
  }

  /** The webhook to keep: found and repaired, or created. Extra copies of ours are deleted. */
  async #ensure(
    spec: Spec,
    partnerId: number,
    url: string,
    secret: string,
    known: number | null,
  ): Promise<number> {
    const { api } = this;
    const name = this.#name(spec.entity, partnerId);
    const found = await queryAll<AutotaskEntity>(api, spec.root, {
      filter: [
        {
          op: "or",
          items: [
            { op: "eq", field: "webhookUrl", value: url },
            { op: "eq", field: "name", value: name },
          ],
        },
      ],
    });
    if (known !== null && !found.some((w) => w.id === known)) {
      const w = await api.get(spec.root, known);
      if (w) found.unshift(w);
    }
    const keep = found.find((w) => w.id === known) ?? found[0];
    const body = {
      name,
      webhookUrl: url,
      deactivationUrl: `${url}/deactivated`,
      secretKey: secret,
      isActive: true,
      isSubscribedToCreateEvents: true,
      isSubscribedToUpdateEvents: true,
      isSubscribedToDeleteEvents: false,
      sendThresholdExceededNotification: false,
    };
    for (const extra of found) {
      if (extra.id === keep?.id) continue;
      try {
        await api.delete(spec.root, extra.id);
      } catch (e) {
        this.ctx.logger.warn(
          { partnerId, webhook: extra.id, err: e },
          "could not delete a duplicate webhook",
        );
      }
    }
    if (keep) {
      await api.update(spec.root, { id: keep.id, ...body });
      return keep.id;
    }
    return api.createIdempotent(
      spec.root,
      body,
      async () =>
        (
          await queryAll<AutotaskEntity>(api, spec.root, {
            filter: [{ op: "eq", field: "webhookUrl", value: url }],
          })
        )[0]?.id ?? null,
    );
  }

  /** Subscribes the wanted fields the webhook lacks; returns the ones it could not subscribe. */
  async #fields(spec: Spec, id: number): Promise<string[]> {
    const { api } = this;
    const child = `${spec.root.slice(0, -1)}Fields`;
    const info = await api.fieldInfo(child);
    const values = info.find((f) => f.name.toLowerCase() === "fieldid")?.picklistValues ?? [];
    const labels = new Map(values.map((v) => [normLabel(v.label), Number(v.value)]));
    const existing = await queryAll<AutotaskEntity>(api, child, {
      filter: [{ op: "eq", field: "webhookID", value: id }],
    });
    const have = new Set(existing.map((r) => Number(r["fieldID"])));
    const missing: string[] = [];
    for (const [field, names, always] of [
      ...Object.entries(spec.fields).map(([f, n]) => [f, n, false] as const),
      ...Object.entries(spec.always).map(([f, n]) => [f, n, true] as const),
    ]) {
      const fieldID = matchWebhookField(labels, names);
      if (fieldID === undefined) {
        missing.push(`${spec.entity}.${field}: Autotask offers no webhook field by that name`);
        continue;
      }
      if (have.has(fieldID)) continue;
      try {
        await api.createChild(spec.root, id, "Fields", {
          webhookID: id,
          fieldID,
          isSubscribedField: !always,
          isDisplayAlwaysField: always,
        });
      } catch (e) {
        missing.push(`${spec.entity}.${field}: ${describe(e)}`);
      }
    }
    return missing;
  }

  /** Our own writes must not call us back: the API user's resource is excluded (once). */
  async #exclude(spec: Spec, id: number, resourceId: number): Promise<void> {
    const child = `${spec.root.slice(0, -1)}ExcludedResources`;
    const existing = await queryAll<AutotaskEntity>(this.api, child, {
      filter: [{ op: "eq", field: "webhookID", value: id }],
    });
    if (existing.some((r) => Number(r["resourceID"]) === resourceId)) return;
    await this.api.createChild(spec.root, id, "ExcludedResources", { webhookID: id, resourceID: resourceId });
  }

  async #ownResource(): Promise<number | null> {
    const found = await queryAll<AutotaskEntity>(this.api, "Resources", {
      filter: [
        {
          op: "or",
          items: [
            { op: "eq", field: "userName", value: this.s.username },
            { op: "eq", field: "email", value: this.s.username },
          ],
        },
      ],
    });
    return found[0]?.id ?? null;
  }
}
