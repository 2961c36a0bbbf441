import type { Logger } from "../lib/logger.js";
import { isPsaError } from "../psa/errors.js";
import { isDbUnavailable } from "../store/availability.js";

/**
 * Whether background work failed because the database is unreachable. A PSA call that could not
 * connect carries the same socket codes in its cause chain (ECONNREFUSED, ECONNRESET), but it is the
 * PSA that is away: that is a sync failure of its own, counted and reported, not a database outage.
 */
export function isDbOutage(err: unknown): boolean {
  return !isPsaError(err) && isDbUnavailable(err);
}

/**
 * Tracks whether background work is seeing a database outage, so that an outage is logged once
 * when it starts and once when it ends rather than on every timer beat.
 */
export class OutageWatch {
  #down = false;
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  get down(): boolean {
    return this.#down;
  }

  /** Reports a failure of background work; true when it was the database being unreachable. */
  failed(err: unknown, what: string): boolean {
    if (!isDbOutage(err)) {
      this.#logger.warn({ err }, what);
      return false;
    }
    if (!this.#down) {
      this.#down = true;
      this.#logger.error(
        { err },
        "database unavailable: background work waits and retries until it answers again",
      );
    }
    return true;
  }

  /** Reports a success; true when it ends an outage. */
  succeeded(): boolean {
    if (!this.#down) return false;
    this.#down = false;
    this.#logger.info("database available again: background work resumed");
    return true;
  }
}
