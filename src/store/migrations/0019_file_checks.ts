import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * When each linked ticket's PSA files were last compared with the portal's (the periodic file check,
 * src/sync/tickets/file-check.ts): a PSA file added on its own does not always move its ticket's
 * last-activity stamp, so the engine lists the files of open linked tickets on a slower schedule of
 * their own, the longest-unchecked first. Null: never checked (checked first).
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable("ticket_links").addColumn("files_checked_at", "text").execute();
}
