/**
 * Creates that are safe to repeat (docs/reliability.md, Idempotent creates): after a create whose
 * outcome is unknown, wait a backoff delay, look the record up, and create again only when the lookup
 * finds nothing — within the retry policy's attempts and time budget.
 */

import { isPsaError } from "../errors.js";
import { fullJitterDelay } from "../http.js";
import type { ClientContext } from "./client-types.js";

export async function createWithLookup(
  ctx: ClientContext,
  create: () => Promise<number>,
  lookup: () => Promise<number | null>,
): Promise<number> {
  const started = ctx.now();
  for (let n = 1; ; n++) {
    try {
      return await create();
    } catch (e) {
      if (!isPsaError(e) || !e.ambiguous) throw e;
      ctx.counters.ambiguousCreates++;
      const delayMs = fullJitterDelay(n, ctx.policy, ctx.random);
      const outOfBudget = ctx.now() - started + delayMs > ctx.policy.timeBudgetMs;
      if (!outOfBudget) {
        ctx.counters.backoffMs += delayMs;
        await ctx.sleep(delayMs);
      }
      let found: number | null;
      try {
        found = await lookup();
      } catch (lookupErr) {
        // The create's outcome is still unknown: that, not the lookup's failure, is what the caller must know.
        ctx.log?.warn(
          {
            operation: e.operation,
            lookupError: lookupErr instanceof Error ? lookupErr.message : String(lookupErr),
          },
          "lookup after an ambiguous create failed",
        );
        throw e;
      }
      ctx.log?.warn(
        { operation: e.operation, code: e.code, found },
        "create failed with an unknown outcome; looked the record up",
      );
      if (found !== null) {
        ctx.counters.recoveredByLookup++;
        return found;
      }
      if (n >= ctx.policy.maxAttempts || outOfBudget) throw e;
      ctx.counters.retries++;
    }
  }
}
