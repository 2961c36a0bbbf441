import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * Single-use, short-lived tickets for the live log stream (an EventSource cannot send headers, so it
 * presents one of these in its URL instead of a token). Kept in the database so every API process
 * sharing it accepts a ticket another one issued. Only the SHA-256 of a ticket is stored. Append-only.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable("stream_tickets")
    .addColumn("ticket_hash", "text", (c) => c.primaryKey())
    .addColumn("user_id", "integer", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("run_id", "integer", (c) => c.notNull().references("sync_runs.id").onDelete("cascade"))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("stream_tickets_expires").on("stream_tickets").column("expires_at").execute();
}
