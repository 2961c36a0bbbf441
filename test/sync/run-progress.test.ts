import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import type { Clock } from "../../src/lib/clock.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { AssetPlan } from "../../src/sync/assets.js";
import type { SyncRun, SyncRunDetail } from "../../src/sync/runs.js";
import { demoTicketing, fastClient, startTestEmulator, type TestEmulator } from "../helpers/autotask.js";
import { device } from "../helpers/devices.js";
import { openTestServices, STORES, type TestEnv, testApp } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

/**
 * Honest progress: a run's phase, devices done of its total and counts are on its row while it runs
 * (every reader sees them through the API), a dry run's row shows what it plans, and a run's duration
 * leaves out its wait for approval.
 */
describe.each(STORES)("sync run progress on %s", (kind) => {
  let env: TestEnv;
  let at: TestEmulator;
  let app: App;
  let partnerId = 0;
  let clientA = 0;
  let token = "";
  /** The services' clock runs with the system's, plus this offset (a held run "waits" by moving it). */
  let offset = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offset) };

  const getRun = async (runId: number): Promise<SyncRunDetail> => {
    const res = await app.inject({
      method: "GET",
      url: `/api/sync-runs/${runId}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    return res.json();
  };
  const history = async (): Promise<SyncRun[]> =>
    (
      await app.inject({
        method: "GET",
        url: `/api/partners/${partnerId}/sync-runs`,
        headers: { authorization: `Bearer ${token}` },
      })
    ).json().items;

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, {
      clock,
      autotask: (c, urls) => fastClient(c, urls),
      psaOrigins: [at.emu.url],
      // Any deactivation of a linked CI holds the run for approval.
      guard: { share: 0, minimum: 1 },
    });
    app = await testApp(env);
    const portal = env.services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Progress VAR" })).id;
    clientA = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT1",
        name: "Acme Dental Group",
        psaCompanyId: DEMO_IDS.companies.AT1,
      })
    ).id;
    // The company's name as the mapping saved it (the plan names it).
    await env.services.db.kysely
      .updateTable("clients")
      .set({ psa_company_name: "Acme Dental" })
      .where("id", "=", clientA)
      .execute();
    await portal.importDevices(
      SYSTEM_ACTOR,
      clientA,
      Array.from({ length: 4 }, (_, i) => device(i + 1, "managed")),
    );
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
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
    const [onboarding] = (await env.services.sync.runs.list(partnerId, "assets")).items;
    expect((await env.services.sync.wait(onboarding!.id)).status).toBe("succeeded");
    token = (await portal.createUser(SYSTEM_ACTOR, { name: "Pat Admin", role: "partner-admin", partnerId }))
      .token;
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
    await at?.close();
  });

  it("a running run's row shows its total, its phase and growing counts, read through the API", async () => {
    await env.services.portal.importDevices(
      SYSTEM_ACTOR,
      clientA,
      Array.from({ length: 36 }, (_, i) => device(100 + i, "managed")),
    );
    // Each CI create waits 40 ms (nominal 40 s × the test emulator's time scale): the run lasts long
    // enough to be read while it writes.
    await at.admin("PUT", "/faults", {
      latencyMs: 40_000,
      onlyMethods: ["POST"],
      onlyEntities: ["ConfigurationItems"],
    });
    try {
      const run = await env.services.sync.startAssetRun(partnerId, "manual", { dryRun: false });
      const seen: SyncRunDetail[] = [];
      await until(async () => {
        const r = await getRun(run.id);
        seen.push(r);
        return r.status !== "running";
      }, "the run to finish");
      const writing = seen.filter((r) => r.status === "running" && r.progress.phase === "writing");
      const mid = writing.filter((r) => r.progress.done > 0 && r.progress.done < 40);
      expect(mid.length, JSON.stringify(seen.map((r) => r.progress))).toBeGreaterThan(1);
      for (const r of writing) {
        expect(r.progress.total).toBe(40);
        expect(r.progress.phaseStartedAt).toEqual(expect.any(String));
        // The counts on the row are those of the devices done.
        const c = r.counts;
        expect(c.created + c.updated + c.deactivated + c.unchanged + c.failed).toBe(r.progress.done);
      }
      // Counts only grow; two readings mid-run differ (the row was written as the run went).
      const done = mid.map((r) => r.progress.done);
      expect([...done].sort((a, b) => a - b)).toEqual(done);
      expect(done.at(-1)).toBeGreaterThan(done[0]!);
      expect(mid.at(-1)!.counts.created).toBeGreaterThan(mid[0]!.counts.created);
      // The history's row (the list) shows them too while the run goes: it is the same stored row.
      const final = seen.at(-1)!;
      expect(final.status).toBe("succeeded");
      expect(final.counts).toEqual({ created: 36, updated: 0, deactivated: 0, unchanged: 4, failed: 0 });
      expect(final.progress).toMatchObject({ phase: "writing", done: 40, total: 40 });
      expect((await history())[0]).toMatchObject({ id: run.id, counts: final.counts });
    } finally {
      await at.admin("PUT", "/faults", { latencyMs: 0, onlyMethods: null, onlyEntities: null });
    }
  });

  it("a dry run's row (and history) shows the counts of its plan; the plan names the client and company", async () => {
    await env.services.portal.importDevices(SYSTEM_ACTOR, clientA, [device(300, "managed")]);
    const [first] = (await env.services.portal.listDevices(SYSTEM_ACTOR, clientA, { search: "HOST-001" }))
      .items;
    await env.services.portal.updateDevice(SYSTEM_ACTOR, first!.id, { ram: "64 GB" });
    const started = await env.services.sync.startAssetRun(partnerId, "manual", { dryRun: true });
    await env.services.sync.wait(started.id);
    const run = await getRun(started.id);
    const plan = run.plan as AssetPlan;
    const items = plan.clients.flatMap((c) => c.items);
    const n = (a: string) => items.filter((i) => i.action === a).length;
    expect(run.counts).toEqual({
      created: n("create"),
      updated: n("update"),
      deactivated: n("deactivate"),
      unchanged: n("unchanged"),
      failed: n("conflict"),
    });
    expect(run.counts).toEqual({ created: 1, updated: 1, deactivated: 0, unchanged: 39, failed: 0 });
    expect(run.log).toContain("Dry run: would create 1, update 1, deactivate 0; 39 unchanged, 0 conflicts.");
    expect(run.progress).toMatchObject({ phase: "planning", done: 41, total: 41 });
    expect((await history()).find((r) => r.id === run.id)?.counts).toEqual(run.counts);
    expect(plan.clients[0]).toMatchObject({
      code: "AT1",
      name: "Acme Dental Group",
      companyId: DEMO_IDS.companies.AT1,
      companyName: "Acme Dental",
    });
    // …and the real run then does what the dry run counted.
    const real = await env.services.sync.wait(
      (await env.services.sync.startAssetRun(partnerId, "manual", { dryRun: false })).id,
    );
    expect(real.counts).toEqual(run.counts);
  });

  it("a run's duration leaves out its wait for approval (approved, and cancelled)", async () => {
    const [second] = (await env.services.portal.listDevices(SYSTEM_ACTOR, clientA, { search: "HOST-002" }))
      .items;
    await env.services.portal.updateDevice(SYSTEM_ACTOR, second!.id, { state: "unmanaged" });
    const held = await env.services.sync.wait(
      (await env.services.sync.startAssetRun(partnerId, "manual", { dryRun: false })).id,
    );
    expect(held.status).toBe("awaiting-approval");
    expect(held.heldAt).toEqual(expect.any(String));
    expect(held.durationMs).toBeNull();
    offset += 3 * 3_600_000; // three hours before someone approves
    const res = await app.inject({
      method: "POST",
      url: `/api/sync-runs/${held.id}/approve`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    await env.services.sync.wait(held.id);
    const done = await getRun(held.id);
    expect(done.status).toBe("succeeded");
    expect(done.counts.deactivated).toBe(1);
    expect(done.heldAt).toBeNull();
    const span = new Date(done.finishedAt!).getTime() - new Date(done.startedAt).getTime();
    expect(done.waitedMs).toBeGreaterThanOrEqual(3 * 3_600_000);
    expect(span).toBeGreaterThanOrEqual(3 * 3_600_000);
    expect(done.durationMs).toBe(span - done.waitedMs);
    expect(done.durationMs).toBeLessThan(3_600_000);
    expect((await history()).find((r) => r.id === done.id)?.durationMs).toBe(done.durationMs);

    // A cancelled run: its wait is left out too.
    const [third] = (await env.services.portal.listDevices(SYSTEM_ACTOR, clientA, { search: "HOST-003" }))
      .items;
    await env.services.portal.updateDevice(SYSTEM_ACTOR, third!.id, { state: "unmanaged" });
    const again = await env.services.sync.wait(
      (await env.services.sync.startAssetRun(partnerId, "manual", { dryRun: false })).id,
    );
    expect(again.status).toBe("awaiting-approval");
    offset += 3_600_000;
    const cancelled = (
      await app.inject({
        method: "POST",
        url: `/api/sync-runs/${again.id}/cancel`,
        headers: { authorization: `Bearer ${token}` },
      })
    ).json() as SyncRun;
    expect(cancelled.status).toBe("failed");
    expect(cancelled.waitedMs).toBeGreaterThanOrEqual(3_600_000);
    const cspan = new Date(cancelled.finishedAt!).getTime() - new Date(cancelled.startedAt).getTime();
    expect(cancelled.durationMs).toBe(cspan - cancelled.waitedMs);
    expect(cancelled.durationMs).toBeLessThan(3_600_000);
  });
});
