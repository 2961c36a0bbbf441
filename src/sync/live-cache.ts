/**
 * A short-lived cache of live PSA reads that users trigger by clicking (the settings pick-lists,
 * Validate): repeated clicks within the time-to-live are answered from memory, so they cannot spend
 * the partner's hourly API budget. Per process, per partner; an entry is used only while its key (the
 * session's credentials key and the inputs of the read) is unchanged. Concurrent calls share one load.
 */

/** How long the settings pick-lists read from the PSA are reused, ms. */
export const LIVE_READ_TTL_MS = 60_000;
/**
 * How long a Validate checklist is reused while nothing on our side changed, ms: shorter, because a
 * partner who fixes something in Autotask clicks Validate again to see it pass.
 */
export const VALIDATE_TTL_MS = 20_000;

interface Entry {
  key: string;
  at: number;
  value: Promise<unknown>;
}

export class LiveReadCache {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #ttlMs: number;

  /** `ttlMs` caps every entry's time-to-live (0 turns the cache off). */
  constructor(now: () => number, ttlMs = LIVE_READ_TTL_MS) {
    this.#now = now;
    this.#ttlMs = ttlMs;
  }

  /**
   * The value cached in `slot` (e.g. "options:12") when it was made for `key` less than the TTL ago;
   * else runs `load` and keeps its result (a failure too: clicking again must not retry at once).
   */
  get<T>(slot: string, key: string, load: () => Promise<T>, ttlMs = this.#ttlMs): Promise<T> {
    const e = this.#entries.get(slot);
    const now = this.#now();
    if (e && e.key === key && now - e.at < Math.min(ttlMs, this.#ttlMs)) return e.value as Promise<T>;
    const value = load();
    value.catch(() => undefined); // a failure is handed to each caller, never left unhandled here
    this.#entries.set(slot, { key, at: now, value });
    return value;
  }

  /** Forgets a partner's entries (after its settings changed). */
  forget(partnerId: number): void {
    for (const slot of this.#entries.keys()) if (slot.endsWith(`:${partnerId}`)) this.#entries.delete(slot);
  }
}
