import type { Clock } from "../../lib/clock.js";
import type { Db } from "../../store/db.js";
import type { ReconciliationItem } from "./analysis.js";

/** The reconciliation items a partner ignores, by key (migration 0022). */
export class IgnoreStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async all(partnerId: number): Promise<Map<string, { by: string; at: string }>> {
    const rows = await this.db.kysely
      .selectFrom("reconciliation_ignores")
      .select(["item_key", "created_by", "created_at"])
      .where("partner_id", "=", partnerId)
      .execute();
    return new Map(rows.map((r) => [r.item_key, { by: r.created_by, at: r.created_at }]));
  }

  /** false when the item was ignored already. */
  async add(partnerId: number, item: ReconciliationItem, by: string): Promise<boolean> {
    const r = await this.db.kysely
      .insertInto("reconciliation_ignores")
      .values({
        partner_id: partnerId,
        item_key: item.key,
        kind: item.kind,
        summary: item.summary,
        created_by: by,
        created_at: this.clock.now().toISOString(),
      })
      .onConflict((oc) => oc.columns(["partner_id", "item_key"]).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** The row removed, or null when the key was not ignored. */
  async remove(partnerId: number, key: string): Promise<{ kind: string; summary: string } | null> {
    const row = await this.db.kysely
      .selectFrom("reconciliation_ignores")
      .select(["id", "kind", "summary"])
      .where("partner_id", "=", partnerId)
      .where("item_key", "=", key)
      .executeTakeFirst();
    if (!row) return null;
    await this.db.kysely.deleteFrom("reconciliation_ignores").where("id", "=", row.id).execute();
    return { kind: row.kind, summary: row.summary };
  }
}
