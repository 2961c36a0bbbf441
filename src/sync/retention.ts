import { setImmediate as nextTurn } from "node:timers/promises";
import type { Clock } from "../lib/clock.js";
import type { Db } from "../store/db.js";

/** Rows deleted per statement, so pruning a large backlog never holds the store for long. */
const CHUNK = 1_000;

export interface PruneResult {
  inbox: number;
  outbox: number;
  errors: number;
  /** integration_events rows (settings saves) the engine acted on. */
  integrationEvents: number;
}

/**
 * Deletes what the ticket sync no longer needs: inbox and outbox rows processed more than `days`
 * ago, sync errors resolved more than `days` ago, and settings-save rows the engine acted on more than
 * `days` ago. Rows not yet processed and errors still open
 * are never touched, whatever their age.
 */
export async function pruneProcessed(db: Db, clock: Clock, days: number): Promise<PruneResult> {
  const cutoff = new Date(clock.now().getTime() - days * 86_400_000).toISOString();
  const k = db.kysely;
  const inbox = await chunked(() =>
    k
      .deleteFrom("ticket_inbox")
      .where("id", "in", (eb) =>
        eb
          .selectFrom("ticket_inbox")
          .select("id")
          .where("processed_at", "is not", null)
          .where("processed_at", "<", cutoff)
          .limit(CHUNK),
      )
      .executeTakeFirst(),
  );
  const outbox = await chunked(() =>
    k
      .deleteFrom("ticket_outbox")
      .where("id", "in", (eb) =>
        eb
          .selectFrom("ticket_outbox")
          .select("id")
          .where("processed_at", "is not", null)
          .where("processed_at", "<", cutoff)
          .limit(CHUNK),
      )
      .executeTakeFirst(),
  );
  const errors = await chunked(() =>
    k
      .deleteFrom("sync_errors")
      .where("id", "in", (eb) =>
        eb
          .selectFrom("sync_errors")
          .select("id")
          .where("resolved_at", "is not", null)
          .where("resolved_at", "<", cutoff)
          .limit(CHUNK),
      )
      .executeTakeFirst(),
  );
  const integrationEvents = await chunked(() =>
    k
      .deleteFrom("integration_events")
      .where("id", "in", (eb) =>
        eb
          .selectFrom("integration_events")
          .select("id")
          .where("processed_at", "is not", null)
          .where("processed_at", "<", cutoff)
          .limit(CHUNK),
      )
      .executeTakeFirst(),
  );
  return { inbox, outbox, errors, integrationEvents };
}

async function chunked(step: () => Promise<{ numDeletedRows: bigint }>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = Number((await step()).numDeletedRows);
    total += n;
    if (n < CHUNK) return total;
    await nextTurn();
  }
}
