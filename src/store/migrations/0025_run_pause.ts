import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * An asset run that reached its share of the PSA's hourly API budget pauses and goes on by itself:
 * `paused_until` says when (null while it executes or once it ended). The run stays "running" meanwhile,
 * so it is still the partner's one active run.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable("sync_runs").addColumn("paused_until", "text").execute();
}
