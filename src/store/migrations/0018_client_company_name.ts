import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * The PSA company's name beside its id on a client, as the PSA gave it when the mapping was saved (or
 * last checked), so pages, plans and messages name the company without a PSA call. Null: not known.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable("clients").addColumn("psa_company_name", "text").execute();
}
