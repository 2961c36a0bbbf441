import { randomBytes } from "node:crypto";
import type { Clock } from "../lib/clock.js";
import type { SecretBox } from "../lib/crypto.js";
import type { Logger } from "../lib/logger.js";
import type { IntegrationView } from "../portal/types.js";
import { type AutotaskApi, queryAll } from "../psa/autotask/api.js";
import type { AutotaskEntity } from "../psa/autotask/types.js";
import { isPsaError } from "../psa/errors.js";
import type { Db } from "../store/db.js";

/**
 * Ticket fields the TicketWebhook subscribes to, each with the names its webhook field may carry.
 * The `fieldID` picklist of TicketWebhookFields labels fields by a display name that is not always
 * the REST field name (docs/emulator.md, "Webhook permissions, limits, field labels and HTTPS"); no
 * public source documents the numeric ids, so they are matched by these names, case, spaces and
 * punctuation ignored.
 */
export const TICKET_WEBHOOK_FIELDS: Record<string, string[]> = {
  status: ["status", "ticket status"],
  priority: ["priority", "ticket priority"],
  queueID: ["queueID", "queue", "queue id", "ticket queue"],
  title: ["title", "ticket title"],
  description: ["description", "ticket description"],
  configurationItemID: [
    "configurationItemID",
    "configuration item",
    "configuration item id",
    "installedProductID",
    "installed product",
    "asset",
  ],
};
/** TicketNote fields; ticketID is sent always, so a note event names its ticket. */
export const NOTE_WEBHOOK_FIELDS: Record<string, string[]> = {
  title: ["title", "note title"],
  description: ["description", "note description"],
  publish: ["publish", "publish to", "visibility"],
};
const NOTE_ALWAYS_FIELDS: Record<string, string[]> = { ticketID: ["ticketID", "ticket", "ticket id"] };

/** How many minutes between polls, shown with "Polling only". */
export const DEFAULT_POLL_MINUTES = 5;

export type WebhookMode = "webhooks" | "polling" | "off";

/** What nocbridge knows about a partner's webhooks: shown on the Setup and Sync pages and in Validate. */
export interface WebhookState {
  /** webhooks: both registered; polling: polling only (see reason); off: ticketing is off. */
  mode: WebhookMode;
  /** Why it is polling only (null when webhooks are registered or ticketing is off). */
  reason: string | null;
  /** The URL Autotask calls (null when there is no public URL). */
  url: string | null;
  webhooks: Array<{ entity: string; psaWebhookId: number }>;
  /** Fields nocbridge wanted but could not subscribe ("Ticket.queueID: …"). */
  unsubscribedFields: string[];
  pollIntervalMinutes: number;
  checkedAt: string | null;
}

export interface RegistrarDeps {
  db: Db;
  box: SecretBox;
  clock: Clock;
  logger: Logger;
  /** Base URL Autotask calls (NOCBRIDGE_PUBLIC_URL, else the server's listen address). */
  publicUrl(): string | undefined;
  /** NOCBRIDGE_ALLOW_HTTP_WEBHOOKS: register at a URL that is not https on port 443. */
  allowHttp: boolean;
  pollIntervalMinutes?: number;
}

/** True when Autotask can deliver to this URL: https on the default port 443. */
export function deliverableUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === "https:" && (u.port === "" || u.port === "443");
  } catch {
    return false;
  }
}

/** Why a base URL cannot receive webhooks, or null when it can (or http is allowed). */
export function publicUrlProblem(base: string | undefined, allowHttp: boolean): string | null {
  if (!base) return "there is no public URL for Autotask to call (set NOCBRIDGE_PUBLIC_URL)";
  if (allowHttp || deliverableUrl(base)) return null;
  return `the public URL ${base} is not https on port 443, and Autotask delivers webhooks to port 443 only (set NOCBRIDGE_PUBLIC_URL to an https URL on port 443, or NOCBRIDGE_ALLOW_HTTP_WEBHOOKS=1 for a local test)`;
}

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");

/** The webhook field id for a wanted field: by any of its known names, case/space-insensitively. */
export function matchWebhookField(labels: Map<string, number>, names: string[]): number | undefined {
  for (const n of names) {
    const id = labels.get(norm(n));
    if (id !== undefined) return id;
  }
  return undefined;
}

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

/**
 * Registers a partner's TicketWebhook and TicketNoteWebhook so that repeating it never leaves
 * orphans: it finds nocbridge's existing webhooks (the one it recorded, else by URL or name),
 * repairs them (name, URL, secret, active, subscriptions, missing fields, excluded resource) instead
 * of creating another, deletes extra copies, and records the outcome. A refusal (no permission,
 * maximum reached, URL) is recorded as "polling only" with its reason; it never throws.
 */
export class WebhookRegistrar {
  readonly #d: RegistrarDeps;

  constructor(deps: RegistrarDeps) {
    this.#d = deps;
  }

  get #k() {
    return this.#d.db.kysely;
  }

  #name(entity: string, partnerId: number): string {
    return `nocbridge ${entity === "Ticket" ? "tickets" : "ticket notes"} (partner ${partnerId})`;
  }

  urlFor(partnerId: number): string | null {
    const base = this.#d.publicUrl();
    return base ? `${base.replace(/\/+$/, "")}/webhooks/autotask/${partnerId}` : null;
  }

  async register(partnerId: number, api: AutotaskApi, view: IntegrationView): Promise<WebhookState> {
    const url = this.urlFor(partnerId);
    const problem = publicUrlProblem(this.#d.publicUrl(), this.#d.allowHttp);
    if (problem || !url) return this.#save(partnerId, "polling", problem, url, []);
    const stored = await this.#k
      .selectFrom("psa_webhooks")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .execute();
    // One secret for both webhooks: the one on record, else a new one (Autotask allows up to 64 characters).
    const secret = stored[0]
      ? this.#d.box.decrypt(stored[0].secret_sealed, partnerId, "webhook-secret")
      : randomBytes(32).toString("base64url");
    const failures: string[] = [];
    const unsubscribed: string[] = [];
    let resourceId: number | null = null;
    try {
      resourceId = await this.#ownResource(api, view.ticketing.username);
    } catch (e) {
      failures.push(`the API user's resource could not be read: ${describe(e)}`);
    }
    for (const spec of SPECS) {
      if (failures.length > 0) break;
      try {
        const known = stored.find((r) => r.entity === spec.entity)?.psa_webhook_id ?? null;
        const id = await this.#ensure(spec, partnerId, api, url, secret, known);
        await this.#record(partnerId, spec.entity, id, secret);
        unsubscribed.push(...(await this.#fields(spec, api, id)));
        if (resourceId !== null) await this.#exclude(spec, api, id, resourceId);
      } catch (e) {
        failures.push(`${spec.root}: ${describe(e)}`);
      }
    }
    if (unsubscribed.length > 0)
      this.#d.logger.warn({ partnerId, unsubscribed }, "some webhook fields could not be subscribed");
    if (failures.length > 0) {
      const reason = `Autotask did not accept the webhook registration — ${failures.join("; ")}`;
      this.#d.logger.warn({ partnerId, reason }, "webhook registration failed; polling only");
      return this.#save(partnerId, "polling", reason, url, unsubscribed);
    }
    return this.#save(partnerId, "webhooks", null, url, unsubscribed);
  }

  /** Removes the partner's webhooks from Autotask and forgets them (ticketing turned off). */
  async unregister(partnerId: number, api: AutotaskApi | null): Promise<void> {
    const rows = await this.#k
      .selectFrom("psa_webhooks")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .execute();
    for (const r of rows) {
      try {
        await api?.delete(r.entity === "Ticket" ? "TicketWebhooks" : "TicketNoteWebhooks", r.psa_webhook_id);
      } catch (e) {
        this.#d.logger.warn(
          { partnerId, webhook: r.psa_webhook_id, err: e },
          "could not delete an Autotask webhook",
        );
      }
    }
    await this.#k.deleteFrom("psa_webhooks").where("partner_id", "=", partnerId).execute();
    await this.#save(partnerId, "off", null, this.urlFor(partnerId), []);
  }

  async state(partnerId: number, ticketingEnabled: boolean): Promise<WebhookState> {
    const row = await this.#k
      .selectFrom("psa_webhook_status")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .executeTakeFirst();
    const hooks = await this.#k
      .selectFrom("psa_webhooks")
      .select(["entity", "psa_webhook_id"])
      .where("partner_id", "=", partnerId)
      .orderBy("entity")
      .execute();
    const minutes = this.#d.pollIntervalMinutes ?? DEFAULT_POLL_MINUTES;
    if (!ticketingEnabled || !row)
      return {
        mode: ticketingEnabled ? "polling" : "off",
        reason: ticketingEnabled ? "the webhooks have not been registered yet" : null,
        url: this.urlFor(partnerId),
        webhooks: hooks.map((h) => ({ entity: h.entity, psaWebhookId: h.psa_webhook_id })),
        unsubscribedFields: [],
        pollIntervalMinutes: minutes,
        checkedAt: row?.checked_at ?? null,
      };
    return {
      mode: row.mode as WebhookMode,
      reason: row.reason,
      url: row.url,
      webhooks: hooks.map((h) => ({ entity: h.entity, psaWebhookId: h.psa_webhook_id })),
      unsubscribedFields: JSON.parse(row.unsubscribed_fields) as string[],
      pollIntervalMinutes: minutes,
      checkedAt: row.checked_at,
    };
  }

  async #save(
    partnerId: number,
    mode: WebhookMode,
    reason: string | null,
    url: string | null,
    unsubscribed: string[],
  ): Promise<WebhookState> {
    const at = this.#d.clock.now().toISOString();
    const values = { mode, reason, url, unsubscribed_fields: JSON.stringify(unsubscribed), checked_at: at };
    await this.#k
      .insertInto("psa_webhook_status")
      .values({ partner_id: partnerId, ...values })
      .onConflict((oc) => oc.column("partner_id").doUpdateSet(values))
      .execute();
    return this.state(partnerId, mode !== "off");
  }

  async #record(partnerId: number, entity: string, id: number, secret: string): Promise<void> {
    const sealed = this.#d.box.encrypt(secret, partnerId, "webhook-secret");
    const at = this.#d.clock.now().toISOString();
    await this.#k
      .insertInto("psa_webhooks")
      .values({ partner_id: partnerId, entity, psa_webhook_id: id, secret_sealed: sealed, created_at: at })
      .onConflict((oc) =>
        oc.columns(["partner_id", "entity"]).doUpdateSet({ psa_webhook_id: id, secret_sealed: sealed }),
      )
      .execute();
  }

  /** The webhook to keep: found and repaired, or created. Extra copies of ours are deleted. */
  async #ensure(
    spec: Spec,
    partnerId: number,
    api: AutotaskApi,
    url: string,
    secret: string,
    known: number | null,
  ): Promise<number> {
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
        this.#d.logger.warn({ partnerId, webhook: extra.id, err: e }, "could not delete a duplicate webhook");
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
  async #fields(spec: Spec, api: AutotaskApi, id: number): Promise<string[]> {
    const child = `${spec.root.slice(0, -1)}Fields`;
    const info = await api.fieldInfo(child);
    const values = info.find((f) => f.name.toLowerCase() === "fieldid")?.picklistValues ?? [];
    const labels = new Map(values.map((v) => [norm(v.label), Number(v.value)]));
    const existing = await queryAll<AutotaskEntity>(api, child, {
      filter: [{ op: "eq", field: "webhookID", value: id }],
    });
    const have = new Set(existing.map((r) => Number(r.fieldID)));
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
  async #exclude(spec: Spec, api: AutotaskApi, id: number, resourceId: number): Promise<void> {
    const child = `${spec.root.slice(0, -1)}ExcludedResources`;
    const existing = await queryAll<AutotaskEntity>(api, child, {
      filter: [{ op: "eq", field: "webhookID", value: id }],
    });
    if (existing.some((r) => Number(r.resourceID) === resourceId)) return;
    await api.createChild(spec.root, id, "ExcludedResources", { webhookID: id, resourceID: resourceId });
  }

  async #ownResource(api: AutotaskApi, username: string): Promise<number | null> {
    const found = await queryAll<AutotaskEntity>(api, "Resources", {
      filter: [
        {
          op: "or",
          items: [
            { op: "eq", field: "userName", value: username },
            { op: "eq", field: "email", value: username },
          ],
        },
      ],
    });
    return found[0]?.id ?? null;
  }
}
