import { type Kysely, sql } from "kysely";
import type { Dialect } from "../db.js";

/**
 * Webhook registration that never leaves orphans: one recorded webhook per partner and entity (a
 * unique constraint; older duplicate rows keep their first), and each partner's webhook state —
 * registered, or polling only and why, and the fields Autotask would not subscribe. Append-only.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await sql`DELETE FROM psa_webhooks WHERE id NOT IN (SELECT MIN(id) FROM psa_webhooks GROUP BY partner_id, entity)`.execute(
    db,
  );
  await db.schema
    .createIndex("psa_webhooks_partner_entity")
    .on("psa_webhooks")
    .columns(["partner_id", "entity"])
    .unique()
    .execute();
  await db.schema
    .createTable("psa_webhook_status")
    .addColumn("partner_id", "integer", (c) =>
      c.primaryKey().notNull().references("partners.id").onDelete("cascade"),
    )
    .addColumn("mode", "text", (c) => c.notNull())
    .addColumn("reason", "text")
    .addColumn("url", "text")
    .addColumn("unsubscribed_fields", "text", (c) => c.notNull())
    .addColumn("checked_at", "text", (c) => c.notNull())
    .execute();
}
