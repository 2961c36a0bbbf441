/**
 * A client's side of the shared budget count (src/psa/budget-ledger.ts): requests count locally and go
 * to the ledger in batches, the view is the ledger's plus what is not sent yet, readings replace older
 * ones only, and a failing ledger leaves the count going on locally.
 */
import { describe, expect, it } from "vitest";
import {
  BUDGET_BATCH,
  BudgetCount,
  type BudgetLedger,
  type BudgetReading,
  LEDGER_RETRY_MS,
  memoryBudgetLedger,
} from "../../src/psa/budget-ledger.js";

const reading = (at: number, count = 100): BudgetReading => ({
  count,
  threshold: 1000,
  timeframeMinutes: 60,
  at,
});

/** A ledger that records what it is asked, and can be made to fail. */
function spied(inner: BudgetLedger = memoryBudgetLedger()) {
  const adds: number[] = [];
  let down = false;
  const ledger: BudgetLedger = {
    recordReading: async (r) => {
      if (down) throw new Error("database unreachable");
      return inner.recordReading(r);
    },
    addSent: async (n) => {
      if (down) throw new Error("database unreachable");
      adds.push(n);
      return inner.addSent(n);
    },
  };
  return {
    ledger,
    adds,
    setDown: (d: boolean) => {
      down = d;
    },
  };
}

/** A clock moved by hand. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("the shared budget count", () => {
  it("adds its requests to the ledger a batch at a time: after 10 requests, or after 250 ms with fewer", async () => {
    expect(BUDGET_BATCH).toEqual({ requests: 10, ms: 250 });
    const { ledger, adds } = spied();
    const time = clock();
    const count = new BudgetCount(ledger, { now: time.now });
    await count.record(reading(time.now()));
    for (let i = 0; i < 9; i++) {
      count.noteSent();
      expect((await count.current())?.sentSince).toBe(i + 1);
    }
    expect(adds).toEqual([]);
    count.noteSent();
    expect((await count.current())?.sentSince).toBe(10);
    expect(adds).toEqual([10]);
    // Fewer than a batch go after 250 ms.
    for (let i = 0; i < 3; i++) count.noteSent();
    time.advance(249);
    await count.current();
    expect(adds).toEqual([10]);
    time.advance(1);
    expect((await count.current())?.sentSince).toBe(13);
    expect(adds).toEqual([10, 3]);
  });

  it("syncs at once when the caller says the view is near a stop", async () => {
    const { ledger, adds } = spied();
    const time = clock();
    const count = new BudgetCount(ledger, { now: time.now });
    await count.record(reading(time.now()));
    count.noteSent();
    await count.current(() => false);
    expect(adds).toEqual([]);
    await count.current((v) => v.reading.count + v.sentSince > 100);
    expect(adds).toEqual([1]);
  });

  it("sees another client's requests on the same ledger no later than its next batch", async () => {
    const shared = memoryBudgetLedger();
    const time = clock();
    const a = new BudgetCount(shared, { now: time.now });
    const b = new BudgetCount(shared, { now: time.now });
    await a.record(reading(time.now()));
    for (let i = 0; i < 10; i++) a.noteSent();
    await a.current(); // A's batch goes to the ledger
    expect((await b.current())?.sentSince).toBe(10);
    for (let i = 0; i < 4; i++) b.noteSent();
    // B's four wait for its batch; A sees them once it is due (250 ms), with its own.
    time.advance(250);
    a.noteSent();
    expect((await a.current())?.sentSince).toBe(11);
    expect((await b.current())?.sentSince).toBe(15);
    expect((await a.current(() => true))?.sentSince).toBe(15);
  });

  it("starts again from a reading, and keeps a newer reading another client recorded", async () => {
    const shared = memoryBudgetLedger();
    const time = clock();
    const a = new BudgetCount(shared, { now: time.now });
    const b = new BudgetCount(shared, { now: time.now });
    await a.record(reading(2000, 300));
    for (let i = 0; i < 12; i++) a.noteSent();
    expect((await a.current())?.sentSince).toBe(12);
    // B's reading was taken earlier than A's (it answered late): A's stays, with the count since it.
    const kept = await b.record(reading(1500, 250));
    expect(kept).toEqual({ reading: reading(2000, 300), sentSince: 12 });
    // A newer reading starts the count again, for both.
    expect(await b.record(reading(3000, 320))).toEqual({ reading: reading(3000, 320), sentSince: 0 });
    expect(await a.current(() => true)).toEqual({ reading: reading(3000, 320), sentSince: 0 });
  });

  it("goes on counting locally while the ledger fails, says so once, and adds the requests once it answers", async () => {
    const { ledger, adds, setDown } = spied();
    const time = clock();
    const errors: unknown[] = [];
    const count = new BudgetCount(ledger, { now: time.now, onError: (e) => errors.push(e) });
    await count.record(reading(time.now()));
    setDown(true);
    for (let i = 0; i < 25; i++) {
      count.noteSent();
      await count.current();
    }
    expect(count.view()?.sentSince).toBe(25);
    expect(errors).toHaveLength(1);
    // It is asked again after LEDGER_RETRY_MS, not on every request meanwhile.
    setDown(false);
    time.advance(LEDGER_RETRY_MS - 1);
    await count.current(() => true);
    expect(adds).toEqual([]);
    time.advance(1);
    expect((await count.current())?.sentSince).toBe(25);
    expect(adds).toEqual([25]);
    // A reading the ledger cannot take still becomes the view.
    setDown(true);
    expect(await count.record(reading(time.now(), 400))).toEqual({
      reading: reading(time.now(), 400),
      sentSince: 0,
    });
    expect(errors).toHaveLength(2);
  });
});
