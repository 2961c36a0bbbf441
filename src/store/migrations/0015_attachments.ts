import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * Files on portal tickets. The bytes live in `data` (storage "db", the embedded default) or in a
 * file named by `storage_key` under the attachment directory (storage "dir"). `sha256` (hex) finds a
 * file already on the ticket, so the same bytes are stored — and cross to the PSA — once. `origin`
 * says where the file was added: "portal" (a user) or "psa" (brought over by the sync). Append-only.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const table =
    dialect === "postgres"
      ? db.schema
          .createTable("attachments")
          .addColumn("id", "integer", (c) => c.primaryKey().generatedByDefaultAsIdentity())
      : db.schema
          .createTable("attachments")
          .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());
  await table
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("ticket_id", "integer", (c) => c.notNull().references("tickets.id").onDelete("cascade"))
    .addColumn("file_name", "text", (c) => c.notNull())
    .addColumn("content_type", "text", (c) => c.notNull())
    .addColumn("size", "integer", (c) => c.notNull())
    .addColumn("sha256", "text", (c) => c.notNull())
    .addColumn("storage", "text", (c) => c.notNull())
    .addColumn("data", dialect === "postgres" ? "bytea" : "blob")
    .addColumn("storage_key", "text")
    .addColumn("origin", "text", (c) => c.notNull())
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("attachments_ticket_sha")
    .on("attachments")
    .columns(["ticket_id", "sha256"])
    .unique()
    .execute();
}
