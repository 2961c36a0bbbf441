/**
 * The partner's hourly API budget counted in the store (src/sync/budget-ledger.ts): a reading replaces
 * only one not newer than itself and starts the count since from 0; requests add up atomically, also
 * from two ledgers at once; each partner has its own row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { BudgetReading } from "../../src/psa/budget-ledger.js";
import { storeBudgetLedger } from "../../src/sync/budget-ledger.js";
import {
  openTestServices,
  STORES,
  sharedTestDatabase,
  type TestDatabase,
  type TestEnv,
} from "../helpers/services.js";

const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);
const reading = (at: number, count: number, threshold = 10_000): BudgetReading => ({
  count,
  threshold,
  timeframeMinutes: 60,
  at,
});

describe.each(STORES)("the budget ledger on %s", (kind) => {
  let db: TestDatabase;
  let a: TestEnv;
  let b: TestEnv;
  let partnerId = 0;
  let otherId = 0;

  beforeAll(async () => {
    // Two services on one database, as two processes would be.
    db = sharedTestDatabase(kind);
    a = await openTestServices(kind, { database: db, background: false });
    b = await openTestServices(kind, { database: db, background: false });
    partnerId = (await a.services.portal.createPartner(SYSTEM_ACTOR, { name: "Ledger VAR" })).id;
    otherId = (await a.services.portal.createPartner(SYSTEM_ACTOR, { name: "Other VAR" })).id;
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await db?.drop();
  });

  it("has nothing to add to before a reading", async () => {
    const ledger = storeBudgetLedger(a.services.db, partnerId);
    expect(await ledger.addSent(5)).toBeNull();
    expect(await ledger.addSent(0)).toBeNull();
  });

  it("starts from a reading, adds requests, and starts again from a newer reading only", async () => {
    const ledger = storeBudgetLedger(a.services.db, partnerId);
    expect(await ledger.recordReading(reading(T0, 1200))).toEqual({
      reading: reading(T0, 1200),
      sentSince: 0,
    });
    expect(await ledger.addSent(7)).toEqual({ reading: reading(T0, 1200), sentSince: 7 });
    expect(await ledger.addSent(3)).toEqual({ reading: reading(T0, 1200), sentSince: 10 });
    expect(await ledger.addSent(0)).toEqual({ reading: reading(T0, 1200), sentSince: 10 });
    // An older reading (taken before, answered after) leaves the stored one and its count.
    expect(await ledger.recordReading(reading(T0 - 1000, 1100))).toEqual({
      reading: reading(T0, 1200),
      sentSince: 10,
    });
    // A newer one replaces it, threshold and window included, and the count since starts from 0.
    const newer = { ...reading(T0 + 60_000, 1300, 5_000), timeframeMinutes: 30 };
    expect(await ledger.recordReading(newer)).toEqual({ reading: newer, sentSince: 0 });
    // One taken at the same time as the stored one replaces it as well.
    expect(await ledger.recordReading({ ...newer, count: 1301 })).toEqual({
      reading: { ...newer, count: 1301 },
      sentSince: 0,
    });
    await expect(ledger.addSent(-1)).rejects.toThrow(/count ≥ 0/);
  });

  it("adds up every request two processes add at once, and keeps each partner apart", async () => {
    const mine = [storeBudgetLedger(a.services.db, partnerId), storeBudgetLedger(b.services.db, partnerId)];
    const start = await mine[0]!.recordReading(reading(T0 + 120_000, 2000));
    const other = storeBudgetLedger(b.services.db, otherId);
    await other.recordReading(reading(T0 + 120_000, 10));
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (mine[i % 2] as (typeof mine)[number]).addSent((i % 3) + 1)),
    );
    const total = Array.from({ length: 40 }, (_, i) => (i % 3) + 1).reduce((x, y) => x + y, 0);
    expect(await mine[1]!.addSent(0)).toEqual({ reading: start.reading, sentSince: total });
    expect(await other.addSent(0)).toEqual({ reading: reading(T0 + 120_000, 10), sentSince: 0 });
  });
});
