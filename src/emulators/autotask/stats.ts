/** The emulator's own request counts (`GET /_emulator/stats`; server.ts). */
import type { RejectReason } from "./hooks.js";

/** `GET /_emulator/stats`: the independent request count benchmarks use. */
export interface EmulatorStats {
  requests: number;
  /** `"<METHOD> <Entity>"` → count; child URLs count against the parent, as the thread limit does. */
  byEndpoint: Record<string, number>;
  /**
   * `"<operation> <Entity>"` → count, operation one of get, query, count, create, update, delete,
   * info; child URLs count against the child entity ("create TicketNotes"). Unlike byEndpoint, it
   * tells a query (`POST E/query`) from a create (`POST E`).
   */
  byOperation: Record<string, number>;
  rejected: Record<RejectReason, number>;
  /** Requests that were applied and then failed by an injected fault. */
  afterApply: { timeout: number; error500: number };
}

export class StatsCounter {
  private s: EmulatorStats = StatsCounter.empty();
  private static empty(): EmulatorStats {
    return {
      requests: 0,
      byEndpoint: {},
      byOperation: {},
      rejected: { threshold: 0, thread: 0, fault: 0 },
      afterApply: { timeout: 0, error500: 0 },
    };
  }
  count(endpointKey: string, operationKey: string): void {
    this.s.requests++;
    this.s.byEndpoint[endpointKey] = (this.s.byEndpoint[endpointKey] ?? 0) + 1;
    this.s.byOperation[operationKey] = (this.s.byOperation[operationKey] ?? 0) + 1;
  }
  rejected(reason: RejectReason): void {
    this.s.rejected[reason]++;
  }
  afterApply(kind: "timeout" | "error500"): void {
    this.s.afterApply[kind]++;
  }
  reset(): void {
    this.s = StatsCounter.empty();
  }
  snapshot(): EmulatorStats {
    return structuredClone(this.s);
  }
}
