/**
 * The database readings behind the scrape-time metrics (src/lib/metrics.ts): how far ticket sync is
 * behind per partner, and the sync runs on record by kind and status. Both are small aggregate queries,
 * run only when Prometheus scrapes.
 */
import type { Clock } from "../lib/clock.js";
import type { RunCount, SyncLag } from "../lib/metrics.js";
import type { Db } from "../store/db.js";

/**
 * Per partner, the age in seconds of the oldest ticket change not yet processed, outbound (to the
 * PSA) or inbound (from it). A partner with nothing waiting is left out rather than reported as 0,
 * so a partner that was removed does not linger.
 */
export async function ticketSyncLag(db: Db, clock: Clock): Promise<SyncLag[]> {
  const k = db.kysely;
  const [outbox, inbox] = await Promise.all([
    k
      .selectFrom("ticket_outbox")
      .select(["partner_id", (eb) => eb.fn.min("created_at").as("oldest")])
      .where("processed_at", "is", null)
      .groupBy("partner_id")
      .execute(),
    k
      .selectFrom("ticket_inbox")
      .select(["partner_id", (eb) => eb.fn.min("received_at").as("oldest")])
      .where("processed_at", "is", null)
      .groupBy("partner_id")
      .execute(),
  ]);
  const oldest = new Map<number, number>();
  for (const r of [...outbox, ...inbox]) {
    const at = Date.parse(String(r.oldest));
    if (!Number.isFinite(at)) continue;
    const seen = oldest.get(r.partner_id);
    if (seen === undefined || at < seen) oldest.set(r.partner_id, at);
  }
  const now = clock.now().getTime();
  return [...oldest].map(([partnerId, at]) => ({
    partner: String(partnerId),
    seconds: Math.max(0, (now - at) / 1000),
  }));
}

/** The sync runs on record, counted by kind and status. */
export async function runCounts(db: Db): Promise<RunCount[]> {
  const rows = await db.kysely
    .selectFrom("sync_runs")
    .select(["kind", "status", (eb) => eb.fn.countAll().as("n")])
    .groupBy(["kind", "status"])
    .execute();
  return rows.map((r) => ({ kind: r.kind, status: r.status, count: Number(r.n) }));
}
