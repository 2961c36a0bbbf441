import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import { AutotaskClient, type AutotaskCredentials } from "../../src/psa/autotask/client.js";
import { asTicketTraffic, BUDGET_WAIT_MS } from "../../src/psa/budget.js";
import type { PsaUrlPolicy } from "../../src/psa/url-policy.js";
import { addLeg, clockTime, resumeAt } from "../../src/sync/asset-pause.js";
import type { SyncRunDetail } from "../../src/sync/runs.js";
import { demoTicketing, startTestEmulator, type TestEmulator } from "../helpers/autotask.js";
import { device } from "../helpers/devices.js";
import { openTestServices, STORES, type TestEnv } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

const PAUSED =
  /^Paused at the hourly API limit; resuming at (\d\d:\d\d)\. API budget: [\d,]+ of [\d,]+ requests/;

describe("pausing an asset run at the hourly API budget", () => {
  it("goes on at the time the PSA client named, else after BUDGET_WAIT_MS", () => {
    const now = new Date("2026-03-01T10:00:00Z");
    expect(resumeAt(now, 300_000).toISOString()).toBe("2026-03-01T10:05:00.000Z");
    expect(resumeAt(now, undefined).getTime() - now.getTime()).toBe(BUDGET_WAIT_MS);
    expect(clockTime(new Date("2026-03-01T10:05:00Z"), "Asia/Kolkata")).toBe("15:35");
    expect(clockTime(new Date("2026-03-01T10:05:00Z"), "America/New_York")).toBe("05:05");
  });

  it("adds a leg's counts to the run's: what earlier legs wrote plans as unchanged and is not counted twice", () => {
    const first = { created: 12, updated: 3, deactivated: 1, unchanged: 4, failed: 2 };
    // The second leg finds the 16 written before unchanged, the 4 unchanged again, and retries the 2 failures.
    const second = { created: 20, updated: 0, deactivated: 0, unchanged: 20, failed: 0 };
    expect(addLeg(first, second)).toEqual({
      created: 32,
      updated: 3,
      deactivated: 1,
      unchanged: 4,
      failed: 0,
    });
  });
});

describe.each(STORES)("an asset run at the hourly API budget against the Autotask emulator on %s", (kind) => {
  let env: TestEnv;
  let at: TestEmulator;
  let partnerId = 0;
  let client: AutotaskClient | undefined;
  const DEVICES = 40;

  const cis = async () =>
    (
      await at.api<{
        items: Array<{ id: number; userDefinedFields: Array<{ name: string; value: string | null }> }>;
      }>("POST", "ConfigurationItems/query", {
        filter: [{ op: "eq", field: "companyID", value: DEMO_IDS.companies.AT4 }],
      })
    ).items;
  /** CI writes the emulator carried out (creates and updates), whatever the requests that asked. */
  const ciWrites = async () => {
    const ops = ((await at.stats()) as unknown as { byOperation: Record<string, number> }).byOperation;
    return { created: ops["create ConfigurationItems"] ?? 0, updated: ops["update ConfigurationItems"] ?? 0 };
  };

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, {
      // The client reads the budget again after half a second (5 minutes by default): a paused run's
      // time comes at once, and with it the check whether the window has moved on.
      autotask: (creds: AutotaskCredentials, urlPolicy: PsaUrlPolicy) =>
        (client = new AutotaskClient({
          credentials: creds,
          urlPolicy,
          retry: { maxAttempts: 15, baseDelayMs: 2, maxDelayMs: 20, timeBudgetMs: 20_000 },
          requestTimeoutMs: 2_000,
          budget: { refreshEvery: { ms: 500 } },
        })),
      psaOrigins: [at.emu.url],
      budgetWaitMs: 500,
    });
    const portal = env.services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Budget VAR", timeZone: "Asia/Kolkata" }))
      .id;
    const c = await portal.createClient(SYSTEM_ACTOR, partnerId, {
      code: "AT4",
      name: "Delta Clinics",
      psaCompanyId: DEMO_IDS.companies.AT4,
    });
    await portal.importDevices(
      SYSTEM_ACTOR,
      c.id,
      Array.from({ length: DEVICES }, (_, i) => device(300 + i, "managed")),
    );
  });
  afterAll(async () => {
    await at?.admin("PUT", "/limits", { requestThreshold: 10_000 }).catch(() => {});
    await env?.close();
    await at?.close();
  });

  it("pauses the first sync at its share, keeps it running, and finishes it by itself once the window moves on", async () => {
    await at.admin("POST", "/limits/reset");
    await at.admin("DELETE", "/stats");
    // Other traffic of the tenant this hour: it leaves room past the asset share for the checks a
    // paused run makes while it waits (one read each) and for ticket traffic.
    for (let i = 0; i < 300; i++) await at.api("GET", "ThresholdInformation");
    const { currentTimeframeRequestCount: used } = await at.api<{ currentTimeframeRequestCount: number }>(
      "GET",
      "ThresholdInformation",
    );
    // 70 % of the threshold is reached about 25 requests from now: after validation, the page and some creates.
    await at.admin("PUT", "/limits", { requestThreshold: Math.ceil((used + 25) / 0.7) });

    // Turning device integration on starts the onboarding run (the first sync).
    await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl, { enabled: false, nocMayEnterTickets: false }),
      devices: {
        enabled: true,
        productId: DEMO_IDS.product,
        configurationItemTypeId: DEMO_IDS.ciType,
        advanced: true,
        schedule: null,
      },
    });
    await env.services.sync.settingsSaved(partnerId);
    const sync = env.services.sync;
    const runId = await until(async () => (await sync.assetStatus(partnerId)).running, "the onboarding run");

    const paused = await until(async () => {
      const run = (await sync.runs.get(runId)) as SyncRunDetail;
      return run.log.some((l) => PAUSED.test(l)) && run.pausedUntil ? run : null;
    }, "the paused line");
    const line = paused.log.find((l) => PAUSED.test(l)) as string;
    // The time it goes on, in the partner's zone: a second or so from now (the client looks again then).
    const soon = [-60_000, 0, 60_000, 120_000].map((d) =>
      clockTime(new Date(Date.now() + d), "Asia/Kolkata"),
    );
    expect(soon).toContain(PAUSED.exec(line)?.[1]);
    expect(paused.status, paused.log.join("\n")).toBe("running");
    expect(paused.finishedAt).toBeNull();
    expect(paused.counts.failed).toBe(0);
    expect(paused.counts.created).toBeGreaterThan(0);
    expect(paused.counts.created).toBeLessThan(DEVICES);
    expect(paused.log.some((l) => /Synchronization error|failed/.test(l))).toBe(false);
    expect(paused.log).not.toContain("Resumed after the hourly API limit.");
    const status = await sync.assetStatus(partnerId);
    expect(status.running).toBe(runId);
    expect(status.lastSyncStatus).toBeNull();

    // Ticket sync keeps its reserved share meanwhile: its requests pass where the asset sync's are refused.
    const api = client as AutotaskClient;
    await expect(api.get("ConfigurationItems", 1)).rejects.toMatchObject({ code: "BUDGET_EXHAUSTED" });
    await expect(asTicketTraffic(() => api.thresholdInformation())).resolves.toBeTruthy();
    await expect(asTicketTraffic(() => api.get("Companies", DEMO_IDS.companies.AT4))).resolves.toBeDefined();

    // The hour's window moves on: the run goes on by itself and finishes, every device written once.
    await at.admin("POST", "/limits/reset");
    const done = await sync.wait(runId);
    expect(done.status, done.log.join("\n")).toBe("succeeded");
    expect(done.log).toContain("Resumed after the hourly API limit.");
    expect(done.log.at(-1)).toBe("Integration completed.");
    expect(done.pausedUntil).toBeNull();
    expect(done.counts).toEqual({ created: DEVICES, updated: 0, deactivated: 0, unchanged: 0, failed: 0 });
    const rows = await cis();
    expect(rows).toHaveLength(DEVICES);
    const ids = rows.map(
      (r) => r.userDefinedFields.find((u) => u.name === "Partner Portal Device Id")?.value,
    );
    expect(new Set(ids).size).toBe(DEVICES);
    expect(await ciWrites()).toEqual({ created: DEVICES, updated: 0 });
    expect((await sync.assetStatus(partnerId)).lastSyncStatus).toBe("succeeded");
  });
});
