import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PsaError } from "./errors.js";
import {
  ConcurrencyLimiter,
  fetchWithTimeout,
  fullJitterDelay,
  type RetryPolicy,
  retryDelay,
  withRetries,
} from "./http.js";

/** A fake clock: sleeping advances time instantly and is recorded. */
function fakeClock(start = 1_000_000) {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000, timeBudgetMs: 60_000 };

const err = (code: PsaError["code"], retryable: boolean, retryAfterMs?: number) =>
  new PsaError({ code, retryable, message: code, retryAfterMs });

describe("full-jitter backoff", () => {
  it("doubles the window per retry up to the cap", () => {
    const half = () => 0.5;
    expect([1, 2, 3, 4, 5, 6].map((n) => fullJitterDelay(n, policy, half))).toEqual([
      50, 100, 200, 400, 500, 500,
    ]);
    expect(fullJitterDelay(3, policy, () => 0)).toBe(0);
  });

  it("stays in [0, min(cap, base·2^(n−1)))", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, base, cap, u) => {
          const d = fullJitterDelay(n, { baseDelayMs: base, maxDelayMs: cap }, () => u);
          return d >= 0 && d < Math.max(1, Math.min(cap, base * 2 ** (n - 1)));
        },
      ),
    );
  });

  it("waits at least what Retry-After asks for", () => {
    expect(retryDelay(1, policy, () => 0.99, 5000)).toBe(5000);
    expect(retryDelay(4, policy, () => 0.99, 10)).toBe(792);
    expect(retryDelay(1, policy, () => 0.5)).toBe(50);
  });
});

describe("withRetries", () => {
  it("retries retryable errors with backoff, honouring Retry-After, until success", async () => {
    const clock = fakeClock();
    const answers = [err("RATE_LIMITED", true, 2000), err("SERVER", true), "ok"];
    let calls = 0;
    const out = await withRetries(
      async () => {
        const a = answers[calls++];
        if (a instanceof PsaError) throw a;
        return a;
      },
      { policy, now: clock.now, sleep: clock.sleep, random: () => 0.5, shouldRetry: (e) => e.retryable },
    );
    expect(out).toBe("ok");
    expect(calls).toBe(3);
    expect(clock.sleeps).toEqual([2000, 100]);
  });

  it("does not retry a non-retryable error", async () => {
    const clock = fakeClock();
    let calls = 0;
    const p = withRetries(
      async () => {
        calls++;
        throw err("INVALID_REQUEST", false);
      },
      { policy, now: clock.now, sleep: clock.sleep, random: () => 0.5, shouldRetry: (e) => e.retryable },
    );
    await expect(p).rejects.toMatchObject({ code: "INVALID_REQUEST", attempts: 1 });
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it("stops after maxAttempts and reports the attempts made", async () => {
    const clock = fakeClock();
    let calls = 0;
    const p = withRetries(
      async () => {
        calls++;
        throw err("SERVER", true);
      },
      { policy, now: clock.now, sleep: clock.sleep, random: () => 0.5, shouldRetry: (e) => e.retryable },
    );
    await expect(p).rejects.toMatchObject({ code: "SERVER", attempts: 5 });
    expect(calls).toBe(5);
    expect(clock.sleeps).toEqual([50, 100, 200, 400]);
  });

  it("gives up when the next wait would overrun the time budget", async () => {
    const clock = fakeClock();
    let calls = 0;
    const p = withRetries(
      async () => {
        calls++;
        clock.advance(1000); // each attempt takes a second
        throw err("RATE_LIMITED", true, 4000);
      },
      {
        policy: { ...policy, maxAttempts: 100, timeBudgetMs: 12_000 },
        now: clock.now,
        sleep: clock.sleep,
        random: () => 0.5,
        shouldRetry: (e) => e.retryable,
      },
    );
    // t=1s fail, wait 4 → t=6s fail, wait 4 → t=11s fail; 11+4 > 12 → give up.
    await expect(p).rejects.toMatchObject({ code: "RATE_LIMITED", attempts: 3, retryAfterMs: 4000 });
    expect(calls).toBe(3);
    expect(clock.sleeps).toEqual([4000, 4000]);
  });

  it("rethrows errors that are not PsaErrors at once", async () => {
    const clock = fakeClock();
    const p = withRetries(
      async () => {
        throw new Error("bug");
      },
      { policy, now: clock.now, sleep: clock.sleep, random: () => 0.5, shouldRetry: () => true },
    );
    await expect(p).rejects.toThrow("bug");
    expect(clock.sleeps).toEqual([]);
  });
});

describe("ConcurrencyLimiter", () => {
  function deferred() {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    return { promise, resolve };
  }
  const tick = () => new Promise((r) => setImmediate(r));

  it("lets at most `max` holders per key run, in FIFO order, keys independent", async () => {
    const limiter = new ConcurrencyLimiter(3);
    const gates = Array.from({ length: 8 }, deferred);
    const started: number[] = [];
    const tasks = gates.map((g, i) =>
      limiter.run("tickets", async () => {
        started.push(i);
        await g.promise;
      }),
    );
    const other = limiter.run("companies", async () => "other");
    await tick();
    expect(started).toEqual([0, 1, 2]);
    expect(limiter.inFlight("tickets")).toBe(3);
    expect(await other).toBe("other");
    gates[1]?.resolve();
    await tick();
    expect(started).toEqual([0, 1, 2, 3]);
    expect(limiter.inFlight("tickets")).toBe(3);
    for (const g of gates) g.resolve();
    await Promise.all(tasks);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(limiter.inFlight("tickets")).toBe(0);
    expect(limiter.peaks()).toEqual({ tickets: 3, companies: 1 });
  });

  it("frees the slot when the task throws, and release is idempotent", async () => {
    const limiter = new ConcurrencyLimiter(1);
    await expect(
      limiter.run("k", async () => {
        throw new Error("x");
      }),
    ).rejects.toThrow("x");
    const release = await limiter.acquire("k");
    release();
    release();
    expect(limiter.inFlight("k")).toBe(0);
    const again = await limiter.acquire("k");
    expect(limiter.inFlight("k")).toBe(1);
    again();
  });

  it("rejects a maximum below 1", () => {
    expect(() => new ConcurrencyLimiter(0)).toThrow(RangeError);
  });
});

describe("fetchWithTimeout", () => {
  const opts = { timeoutMs: 20, operation: "POST Tickets", write: true };

  it("turns a hung exchange into an ambiguous TIMEOUT", async () => {
    const hang = (_url: string, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      });
    await expect(fetchWithTimeout(hang, "http://x/", {}, opts)).rejects.toMatchObject({
      code: "TIMEOUT",
      ambiguous: true,
      retryable: true,
    });
  });

  it("turns a refused connection into a NETWORK error that is not ambiguous", async () => {
    const refused = async () => {
      throw new TypeError("fetch failed", {
        cause: Object.assign(new Error("refused"), { code: "ECONNREFUSED" }),
      });
    };
    await expect(fetchWithTimeout(refused, "http://x/", {}, opts)).rejects.toMatchObject({
      code: "NETWORK",
      ambiguous: false,
    });
  });

  it("parses JSON bodies and keeps other text", async () => {
    const json = await fetchWithTimeout(async () => new Response('{"itemId":7}'), "http://x/", {}, opts);
    expect(json).toMatchObject({ status: 200, body: { itemId: 7 }, json: true });
    const text = await fetchWithTimeout(
      async () => new Response("oops", { status: 502 }),
      "http://x/",
      {},
      opts,
    );
    expect(text).toMatchObject({ status: 502, body: "oops", json: false });
    const empty = await fetchWithTimeout(
      async () => new Response(null, { status: 204 }),
      "http://x/",
      {},
      opts,
    );
    expect(empty).toMatchObject({ status: 204, body: undefined, json: true });
  });
});

describe("fetchWithTimeout: redirects and the size cap", () => {
  const opts = { timeoutMs: 1000, operation: "GET Companies/1", write: false };

  it("follows no redirect and names the target host", async () => {
    let asked: RequestInit | undefined;
    const redirect = async (_url: string, init?: RequestInit) => {
      asked = init;
      return new Response(null, { status: 307, headers: { Location: "https://metadata.internal:8443/x" } });
    };
    await expect(fetchWithTimeout(redirect, "https://a.autotask.net/", {}, opts)).rejects.toMatchObject({
      code: "REDIRECT",
      status: 307,
      retryable: false,
      message: expect.stringContaining("metadata.internal:8443"),
    });
    expect(asked?.redirect).toBe("manual");
  });

  it("stops reading past the cap and cancels the stream", async () => {
    let pulled = 0;
    let cancelled = false;
    const chunk = new Uint8Array(64 * 1024);
    const endless = async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(c) {
            pulled += chunk.byteLength;
            c.enqueue(chunk);
          },
          cancel() {
            cancelled = true;
          },
        }),
      );
    const cap = 256 * 1024;
    await expect(
      fetchWithTimeout(endless, "https://a.autotask.net/", {}, { ...opts, maxResponseBytes: cap }),
    ).rejects.toMatchObject({ code: "TOO_LARGE", retryable: false });
    expect(cancelled).toBe(true);
    // Read no further than the cap plus the chunk that crossed it (and what the stream queued ahead).
    expect(pulled).toBeLessThanOrEqual(cap + 2 * chunk.byteLength);
    const declared = async () =>
      new Response("x".repeat(10), { headers: { "Content-Length": String(cap + 1) } });
    await expect(
      fetchWithTimeout(declared, "https://a.autotask.net/", {}, { ...opts, maxResponseBytes: cap }),
    ).rejects.toMatchObject({ code: "TOO_LARGE" });
  });
});
