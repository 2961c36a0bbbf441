/**
 * The partner's hourly PSA API budget counted in the store (src/psa/budget-ledger.ts; docs/scale-out.md,
 * The hourly API budget): one `budget_ledger` row per partner holds the last reading and the requests
 * every process sent since. A reading replaces the stored one only when it is not older, and then starts
 * the count since again from 0; requests are added with one atomic `sent_since = sent_since + n`. Both
 * work the same on SQLite and PostgreSQL.
 */
import type { BudgetLedger, BudgetUsage } from "../psa/budget-ledger.js";
import type { Db } from "../store/db.js";
import type { BudgetLedgerRow } from "../store/schema.js";

/** The ledger the processes serving `partnerId` share. */
export function storeBudgetLedger(db: Db, partnerId: number): BudgetLedger {
  const k = db.kysely;
  const stored = async (): Promise<BudgetUsage | null> => {
    const row = await k
      .selectFrom("budget_ledger")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .executeTakeFirst();
    return row ? usageOf(row) : null;
  };
  return {
    async recordReading(reading) {
      const values = {
        reported_count: reading.count,
        threshold: reading.threshold,
        timeframe_minutes: reading.timeframeMinutes,
        read_at: new Date(reading.at).toISOString(),
        sent_since: 0,
      };
      // One statement: the row is created, or replaced when the stored reading is not newer.
      const row = await k
        .insertInto("budget_ledger")
        .values({ partner_id: partnerId, ...values })
        .onConflict((oc) =>
          oc.column("partner_id").doUpdateSet(values).where("budget_ledger.read_at", "<=", values.read_at),
        )
        .returningAll()
        .executeTakeFirst();
      if (row) return usageOf(row);
      // A newer reading is stored: it stays, with the count since it.
      const kept = await stored();
      if (!kept) throw new Error(`the budget ledger of partner ${partnerId} is gone`);
      return kept;
    },
    async addSent(n) {
      if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`expected a count ≥ 0, got ${n}`);
      if (n === 0) return stored();
      const row = await k
        .updateTable("budget_ledger")
        .set((eb) => ({ sent_since: eb("sent_since", "+", n) }))
        .where("partner_id", "=", partnerId)
        .returningAll()
        .executeTakeFirst();
      return row ? usageOf(row) : null;
    },
  };
}

function usageOf(row: BudgetLedgerRow): BudgetUsage {
  return {
    reading: {
      count: row.reported_count,
      threshold: row.threshold,
      timeframeMinutes: row.timeframe_minutes,
      at: Date.parse(row.read_at),
    },
    sentSince: row.sent_since,
  };
}
