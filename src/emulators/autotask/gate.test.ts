import { describe, expect, it } from "vitest";
import { createFaults } from "./faults.js";
import { createGate } from "./gate.js";
import type { RequestInfo } from "./hooks.js";
import { createLimits } from "./limits.js";
import { createVirtualClock } from "./timing.js";

function req(over: Partial<RequestInfo> = {}): RequestInfo {
  return {
    tenantId: "t1",
    integrationCode: "CODE",
    username: "api@example.com",
    method: "POST",
    entity: "Tickets",
    endpointKey: "POST Tickets",
    isWrite: true,
    ...over,
  };
}

describe("createGate", () => {
  it("admits a request and reports ThresholdInformation from the limits", async () => {
    const clock = createVirtualClock(0);
    const gate = createGate({ limits: createLimits({}, clock), clock });
    const a = await gate.admit(req());
    expect(a.reject).toBeUndefined();
    expect(a.afterApply).toBeUndefined();
    a.release();
    expect(gate.thresholdInformation("t1")).toEqual({
      externalRequestThreshold: 10_000,
      requestThresholdTimeframe: 60,
      currentTimeframeRequestCount: 1,
    });
  });

  it("checks the thread limit before faults, so a refused request draws no fault", async () => {
    const clock = createVirtualClock(0);
    const faults = createFaults({ seed: 1, share500: 1 });
    const gate = createGate({ limits: createLimits({ maxThreads: 1 }, clock), faults, clock });
    const first = await gate.admit(req());
    expect(first.reject?.reason).toBe("fault");
    const second = await gate.admit(req());
    expect(second.reject?.reason).toBe("thread");
    expect(faults.snapshot().drawn.requests).toBe(1);
    // A faulted request still held its slot until released.
    first.release();
    second.release();
    expect((await gate.admit(req())).reject?.reason).toBe("fault");
  });

  it("passes after-apply faults through", async () => {
    const clock = createVirtualClock(0);
    const gate = createGate({
      limits: createLimits({}, clock),
      faults: createFaults({ seed: 1, shareTimeoutAfterApply: 1, timeoutAfterMs: 1234 }),
      clock,
    });
    const a = await gate.admit(req());
    expect(a.reject).toBeUndefined();
    expect(a.afterApply).toEqual({ kind: "timeout", afterMs: 1234 });
  });

  it("waits out usage latency plus injected latency while holding the thread slot", async () => {
    const clock = createVirtualClock(0);
    const limits = createLimits({ requestThreshold: 4, maxThreads: 1 }, clock);
    const gate = createGate({ limits, faults: createFaults({ seed: 1, latencyMs: 200 }), clock });
    for (let i = 0; i < 2; i++) (await gate.admit(req({ entity: `E${i}` }))).release();

    // Third request finds 2/4 = 50 % used: +500 ms usage latency +200 ms injected.
    const start = clock.now().getTime();
    const pending = gate.admit(req());
    // While it waits, it holds the only thread of POST Tickets.
    expect((await gate.admit(req())).reject?.reason).toBe("thread");
    const third = await pending;
    expect(clock.now().getTime() - start).toBe(700);
    third.release();
    expect((await gate.admit(req())).reject).toBeUndefined();
  });
});
