import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/** Portal domain, integration settings, mappings, users and audit log. Append-only: never edit once landed. */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  // SQLite: INTEGER PRIMARY KEY AUTOINCREMENT; PostgreSQL: an identity column. Everything else is shared.
  const id = (t: string) =>
    dialect === "postgres"
      ? db.schema
          .createTable(t)
          .addColumn("id", "integer", (c) => c.primaryKey().generatedByDefaultAsIdentity())
      : db.schema.createTable(t).addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());

  await id("partners")
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("time_zone", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("partner_integrations")
    .addColumn("partner_id", "integer", (c) => c.primaryKey().references("partners.id").onDelete("cascade"))
    .addColumn("ticketing_enabled", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("noc_may_enter_tickets", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("system", "text", (c) => c.notNull().defaultTo("autotask"))
    .addColumn("api_url", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("username", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("secret_sealed", "text")
    .addColumn("integration_code", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("queue_id", "integer")
    .addColumn("queue_name", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("billing_code_id", "integer")
    .addColumn("billing_code_name", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("devices_enabled", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("product_id", "integer")
    .addColumn("configuration_item_type_id", "integer")
    .addColumn("advanced", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("schedule", "text")
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  await id("clients")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("code", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("psa_company_id", "integer")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addUniqueConstraint("clients_partner_code", ["partner_id", "code"])
    .execute();

  await id("devices")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("client_id", "integer", (c) => c.notNull().references("clients.id").onDelete("cascade"))
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("hostname", "text", (c) => c.notNull())
    .addColumn("device_type", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("ip_address", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("gateway", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("make", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("model", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("operating_system", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("ram", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("bios_name", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("bios_version", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("drive_info", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("last_logged_user", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("serial_number", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("warranty_end_date", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("devices_client_state").on("devices").columns(["client_id", "state"]).execute();
  await db.schema.createIndex("devices_partner").on("devices").columns(["partner_id", "id"]).execute();
  await db.schema
    .createIndex("devices_client_host_serial")
    .on("devices")
    .columns(["client_id", "hostname", "serial_number"])
    .execute();

  await id("tickets")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("client_id", "integer", (c) => c.notNull().references("clients.id").onDelete("cascade"))
    .addColumn("device_id", "integer", (c) => c.references("devices.id").onDelete("set null"))
    .addColumn("title", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("status_id", "integer", (c) => c.notNull())
    .addColumn("priority_id", "integer", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("tickets_partner").on("tickets").columns(["partner_id", "id"]).execute();

  await id("ticket_alerts")
    .addColumn("ticket_id", "integer", (c) => c.notNull().references("tickets.id").onDelete("cascade"))
    .addColumn("device_id", "integer", (c) => c.notNull().references("devices.id").onDelete("cascade"))
    .addColumn("message", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("ticket_alerts_ticket").on("ticket_alerts").column("ticket_id").execute();

  await id("ticket_notes")
    .addColumn("ticket_id", "integer", (c) => c.notNull().references("tickets.id").onDelete("cascade"))
    .addColumn("text", "text", (c) => c.notNull())
    .addColumn("published", "integer", (c) => c.notNull())
    .addColumn("author", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("ticket_notes_ticket").on("ticket_notes").column("ticket_id").execute();

  await id("mappings")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("portal_id", "integer", (c) => c.notNull())
    .addColumn("psa_id", "integer", (c) => c.notNull())
    .addColumn("psa_label", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("position", "integer", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("mappings_partner_kind")
    .on("mappings")
    .columns(["partner_id", "kind", "position"])
    .execute();

  await id("users")
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("partner_id", "integer", (c) => c.references("partners.id").onDelete("cascade"))
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("disabled", "integer", (c) => c.notNull().defaultTo(0))
    .execute();

  await id("audit_log")
    .addColumn("partner_id", "integer")
    .addColumn("actor_user_id", "integer")
    .addColumn("actor_name", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("target", "text", (c) => c.notNull())
    .addColumn("detail", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("audit_partner").on("audit_log").columns(["partner_id", "id"]).execute();
}
