import { createHmac, timingSafeEqual } from "node:crypto";
import type { ParsedDelivery, WebhookReceiver } from "../connector.js";

/** Largest id the engine's inbox stores (a 32-bit integer column). */
const MAX_ID = 2_147_483_647;
const ID_RULE = `must be a whole number from 1 to ${MAX_ID}`;

/** An Autotask id from a webhook payload (a JSON number or a numeric string), or null when it is not one. */
function webhookId(value: unknown): number | null {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^\d+$/.test(value)
        ? Number(value)
        : NaN;
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_ID ? n : null;
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

/** Why a base URL cannot receive Autotask webhooks, or null when it can (or http is allowed). */
export function publicUrlProblem(base: string | undefined, allowHttp: boolean): string | null {
  if (!base) return "there is no public URL for Autotask to call (set NOCBRIDGE_PUBLIC_URL)";
  if (allowHttp || deliverableUrl(base)) return null;
  return `the public URL ${base} is not https on port 443, and Autotask delivers webhooks to port 443 only (set NOCBRIDGE_PUBLIC_URL to an https URL on port 443, or NOCBRIDGE_ALLOW_HTTP_WEBHOOKS=1 for a local test)`;
}

/**
 * Checks `X-Hook-Signature: sha1=<base64 HMAC-SHA1>` over the exact bytes Autotask sent
 * (docs/autotask.md, Signature), timing-safe, against any of the secrets.
 */
async function verify(
  raw: Buffer,
  headers: Record<string, string | string[] | undefined>,
  secrets: string[],
): Promise<{ ok: true } | { ok: false; error: string }> {
  const header = headers["x-hook-signature"];
  const signature = Array.isArray(header) ? header[0] : header;
  if (!signature) return { ok: false, error: "missing X-Hook-Signature" };
  const given = Buffer.from(signature.replace(/^sha1=/i, "").trim(), "base64");
  const ok = secrets.some((secret) => {
    const expected = createHmac("sha1", secret).update(raw).digest();
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return ok ? { ok: true } : { ok: false, error: "invalid X-Hook-Signature" };
}

/**
 * A delivery's event (docs/autotask.md, Delivery payload): the ticket or note it names, deduplicated
 * by Guid + Id + SequenceNumber. A note event names its ticket in Fields.ticketID when it is sent.
 */
function parse(body: Record<string, unknown>): ParsedDelivery {
  const entity = String(body["EntityType"] ?? "");
  if (body["Action"] === "Deactivated")
    return { kind: "ignored", reason: `Autotask deactivated a webhook (Guid ${String(body["Guid"])})` };
  if (entity !== "Ticket" && entity !== "TicketNote")
    return { kind: "invalid", error: "EntityType: expected Ticket or TicketNote", field: "EntityType" };
  const id = webhookId(body["Id"]);
  if (id === null) return { kind: "invalid", error: `Id: ${ID_RULE}`, field: "Id" };
  const fields = (body["Fields"] ?? {}) as Record<string, unknown>;
  const ticketKey = "ticketID" in fields ? "ticketID" : "TicketID";
  const rawTicket = fields[ticketKey];
  const noteTicket = rawTicket === undefined || rawTicket === null ? null : webhookId(rawTicket);
  if (entity === "TicketNote" && rawTicket !== undefined && rawTicket !== null && noteTicket === null)
    return { kind: "invalid", error: `Fields.${ticketKey}: ${ID_RULE}`, field: `Fields.${ticketKey}` };
  return {
    kind: "events",
    events: [
      {
        dedupKey: `wh:${String(body["Guid"])}:${id}:${String(body["SequenceNumber"])}`,
        entityType: entity,
        psaId: id,
        psaTicketId: entity === "Ticket" ? id : noteTicket,
      },
    ],
  };
}

/** Autotask's webhook deliveries: signature, payload, and the URLs it delivers to. */
export const autotaskWebhookReceiver: WebhookReceiver = { verify, parse, urlProblem: publicUrlProblem };
