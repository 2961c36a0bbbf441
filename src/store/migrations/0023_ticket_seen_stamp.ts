import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * The PSA's last-activity stamp of a linked ticket as its last sync read it, when that read can be
 * trusted to have seen everything behind the stamp (null otherwise). A poll leaves a ticket whose
 * listed stamp still equals it alone instead of reading it again.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable("ticket_links").addColumn("psa_seen_at", "text").execute();
}
