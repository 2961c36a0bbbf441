/**
 * ConnectWise callbacks behind the WebhookPort (docs/connectwise.md, Callbacks): one callback entry
 * per partner, type "ticket" at the level of the NOC board, suppressing our own API member's writes
 * (`isSelfSuppressedFlag`). A note write reaches us as an update of its ticket, so there is no note
 * entry. Deliveries are verified by the key_url signature scheme (signature.ts) and parsed into
 * "look at this ticket" events, deduplicated by the message id.
 */
import type {
  Check,
  RegisterOutcome,
  SessionContext,
  WebhookPort,
  WebhookRef,
  WebhookStatus,
} from "../connector.js";
import { isPsaError } from "../errors.js";
import type { ConnectWiseApi } from "./api.js";
import type { ConnectWiseCache } from "./cache.js";
import { int, or, str } from "./query.js";
import { callbackUrlProblem, parseCallback } from "./receive.js";
import type { ConnectWiseSettings } from "./settings.js";
import { verifyCallback } from "./signature.js";
import type { CwCallbackEntry, PatchOp } from "./types.js";

const PATH = "system/callbacks";
const ENTITY = "Ticket";

/** How a partner admin lets the API member manage callbacks. */
export const GRANT_CALLBACKS =
  "In ConnectWise: System > Security Roles > the API member's security role > System > Table Setup: set Add, Edit, Delete and Inquire Level to All (ConnectWise does not document which item governs callbacks; the Admin role has them), then save the settings here again.";

/** A short, safe description of a failure: the vendor's sanitised text, bounded; never a URL or key. */
function describe(e: unknown): string {
  if (isPsaError(e)) {
    const text = e.errors.join(" ").slice(0, 300);
    return `ConnectWise answered ${e.status ?? e.code}${text ? `: ${text}` : ""}`;
  }
  return (e instanceof Error ? e.message : String(e)).slice(0, 300);
}

/** The URL registered: ConnectWise appends the record id when the URL ends with "=". */
export function callbackUrl(url: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}recordId=`;
}

export function connectwiseWebhooks(
  api: ConnectWiseApi,
  s: ConnectWiseSettings,
  ctx: SessionContext,
  cache: ConnectWiseCache,
): WebhookPort {
  const entryFor = (partnerId: number, url: string) => ({
    description: `nocbridge tickets (partner ${partnerId})`,
    url: callbackUrl(url),
    objectId: s.boardId ?? 0,
    type: "ticket",
    level: "board",
    inactiveFlag: false,
    isSelfSuppressedFlag: true,
  });

  return {
    async register({ partnerId, url, known }): Promise<RegisterOutcome> {
      if (s.boardId === null) return { hooks: [], unsubscribed: [], failures: ["no service board is set"] };
      const want = entryFor(partnerId, url);
      try {
        const found = await api.all<CwCallbackEntry>(PATH, {
          conditions: or(`url = ${str(want.url)}`, `description = ${str(want.description)}`),
        });
        for (const k of known.filter((h) => h.entity === ENTITY)) {
          if (found.some((f) => f.id === k.id)) continue;
          const e = await api.get<CwCallbackEntry>(`${PATH}/${int(k.id)}`);
          if (e) found.unshift(e);
        }
        const keep = found.find((f) => known.some((k) => k.id === f.id)) ?? found[0];
        for (const extra of found) {
          if (extra.id === keep?.id) continue;
          try {
            await api.delete(`${PATH}/${int(extra.id)}`);
          } catch (e) {
            ctx.logger.warn(
              { partnerId, callback: extra.id, err: describe(e) },
              "ConnectWise: a duplicate callback was not deleted",
            );
          }
        }
        let id: number;
        if (keep) {
          const ops: PatchOp[] = [];
          for (const [k, v] of Object.entries(want)) {
            const have = (keep as unknown as Record<string, unknown>)[k];
            const same =
              typeof v === "string" && typeof have === "string"
                ? v.toLowerCase() === have.toLowerCase()
                : v === have;
            if (!same) ops.push({ op: "replace", path: k, value: v });
          }
          if (ops.length > 0) await api.patch(`${PATH}/${int(keep.id)}`, ops);
          id = keep.id;
        } else {
          const lookup = async () =>
            (await api.all<CwCallbackEntry>(PATH, { conditions: `url = ${str(want.url)}`, limit: 1 }))[0] ??
            null;
          id = (await api.createIdempotent<CwCallbackEntry>(PATH, want, lookup)).id;
        }
        return { hooks: [{ entity: ENTITY, id }], unsubscribed: [], failures: [] };
      } catch (e) {
        return { hooks: [], unsubscribed: [], failures: [`${PATH}: ${describe(e)}`] };
      }
    },

    async unregister(hooks: WebhookRef[]): Promise<string[]> {
      const failed: string[] = [];
      for (const h of hooks) {
        try {
          await api.delete(`${PATH}/${int(h.id)}`);
        } catch (e) {
          if (isPsaError(e) && e.code === "NOT_FOUND") continue;
          failed.push(`callback ${h.id}: ${describe(e)}`);
        }
      }
      return failed;
    },

    // ConnectWise signs with the tenant's key behind key_url, not with a secret of ours: the secrets
    // only say that a registration is on record for this partner (none: nothing is accepted).
    verify: async (raw, headers, secrets) =>
      secrets.length === 0
        ? { ok: false, error: "no callback is registered for this partner" }
        : verifyCallback(api, cache, raw, headers, () => ctx.clock.now().getTime()),

    parse: parseCallback,

    urlProblem: callbackUrlProblem,

    notesInTicketEvents: true,

    async checks(state: WebhookStatus, urlProblem: string | null): Promise<Check[]> {
      const checks: Check[] = [];
      const polling = `Polling only, every ${state.pollIntervalMinutes} minutes`;
      if (urlProblem)
        checks.push({
          name: "webhooks:url",
          ok: false,
          message: `${polling}, because ${urlProblem}.`,
          fix: "Serve nocbridge at an https URL ConnectWise can reach (NOCBRIDGE_TLS_CERT/NOCBRIDGE_TLS_KEY, or a TLS reverse proxy) and set NOCBRIDGE_PUBLIC_URL to it.",
        });
      try {
        await api.count(PATH);
        checks.push({
          name: "webhooks:permission",
          ok: true,
          message: "The API member may read the callback list.",
        });
      } catch (e) {
        checks.push({
          name: "webhooks:permission",
          ok: false,
          message: `Could not read the callback list (${describe(e)}).`,
          fix: GRANT_CALLBACKS,
        });
      }
      if (state.mode === "polling" && !urlProblem && state.reason) {
        checks.push({
          name: "webhooks:registration",
          ok: false,
          message: `${polling}, because ${state.reason}.`,
          fix: GRANT_CALLBACKS,
        });
      } else if (state.mode === "webhooks") {
        const inactive: number[] = [];
        for (const w of state.webhooks) {
          try {
            const e = await api.get<CwCallbackEntry>(`${PATH}/${int(w.psaWebhookId)}`);
            if (!e || e.inactiveFlag === true) inactive.push(w.psaWebhookId);
          } catch {
            // Read failures are reported by the permission check.
          }
        }
        checks.push(
          inactive.length > 0
            ? {
                name: "webhooks:registration",
                ok: false,
                message: `ConnectWise callback ${inactive.join(", ")} is gone or inactive (ConnectWise turns a callback off after three days of failed deliveries); ${polling.toLowerCase()} until it is registered again.`,
                fix: "Make sure ConnectWise can reach NOCBRIDGE_PUBLIC_URL, then save the settings here again to register the callback anew.",
              }
            : {
                name: "webhooks:registration",
                ok: true,
                message: `Callbacks registered (${state.webhooks.map((w) => `${w.entity} ${w.psaWebhookId}`).join(", ")}).`,
              },
        );
      }
      return checks;
    },
  };
}
