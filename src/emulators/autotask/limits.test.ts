import { describe, expect, it } from "vitest";
import type { RequestInfo } from "./hooks.js";
import { createLimits, DEFAULT_LIMITS, threadLimitMessage } from "./limits.js";
import { createVirtualClock } from "./timing.js";

const MIN = 60_000;

function req(over: Partial<RequestInfo> = {}): RequestInfo {
  const method = over.method ?? "GET";
  const entity = over.entity ?? "Tickets";
  return {
    tenantId: "t1",
    integrationCode: "CODE",
    username: "api@example.com",
    method,
    entity,
    endpointKey: `${method} ${entity}`,
    isWrite: false,
    ...over,
  };
}

describe("createLimits — rolling request window", () => {
  it("uses the documented defaults", () => {
    const limits = createLimits();
    expect(limits.snapshot().options).toEqual(DEFAULT_LIMITS);
    expect(limits.thresholdInformation("t1")).toEqual({
      externalRequestThreshold: 10_000,
      requestThresholdTimeframe: 60,
      currentTimeframeRequestCount: 0,
    });
  });

  it("counts admitted requests per tenant over a rolling 60 minutes", () => {
    const clock = createVirtualClock(0);
    const limits = createLimits({}, clock);
    for (let i = 0; i < 3; i++) limits.admit(req()).release();
    limits.admit(req({ tenantId: "t2" })).release();
    clock.set(30 * MIN);
    for (let i = 0; i < 2; i++) limits.admit(req({ entity: "Companies" })).release();

    expect(limits.thresholdInformation("t1").currentTimeframeRequestCount).toBe(5);
    expect(limits.thresholdInformation("t2").currentTimeframeRequestCount).toBe(1);
    clock.set(60 * MIN - 1);
    expect(limits.thresholdInformation("t1").currentTimeframeRequestCount).toBe(5);
    clock.set(60 * MIN);
    expect(limits.thresholdInformation("t1").currentTimeframeRequestCount).toBe(2);
    clock.set(90 * MIN);
    expect(limits.thresholdInformation("t1").currentTimeframeRequestCount).toBe(0);
    expect(limits.snapshot().counts).toEqual({ t1: 0, t2: 0 });
  });

  it("rejects requests past the threshold with 429, {errors:[string]} and Retry-After, without counting them", () => {
    const clock = createVirtualClock(0);
    const limits = createLimits({ requestThreshold: 5 }, clock);
    for (let i = 0; i < 5; i++) {
      const d = limits.admit(req());
      expect(d.reject).toBeUndefined();
      d.release();
    }
    clock.set(10 * MIN);

    const refused = limits.admit(req());
    expect(refused.reject?.reason).toBe("threshold");
    expect(refused.reject?.status).toBe(429);
    const body = refused.reject?.body as { errors: unknown[] };
    expect(body.errors).toHaveLength(1);
    expect(typeof body.errors[0]).toBe("string");
    expect(body.errors[0]).toContain("threshold of 5 requests per 60 minutes");
    // The five requests at t=0 leave the window at t=60 min, 50 minutes from now.
    expect(refused.reject?.headers).toEqual({ "Retry-After": String(50 * 60) });
    expect(limits.thresholdInformation("t1").currentTimeframeRequestCount).toBe(5);
    // Another tenant is unaffected (the threshold is per database).
    expect(limits.admit(req({ tenantId: "t2" })).reject).toBeUndefined();

    clock.set(60 * MIN);
    expect(limits.admit(req()).reject).toBeUndefined();
  });

  it("Retry-After points at the moment the window drops below the threshold", () => {
    const clock = createVirtualClock(0);
    const limits = createLimits({ requestThreshold: 3 }, clock);
    limits.admit(req()).release(); // t=0
    clock.set(5 * MIN);
    limits.admit(req()).release();
    clock.set(7 * MIN);
    limits.admit(req()).release();
    clock.set(8 * MIN);
    // Only the t=0 request needs to leave: at 60 min, 52 minutes from now.
    expect(limits.admit(req()).reject?.headers).toEqual({ "Retry-After": String(52 * 60) });
    limits.configure({ thresholdRetryAfter: false });
    expect(limits.admit(req()).reject?.headers).toEqual({});
  });

  it("reports a changed threshold and window in ThresholdInformation", () => {
    const limits = createLimits({ requestThreshold: 20_000, windowMs: 30 * MIN });
    expect(limits.thresholdInformation("x")).toMatchObject({
      externalRequestThreshold: 20_000,
      requestThresholdTimeframe: 30,
    });
  });
});

describe("createLimits — usage-based latency (docs/autotask.md, Thresholds and limits)", () => {
  it("adds 0.5 s from 50 % and 1 s from 75 % of the threshold, scaled by timeScale", () => {
    const limits = createLimits({ requestThreshold: 8 }, createVirtualClock(0));
    const latencies: number[] = [];
    for (let i = 0; i < 8; i++) {
      const d = limits.admit(req());
      latencies.push(d.latencyMs);
      d.release();
    }
    // Usage found on arrival: 0/8 … 7/8.
    expect(latencies).toEqual([0, 0, 0, 0, 500, 500, 1000, 1000]);

    limits.reset();
    limits.configure({ timeScale: 0.01 });
    const scaledLatencies: number[] = [];
    for (let i = 0; i < 8; i++) scaledLatencies.push(limits.admit(req({ entity: `E${i}` })).latencyMs);
    expect(scaledLatencies).toEqual([0, 0, 0, 0, 5, 5, 10, 10]);
  });

  it("takes custom tiers at run time", () => {
    const limits = createLimits({ requestThreshold: 10 }, createVirtualClock(0));
    limits.configure({
      latencyTiers: [
        { atShare: 0.9, addMs: 3000 },
        { atShare: 0.2, addMs: 100 },
      ],
    });
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) latencies.push(limits.admit(req({ entity: `E${i}` })).latencyMs);
    expect(latencies).toEqual([0, 0, 100, 100, 100, 100, 100, 100, 100, 3000]);
  });
});

describe("createLimits — thread limit (docs/autotask.md, Thresholds and limits)", () => {
  it("rejects the 4th concurrent request per integration code and endpoint; release frees the slot", () => {
    const limits = createLimits();
    const held = [limits.admit(req()), limits.admit(req()), limits.admit(req())];
    expect(held.every((d) => d.reject === undefined)).toBe(true);

    const fourth = limits.admit(req({ method: "POST", isWrite: true }));
    expect(fourth.reject).toEqual({
      reason: "thread",
      status: 429,
      body: {
        errors: [
          "Thread Threshold Exceeded — The Autotask API thread threshold of 3 threads has been exceeded.",
        ],
      },
      headers: {},
    });
    // Refused requests do not count against the hourly threshold.
    expect(limits.thresholdInformation("t1").currentTimeframeRequestCount).toBe(3);

    // Other endpoints, other integrations and other tenants have their own slots.
    expect(limits.admit(req({ entity: "Companies" })).reject).toBeUndefined();
    expect(limits.admit(req({ integrationCode: "OTHER" })).reject).toBeUndefined();
    expect(limits.admit(req({ tenantId: "t2" })).reject).toBeUndefined();

    held[0]?.release();
    held[0]?.release(); // idempotent: frees one slot, not two
    const again = limits.admit(req());
    expect(again.reject).toBeUndefined();
    expect(limits.admit(req()).reject?.reason).toBe("thread");
    expect(limits.snapshot().threads["t1|CODE|Tickets"]).toBe(3);
  });

  it("takes the thread count, status and Retry-After from configuration", () => {
    const limits = createLimits({ maxThreads: 1, threadStatus: 500, threadRetryAfterSeconds: 2 });
    limits.admit(req());
    const refused = limits.admit(req());
    expect(refused.reject?.status).toBe(500);
    expect(refused.reject?.headers).toEqual({ "Retry-After": "2" });
    expect(refused.reject?.body).toEqual({ errors: [threadLimitMessage(1)] });
    limits.configure({ maxThreads: 2 });
    expect(limits.admit(req()).reject).toBeUndefined();
  });

  it("rejects invalid configuration and keeps the previous one", () => {
    const limits = createLimits();
    expect(() => limits.configure({ requestThreshold: 0 })).toThrow(RangeError);
    expect(() => limits.configure({ maxThreads: 1.5 })).toThrow(RangeError);
    expect(() => limits.configure({ threadStatus: 200 })).toThrow(RangeError);
    expect(() => limits.configure({ latencyTiers: [{ atShare: 2, addMs: 1 }] })).toThrow(RangeError);
    expect(() => limits.configure({ nope: 1 } as never)).toThrow(/unknown limits option/);
    expect(limits.snapshot().options).toEqual(DEFAULT_LIMITS);
  });

  it("keeps memory bounded under a high request rate (buckets, not timestamps)", () => {
    const clock = createVirtualClock(0);
    const limits = createLimits({ requestThreshold: 1_000_000 }, clock);
    for (let i = 0; i < 200_000; i++) {
      clock.advance(1); // 1,000 requests per second for 200 s
      limits.admit(req()).release();
    }
    expect(limits.thresholdInformation("t1").currentTimeframeRequestCount).toBe(200_000);
    clock.advance(60 * MIN);
    expect(limits.thresholdInformation("t1").currentTimeframeRequestCount).toBe(0);
  });
});
