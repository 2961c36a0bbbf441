import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * Two-way ticket sync: the portal's change outbox, the PSA inbox, ticket and note links with the
 * last synced state, parked errors, poll cursors, registered webhooks, mapping drift. Append-only.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const id = (t: string) =>
    dialect === "postgres"
      ? db.schema
          .createTable(t)
          .addColumn("id", "integer", (c) => c.primaryKey().generatedByDefaultAsIdentity())
      : db.schema.createTable(t).addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());

  // Written in the same transaction as the portal change it announces (docs/reliability.md, Outbox and
  // inbox).
  await id("ticket_outbox")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("ticket_id", "integer", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("processed_at", "text")
    .execute();
  await db.schema
    .createIndex("ticket_outbox_pending")
    .on("ticket_outbox")
    .columns(["partner_id", "processed_at", "id"])
    .execute();

  // PSA events (webhook deliveries, poll results) stored before they are processed, deduplicated.
  await id("ticket_inbox")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("dedup_key", "text", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("entity_type", "text", (c) => c.notNull())
    .addColumn("psa_id", "integer", (c) => c.notNull())
    .addColumn("psa_ticket_id", "integer")
    .addColumn("received_at", "text", (c) => c.notNull())
    .addColumn("processed_at", "text")
    .addUniqueConstraint("ticket_inbox_dedup", ["partner_id", "dedup_key"])
    .execute();
  await db.schema
    .createIndex("ticket_inbox_pending")
    .on("ticket_inbox")
    .columns(["partner_id", "processed_at", "id"])
    .execute();

  await id("ticket_links")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("ticket_id", "integer", (c) => c.notNull())
    .addColumn("psa_ticket_id", "integer", (c) => c.notNull())
    .addColumn("ticket_number", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("shadow", "text", (c) => c.notNull())
    .addColumn("synced_at", "text", (c) => c.notNull())
    .addColumn("last_error", "text")
    .addUniqueConstraint("ticket_links_portal", ["partner_id", "ticket_id"])
    .addUniqueConstraint("ticket_links_psa", ["partner_id", "psa_ticket_id"])
    .execute();

  await id("note_links")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("note_id", "integer", (c) => c.notNull())
    .addColumn("psa_note_id", "integer", (c) => c.notNull())
    .addColumn("psa_ticket_id", "integer", (c) => c.notNull())
    .addUniqueConstraint("note_links_portal", ["partner_id", "note_id"])
    .addUniqueConstraint("note_links_psa", ["partner_id", "psa_note_id"])
    .execute();

  // A lane (one ticket) that keeps failing is parked here; its events wait until a retry.
  await id("sync_errors")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("lane", "text", (c) => c.notNull())
    .addColumn("ticket_id", "integer")
    .addColumn("psa_ticket_id", "integer")
    .addColumn("error", "text", (c) => c.notNull())
    .addColumn("code", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("parked", "integer", (c) => c.notNull())
    .addColumn("next_attempt_at", "text")
    .addColumn("first_at", "text", (c) => c.notNull())
    .addColumn("last_at", "text", (c) => c.notNull())
    .addColumn("resolved_at", "text")
    .execute();
  await db.schema
    .createIndex("sync_errors_open")
    .on("sync_errors")
    .columns(["partner_id", "resolved_at", "lane"])
    .execute();

  await db.schema
    .createTable("sync_cursors")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("stream", "text", (c) => c.notNull())
    .addColumn("value", "text", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("sync_cursors_pk", ["partner_id", "stream"])
    .execute();

  await id("psa_webhooks")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("entity", "text", (c) => c.notNull())
    .addColumn("psa_webhook_id", "integer", (c) => c.notNull())
    .addColumn("secret_sealed", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();

  await id("mapping_drift")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("psa_id", "integer", (c) => c.notNull())
    .addColumn("message", "text", (c) => c.notNull())
    .addColumn("detected_at", "text", (c) => c.notNull())
    .execute();
}
