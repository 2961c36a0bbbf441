/**
 * Transport pieces shared by the PSA connectors: injectable time, a per-key concurrency limiter,
 * full-jitter exponential backoff that honours Retry-After within a time budget, and fetch with a
 * per-request timeout. Nothing here is vendor-specific and nothing is global: each connector
 * instance owns its limiter and its clock.
 */
import { classifyNetworkError, isPsaError, PsaError } from "./errors.js";

/** Epoch ms. */
export type Now = () => number;
/** Waits `ms`; rejects when `signal` aborts. Tests inject a fake that records or scales delays. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;
/** Uniform in [0, 1). */
export type Random = () => number;

export const systemNow: Now = () => Date.now();

export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });

// ---- concurrency limiter -------------------------------------------------------------------

/**
 * A counting semaphore per key (FIFO). Used with key = endpoint so that no more than `max` requests
 * run at once on one endpoint (Autotask's thread limit, docs/autotask.md, Thresholds and limits). Records the
 * highest concurrency it ever let through per key, so tests can assert the cap held.
 */
export class ConcurrencyLimiter {
  private readonly running = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();
  private readonly peak = new Map<string, number>();

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max concurrency must be ≥ 1, got ${max}`);
  }

  /** Resolves with a release function once a slot for `key` is free. */
  async acquire(key: string): Promise<() => void> {
    const n = this.running.get(key) ?? 0;
    if (n < this.max) {
      this.take(key, n);
    } else {
      await new Promise<void>((resolve) => {
        const q = this.waiting.get(key);
        if (q) q.push(resolve);
        else this.waiting.set(key, [resolve]);
      });
      // The releasing caller handed its slot over without decrementing: count stays the same.
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(key);
    };
  }

  /** Runs `fn` holding a slot for `key`. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(key);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  inFlight(key: string): number {
    return this.running.get(key) ?? 0;
  }

  /** Highest number of simultaneous holders seen per key. */
  peaks(): Record<string, number> {
    return Object.fromEntries(this.peak);
  }

  private take(key: string, n: number): void {
    this.running.set(key, n + 1);
    if (n + 1 > (this.peak.get(key) ?? 0)) this.peak.set(key, n + 1);
  }

  private release(key: string): void {
    const q = this.waiting.get(key);
    const next = q?.shift();
    if (q && q.length === 0) this.waiting.delete(key);
    if (next) {
      next(); // slot passes to the next waiter; running count unchanged
      return;
    }
    const n = (this.running.get(key) ?? 1) - 1;
    if (n <= 0) this.running.delete(key);
    else this.running.set(key, n);
  }
}

// ---- backoff -------------------------------------------------------------------------------

export interface RetryPolicy {
  /** Attempts in all, the first included (1 = no retry). */
  maxAttempts: number;
  /** Cap of the first retry's jitter window; doubles per retry. */
  baseDelayMs: number;
  /** Largest jitter window (a Retry-After may still ask for more). */
  maxDelayMs: number;
  /** No retry is started when its delay would end later than this after the first attempt began. */
  timeBudgetMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  timeBudgetMs: 120_000,
});

/**
 * Full jitter (docs/reliability.md, Retries and backoff): uniform in [0, min(maxDelay, base·2^(retry−1))),
 * where `retry` counts from 1 for the first retry. Without jitter, clients that failed together retry
 * together.
 */
export function fullJitterDelay(
  retry: number,
  policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">,
  random: Random,
): number {
  const exp = policy.baseDelayMs * 2 ** Math.max(0, retry - 1);
  const cap = Math.min(policy.maxDelayMs, exp);
  return Math.floor(random() * cap);
}

/** The wait before retry number `retry`: at least what Retry-After asked for, else full jitter. */
export function retryDelay(
  retry: number,
  policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">,
  random: Random,
  retryAfterMs?: number,
): number {
  const jitter = fullJitterDelay(retry, policy, random);
  return retryAfterMs === undefined ? jitter : Math.max(retryAfterMs, jitter);
}

export interface RetryHooks {
  policy: RetryPolicy;
  now: Now;
  sleep: Sleep;
  random: Random;
  /** Whether this error may be retried (the attempt count and budget are checked separately). */
  shouldRetry(err: PsaError): boolean;
  /** Told before each wait; `throttled` is true for rate/thread-limit waits. */
  onRetry?(info: { err: PsaError; retry: number; delayMs: number }): void;
}

/**
 * Runs `attempt` until it succeeds, a non-retryable error comes, `maxAttempts` are used, or the next
 * wait would overrun `timeBudgetMs`. Errors that are not PsaErrors are thrown as they are. The error
 * thrown carries the number of attempts made.
 */
export async function withRetries<T>(attempt: (n: number) => Promise<T>, hooks: RetryHooks): Promise<T> {
  const { policy } = hooks;
  const started = hooks.now();
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      if (!isPsaError(e)) throw e;
      e.attempts = n;
      if (!hooks.shouldRetry(e) || n >= policy.maxAttempts) throw e;
      const delayMs = retryDelay(n, policy, hooks.random, e.retryAfterMs);
      if (hooks.now() - started + delayMs > policy.timeBudgetMs) throw e;
      hooks.onRetry?.({ err: e, retry: n, delayMs });
      await hooks.sleep(delayMs);
    }
  }
}

// ---- fetch with a timeout --------------------------------------------------------------------

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when it is not JSON, or undefined when empty. */
  body: unknown;
  /** False when the body was non-empty and not valid JSON. */
  json: boolean;
  /** The body's bytes as read (a file download is not text). */
  raw: Buffer;
}

/** Largest answer read from a PSA (16 MiB); a larger one is an error and reading stops there. */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface ExchangeOptions {
  timeoutMs: number;
  operation: string;
  write: boolean;
  /** Response size cap in bytes (default DEFAULT_MAX_RESPONSE_BYTES). */
  maxResponseBytes?: number;
  /** Told the status of every answer the PSA gave (redirects and refusals included), for metrics. */
  onStatus?: (status: number) => void;
}

function hostOf(location: string, base: string): string {
  try {
    return new URL(location, base).host || "an unnamed host";
  } catch {
    return "an unparsable location";
  }
}

/** Reads the body up to `cap` bytes; past it, cancels the stream (the connection closes) and throws. */
async function readCapped(res: Response, cap: number, opts: ExchangeOptions): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  const tooLarge = () =>
    new PsaError({
      code: "TOO_LARGE",
      retryable: false,
      ambiguous: opts.write,
      operation: opts.operation,
      message: `${opts.operation}: expected an answer of at most ${cap} bytes, got a larger one; reading stopped`,
    });
  if (Number.isFinite(declared) && declared > cap) {
    await res.body.cancel().catch(() => undefined);
    throw tooLarge();
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/**
 * One HTTP exchange with a timeout covering the whole answer (headers and body): a server that
 * applies a write and then never answers (the 5-minute execution limit; the emulator's
 * timeout-after-apply fault) must not hang the caller. Redirects are not followed (a 3xx is a
 * REDIRECT error naming the target host) and the body is read up to a size cap. Connection failures
 * and timeouts are thrown as classified PsaErrors (NETWORK/TIMEOUT, ambiguous for writes).
 */
export async function fetchWithTimeout(
  fetchFn: FetchFn,
  url: string,
  init: RequestInit,
  opts: ExchangeOptions,
): Promise<HttpAnswer> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException("request timed out", "TimeoutError"));
  }, opts.timeoutMs);
  try {
    const res = await fetchFn(url, { ...init, redirect: "manual", signal: controller.signal });
    opts.onStatus?.(res.status);
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => undefined);
      const location = res.headers.get("location");
      throw new PsaError({
        code: "REDIRECT",
        status: res.status,
        retryable: false,
        operation: opts.operation,
        message: `${opts.operation}: expected a direct answer, got a redirect (HTTP ${res.status}) to ${
          location ? hostOf(location, url) : "no location"
        }; redirects are not followed`,
      });
    }
    const raw = await readCapped(res, opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, opts);
    const text = raw.toString("utf8");
    let body: unknown;
    let json = true;
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
        json = false;
      }
    }
    return { status: res.status, headers: res.headers, body, json, raw };
  } catch (err) {
    if (isPsaError(err)) throw err;
    throw classifyNetworkError(err, {
      operation: opts.operation,
      write: opts.write,
      timedOut,
      timeoutMs: opts.timeoutMs,
    });
  } finally {
    clearTimeout(timer);
  }
}
