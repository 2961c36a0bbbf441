import { type Kysely, sql } from "kysely";
import type { Dialect } from "../db.js";

/**
 * Per-partner ticket defaults sent with every Autotask create (ticket category, ticket type, issue
 * and sub-issue type, source, due-date offset), the `publish` value of internal notes, a warning on a
 * ticket link (a portal status with no forward row), and the default forward row Closed → Complete
 * for partners whose forward table has no row for portal Closed. Append-only.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  for (const column of [
    "ticket_category_id",
    "ticket_type_id",
    "issue_type_id",
    "sub_issue_type_id",
    "source_id",
    "due_date_offset_hours",
  ])
    await db.schema.alterTable("partner_integrations").addColumn(column, "integer").execute();
  await db.schema
    .alterTable("partner_integrations")
    .addColumn("internal_note_publish", "integer", (c) => c.notNull().defaultTo(2))
    .execute();
  await db.schema.alterTable("ticket_links").addColumn("warning", "text").execute();
  await addClosedRows(db);
}

/**
 * Portal Closed (3) → Autotask Complete (5, a system status every tenant has), last in the forward
 * table of every partner that has no row for portal Closed. Idempotent.
 */
export async function addClosedRows(db: Kysely<unknown>): Promise<void> {
  await sql`
    insert into mappings (partner_id, kind, portal_id, psa_id, psa_label, position)
    select p.id, 'status-forward', 3, 5, 'Complete',
      coalesce((select max(m.position) + 1 from mappings m
        where m.partner_id = p.id and m.kind = 'status-forward'), 0)
    from partners p
    where not exists (select 1 from mappings m
      where m.partner_id = p.id and m.kind = 'status-forward' and m.portal_id = 3)
  `.execute(db);
}
