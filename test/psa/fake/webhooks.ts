import { createHmac, timingSafeEqual } from "node:crypto";
import type { ParsedDelivery, WebhookPort, WebhookReceiver, WebhookRef } from "../../../src/psa/connector.js";
import { isPsaError } from "../../../src/psa/errors.js";
import type { FakeClient } from "./client.js";
import { fakeError } from "./psa.js";

const ENTITIES = ["Ticket", "TicketNote"] as const;
export const SIGNATURE_HEADER = "x-fake-signature";

/** The fake PSA's signature: `sha256=<hex HMAC-SHA256(secret, raw body)>`, over the bytes as sent. */
export function signFake(raw: Buffer, secret: string): Record<string, string> {
  return { [SIGNATURE_HEADER]: `sha256=${createHmac("sha256", secret).update(raw).digest("hex")}` };
}

/** A delivery as the fake PSA sends it. */
export function fakeDelivery(
  event: "ticket.changed" | "note.created" | "subscription.disabled",
  id: number,
  ticketId?: number,
): Record<string, unknown> {
  return {
    deliveryId: `d-${event}-${id}-${Date.now()}`,
    event,
    id,
    ...(ticketId === undefined ? {} : { ticketId }),
  };
}

const positiveId = (v: unknown): number | null =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 1 && v <= 2_147_483_647 ? v : null;

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Verifying and reading deliveries, which needs no session (and no credentials). */
export const fakeWebhookReceiver: WebhookReceiver = {
  async verify(raw, headers, secrets) {
    const entry = Object.entries(headers).find(([k]) => k.toLowerCase() === SIGNATURE_HEADER);
    const value = Array.isArray(entry?.[1]) ? entry[1][0] : entry?.[1];
    if (!value) return { ok: false, error: `missing ${SIGNATURE_HEADER}` };
    const given = Buffer.from(value.replace(/^sha256=/i, "").trim(), "hex");
    const ok = secrets.some((s) => {
      const expected = createHmac("sha256", s).update(raw).digest();
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
    return ok ? { ok: true } : { ok: false, error: `invalid ${SIGNATURE_HEADER}` };
  },

  parse(body): ParsedDelivery {
    if (body["event"] === "subscription.disabled")
      return { kind: "ignored", reason: "a subscription was disabled" };
    if (body["event"] !== "ticket.changed" && body["event"] !== "note.created")
      return { kind: "invalid", error: "event: expected ticket.changed or note.created", field: "event" };
    if (typeof body["deliveryId"] !== "string" || body["deliveryId"] === "")
      return { kind: "invalid", error: "deliveryId: expected a text", field: "deliveryId" };
    const id = positiveId(body["id"]);
    if (id === null) return { kind: "invalid", error: "id: must be a whole number from 1", field: "id" };
    const note = body["event"] === "note.created";
    const ticketId =
      body["ticketId"] === undefined || body["ticketId"] === null ? null : positiveId(body["ticketId"]);
    if (note && body["ticketId"] !== undefined && body["ticketId"] !== null && ticketId === null)
      return { kind: "invalid", error: "ticketId: must be a whole number from 1", field: "ticketId" };
    return {
      kind: "events",
      events: [
        {
          dedupKey: `fake:${body["deliveryId"]}:${id}`,
          entityType: note ? "TicketNote" : "Ticket",
          psaId: id,
          psaTicketId: note ? ticketId : id,
        },
      ],
    };
  },

  urlProblem(base, allowHttp) {
    if (!base) return "there is no public URL for FakePSA to call (set NOCBRIDGE_PUBLIC_URL)";
    let u: URL;
    try {
      u = new URL(base);
    } catch {
      return `the public URL ${base} is not a URL`;
    }
    if (u.protocol !== "https:" && !allowHttp) return `the public URL ${base} is not https`;
    return null;
  },
};

/** The fake's subscriptions: one per entity, found again by known id, URL or name. */
export function fakeWebhooks(client: FakeClient): WebhookPort {
  const tenant = client.tenant;
  return {
    ...fakeWebhookReceiver,
    async register({ partnerId, url, secret, known }) {
      const hooks: WebhookRef[] = [];
      const failures: string[] = [];
      let all: ReturnType<FakeClient["tenant"]["webhooks"]>;
      try {
        all = await client.call("webhooks.query", (rows) => {
          if (!tenant.webhooksAllowed)
            throw fakeError("AUTH", "the API user may not manage webhooks", "webhooks.query");
          return [...rows.webhooks.values()];
        });
      } catch (e) {
        return { hooks, unsubscribed: [], failures: [describe(e)] };
      }
      for (const entity of ENTITIES) {
        const name = `nocbridge partner ${partnerId} ${entity}`;
        const knownIds = new Set(known.filter((k) => k.entity === entity).map((k) => k.id));
        const found = all
          .filter((w) => w.entity === entity && (knownIds.has(w.id) || w.url === url || w.name === name))
          .sort((a, b) => Number(knownIds.has(b.id)) - Number(knownIds.has(a.id)) || a.id - b.id);
        try {
          const keep = found[0];
          const id = keep
            ? await client.call("webhooks.update", (rows) => {
                Object.assign(rows.webhooks.get(keep.id) ?? {}, { name, url, secret, active: true });
                return keep.id;
              })
            : await client.call("webhooks.create", (rows) => {
                const made = { id: rows.nextId("webhook"), entity, name, url, secret, active: true };
                rows.webhooks.set(made.id, made);
                return made.id;
              });
          hooks.push({ entity, id });
          for (const extra of found.slice(1))
            await client.call("webhooks.delete", (rows) => rows.webhooks.delete(extra.id));
        } catch (e) {
          failures.push(`${entity}: ${describe(e)}`);
        }
      }
      return { hooks, unsubscribed: [], failures };
    },

    async unregister(hooks) {
      const left: string[] = [];
      for (const h of hooks) {
        try {
          // One already gone is what was wanted.
          await client.call("webhooks.delete", (rows) => rows.webhooks.delete(h.id));
        } catch (e) {
          left.push(`${h.entity} ${h.id}: ${isPsaError(e) ? e.message : describe(e)}`);
        }
      }
      return left;
    },

    async checks(state, urlProblem) {
      const on = state.mode === "webhooks" && urlProblem === null;
      return [
        {
          name: "webhooks",
          ok: true,
          ...(on ? {} : { warning: true }),
          message: on
            ? `FakePSA reports changes through ${state.webhooks.length} subscriptions.`
            : `Polling only: ${urlProblem ?? state.reason ?? "no subscriptions"}.`,
        },
      ];
    },
  };
}
