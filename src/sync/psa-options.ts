import type { Actor } from "../portal/access.js";
import { PortalError } from "../portal/errors.js";
import { isPsaError, type PsaOptions, type PsaSession } from "../psa/connector.js";
import type { LiveReadCache } from "./live-cache.js";
import type { SyncPortal } from "./portal-port.js";
import type { PsaSessions } from "./sessions.js";

/**
 * The live PSA values the settings form and the mapping tables offer as pick-lists. A live read spends
 * the partner's API budget: only roles that may change the settings ask, and the answer is reused
 * for a while (./live-cache.ts).
 */
export class PsaOptionsReader {
  constructor(private readonly o: { portal: SyncPortal; sessions: PsaSessions; live: LiveReadCache }) {}

  async options(actor: Actor, partnerId: number): Promise<PsaOptions> {
    await this.o.portal.authorize(actor, partnerId, "integration:write");
    const { session, missing, connector } = await this.o.sessions.forPartner(partnerId);
    if (!session) {
      const why = missing?.message ?? `The ${connector.label} credentials are not all set.`;
      throw new PortalError("CONFLICT", 409, clause(why));
    }
    return this.o.live.get(`options:${partnerId}`, session.key, () => load(session));
  }
}

async function load(session: PsaSession): Promise<PsaOptions> {
  try {
    return await session.options();
  } catch (e) {
    // A spent hourly budget is the cause as it stands (with its figures), not the credentials: the
    // API's error map answers it 503 with Retry-After.
    if (isPsaError(e) && e.code === "BUDGET_EXHAUSTED") throw e;
    throw new PortalError(
      "CONFLICT",
      409,
      `${session.label} did not answer with these credentials: ${(e as Error).message}`,
    );
  }
}

/** "The X is not set." → "the X is not set" (an error message's form). */
function clause(sentence: string): string {
  return sentence.replace(/\.$/, "").replace(/^The /, "the ");
}
