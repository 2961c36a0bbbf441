import type { Db } from "../store/db.js";

/** What the background did in a window of time, read from the store (so every process's work counts). */
export interface SyncActivity {
  /** Asset sync runs that finished (any outcome). */
  assetRuns: number;
  /** Asset sync runs that finished failed. */
  failedRuns: number;
  /** Portal ticket changes sent to the PSA. */
  ticketsOut: number;
  /** PSA ticket changes taken into the portal. */
  ticketsIn: number;
  /** Ticket sync errors first seen in the window. */
  syncErrors: number;
}

/** The background's activity in [since, until). */
export async function syncActivity(db: Db, since: string, until: string): Promise<SyncActivity> {
  const k = db.kysely;
  const count = (n: unknown) => Number(n ?? 0);
  const [runs, out, inbox, errors] = await Promise.all([
    k
      .selectFrom("sync_runs")
      .select((eb) => [
        eb.fn.countAll().as("n"),
        eb.fn.sum<number>(eb.case().when("status", "=", "failed").then(1).else(0).end()).as("failed"),
      ])
      .where("finished_at", ">=", since)
      .where("finished_at", "<", until)
      .executeTakeFirst(),
    k
      .selectFrom("ticket_outbox")
      .select((eb) => eb.fn.countAll().as("n"))
      .where("processed_at", ">=", since)
      .where("processed_at", "<", until)
      .executeTakeFirst(),
    k
      .selectFrom("ticket_inbox")
      .select((eb) => eb.fn.countAll().as("n"))
      .where("processed_at", ">=", since)
      .where("processed_at", "<", until)
      .executeTakeFirst(),
    k
      .selectFrom("sync_errors")
      .select((eb) => eb.fn.countAll().as("n"))
      .where("first_at", ">=", since)
      .where("first_at", "<", until)
      .executeTakeFirst(),
  ]);
  return {
    assetRuns: count(runs?.n),
    failedRuns: count(runs?.failed),
    ticketsOut: count(out?.n),
    ticketsIn: count(inbox?.n),
    syncErrors: count(errors?.n),
  };
}
