import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { DeviceInput } from "../../src/portal/service.js";
import { CI_UDFS } from "../../src/psa/autotask/mapper.js";
import { nextRuns } from "../../src/sync/engine.js";
import type { SyncRunDetail } from "../../src/sync/runs.js";
import {
  DEFAULT_CREDENTIALS,
  demoTicketing,
  fastClient,
  startTestEmulator,
  type TestEmulator,
  tenant,
} from "../helpers/autotask.js";
import { device } from "../helpers/devices.js";
import { openTestServices, STORES, type TestEnv, testApp } from "../helpers/services.js";

interface Ci {
  id: number;
  companyID: number;
  referenceTitle: string;
  serialNumber: string | null;
  isActive: boolean;
  productID: number;
  configurationItemType: number;
  warrantyExpirationDate: string | null;
  userDefinedFields: Array<{ name: string; value: string | null }>;
}

describe.each(STORES)("asset sync against the Autotask emulator on %s", (kind) => {
  let env: TestEnv;
  let at: TestEmulator;
  let app: App;
  let partnerId = 0;
  let clientA = 0;
  let clientB = 0;
  const deviceIds: number[] = [];

  const integration = (over: { advanced?: boolean; enabled?: boolean } = {}) => ({
    ticketing: demoTicketing(at.emu.baseUrl, { enabled: false, nocMayEnterTickets: false }),
    devices: {
      enabled: over.enabled ?? true,
      productId: DEMO_IDS.product,
      configurationItemTypeId: DEMO_IDS.ciType,
      advanced: over.advanced ?? true,
      schedule: null,
    },
  });
  const cisOf = async (companyId: number) =>
    (
      await at.api<{ items: Ci[] }>("POST", "ConfigurationItems/query", {
        filter: [{ op: "eq", field: "companyID", value: companyId }],
      })
    ).items;
  /** CI writes so far: PATCH/PUT requests plus CIs created (stats count queries as POST too). */
  const writes = async () => {
    const s = await at.stats();
    const { queryCount } = await at.api<{ queryCount: number }>("POST", "ConfigurationItems/query/count", {
      filter: [{ op: "gte", field: "id", value: 0 }],
    });
    return (
      (s.byEndpoint["PATCH ConfigurationItems"] ?? 0) +
      (s.byEndpoint["PUT ConfigurationItems"] ?? 0) +
      queryCount
    );
  };
  const runManual = async (dryRun = false): Promise<SyncRunDetail> => {
    const run = await env.services.sync.startAssetRun(partnerId, "manual", { dryRun });
    return env.services.sync.wait(run.id);
  };
  const udf = (ci: Ci, name: string) => ci.userDefinedFields.find((u) => u.name === name)?.value;

  let lastClient: ReturnType<typeof fastClient> | undefined;
  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, {
      autotask: (c, urls) => (lastClient = fastClient(c, urls)),
      psaOrigins: [at.emu.url],
    });
    app = await testApp(env);
    const portal = env.services.portal;
    const p = await portal.createPartner(SYSTEM_ACTOR, { name: "Sync VAR", timeZone: "Asia/Kolkata" });
    partnerId = p.id;
    clientA = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT1",
        name: "Acme Dental Group",
        psaCompanyId: DEMO_IDS.companies.AT1,
      })
    ).id;
    clientB = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT2",
        name: "Birch Logistics",
        psaCompanyId: DEMO_IDS.companies.AT2,
      })
    ).id;
    const states: DeviceInput["state"][] = [
      "managed",
      "managed",
      "managed",
      "discovered",
      "discovered",
      "unmanaged",
    ];
    for (const [i, s] of states.entries())
      deviceIds.push((await portal.createDevice(SYSTEM_ACTOR, clientA, device(i + 1, s))).id);
    for (let i = 0; i < 5; i++)
      deviceIds.push((await portal.createDevice(SYSTEM_ACTOR, clientB, device(20 + i, "managed"))).id);
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
    await at?.close();
  });

  it("onboarding: enabling device integration runs the first sync, advanced mode, one CI per managed and discovered device", async () => {
    await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, integration());
    // The save left an integration_events row; the settings route waits for the engine the same way.
    await env.services.sync.settingsSaved(partnerId);
    const [started] = (await env.services.sync.runs.list(partnerId, "assets")).items;
    expect(started?.trigger).toBe("onboarding");
    const run = await env.services.sync.wait(started!.id);
    expect(run.status).toBe("succeeded");
    expect(run.counts).toEqual({ created: 10, updated: 0, deactivated: 0, unchanged: 1, failed: 0 });
    expect(run.log).toEqual([
      "Validating configuration...",
      "Configuration validation success.",
      "Creating/updating devices for client:AT1",
      "Successfully created/updated devices for client:AT1",
      "Creating/updating devices for client:AT2",
      "Successfully created/updated devices for client:AT2",
      "Integration completed.",
    ]);
    expect(run.apiCalls).toBeGreaterThan(10);

    const cis = await cisOf(DEMO_IDS.companies.AT1);
    expect(cis).toHaveLength(5); // 3 managed + 2 discovered; the unmanaged device never had a CI
    const first = cis.find((c) => c.referenceTitle === "HOST-001")!;
    expect(first).toMatchObject({
      isActive: true,
      serialNumber: "SN-1",
      productID: DEMO_IDS.product,
      configurationItemType: DEMO_IDS.ciType,
    });
    expect(first.warrantyExpirationDate?.slice(0, 10)).toBe("2028-06-30");
    expect(udf(first, "Partner Portal Device Id")).toBe(String(deviceIds[0]));
    expect(udf(first, "DNS")).toBe("HOST-001");
    expect(udf(first, "BIOS Version")).toBe("2.18.0");
    expect(udf(first, "Last Logged User")).toBe("user1");
    for (const [name] of CI_UDFS) expect(first.userDefinedFields.map((u) => u.name)).toContain(name);
    expect(cis.find((c) => c.referenceTitle === "HOST-004")?.isActive).toBe(false); // discovered → inactive

    // The CI id is stored on the device and shown by the API.
    const token = (
      await env.services.portal.createUser(SYSTEM_ACTOR, { name: "t", role: "technician", partnerId })
    ).token;
    const res = await app.inject({
      method: "GET",
      url: `/api/devices/${deviceIds[0]}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.json().psaCiId).toBe(first.id);
    const status = await app.inject({
      method: "GET",
      url: `/api/partners/${partnerId}/sync/assets/status`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(status.json()).toMatchObject({
      lastSyncStatus: "succeeded",
      lastSyncAt: expect.any(String),
      nextRunAt: expect.any(String),
    });
  });

  it("a re-run with nothing changed writes nothing and reads each company in one page", async () => {
    const before = await writes();
    const run = await runManual();
    expect(run.status).toBe("succeeded");
    expect(run.counts).toMatchObject({ created: 0, updated: 0, deactivated: 0, unchanged: 11, failed: 0 });
    expect(await writes()).toBe(before);
    // validation (threshold, product, CI type, UDFs, companies) + one CI page per company
    expect(run.apiCalls).toBeLessThanOrEqual(8);
  });

  it("managed → unmanaged costs exactly one PATCH and sets the CI inactive", async () => {
    await env.services.portal.updateDevice(SYSTEM_ACTOR, deviceIds[1]!, { state: "unmanaged" });
    const s0 = (await at.stats()).byEndpoint["PATCH ConfigurationItems"] ?? 0;
    const run = await runManual();
    expect(run.counts).toMatchObject({ deactivated: 1, created: 0, updated: 0, failed: 0 });
    expect(((await at.stats()).byEndpoint["PATCH ConfigurationItems"] ?? 0) - s0).toBe(1);
    expect((await cisOf(DEMO_IDS.companies.AT1)).find((c) => c.referenceTitle === "HOST-002")?.isActive).toBe(
      false,
    );
  });

  it("overwrites an Autotask-side edit of a synced field and says so in the log", async () => {
    const ci = (await cisOf(DEMO_IDS.companies.AT1)).find((c) => c.referenceTitle === "HOST-003")!;
    const tech = await at.admin<{ username: string; secret: string; integrationCode: string }>(
      "POST",
      tenant("/actAs"),
      { resourceId: DEMO_IDS.technicians[0] },
    );
    await at.api(
      "PATCH",
      "ConfigurationItems",
      { id: ci.id, serialNumber: "EDITED-IN-AT", userDefinedFields: [{ name: "RAM", value: "64 GB" }] },
      tech,
    );
    const run = await runManual();
    expect(run.counts).toMatchObject({ updated: 1, failed: 0 });
    const line = run.log.find((l) => l.includes("Autotask-side edit overwritten"));
    expect(line).toContain(`CI ${ci.id} (HOST-003)`);
    expect(line).toContain("serialNumber");
    expect(line).toContain("udf:RAM");
    const after = (await cisOf(DEMO_IDS.companies.AT1)).find((c) => c.id === ci.id)!;
    expect(after.serialNumber).toBe("SN-3");
    expect(udf(after, "RAM")).toBe("16 GB");
  });

  it("links a CI that already exists with the device's serial number instead of duplicating it", async () => {
    const [existing] = (
      await at.admin<{ ids: number[] }>("POST", tenant("/rows/ConfigurationItems"), {
        companyID: DEMO_IDS.companies.AT2,
        productID: DEMO_IDS.product,
        referenceTitle: "old-name",
        serialNumber: "SN-PRE",
        isActive: true,
      })
    ).ids;
    const id = (
      await env.services.portal.createDevice(
        SYSTEM_ACTOR,
        clientB,
        device(40, "managed", { serialNumber: "SN-PRE" }),
      )
    ).id;
    const before = (await cisOf(DEMO_IDS.companies.AT2)).length;
    const run = await runManual();
    expect(run.counts).toMatchObject({ created: 0, updated: 1, failed: 0 });
    const cis = await cisOf(DEMO_IDS.companies.AT2);
    expect(cis).toHaveLength(before);
    const linked = cis.find((c) => c.id === existing)!;
    expect(linked.referenceTitle).toBe("HOST-040");
    expect(udf(linked, "Partner Portal Device Id")).toBe(String(id));
    expect((await env.services.sync.links.psaIds(partnerId, "device", [id])).get(id)).toBe(existing);
  });

  it("reports two CIs claiming one device as a conflict and goes on with the others", async () => {
    for (const title of ["dup-a", "dup-b"]) {
      await at.admin("POST", tenant("/rows/ConfigurationItems"), {
        companyID: DEMO_IDS.companies.AT2,
        productID: DEMO_IDS.product,
        referenceTitle: title,
        serialNumber: "SN-DUP",
        isActive: true,
      });
    }
    await env.services.portal.createDevice(
      SYSTEM_ACTOR,
      clientB,
      device(41, "managed", { serialNumber: "SN-DUP" }),
    );
    await env.services.portal.createDevice(SYSTEM_ACTOR, clientB, device(42, "managed"));
    const run = await runManual();
    expect(run.status).toBe("partial");
    expect(run.counts).toMatchObject({ created: 1, failed: 1 });
    expect(
      run.log.some((l) => l.startsWith("Device HOST-041") && l.includes("both have serial number SN-DUP")),
    ).toBe(true);
    expect(run.log).toContain("Created/updated devices for client:AT2 with 1 failed device");
    expect(run.log.at(-1)).toBe("Integration completed.");
    // The partner retires one duplicate in Autotask; the next run links the other.
    const dupB = (await cisOf(DEMO_IDS.companies.AT2)).find((c) => c.referenceTitle === "dup-b")!;
    const tech = await at.admin<{ username: string; secret: string; integrationCode: string }>(
      "POST",
      tenant("/actAs"),
      { resourceId: DEMO_IDS.technicians[0] },
    );
    await at.api("PATCH", "ConfigurationItems", { id: dupB.id, serialNumber: "SN-DUP-RETIRED" }, tech);
  });

  it("a dry run returns the plan with each field's from → to and writes nothing", async () => {
    await env.services.portal.updateDevice(SYSTEM_ACTOR, deviceIds[2]!, {
      ram: "32 GB",
      operatingSystem: "Microsoft Windows 11 Enterprise",
    });
    await env.services.portal.createDevice(SYSTEM_ACTOR, clientA, device(50, "discovered"));
    const before = await writes();
    const run = await runManual(true);
    expect(run.dryRun).toBe(true);
    expect(await writes()).toBe(before);
    const plan = run.plan as {
      clients: Array<{
        code: string;
        items: Array<{
          hostname: string;
          action: string;
          changes?: Record<string, { from: unknown; to: unknown }>;
        }>;
      }>;
    };
    const at1 = plan.clients.find((c) => c.code === "AT1")!;
    const upd = at1.items.find((i) => i.hostname === "HOST-003")!;
    expect(upd.action).toBe("update");
    expect(upd.changes).toEqual({
      "udf:Operating System": { from: "Microsoft Windows 11 Pro", to: "Microsoft Windows 11 Enterprise" },
      "udf:RAM": { from: "16 GB", to: "32 GB" },
    });
    expect(at1.items.find((i) => i.hostname === "HOST-050")?.action).toBe("create");
    expect(at1.items.find((i) => i.hostname === "HOST-001")?.action).toBe("unchanged");
    // …and the real run then does exactly that.
    const real = await runManual();
    expect(real.counts).toMatchObject({ created: 1, updated: 2, failed: 0 }); // HOST-041 now links dup-a
  });

  it("never starts on a failed validation: a missing UDF is named and nothing is written", async () => {
    await at.admin("DELETE", tenant("/udfs/ConfigurationItems/BIOS%20Name"));
    await env.services.portal.updateDevice(SYSTEM_ACTOR, deviceIds[0]!, { ram: "8 GB" });
    const before = await writes();
    const run = await runManual();
    expect(run.status).toBe("failed");
    expect(run.log).toContain("Validating configuration...");
    const err = run.log.find((l) => l.startsWith("Synchronization error:"));
    expect(err).toContain('User-defined field "BIOS Name" is missing');
    expect(err).toContain("Text (Single Line)");
    expect(await writes()).toBe(before);

    const token = (
      await env.services.portal.createUser(SYSTEM_ACTOR, { name: "adm", role: "partner-admin", partnerId })
    ).token;
    const v = (
      await app.inject({
        method: "POST",
        url: `/api/partners/${partnerId}/validate`,
        headers: { authorization: `Bearer ${token}` },
      })
    ).json();
    expect(v.ok).toBe(false);
    const failed = v.checks.filter((c: { ok: boolean }) => !c.ok);
    expect(failed.map((c: { name: string }) => c.name)).toEqual(["udf:BIOS Name"]);
    expect(failed[0].fix).toContain(
      "Admin → Products and Services → Products → Configuration Items → User-Defined Fields",
    );

    await at.admin("POST", tenant("/udfs/ConfigurationItems"), { name: "BIOS Name", dataType: "string" });
    expect((await runManual()).status).not.toBe("failed");
  });

  it("simple mode writes the standard fields only", async () => {
    await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, integration({ advanced: false }));
    const id = (await env.services.portal.createDevice(SYSTEM_ACTOR, clientA, device(60, "managed"))).id;
    const run = await runManual();
    expect(run.counts.created).toBe(1);
    const ci = (await cisOf(DEMO_IDS.companies.AT1)).find((c) => c.referenceTitle === "HOST-060")!;
    expect(ci).toMatchObject({ serialNumber: "SN-60", isActive: true });
    expect(ci.userDefinedFields.filter((u) => u.value !== null)).toEqual([]);
    expect((await env.services.sync.links.psaIds(partnerId, "device", [id])).get(id)).toBe(ci.id);
    await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, integration());
  });

  it("API: 202 {runId}, a second request returns the same run, and the run has counts, API calls and log", async () => {
    const token = (
      await env.services.portal.createUser(SYSTEM_ACTOR, { name: "adm2", role: "partner-admin", partnerId })
    ).token;
    const headers = { authorization: `Bearer ${token}` };
    const a = await app.inject({ method: "POST", url: `/api/partners/${partnerId}/sync/assets`, headers });
    const b = await app.inject({ method: "POST", url: `/api/partners/${partnerId}/sync/assets`, headers });
    expect(a.statusCode).toBe(202);
    expect(b.json().runId).toBe(a.json().runId);
    await env.services.sync.wait(a.json().runId);
    const run = (
      await app.inject({ method: "GET", url: `/api/sync-runs/${a.json().runId}`, headers })
    ).json();
    expect(run).toMatchObject({
      id: a.json().runId,
      trigger: "manual",
      counts: expect.any(Object),
      apiCalls: expect.any(Number),
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
    });
    expect(run.log[0]).toBe("Validating configuration...");
    const list = (
      await app.inject({ method: "GET", url: `/api/partners/${partnerId}/sync-runs`, headers })
    ).json();
    expect(list.items[0].id).toBe(run.id);
    const tech = (
      await env.services.portal.createUser(SYSTEM_ACTOR, { name: "tech", role: "technician", partnerId })
    ).token;
    expect(
      (
        await app.inject({
          method: "POST",
          url: `/api/partners/${partnerId}/sync/assets`,
          headers: { authorization: `Bearer ${tech}` },
        })
      ).statusCode,
    ).toBe(403);
    const other = await env.services.portal.createPartner(SYSTEM_ACTOR, { name: "Other" });
    const otherAdmin = (
      await env.services.portal.createUser(SYSTEM_ACTOR, {
        name: "oa",
        role: "partner-admin",
        partnerId: other.id,
      })
    ).token;
    expect(
      (
        await app.inject({
          method: "GET",
          url: `/api/sync-runs/${run.id}`,
          headers: { authorization: `Bearer ${otherAdmin}` },
        })
      ).statusCode,
    ).toBe(404);
  });

  it("the mass-change guard holds a run that would deactivate many CIs until it is approved", async () => {
    // AT2 has 8 linked CIs; unmanaging 4 of them (50 %) is past the 20 % guard.
    const at2 = (await env.services.portal.devicesForSync(clientB))
      .filter((d) => d.state === "managed")
      .slice(0, 4);
    for (const d of at2) await env.services.portal.updateDevice(SYSTEM_ACTOR, d.id, { state: "unmanaged" });
    const before = await writes();
    const run = await runManual();
    expect(run.status).toBe("awaiting-approval");
    expect(
      run.log.some((l) =>
        l.startsWith("Mass-change guard: client:AT2 (Birch Logistics) would deactivate 4 of"),
      ),
    ).toBe(true);
    expect(await writes()).toBe(before);
    // While held it is the partner's active run.
    expect((await env.services.sync.startAssetRun(partnerId, "manual", { dryRun: false })).id).toBe(run.id);
    const token = (
      await env.services.portal.createUser(SYSTEM_ACTOR, {
        name: "approver",
        role: "partner-admin",
        partnerId,
      })
    ).token;
    const res = await app.inject({
      method: "POST",
      url: `/api/sync-runs/${run.id}/approve`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    const done = await env.services.sync.wait(run.id);
    expect(done.counts.deactivated).toBe(4);
    expect(done.approvedBy).toBe("approver");
    expect(done.log).toContain("Approved by approver; continuing.");
    expect(done.log.at(-1)).toBe("Integration completed.");
  });

  it("survives timeouts after apply, 429s and thread-limit rejections: one CI per device, at most 3 requests in flight per endpoint", async () => {
    const c = await env.services.portal.createClient(SYSTEM_ACTOR, partnerId, {
      code: "AT3",
      name: "Cobalt",
      psaCompanyId: DEMO_IDS.companies.AT3,
    });
    await env.services.portal.importDevices(
      SYSTEM_ACTOR,
      c.id,
      Array.from({ length: 30 }, (_, i) => device(100 + i, "managed")),
    );
    await at.admin("PUT", "/faults", {
      seed: 7,
      shareTimeoutAfterApply: 0.2,
      share429: 0.15,
      retryAfterSeconds: 0,
      // 5 ms (nominal 5 s × time scale) keeps requests in flight long enough to meet the thread limit.
      latencyMs: 5000,
      onlyMethods: ["POST"],
      onlyEntities: ["ConfigurationItems"],
    });
    // A thread limit of 2 (Autotask ratchets older integrations below 3, docs/autotask.md, Thresholds and
    // limits) against our 3 workers.
    await at.admin("PUT", "/limits", { maxThreads: 2 });
    try {
      const run = await runManual();
      const cis = await cisOf(DEMO_IDS.companies.AT3);
      expect(cis, run.log.join("\n")).toHaveLength(30);
      expect(new Set(cis.map((x) => udf(x, "Partner Portal Device Id"))).size).toBe(30);
      expect(run.counts.created).toBe(30);
      const s = await at.stats();
      expect(s.rejected.fault, JSON.stringify(s)).toBeGreaterThan(0);
      expect(s.rejected.thread, JSON.stringify(s)).toBeGreaterThan(0);
      const client = lastClient!.stats();
      expect(client.threadLimited).toBeGreaterThan(0);
      expect(Math.max(...Object.values(client.maxConcurrency))).toBeLessThanOrEqual(3);
    } finally {
      await at.admin("PUT", "/faults", {
        shareTimeoutAfterApply: 0,
        latencyMs: 0,
        share429: 0,
        onlyMethods: null,
        onlyEntities: null,
      });
      await at.admin("PUT", "/limits", { maxThreads: 3 });
    }
    // The emulator rejects a 4th concurrent request per endpoint; the client never sends one.
    const api = fastClient({ apiUrl: at.emu.baseUrl, ...DEFAULT_CREDENTIALS });
    await Promise.all(Array.from({ length: 20 }, () => api.get("ConfigurationItems", 1)));
    const max = Object.values(api.stats().maxConcurrency);
    expect(max.length).toBeGreaterThan(0);
    expect(Math.max(...max)).toBeLessThanOrEqual(3);
  });
  // A run at the hourly API budget pauses and goes on by itself: test/sync/assets-budget.test.ts.
});

describe("asset schedule", () => {
  it("fires on the 10th and 25th at 02:00 in the partner's time zone", () => {
    const from = new Date("2026-11-27T00:00:00Z");
    expect(nextRuns("0 2 10,25 * *", "Asia/Kolkata", from, 3).map((d) => d.toISOString())).toEqual([
      "2026-12-09T20:30:00.000Z",
      "2026-12-24T20:30:00.000Z",
      "2027-01-09T20:30:00.000Z",
    ]);
    expect(
      nextRuns("0 2 10,25 * *", "America/New_York", new Date("2027-03-01T00:00:00Z"), 2).map((d) =>
        d.toISOString(),
      ),
    ).toEqual([
      "2027-03-10T07:00:00.000Z", // still EST (UTC−5): EDT starts on 14 March 2027
      "2027-03-25T06:00:00.000Z",
    ]);
  });
});
