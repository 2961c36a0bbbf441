import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/** Sign-in with a username and password for the web UI: sessions with their own tokens. Append-only. */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await db.schema.alterTable("users").addColumn("username", "text").execute();
  await db.schema.alterTable("users").addColumn("password_hash", "text").execute();
  await db.schema.createIndex("users_username").on("users").column("username").unique().execute();
  const table =
    dialect === "postgres"
      ? db.schema
          .createTable("sessions")
          .addColumn("id", "integer", (c) => c.primaryKey().generatedByDefaultAsIdentity())
      : db.schema.createTable("sessions").addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());
  await table
    .addColumn("user_id", "integer", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("revoked_at", "text")
    .execute();
}
