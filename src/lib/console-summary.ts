import type { Logger } from "./logger.js";

/** What the summary line reports of the background, for the same minute. */
export interface BackgroundCounts {
  assetRuns: number;
  failedRuns: number;
  ticketsOut: number;
  ticketsIn: number;
  syncErrors: number;
}

const NO_BACKGROUND: BackgroundCounts = {
  assetRuns: 0,
  failedRuns: 0,
  ticketsOut: 0,
  ticketsIn: 0,
  syncErrors: 0,
};

/**
 * The quiet console: instead of a line per request, one info line per minute in which something
 * happened — requests answered (and how many failed), syncs, and warnings/errors logged. Requests are
 * logged one by one at debug level (LOG_LEVEL=debug).
 */
export class ConsoleSummary {
  #requests = 0;
  #clientErrors = 0;
  #serverErrors = 0;
  #warnings = 0;
  #errors = 0;
  readonly #everyMs: number;

  /** `everyMs`: how often the line is logged (default a minute). */
  constructor(o: { everyMs?: number } = {}) {
    this.#everyMs = o.everyMs ?? 60_000;
  }

  /** Counts one answered request by its status code. */
  request(statusCode: number): void {
    this.#requests += 1;
    if (statusCode >= 500) this.#serverErrors += 1;
    else if (statusCode >= 400) this.#clientErrors += 1;
  }

  /** Counts a log line by its pino level (40 warn, 50 error, 60 fatal). */
  logged(level: number): void {
    if (level >= 50) this.#errors += 1;
    else if (level >= 40) this.#warnings += 1;
  }

  /** The line for the counts since the last call (which are then reset), or null when all are zero. */
  take(bg: BackgroundCounts): string | null {
    const parts: string[] = [];
    if (this.#requests > 0) {
      const failed = [
        this.#clientErrors > 0 ? `${this.#clientErrors} refused (4xx)` : "",
        this.#serverErrors > 0 ? `${this.#serverErrors} failed (5xx)` : "",
      ].filter(Boolean);
      parts.push(`${plural(this.#requests, "request")}${failed.length ? ` (${failed.join(", ")})` : ""}`);
    }
    if (bg.assetRuns > 0)
      parts.push(
        `${plural(bg.assetRuns, "asset sync run")} finished${bg.failedRuns > 0 ? ` (${bg.failedRuns} failed)` : ""}`,
      );
    if (bg.ticketsOut > 0) parts.push(`${plural(bg.ticketsOut, "ticket change")} sent to the PSA`);
    if (bg.ticketsIn > 0) parts.push(`${plural(bg.ticketsIn, "PSA ticket change")} taken in`);
    if (bg.syncErrors > 0) parts.push(plural(bg.syncErrors, "new sync error"));
    if (this.#warnings > 0) parts.push(plural(this.#warnings, "warning"));
    if (this.#errors > 0) parts.push(plural(this.#errors, "error"));
    this.#requests = 0;
    this.#clientErrors = 0;
    this.#serverErrors = 0;
    this.#warnings = 0;
    this.#errors = 0;
    return parts.length > 0 ? `last minute: ${parts.join(", ")}` : null;
  }

  /**
   * Logs the line every interval, with `background` counts of the same window.
   * Returns a stop function; the timer never holds the process open.
   */
  start(
    logger: Logger,
    background: (since: Date, until: Date) => Promise<BackgroundCounts>,
    o: { now?: () => Date } = {},
  ): () => void {
    const now = o.now ?? (() => new Date());
    let since = now();
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      const until = now();
      void background(since, until)
        // A store that cannot be read this minute: the line still reports requests and log levels.
        .catch((): BackgroundCounts => NO_BACKGROUND)
        .then((bg) => {
          since = until;
          const line = this.take(bg);
          if (line) logger.info(line);
        })
        .finally(() => {
          busy = false;
        });
    }, this.#everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

function plural(n: number, noun: string): string {
  return `${n.toLocaleString("en-US")} ${noun}${n === 1 ? "" : "s"}`;
}
