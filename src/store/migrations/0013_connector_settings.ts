import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/** Autotask's own columns before this migration: where each goes in the settings JSON. */
const MOVED: ReadonlyArray<readonly [column: string, section: "ticketing" | "devices", key: string]> = [
  ["api_url", "ticketing", "apiUrl"],
  ["username", "ticketing", "username"],
  ["integration_code", "ticketing", "integrationCode"],
  ["queue_id", "ticketing", "queueId"],
  ["queue_name", "ticketing", "queueName"],
  ["billing_code_id", "ticketing", "billingCodeId"],
  ["billing_code_name", "ticketing", "billingCodeName"],
  ["ticket_category_id", "ticketing", "ticketCategoryId"],
  ["ticket_type_id", "ticketing", "ticketTypeId"],
  ["issue_type_id", "ticketing", "issueTypeId"],
  ["sub_issue_type_id", "ticketing", "subIssueTypeId"],
  ["source_id", "ticketing", "sourceId"],
  ["due_date_offset_hours", "ticketing", "dueDateOffsetHours"],
  ["internal_note_publish", "ticketing", "internalNotePublish"],
  ["product_id", "devices", "productId"],
  ["configuration_item_type_id", "devices", "configurationItemTypeId"],
];

/**
 * Settings per PSA system: a partner's integration is its `system`, the common switches (modules on,
 * NOC may enter tickets, the sealed secret, advanced, schedule) and one JSON text of the connector's
 * own fields, `{"ticketing": {…}, "devices": {…}}`, as the connector's manifest describes them. Every
 * partner's Autotask columns are copied into it, then dropped. Mapping rows gain an optional scope
 * (a status that belongs to a board). Append-only.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  // biome-ignore lint/suspicious/noExplicitAny: migrations work on the tables as they are at this point
  const k = db as Kysely<any>;
  await k.schema
    .alterTable("partner_integrations")
    .addColumn("settings", "text", (c) => c.notNull().defaultTo("{}"))
    .execute();
  await copySettings(k);
  // SQLite (3.35 and later) drops a column that no index, key or constraint names, as here.
  for (const [column] of MOVED)
    await k.schema.alterTable("partner_integrations").dropColumn(column).execute();
  await k.schema.alterTable("mappings").addColumn("scope", "integer").execute();
}

/** Writes each partner's Autotask columns into its settings JSON. */
export async function copySettings(db: Kysely<unknown>): Promise<number> {
  // biome-ignore lint/suspicious/noExplicitAny: migrations work on the tables as they are at this point
  const k = db as Kysely<any>;
  const rows: Array<Record<string, unknown>> = await k
    .selectFrom("partner_integrations")
    .selectAll()
    .execute();
  for (const row of rows) {
    const settings: Record<"ticketing" | "devices", Record<string, unknown>> = { ticketing: {}, devices: {} };
    for (const [column, section, key] of MOVED) settings[section][key] = row[column] ?? null;
    await k
      .updateTable("partner_integrations")
      .set({ settings: JSON.stringify(settings) })
      .where("partner_id", "=", row.partner_id)
      .execute();
  }
  return rows.length;
}
