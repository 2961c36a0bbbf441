/**
 * How the ticket sync names things in its errors, notes and log lines: a ticket by its title and PSA
 * number, a client by its code and name, a PSA status or priority by its name with the id after it,
 * an error code by what it means. Ids stay only as secondary text.
 */
import type { Ctx } from "./mapping.js";

/** `“Disk full on SRV01” (T20261128.0009)`; either part may be missing. */
export function ticketName(title: string | null | undefined, number?: string | null): string {
  const t = title?.trim() ? `“${title.trim()}”` : "";
  const n = number?.trim() ? number.trim() : "";
  if (t && n) return `${t} (${n})`;
  return t || n || "a ticket";
}

/** `"AT1 — Acme"`, or `client 12` when the client is not known. */
export function clientName(ctx: Pick<Ctx, "clientNames">, clientId: number): string {
  const name = ctx.clientNames.get(clientId);
  return name ? `“${name}”` : `client ${clientId}`;
}

/** `the PSA's name (id)`, e.g. `Complete (5)`; the bare id when the name cannot be read. */
function named(name: string | undefined, id: number): string {
  return name ? `${name} (${id})` : String(id);
}

const statusNames = new WeakMap<Ctx, Promise<Map<string, string>>>();

/**
 * The PSA's names of its statuses and priorities, read once per drain (only when a message needs one):
 * the mapping tables' labels first, then the PSA's live values.
 */
async function psaNames(ctx: Ctx): Promise<Map<string, string>> {
  let p = statusNames.get(ctx);
  if (!p) {
    p = (async () => {
      const out = new Map<string, string>();
      for (const m of [...ctx.maps["status-forward"], ...ctx.maps["status-reverse"]])
        if (m.psaLabel) out.set(`status:${m.psaId}`, m.psaLabel);
      for (const m of ctx.maps.priority) if (m.psaLabel) out.set(`priority:${m.psaId}`, m.psaLabel);
      try {
        const live = await ctx.session.ticketValues();
        for (const s of live.statuses) out.set(`status:${s.id}`, s.label);
        for (const s of live.priorities) out.set(`priority:${s.id}`, s.label);
      } catch {
        // The table labels (or the bare id) will do.
      }
      return out;
    })();
    statusNames.set(ctx, p);
  }
  return p;
}

/** `Complete (5)`: a PSA status by its name, the id after it. */
export async function psaStatusName(ctx: Ctx, id: number): Promise<string> {
  return named((await psaNames(ctx)).get(`status:${id}`), id);
}

/** `P1 (1)`: a PSA priority by its name, the id after it. */
export async function psaPriorityName(ctx: Ctx, id: number): Promise<string> {
  return named((await psaNames(ctx)).get(`priority:${id}`), id);
}

/** A PSA company by its name (`“Acme Corp” (174)`), or its id when the PSA does not name it. */
export async function psaCompanyName(ctx: Ctx, companyId: number | null): Promise<string> {
  if (companyId === null) return "(none)";
  try {
    const [c] = (await ctx.session.companies?.byIds([companyId])) ?? [];
    if (c) return `“${c.name}” (${companyId})`;
  } catch {
    // The id will do.
  }
  return String(companyId);
}

/**
 * What an error code means, for people (the code stays beside it for machines). Codes of the sync
 * itself and of PSA failures (src/psa/errors.ts).
 */
const CODE_TEXT: Record<string, string> = {
  MAPPING: "Missing mapping row",
  UNMAPPED_COMPANY: "Client not mapped to a company in the PSA",
  CLOSE_REFUSED: "The PSA did not close the ticket",
  NOT_FOUND: "Not found in the PSA",
  AUTH: "PSA credentials refused",
  INTEGRATION_CODE: "Integration code refused",
  ZONE: "PSA zone not found",
  INVALID_REQUEST: "The PSA refused the change",
  METHOD_NOT_ALLOWED: "The PSA does not allow this change",
  RATE_LIMITED: "PSA rate limit reached",
  THREAD_LIMIT: "Too many requests at once",
  BUDGET_EXHAUSTED: "Hourly API budget spent (waiting)",
  SERVER: "PSA server error",
  NETWORK: "PSA not reachable",
  TIMEOUT: "PSA did not answer in time",
  BAD_RESPONSE: "Unexpected answer from the PSA",
  URL_NOT_ALLOWED: "PSA address not allowed",
  REDIRECT: "The PSA answered with a redirect",
  TOO_LARGE: "The PSA's answer was too large",
  ERROR: "Unexpected error",
};

/** The readable text of an error code (`UNMAPPED_COMPANY` → "Client not mapped to a company in the PSA"). */
export function codeText(code: string, label?: string): string {
  const text = CODE_TEXT[code];
  if (!text) return code.charAt(0) + code.slice(1).toLowerCase().replaceAll("_", " ");
  return label ? text.replaceAll("the PSA", label).replaceAll("PSA", label) : text;
}
