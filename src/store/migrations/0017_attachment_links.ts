import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * Which portal attachment is which PSA attachment: a row is written once a file has crossed (either
 * way), so it never crosses twice. A PSA file the portal refused (too large, a refused type) is kept
 * with `attachment_id` null and `skipped` set, so it is not fetched again at every poll. Append-only.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const table =
    dialect === "postgres"
      ? db.schema
          .createTable("attachment_links")
          .addColumn("id", "integer", (c) => c.primaryKey().generatedByDefaultAsIdentity())
      : db.schema
          .createTable("attachment_links")
          .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());
  await table
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("attachment_id", "integer", (c) => c.references("attachments.id").onDelete("cascade"))
    .addColumn("psa_attachment_id", "integer", (c) => c.notNull())
    .addColumn("psa_ticket_id", "integer", (c) => c.notNull())
    .addColumn("sha256", "text")
    .addColumn("skipped", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("attachment_links_psa")
    .on("attachment_links")
    .columns(["partner_id", "psa_ticket_id", "psa_attachment_id"])
    .unique()
    .execute();
  await db.schema
    .createIndex("attachment_links_attachment")
    .on("attachment_links")
    .column("attachment_id")
    .execute();
}
