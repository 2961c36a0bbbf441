import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * A sync run's progress as it goes, so every reader (the history, the API, the CLI) sees live numbers:
 * the phase (planning, writing), the devices done of the devices to consider and when the phase began
 * (for a rate and an estimate). Beside it the time the run spent waiting for approval (`held_at`: since
 * when it waits; `waited_ms`: the waits so far), which its duration leaves out.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable("sync_runs").addColumn("progress_phase", "text").execute();
  await db.schema
    .alterTable("sync_runs")
    .addColumn("progress_done", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable("sync_runs").addColumn("progress_total", "integer").execute();
  await db.schema.alterTable("sync_runs").addColumn("phase_started_at", "text").execute();
  await db.schema.alterTable("sync_runs").addColumn("held_at", "text").execute();
  await db.schema
    .alterTable("sync_runs")
    .addColumn("waited_ms", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}
