import { describe, expect, it } from "vitest";
import {
  createFaults,
  DEFAULT_FAULTS,
  type Faults,
  INJECTED_429_MESSAGE,
  INJECTED_500_MESSAGE,
} from "./faults.js";
import type { RequestInfo } from "./hooks.js";

function req(over: Partial<RequestInfo> = {}): RequestInfo {
  const method = over.method ?? "POST";
  const entity = over.entity ?? "Tickets";
  return {
    tenantId: "t1",
    integrationCode: "CODE",
    username: "api@example.com",
    method,
    entity,
    endpointKey: `${method} ${entity}`,
    isWrite: true,
    ...over,
  };
}

/** One label per request: "429", "500", "timeout", "500after" or "ok". */
function label(f: Faults, r: RequestInfo = req()): string {
  const d = f.decide(r);
  if (d.reject) return String(d.reject.status);
  if (d.afterApply) return d.afterApply.kind === "timeout" ? "timeout" : "500after";
  return "ok";
}

function tally(f: Faults, n: number): Record<string, number> {
  const out: Record<string, number> = { "429": 0, "500": 0, timeout: 0, "500after": 0, ok: 0 };
  for (let i = 0; i < n; i++) {
    const l = label(f);
    out[l] = (out[l] ?? 0) + 1;
  }
  return out;
}

const MIXED = { share429: 0.1, share500: 0.05, shareTimeoutAfterApply: 0.05, share500AfterApply: 0.02 };

describe("createFaults — request faults", () => {
  it("injects nothing by default", () => {
    const f = createFaults({ seed: 1 });
    expect(tally(f, 1000)).toEqual({ "429": 0, "500": 0, timeout: 0, "500after": 0, ok: 1000 });
    expect(f.snapshot().options).toEqual({ ...DEFAULT_FAULTS, seed: 1 });
  });

  it("is reproducible with a seed, and another seed gives another sequence", () => {
    const seq = (seed: number | string): string[] => {
      const f = createFaults({ seed, ...MIXED });
      return Array.from({ length: 500 }, () => label(f));
    };
    expect(seq(42)).toEqual(seq(42));
    expect(seq("demo")).toEqual(seq("demo"));
    expect(seq(42)).not.toEqual(seq(43));
  });

  it("reports a generated seed that replays the same run", () => {
    const a = createFaults(MIXED);
    const first = Array.from({ length: 200 }, () => label(a));
    const b = createFaults({ ...MIXED, seed: a.snapshot().options.seed });
    expect(Array.from({ length: 200 }, () => label(b))).toEqual(first);
    // Giving the seed again restarts the stream.
    a.configure({ seed: a.snapshot().options.seed });
    expect(Array.from({ length: 200 }, () => label(a))).toEqual(first);
  });

  it("hits roughly the configured shares (seeded, so deterministic)", () => {
    const n = 20_000;
    const t = tally(createFaults({ seed: 7, ...MIXED }), n);
    // ±20 % of each expected count: far wider than the PRNG's spread, tight enough to catch a wrong partition.
    expect(t["429"]).toBeGreaterThan(n * 0.1 * 0.8);
    expect(t["429"]).toBeLessThan(n * 0.1 * 1.2);
    expect(t["500"]).toBeGreaterThan(n * 0.05 * 0.8);
    expect(t["500"]).toBeLessThan(n * 0.05 * 1.2);
    expect(t.timeout).toBeGreaterThan(n * 0.05 * 0.8);
    expect(t.timeout).toBeLessThan(n * 0.05 * 1.2);
    expect(t["500after"]).toBeGreaterThan(n * 0.02 * 0.8);
    expect(t["500after"]).toBeLessThan(n * 0.02 * 1.2);
  });

  it("answers 429 with Retry-After, 500 with an errors array, and scales the after-apply hold", () => {
    const only429 = createFaults({ seed: 1, share429: 1, retryAfterSeconds: 3 });
    expect(only429.decide(req()).reject).toEqual({
      reason: "fault",
      status: 429,
      body: { errors: [INJECTED_429_MESSAGE] },
      headers: { "Retry-After": "3" },
    });
    const only500 = createFaults({ seed: 1, share500: 1 });
    expect(only500.decide(req()).reject).toEqual({
      reason: "fault",
      status: 500,
      body: { errors: [INJECTED_500_MESSAGE] },
    });
    const timeout = createFaults({
      seed: 1,
      shareTimeoutAfterApply: 1,
      timeoutAfterMs: 8000,
      timeScale: 0.25,
    });
    expect(timeout.decide(req())).toEqual({ latencyMs: 0, afterApply: { kind: "timeout", afterMs: 2000 } });
    const after500 = createFaults({ seed: 1, share500AfterApply: 1 });
    expect(after500.decide(req()).afterApply).toEqual({ kind: "error500" });
  });

  it("adds fixed or ranged latency, scaled", () => {
    const fixed = createFaults({ seed: 1, latencyMs: 300, timeScale: 0.5 });
    expect(fixed.decide(req()).latencyMs).toBe(150);
    const ranged = createFaults({ seed: 9, latencyMs: { min: 100, max: 200 } });
    const values = Array.from({ length: 1000 }, () => ranged.decide(req()).latencyMs);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...values)).toBeLessThanOrEqual(200);
    expect(new Set(values).size).toBeGreaterThan(900);
  });

  it("changing latency does not change which requests fail", () => {
    const a = createFaults({ seed: 5, ...MIXED });
    const b = createFaults({ seed: 5, ...MIXED, latencyMs: { min: 0, max: 50 } });
    expect(Array.from({ length: 300 }, () => label(b))).toEqual(Array.from({ length: 300 }, () => label(a)));
  });

  it("filters by writes, methods and entities", () => {
    const writes = createFaults({ seed: 1, share500: 1, onlyWrites: true });
    expect(label(writes, req({ method: "GET", isWrite: false }))).toBe("ok");
    expect(label(writes, req({ method: "PATCH" }))).toBe("500");

    const methods = createFaults({ seed: 1, share500: 1, onlyMethods: ["post"] });
    expect(label(methods, req({ method: "PATCH" }))).toBe("ok");
    expect(label(methods, req({ method: "POST" }))).toBe("500");

    const entities = createFaults({ seed: 1, share500: 1, onlyEntities: ["ConfigurationItems"] });
    expect(label(entities, req({ entity: "Tickets" }))).toBe("ok");
    expect(label(entities, req({ entity: "configurationitems" }))).toBe("500");
    // Requests outside the filter draw nothing, so they do not shift the stream.
    expect(entities.snapshot().drawn.requests).toBe(1);
  });

  it("rejects invalid options and keeps the previous ones", () => {
    const f = createFaults({ seed: 1 });
    expect(() => f.configure({ share429: 1.5 })).toThrow(RangeError);
    expect(() => f.configure({ share429: 0.6, share500: 0.6 })).toThrow(/more than 1/);
    expect(() => f.configure({ latencyMs: { min: 5, max: 1 } })).toThrow(RangeError);
    expect(() => f.configure({ retryAfterSeconds: -1 })).toThrow(RangeError);
    expect(() => f.configure({ bogus: 1 } as never)).toThrow(/unknown fault option/);
    expect(f.snapshot().options.share429).toBe(0);
  });
});

describe("createFaults — webhook delivery faults", () => {
  it("draws drop / duplicate / delay / reorder at roughly the configured shares, reproducibly", () => {
    const opts = {
      seed: 11,
      deliveryDrop: 0.1,
      deliveryDuplicate: 0.2,
      deliveryDelay: 0.3,
      deliveryDelayMs: 4000,
      deliveryReorder: 0.15,
      timeScale: 0.5,
    };
    const a = createFaults(opts);
    const n = 10_000;
    const decisions = Array.from({ length: n }, () => a.deliveryDecision());
    const count = (p: (d: (typeof decisions)[number]) => boolean): number => decisions.filter(p).length;
    expect(count((d) => d.drop) / n).toBeGreaterThan(0.08);
    expect(count((d) => d.drop) / n).toBeLessThan(0.12);
    expect(count((d) => d.duplicate) / n).toBeGreaterThan(0.16);
    expect(count((d) => d.duplicate) / n).toBeLessThan(0.24);
    expect(count((d) => d.delayMs > 0) / n).toBeGreaterThan(0.24);
    expect(count((d) => d.delayMs > 0) / n).toBeLessThan(0.36);
    expect(count((d) => d.reorder) / n).toBeGreaterThan(0.12);
    expect(count((d) => d.reorder) / n).toBeLessThan(0.18);
    expect(new Set(decisions.map((d) => d.delayMs))).toEqual(new Set([0, 2000]));

    const b = createFaults(opts);
    expect(Array.from({ length: n }, () => b.deliveryDecision())).toEqual(decisions);
  });

  it("keeps request and delivery streams independent", () => {
    const a = createFaults({ seed: 3, ...MIXED, deliveryDrop: 0.5 });
    const b = createFaults({ seed: 3, ...MIXED, deliveryDrop: 0.5 });
    const seqA: string[] = [];
    const seqB: string[] = [];
    for (let i = 0; i < 300; i++) {
      seqA.push(label(a));
      seqB.push(label(b));
      if (i % 3 === 0) b.deliveryDecision(); // webhook traffic on b only
    }
    expect(seqB).toEqual(seqA);
  });

  it("never faults deliveries with zero shares", () => {
    const f = createFaults({ seed: 2 });
    for (let i = 0; i < 500; i++)
      expect(f.deliveryDecision()).toEqual({ drop: false, duplicate: false, delayMs: 0, reorder: false });
  });
});
