/**
 * The Autotask client under the emulator's limits and injected faults (docs/autotask.md, Thresholds and
 * limits; docs/reliability.md, Idempotent creates, Retries and backoff, Rate-limit awareness): 429s and
 * thread-limit rejections are retried with backoff while never more than 3 requests run per endpoint; creates
 * whose outcome is unknown are looked up, not repeated; the hourly budget slows the client down and then
 * stops it before Autotask would.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEMO_IDS, type RunningAutotaskEmulator } from "../../src/emulators/autotask/index.js";
import type { AutotaskClient } from "../../src/psa/autotask/client.js";
import type { ConfigurationItem } from "../../src/psa/autotask/types.js";
import { PsaError } from "../../src/psa/errors.js";
import { admin, clientFor, emulatorStats, recordingLogger, startEmulator } from "./helpers.js";

const AT1 = DEMO_IDS.companies.AT1;
const PORTAL_ID = "Partner Portal Device Id";

let emu: RunningAutotaskEmulator;
beforeEach(async () => {
  emu = await startEmulator();
});
afterEach(async () => {
  await emu.close();
});

const faults = (body: Record<string, unknown>) => admin(emu, "PUT", "faults", { seed: 7, ...body });
const limits = (body: Record<string, unknown>) => admin(emu, "PUT", "limits", body);

const ciBody = (deviceId: number) => ({
  companyID: AT1,
  productID: DEMO_IDS.product,
  configurationItemType: DEMO_IDS.ciType,
  isActive: true,
  referenceTitle: `HOST-${deviceId}`,
  serialNumber: `SN-${deviceId}`,
  userDefinedFields: [{ name: PORTAL_ID, value: String(deviceId) }],
});

/** The lookup the asset sync uses: the CI carrying the device's portal id. */
const byPortalId = (client: AutotaskClient, deviceId: number) => async () => {
  const found = await client.queryAll<ConfigurationItem>("ConfigurationItems", {
    filter: [{ op: "eq", field: PORTAL_ID, value: String(deviceId), udf: true }],
    includeFields: ["id"],
  });
  return found[0]?.id ?? null;
};

const ciCount = (client: AutotaskClient, deviceId: number) =>
  client.count("ConfigurationItems", [{ op: "eq", field: PORTAL_ID, value: String(deviceId), udf: true }]);

/** 20 callers at once, each reading and writing on two endpoints. */
async function parallelWork(client: AutotaskClient) {
  return Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const company = await client.get("Companies", AT1);
      const tickets = await client.queryAll("Tickets", {
        filter: [{ op: "eq", field: "companyID", value: AT1 }],
      });
      const id = await client.update("Companies", { id: AT1, city: `City ${i}` });
      return { company: company?.id, tickets: tickets.length, id };
    }),
  );
}

describe("rate limits and the thread limit", () => {
  it("retries injected 429s after Retry-After, never above 3 concurrent requests per endpoint", async () => {
    await faults({ share429: 0.3, retryAfterSeconds: 2 });
    const { logger, retries } = recordingLogger();
    const { client } = clientFor(emu, {
      logger,
      retry: { maxAttempts: 20, baseDelayMs: 50, maxDelayMs: 500, timeBudgetMs: 600_000 },
    });

    const results = await parallelWork(client);
    expect(results.every((r) => r.company === AT1 && r.id === AT1)).toBe(true);

    const s = client.stats();
    const e = await emulatorStats(emu);
    expect(s.rateLimited).toBeGreaterThan(5);
    expect(s.rateLimited).toBe(e.rejected.fault);
    const after429 = retries.filter((r) => r.code === "RATE_LIMITED");
    expect(after429).toHaveLength(s.rateLimited);
    expect(after429.every((r) => r.delayMs >= 2000)).toBe(true);
    expect(s.throttledMs).toBeGreaterThanOrEqual(2000 * after429.length);
    expect(s.maxConcurrency).toEqual({ ThresholdInformation: 1, Companies: 3, Tickets: 3 });
    // Our own limiter kept us under the server's thread limit.
    expect(e.rejected.thread).toBe(0);
    expect(s.requests).toBe(e.requests);
  });

  it("retries thread-limit rejections whatever their status", async () => {
    // The server allows 2 threads, we run 3: the third is refused, with a 500 and the production text.
    await limits({ maxThreads: 2, threadStatus: 500, threadRetryAfterSeconds: null });
    // 5 ms (5 s nominal × timeScale) per request while it holds its thread, so requests overlap.
    await faults({ latencyMs: 5000 });
    const { client } = clientFor(emu, {
      retry: { maxAttempts: 60, baseDelayMs: 20, maxDelayMs: 200, timeBudgetMs: 600_000 },
    });

    const results = await parallelWork(client);
    expect(results).toHaveLength(20);
    expect(results.every((r) => r.tickets >= 0 && r.id === AT1)).toBe(true);

    const s = client.stats();
    const e = await emulatorStats(emu);
    expect(e.rejected.thread).toBeGreaterThan(0);
    expect(s.threadLimited).toBe(e.rejected.thread);
    expect(s.rateLimited).toBe(0);
    expect(s.serverErrors).toBe(0);
    expect(Math.max(...Object.values(s.maxConcurrency))).toBeLessThanOrEqual(3);
  });

  it("gives up with RATE_LIMITED when Retry-After exceeds the time budget", async () => {
    await faults({ share429: 1, retryAfterSeconds: 5, onlyEntities: ["Companies"] });
    const { client, time } = clientFor(emu, {
      retry: { maxAttempts: 10, baseDelayMs: 50, maxDelayMs: 500, timeBudgetMs: 12_000 },
    });
    let err: unknown;
    try {
      await client.get("Companies", AT1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PsaError);
    expect(err).toMatchObject({ code: "RATE_LIMITED", status: 429, attempts: 3, retryAfterMs: 5000 });
    expect(time.sleeps.filter((ms) => ms >= 5000)).toHaveLength(2);
  });

  it("retries 5xx on reads and PATCHes (even after the PATCH was applied)", async () => {
    await faults({ share500: 0.5, onlyMethods: ["GET"] });
    const { client } = clientFor(emu);
    for (let i = 0; i < 10; i++) expect((await client.get("Companies", AT1))?.id).toBe(AT1);
    expect(client.stats().serverErrors).toBeGreaterThan(0);

    await faults({ share500: 0, onlyMethods: null, share500AfterApply: 1, onlyWrites: true });
    const { client: c2 } = clientFor(emu, {
      retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10, timeBudgetMs: 60_000 },
    });
    const e = await c2.update("Companies", { id: AT1, city: "Patched" }).catch((x: unknown) => x);
    // Every attempt was applied and then answered 500: retried to the limit, still reported ambiguous.
    expect(e).toMatchObject({ code: "SERVER", ambiguous: true, attempts: 3 });
    await faults({ share500AfterApply: 0 });
    expect((await c2.get("Companies", AT1))?.["city"]).toBe("Patched");
  });
});

describe("creates are never blindly retried", () => {
  it("create throws an ambiguous error after a timeout-after-apply, and the record exists once", async () => {
    await faults({
      shareTimeoutAfterApply: 1,
      onlyWrites: true,
      onlyEntities: ["ConfigurationItems"],
      timeoutAfterMs: 5000,
    });
    const { client } = clientFor(emu);
    let err: unknown;
    try {
      await client.create("ConfigurationItems", ciBody(1));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PsaError);
    expect((err as PsaError).ambiguous).toBe(true);
    expect(["NETWORK", "TIMEOUT"]).toContain((err as PsaError).code);
    expect((await emulatorStats(emu)).afterApply.timeout).toBe(1);
    expect(await ciCount(client, 1)).toBe(1);
  });

  it("reports TIMEOUT when the client's own timeout fires first", async () => {
    await faults({ shareTimeoutAfterApply: 1, onlyWrites: true, timeoutAfterMs: 2_000_000 });
    const { client } = clientFor(emu, { requestTimeoutMs: 100 });
    await expect(client.create("ConfigurationItems", ciBody(2))).rejects.toMatchObject({
      code: "TIMEOUT",
      ambiguous: true,
    });
    expect(client.stats().timeouts).toBe(1);
    await faults({ shareTimeoutAfterApply: 0 });
    expect(await ciCount(client, 2)).toBe(1);
  });

  it("createIdempotent finds the record after a timeout-after-apply instead of creating it again", async () => {
    await faults({
      shareTimeoutAfterApply: 1,
      onlyWrites: true,
      onlyEntities: ["ConfigurationItems"],
      timeoutAfterMs: 5000,
    });
    const { client } = clientFor(emu);
    const id = await client.createIdempotent("ConfigurationItems", ciBody(3), byPortalId(client, 3));
    expect(await ciCount(client, 3)).toBe(1);
    expect((await client.get<ConfigurationItem>("ConfigurationItems", id))?.serialNumber).toBe("SN-3");
    expect(client.stats()).toMatchObject({ ambiguousCreates: 1, recoveredByLookup: 1 });
  });

  it("createIdempotent creates again only when the lookup finds nothing: one CI per device", async () => {
    // Half the creates fail: some after being applied (timeout, 500), some before (500 with nothing applied).
    await faults({
      shareTimeoutAfterApply: 0.2,
      share500AfterApply: 0.15,
      share500: 0.15,
      onlyWrites: true,
      onlyEntities: ["ConfigurationItems"],
      timeoutAfterMs: 5000,
    });
    const { client } = clientFor(emu, {
      retry: { maxAttempts: 10, baseDelayMs: 50, maxDelayMs: 500, timeBudgetMs: 600_000 },
    });
    const devices = Array.from({ length: 30 }, (_, i) => 100 + i);
    const ids = await Promise.all(
      devices.map((d) => client.createIdempotent("ConfigurationItems", ciBody(d), byPortalId(client, d))),
    );
    expect(new Set(ids).size).toBe(devices.length);
    for (const d of devices) expect(await ciCount(client, d)).toBe(1);

    const s = client.stats();
    const e = await emulatorStats(emu);
    expect(s.ambiguousCreates).toBeGreaterThan(0);
    expect(s.recoveredByLookup).toBeGreaterThan(0);
    // Some ambiguous creates had not been applied (the 500 before apply): those were created again.
    expect(s.recoveredByLookup).toBeLessThan(s.ambiguousCreates);
    expect(e.afterApply.timeout + e.afterApply.error500).toBe(s.recoveredByLookup);
  });

  it("a non-ambiguous failure of a create (429) is retried as usual", async () => {
    await faults({ share429: 0.5, retryAfterSeconds: 0, onlyWrites: true });
    const { client } = clientFor(emu, {
      retry: { maxAttempts: 20, baseDelayMs: 10, maxDelayMs: 100, timeBudgetMs: 600_000 },
    });
    const ids = await Promise.all(
      [200, 201, 202, 203, 204, 205].map((d) => client.create("ConfigurationItems", ciBody(d))),
    );
    expect(new Set(ids).size).toBe(6);
    expect(client.stats().rateLimited).toBeGreaterThan(0);
    for (const d of [200, 201, 202, 203, 204, 205]) expect(await ciCount(client, d)).toBe(1);
  });
});

describe("hourly budget", () => {
  it("slows down past the slowdown share and stops at 70 % before Autotask refuses", async () => {
    await limits({ requestThreshold: 50 });
    const { client, time } = clientFor(emu);
    let refused: PsaError | undefined;
    const delays: { share: number; slept: number }[] = [];
    for (let i = 0; i < 60 && !refused; i++) {
      const share = client.stats().budget?.share ?? 0;
      const sleptBefore = time.sleeps.length;
      try {
        await client.get("Companies", AT1);
      } catch (e) {
        if (!(e instanceof PsaError)) throw e;
        refused = e;
      }
      delays.push({ share, slept: time.sleeps.slice(sleptBefore).reduce((a, b) => a + b, 0) });
    }
    expect(refused).toMatchObject({ code: "BUDGET_EXHAUSTED", retryable: false });
    expect(refused?.message).toMatch(
      /^API budget: 3\d of 50 requests used this hour; asset syncs and live reads stop at 70 %/,
    );

    const used =
      (await admin<{ counts: Record<string, number> }>(emu, "GET", "limits")).counts["default"] ?? 0;
    expect(used).toBeGreaterThanOrEqual(35);
    expect(used).toBeLessThan(50);
    const s = client.stats();
    expect(s.rateLimited).toBe(0);
    expect(s.byEndpoint["GET ThresholdInformation"]).toBeGreaterThanOrEqual(1);

    // No delay below the slowdown share; growing delays above it.
    expect(delays.filter((d) => d.share > 0 && d.share < 0.5).every((d) => d.slept === 0)).toBe(true);
    const slowed = delays.filter((d) => d.share > 0.52 && d.share < 0.7).map((d) => d.slept);
    expect(slowed.length).toBeGreaterThan(3);
    expect(slowed.every((ms) => ms > 0)).toBe(true);
    expect(slowed[slowed.length - 1]).toBeGreaterThan(slowed[0] as number);
    // Every wait was a slowdown (no retries happened), and all of it is reported as throttled time.
    expect(s.retries).toBe(0);
    expect(s.throttledMs).toBe(time.sleeps.reduce((a, b) => a + b, 0));

    // Further calls are refused without reaching Autotask.
    const before = (await emulatorStats(emu)).requests;
    await expect(client.count("Tickets")).rejects.toMatchObject({ code: "BUDGET_EXHAUSTED" });
    expect((await emulatorStats(emu)).requests).toBe(before);
  });

  it("counts other integrations' usage from ThresholdInformation", async () => {
    await limits({ requestThreshold: 50 });
    const { client: other } = clientFor(emu, { budget: false });
    for (let i = 0; i < 36; i++) await other.get("Companies", AT1);
    const { client } = clientFor(emu);
    await expect(client.get("Companies", AT1)).rejects.toMatchObject({ code: "BUDGET_EXHAUSTED" });
    expect(client.stats().requests).toBe(1);
    expect(client.stats().byEndpoint).toEqual({ "GET ThresholdInformation": 1 });
  });

  it("re-reads ThresholdInformation every N requests", async () => {
    const { client } = clientFor(emu, { budget: { refreshEvery: { requests: 5 } } });
    for (let i = 0; i < 12; i++) await client.get("Companies", AT1);
    // At start, then after 5 and 10 requests of our own (the refresh calls count too).
    expect(client.stats().byEndpoint["GET ThresholdInformation"]).toBe(3);
    expect(client.stats().budget).toMatchObject({ threshold: 10_000, timeframeMinutes: 60 });
  });
});
