import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/** Sync engine tables: id links with what was last written, runs and their log lines. Append-only. */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const id = (t: string) =>
    dialect === "postgres"
      ? db.schema
          .createTable(t)
          .addColumn("id", "integer", (c) => c.primaryKey().generatedByDefaultAsIdentity())
      : db.schema.createTable(t).addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());

  // When device integration was first enabled: the onboarding sync runs once, then never again.
  await db.schema.alterTable("partner_integrations").addColumn("devices_onboarded_at", "text").execute();

  await id("links")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("entity", "text", (c) => c.notNull())
    .addColumn("portal_id", "integer", (c) => c.notNull())
    .addColumn("psa_id", "integer", (c) => c.notNull())
    .addColumn("fingerprint", "text", (c) => c.notNull())
    .addColumn("written", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("synced_at", "text", (c) => c.notNull())
    .addUniqueConstraint("links_portal", ["partner_id", "entity", "portal_id"])
    .execute();
  await db.schema.createIndex("links_psa").on("links").columns(["partner_id", "entity", "psa_id"]).execute();

  await id("sync_runs")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("trigger", "text", (c) => c.notNull())
    .addColumn("dry_run", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("counts", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("api_calls", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("plan", "text")
    .addColumn("error", "text")
    .addColumn("approved_by", "text")
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("finished_at", "text")
    .execute();
  await db.schema
    .createIndex("sync_runs_partner")
    .on("sync_runs")
    .columns(["partner_id", "kind", "id"])
    .execute();

  await id("sync_run_lines")
    .addColumn("run_id", "integer", (c) => c.notNull().references("sync_runs.id").onDelete("cascade"))
    .addColumn("at", "text", (c) => c.notNull())
    .addColumn("level", "text", (c) => c.notNull())
    .addColumn("text", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("sync_run_lines_run").on("sync_run_lines").columns(["run_id", "id"]).execute();
}
