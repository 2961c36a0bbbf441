import { type Kysely, sql } from "kysely";
import type { Dialect } from "../db.js";

/**
 * Several processes on one database. Each worker process has a row it beats (`worker_processes`), so
 * the others can tell it died and take its work over. A run records which worker process owns it and
 * when that owner last beat. At most one real run is active per partner and kind, whichever process
 * starts it: a unique partial index (runs a crash left active beside a newer one are closed first).
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable("worker_processes")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("host", "text", (c) => c.notNull())
    .addColumn("pid", "integer", (c) => c.notNull())
    /** JSON array: the job engine's worker ids in this process (handed back when it dies). */
    .addColumn("job_workers", "text", (c) => c.notNull())
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("beat_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.alterTable("sync_runs").addColumn("owner", "text").execute();
  await db.schema.alterTable("sync_runs").addColumn("heartbeat_at", "text").execute();
  await sql`UPDATE sync_runs SET status = 'failed', error = 'interrupted: closed when runs became one per partner',
      finished_at = started_at
    WHERE dry_run = 0 AND status IN ('running', 'awaiting-approval')
      AND id NOT IN (SELECT MAX(id) FROM sync_runs WHERE dry_run = 0 AND status IN ('running', 'awaiting-approval')
                     GROUP BY partner_id, kind)`.execute(db);
  await sql`CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (partner_id, kind)
    WHERE dry_run = 0 AND status IN ('running', 'awaiting-approval')`.execute(db);
}
