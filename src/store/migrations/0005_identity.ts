import { type Kysely, sql } from "kysely";
import type { Dialect } from "../db.js";

/**
 * Identity: the environment's NOC admin is marked by a reserved system role (never found by its
 * display name), users can be disabled, deleted and have expiring tokens, and failed sign-ins are
 * counted per username in the database so that every API process sharing it sees the same back-off.
 * Append-only.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  // 'env-admin' for the NOC admin whose token comes from NOCBRIDGE_ADMIN_TOKEN; null for everyone
  // else. Unique, so there is at most one (NULLs are distinct on both engines).
  await db.schema.alterTable("users").addColumn("system_role", "text").execute();
  await db.schema.createIndex("users_system_role").on("users").column("system_role").unique().execute();
  // An API token's end of validity (ISO time); null = no expiry.
  await db.schema.alterTable("users").addColumn("token_expires_at", "text").execute();
  // The environment admin made before this migration is the oldest NOC-wide NOC admin of that name:
  // a partner admin cannot create NOC admins, so a look-alike made by a partner is never chosen.
  await sql`
    UPDATE users SET system_role = 'env-admin'
    WHERE id = (
      SELECT min(id) FROM users
      WHERE name = 'noc-admin (env)' AND role = 'noc-admin' AND partner_id IS NULL
    )`.execute(db);

  await db.schema
    .createTable("sign_in_failures")
    .addColumn("username", "text", (c) => c.primaryKey())
    .addColumn("failures", "integer", (c) => c.notNull())
    .addColumn("last_failure_at", "text", (c) => c.notNull())
    .addColumn("locked_until", "text")
    .execute();
  await db.schema
    .createIndex("sign_in_failures_last")
    .on("sign_in_failures")
    .column("last_failure_at")
    .execute();
}
