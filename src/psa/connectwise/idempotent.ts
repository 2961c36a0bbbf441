/**
 * A create that is safe to repeat (docs/reliability.md, Idempotent creates): after a failure whose
 * outcome is unknown (a timeout, a dropped connection, a 5xx after the request went out) it waits a
 * backoff so a write still being applied can land, looks the record up, and sends again only when
 * the lookup found nothing. ConnectWise has no idempotency key, so the lookup is the only guard.
 */
import { isPsaError } from "../errors.js";
import { fullJitterDelay, type Now, type Random, type RetryPolicy, type Sleep } from "../http.js";
import type { ClientLogger } from "./api.js";

export interface IdempotentDeps {
  policy: RetryPolicy;
  now: Now;
  sleep: Sleep;
  random: Random;
  logger?: ClientLogger | undefined;
  /** Told of each ambiguous failure, each backoff, each record found by the lookup, each resend. */
  count(what: "ambiguous" | "backoff" | "recovered" | "retry", ms?: number): void;
}

export async function idempotentCreate<T>(
  create: () => Promise<T>,
  lookup: () => Promise<T | null>,
  d: IdempotentDeps,
): Promise<T> {
  const started = d.now();
  for (let n = 1; ; n++) {
    try {
      return await create();
    } catch (e) {
      if (!isPsaError(e) || !e.ambiguous) throw e;
      d.count("ambiguous");
      const delayMs = fullJitterDelay(n, d.policy, d.random);
      const outOfTime = d.now() - started + delayMs > d.policy.timeBudgetMs;
      if (!outOfTime) {
        d.count("backoff", delayMs);
        await d.sleep(delayMs);
      }
      let found: T | null;
      try {
        found = await lookup();
      } catch (lookupErr) {
        // The create's outcome is still unknown: that is what the caller must know.
        d.logger?.warn(
          { operation: e.operation, lookupError: lookupErr instanceof Error ? lookupErr.message : "?" },
          "ConnectWise: lookup after an ambiguous create failed",
        );
        throw e;
      }
      d.logger?.warn(
        { operation: e.operation, code: e.code, found: found !== null },
        "ConnectWise: create failed with an unknown outcome; looked the record up",
      );
      if (found !== null) {
        d.count("recovered");
        return found;
      }
      if (n >= d.policy.maxAttempts || outOfTime) throw e;
      d.count("retry");
    }
  }
}
