import type { Db } from "../store/db.js";
import type { RunCounts } from "./runs.js";

/** What a run's write does to a device's configuration item. */
export type WriteOutcome = keyof Pick<RunCounts, "created" | "updated" | "deactivated">;

const OUTCOMES: readonly string[] = ["created", "updated", "deactivated"] satisfies WriteOutcome[];

/** A run's journal of writes, as the asset sync keeps it (./assets.ts). */
export interface WriteJournal {
  /** Before the write is sent. */
  sending(deviceId: number, outcome: WriteOutcome): Promise<void>;
  /** The write did not reach the PSA (refused, failed, or stopped by the API budget). */
  refused(deviceId: number): Promise<void>;
}

/**
 * What an asset run did to each device's configuration item (link_run_outcomes, migration 0027). A run
 * that may be taken over (shared mode) records each write before it is sent, and drops the record when
 * the PSA refused it. When another worker takes the run over, the devices its new plan finds already
 * done count by the outcome recorded here rather than as unchanged — a device whose write reached the
 * PSA but whose link the dead worker never saved too (the link needs the CI's id, known only after the
 * write: the record is made before). The rows of a run go when it ends (RunStore.update).
 */
export class LinkOutcomes {
  constructor(private readonly db: Db) {}

  /** The journal of one run's writes. */
  journal(runId: number): WriteJournal {
    const k = this.db.kysely;
    return {
      sending: async (deviceId, outcome) => {
        await k
          .insertInto("link_run_outcomes")
          .values({ run_id: runId, portal_id: deviceId, outcome })
          .onConflict((oc) => oc.columns(["run_id", "portal_id"]).doUpdateSet({ outcome }))
          .execute();
      },
      refused: async (deviceId) => {
        await k
          .deleteFrom("link_run_outcomes")
          .where("run_id", "=", runId)
          .where("portal_id", "=", deviceId)
          .execute();
      },
    };
  }

  /** The devices a run wrote so far, and how (device id → outcome). */
  async of(runId: number): Promise<Map<number, WriteOutcome>> {
    const rows = await this.db.kysely
      .selectFrom("link_run_outcomes")
      .select(["portal_id", "outcome"])
      .where("run_id", "=", runId)
      .execute();
    return new Map(
      rows.filter((r) => OUTCOMES.includes(r.outcome)).map((r) => [r.portal_id, r.outcome as WriteOutcome]),
    );
  }
}
