/**
 * The RequestGate (hooks.ts) the core calls around every Autotask API request: the limits first
 * (threshold, then thread slot), then injected faults, then the added latency while the request holds
 * its thread slot — as on the real server, where a slowed request still occupies one of the three
 * threads (docs/autotask.md, Thresholds and limits).
 */
import type { Faults, RequestFaultDecision } from "./faults.js";
import type { Admission, RequestGate, RequestInfo } from "./hooks.js";
import type { Limits } from "./limits.js";
import { type EmulatorClock, systemClock } from "./timing.js";

export interface GateOptions {
  limits: Limits;
  /** Optional: without it no faults are injected. */
  faults?: Faults;
  /** Used to wait out added latency (tests pass a virtual clock). */
  clock?: EmulatorClock;
}

export interface Gate extends RequestGate {
  readonly limits: Limits;
  readonly faults: Faults | undefined;
}

export function createGate({ limits, faults, clock = systemClock }: GateOptions): Gate {
  return {
    limits,
    faults,
    async admit(req: RequestInfo): Promise<Admission> {
      const l = limits.admit(req);
      if (l.reject) return { reject: l.reject, release: l.release };
      // Faults are drawn only for requests that got a thread slot, so the fault stream advances once
      // per request the server actually ran (same seed + same admitted traffic → same faults).
      let f: RequestFaultDecision = { latencyMs: 0 };
      try {
        if (faults) f = faults.decide(req);
        const wait = l.latencyMs + f.latencyMs;
        if (wait > 0) await clock.sleep(wait);
      } catch (err) {
        l.release();
        throw err;
      }
      const admission: Admission = { release: l.release };
      if (f.reject) admission.reject = f.reject;
      else if (f.afterApply) admission.afterApply = f.afterApply;
      return admission;
    },
    thresholdInformation: (tenantId) => limits.thresholdInformation(tenantId),
  };
}
