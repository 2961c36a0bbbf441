/**
 * Receiving ConnectWise callbacks (docs/connectwise.md, Callbacks): the checks that need no session —
 * parsing a delivery into ticket events, whether a base URL can receive them — and verifying a
 * delivery with the connection of the partner whose site signed it. ConnectWise signs with the
 * tenant's key behind the delivery's `key_url`, so a delivery is verified only through an open
 * connection whose site serves that URL and whose company id the delivery names.
 */
import type { ParsedDelivery, WebhookReceiver } from "../connector.js";
import type { ConnectWiseApi } from "./api.js";
import type { ConnectWiseCache } from "./cache.js";
import { header, verifyCallback } from "./signature.js";

const MAX_ID = 2_147_483_647;
const ID_RULE = `must be a whole number from 1 to ${MAX_ID}`;

const webhookId = (v: unknown): number | null => {
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_ID ? n : null;
};

export function parseCallback(body: Record<string, unknown>): ParsedDelivery {
  const type = body["Type"];
  if (typeof type !== "string" || type === "")
    return { kind: "invalid", error: "Type: expected the record type, e.g. ticket", field: "Type" };
  if (type.toLowerCase() !== "ticket")
    return { kind: "ignored", reason: `a ${type.slice(0, 40)} callback, not a ticket` };
  const action = body["Action"];
  if (action !== "added" && action !== "updated" && action !== "deleted")
    return { kind: "invalid", error: "Action: expected added, updated or deleted", field: "Action" };
  const id = webhookId(body["ID"]);
  if (id === null) return { kind: "invalid", error: `ID: ${ID_RULE}`, field: "ID" };
  const messageId = body["MessageId"];
  let stamp = "";
  if (typeof body["Entity"] === "string") {
    try {
      const entity = JSON.parse(body["Entity"]) as { _info?: { lastUpdated?: unknown } } | null;
      stamp = String(entity?._info?.lastUpdated ?? "");
    } catch {
      return { kind: "invalid", error: "Entity: expected the record as a JSON string", field: "Entity" };
    }
  }
  const dedupKey =
    typeof messageId === "string" && messageId !== ""
      ? `cw:${messageId.slice(0, 100)}`
      : `cw:ticket:${id}:${action}:${stamp.slice(0, 40)}`;
  return { kind: "events", events: [{ dedupKey, entityType: "Ticket", psaId: id, psaTicketId: id }] };
}

export function callbackUrlProblem(base: string | undefined, allowHttp: boolean): string | null {
  if (!base) return "there is no public URL for ConnectWise to call (set NOCBRIDGE_PUBLIC_URL)";
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    return `the public URL ${base} is not a URL`;
  }
  if (allowHttp || u.protocol === "https:") return null;
  return `the public URL ${base} is not https, and ConnectWise callbacks carry ticket details (set NOCBRIDGE_PUBLIC_URL to an https URL, or NOCBRIDGE_ALLOW_HTTP_WEBHOOKS=1 for a local test)`;
}

/** An open connection to a partner's ConnectWise. */
export interface OpenConnection {
  companyId: string;
  api: ConnectWiseApi;
  cache: ConnectWiseCache;
}

/** The delivery's `CompanyId` and the origin of its `Metadata.key_url`, when it has both. */
function signer(raw: Buffer): { companyId: string; origin: string; keyUrl: string } | null {
  try {
    const body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
    const meta = body?.["Metadata"] as Record<string, unknown> | undefined;
    const url = typeof meta?.["key_url"] === "string" ? new URL(meta["key_url"]) : null;
    const companyId = body?.["CompanyId"];
    return url && typeof companyId === "string"
      ? { companyId, origin: url.origin, keyUrl: meta?.["key_url"] as string }
      : null;
  } catch {
    return null;
  }
}

/**
 * Verifying and reading deliveries without a session: the delivery is checked with the open
 * connection of its company on the site its key_url names; without such a connection (or with no
 * registration on record: `secrets` empty) nothing is accepted.
 */
export function connectwiseReceiver(
  connections: () => Iterable<OpenConnection>,
  now: () => number,
): WebhookReceiver {
  return {
    async verify(raw, headers, secrets) {
      if (secrets.length === 0) return { ok: false, error: "no callback is registered for this partner" };
      // Unsigned deliveries are refused before anything is looked up.
      if (!header(headers, "x-content-signature")?.trim())
        return { ok: false, error: "missing x-content-signature" };
      const who = signer(raw);
      if (who === null)
        return {
          ok: false,
          error: "CompanyId, Metadata.key_url: expected the company and the URL of the signing key",
        };
      let last: { ok: false; error: string } | null = null;
      // Connections that already hold this key first: a delivery then costs no request.
      const all = [...connections()].sort(
        (a, b) => Number(!a.cache.signingKeys.get(who.keyUrl)) - Number(!b.cache.signingKeys.get(who.keyUrl)),
      );
      for (const c of all) {
        if (c.companyId.toLowerCase() !== who.companyId.toLowerCase()) continue;
        let origins: string[];
        try {
          origins = await c.api.trustedOrigins();
        } catch {
          continue;
        }
        if (!origins.includes(who.origin)) continue;
        const r = await verifyCallback(c.api, c.cache, raw, headers, now);
        if (r.ok) return r;
        last = r;
      }
      return (
        last ?? {
          ok: false,
          error: "no open ConnectWise connection serves the site and company this delivery names",
        }
      );
    },
    parse: parseCallback,
    urlProblem: callbackUrlProblem,
    // No note callbacks: a note written in ConnectWise comes as an update of its ticket.
    notesInTicketEvents: true,
  };
}
