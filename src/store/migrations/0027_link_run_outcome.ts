import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * What an asset run did to each device's configuration item, recorded before the write is sent: one
 * row per run and device, with the outcome (created, updated, deactivated). A run taken over after its
 * worker died counts a device the new leg finds already done by the outcome recorded here — including
 * one whose write reached the PSA but whose link the dead worker never saved — instead of as
 * unchanged. A write the PSA refused removes its row; the rows of a run go when it ends.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable("link_run_outcomes")
    .addColumn("run_id", "integer", (c) => c.notNull().references("sync_runs.id").onDelete("cascade"))
    .addColumn("portal_id", "integer", (c) => c.notNull())
    .addColumn("outcome", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("link_run_outcomes_pk", ["run_id", "portal_id"])
    .execute();
}
