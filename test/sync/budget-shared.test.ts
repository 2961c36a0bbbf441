/**
 * The hourly API budget held across processes (docs/scale-out.md, The hourly API budget): two services
 * on one store, each with its own client for the same partner, spend one emulator tenant's small
 * threshold at once. Counting in the store's ledger, together they stop at the asset share, give or
 * take what batching leaves unseen; counting each its own requests (as before the ledger), they pass it
 * by about what the other sent between two ThresholdInformation readings.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TENANT_ID, DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import type { PsaClientLabels } from "../../src/main.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import { AutotaskClient, type AutotaskCredentials } from "../../src/psa/autotask/client.js";
import { BUDGET_SHARES } from "../../src/psa/budget.js";
import { BUDGET_BATCH } from "../../src/psa/budget-ledger.js";
import { isPsaError, type PsaError } from "../../src/psa/errors.js";
import type { PsaUrlPolicy } from "../../src/psa/url-policy.js";
import { demoTicketing, startTestEmulator, type TestEmulator } from "../helpers/autotask.js";
import {
  openTestServices,
  STORES,
  sharedTestDatabase,
  type TestDatabase,
  type TestEnv,
} from "../helpers/services.js";

/** The tenant's hourly threshold in these tests, and the asset share's stop in requests (1,400). */
const THRESHOLD = 2000;
const STOP = BUDGET_SHARES.reads * THRESHOLD;
/** ThresholdInformation is read again after this many requests since the last reading (2,000 by default). */
const REFRESH = 300;
/** What batching may leave unseen: each of the two processes has at most a batch not yet in the ledger. */
const SLACK = 2 * BUDGET_BATCH.requests;

describe.each(STORES)("two services on one %s store spending one Autotask tenant's hourly budget", (kind) => {
  let at: TestEmulator;
  let db: TestDatabase;
  let a: TestEnv;
  let b: TestEnv;
  /** Counts in the store's ledger. */
  let sharedId = 0;
  /** Counts each client's own requests only: how the budget was counted before the ledger. */
  let aloneId = 0;
  const clients = new Map<string, AutotaskClient>();

  /** The services' factory: the ledger they give, except for the partner that counts alone. */
  const factory =
    (service: string) =>
    (credentials: AutotaskCredentials, urlPolicy: PsaUrlPolicy, labels: PsaClientLabels) => {
      const client = new AutotaskClient({
        credentials,
        urlPolicy,
        metrics: labels.metrics,
        partner: labels.partner,
        ...(labels.partner === String(aloneId) ? {} : { budgetLedger: labels.budgetLedger }),
        retry: { maxAttempts: 15, baseDelayMs: 2, maxDelayMs: 20, timeBudgetMs: 20_000 },
        requestTimeoutMs: 2_000,
        // No slowdown delays past 50 % (they would only make the test slow).
        budget: { slowdownMaxDelayMs: 0, refreshEvery: { requests: REFRESH } },
      });
      clients.set(`${service}:${labels.partner}`, client);
      return client;
    };

  /** Each service's client for the partner, built by its connector from the stored settings. */
  const clientsOf = async (partnerId: number) => {
    for (const env of [a, b])
      expect((await env.services.sync.sessions.forPartner(partnerId)).session).not.toBeNull();
    return [clients.get(`a:${partnerId}`), clients.get(`b:${partnerId}`)] as [AutotaskClient, AutotaskClient];
  };

  /** Three callers at once reading until the budget stops them; the refusals. */
  const spend = (call: () => Promise<unknown>): Promise<PsaError[]> =>
    Promise.all(
      Array.from({ length: 3 }, async () => {
        for (;;) {
          try {
            await call();
          } catch (e) {
            if (isPsaError(e) && e.code === "BUDGET_EXHAUSTED") return e;
            throw e;
          }
        }
      }),
    );

  /** Both services spend at once, on different endpoints (3 threads each, Autotask's limit); the tenant's count after. */
  const spendTogether = async (partnerId: number) => {
    await at.admin("POST", "/limits/reset");
    await at.admin("PUT", "/limits", { requestThreshold: THRESHOLD });
    const [ca, cb] = await clientsOf(partnerId);
    const stops = await Promise.all([
      spend(() => ca.get("Companies", DEMO_IDS.companies.AT1)),
      spend(() => cb.get("Tickets", 1)),
    ]);
    const limits = await at.admin<{ counts: Record<string, number> }>("GET", "/limits");
    const rejected = (await at.stats()).rejected;
    return { used: limits.counts[DEFAULT_TENANT_ID] ?? 0, stops: stops.flat(), clients: [ca, cb], rejected };
  };

  beforeAll(async () => {
    at = await startTestEmulator({ webhooks: false });
    db = sharedTestDatabase(kind);
    a = await openTestServices(kind, {
      database: db,
      autotask: factory("a"),
      psaOrigins: [at.emu.url],
      background: false,
    });
    b = await openTestServices(kind, {
      database: db,
      autotask: factory("b"),
      psaOrigins: [at.emu.url],
      background: false,
    });
    const portal = a.services.portal;
    for (const name of ["Shared VAR", "Alone VAR"]) {
      const id = (await portal.createPartner(SYSTEM_ACTOR, { name })).id;
      await portal.putIntegration(SYSTEM_ACTOR, id, {
        ticketing: demoTicketing(at.emu.baseUrl, { enabled: false, nocMayEnterTickets: false }),
        devices: {
          enabled: false,
          productId: DEMO_IDS.product,
          configurationItemTypeId: DEMO_IDS.ciType,
          advanced: false,
          schedule: null,
        },
      });
      if (name === "Shared VAR") sharedId = id;
      else aloneId = id;
    }
  });
  afterAll(async () => {
    await at?.admin("PUT", "/limits", { requestThreshold: 10_000 }).catch(() => {});
    await b?.close();
    await a?.close();
    await db?.drop();
    await at?.close();
  });

  it("counting in the store's ledger, together they stop at the asset share", async () => {
    const { used, stops, clients: pair, rejected } = await spendTogether(sharedId);
    expect(stops).toHaveLength(6);
    for (const s of stops) expect(s.message).toMatch(/asset syncs and live reads stop at 70 %/);
    // The tenant's count, every request of both (readings included): at the stop, give or take a batch each.
    expect(used).toBeGreaterThanOrEqual(STOP);
    expect(used).toBeLessThanOrEqual(STOP + SLACK);
    // Autotask never had to refuse, and both sent a fair part.
    expect(rejected).toMatchObject({ threshold: 0, thread: 0 });
    for (const c of pair) expect(c.stats().requests).toBeGreaterThan(STOP / 4);
    // Each client's view holds the other's requests too: both end near the stop, not at half of it.
    for (const c of pair) {
      const view = c.stats().budget;
      expect(view).not.toBeNull();
      if (view) expect(view.reportedCount + view.sentSince).toBeGreaterThanOrEqual(STOP - SLACK);
    }
  });

  it("counting each its own requests (without the ledger), the same traffic passes the share by far more", async () => {
    const { used, stops } = await spendTogether(aloneId);
    expect(stops).toHaveLength(6);
    expect(used).toBeGreaterThan(STOP + SLACK);
  });
});
