import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { DeviceInput } from "../../src/portal/service.js";
import type { IntegrationInput } from "../../src/portal/types.js";
import { PORTAL_DEVICE_ID_FIELD } from "../../src/psa/connector.js";
import type { SyncRunDetail } from "../../src/sync/runs.js";
import { device } from "../helpers/devices.js";
import { openTestServices, STORES, type TestEnv, testApp } from "../helpers/services.js";
import { type FakeConnector, fakeConnector } from "../psa/fake/connector.js";
import { COMPANY_WITH_ASSETS, COMPANY_WITHOUT_ASSETS, type FakeTenant } from "../psa/fake/psa.js";

/**
 * The asset planner and executor (src/sync/assets.ts, asset-runs.ts) against the fake connector
 * (test/psa/fake/): what test/sync/assets.test.ts proves over the Autotask emulator, through the seam
 * alone. The engine must not know which PSA it is talking to.
 */

/** Every request the tenant answers, by operation ("assets.query", "assets.update" …): a spy, not a change. */
function recordOps(tenant: FakeTenant): string[] {
  const ops: string[] = [];
  const request = tenant.request.bind(tenant);
  tenant.request = (creds, op, fn) => {
    ops.push(op);
    return request(creds, op, fn);
  };
  return ops;
}

const tally = (xs: string[]) => {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
};

const WRITES = new Set(["assets.create", "assets.update"]);

describe.each(STORES)("asset sync against the fake connector on %s", (kind) => {
  let env: TestEnv;
  let app: App;
  let fake: FakeConnector;
  let tenant: FakeTenant;
  let ops: string[] = [];
  let partnerId = 0;
  let clientA = 0;
  let clientB = 0;
  const deviceIds: number[] = [];

  const integration = (over: { advanced?: boolean } = {}): IntegrationInput => {
    const s = fake.settings(partnerId, { advanced: over.advanced ?? true });
    return {
      ticketing: { ...s.ticketing, enabled: false, nocMayEnterTickets: false, secret: tenant.secret },
      devices: { ...s.devices, enabled: true, advanced: over.advanced ?? true, schedule: null },
    } as unknown as IntegrationInput;
  };
  const assetsOf = (companyId: number) => tenant.assets(companyId);
  const named = (companyId: number, name: string) => assetsOf(companyId).find((a) => a.name === name);
  /** Operations since `from` (an index into `ops`). */
  const since = (from: number) => ops.slice(from);
  const writesSince = (from: number) => since(from).filter((op) => WRITES.has(op));
  const runManual = async (dryRun = false): Promise<SyncRunDetail> => {
    const run = await env.services.sync.startAssetRun(partnerId, "manual", { dryRun });
    return env.services.sync.wait(run.id);
  };
  const linkOf = async (deviceId: number) =>
    (await env.services.sync.links.psaIds(partnerId, "device", [deviceId])).get(deviceId);
  const adminToken = async (name: string) =>
    (await env.services.portal.createUser(SYSTEM_ACTOR, { name, role: "partner-admin", partnerId })).token;

  beforeAll(async () => {
    fake = fakeConnector();
    env = await openTestServices(kind, { connectors: [fake] });
    app = await testApp(env);
    const portal = env.services.portal;
    const p = await portal.createPartner(SYSTEM_ACTOR, { name: "Fake VAR", timeZone: "Asia/Kolkata" });
    partnerId = p.id;
    tenant = fake.tenant(partnerId);
    ops = recordOps(tenant);
    clientA = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "FK1",
        name: "Acme",
        psaCompanyId: COMPANY_WITH_ASSETS,
      })
    ).id;
    clientB = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "FK2",
        name: "Globex",
        psaCompanyId: COMPANY_WITHOUT_ASSETS,
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
  });

  it("onboarding through the portal: the first sync creates one asset per managed and discovered device, in advanced mode", async () => {
    const seeded = assetsOf(COMPANY_WITH_ASSETS);
    const before = ops.length;
    const view = await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, integration());
    expect(view.ticketing.system).toBe("fake");
    await env.services.sync.settingsSaved(partnerId);
    const [started] = (await env.services.sync.runs.list(partnerId, "assets")).items;
    expect(started?.trigger).toBe("onboarding");
    const run = await env.services.sync.wait(started!.id);
    expect(run.status).toBe("succeeded");
    expect(run.counts).toEqual({ created: 10, updated: 0, deactivated: 0, unchanged: 1, failed: 0 });
    expect(run.log).toEqual([
      "Validating configuration...",
      "Configuration validation success.",
      "Creating/updating devices for client:FK1",
      "Successfully created/updated devices for client:FK1",
      "Creating/updating devices for client:FK2",
      "Successfully created/updated devices for client:FK2",
      "Integration completed.",
    ]);
    // Validate, one page per company, one create per device: the run counts the session's requests.
    expect(tally(since(before))).toEqual({
      "validate.credentials": 1,
      "assets.query": 2,
      "assets.create": 10,
    });
    expect(run.apiCalls).toBe(13);

    const mine = assetsOf(COMPANY_WITH_ASSETS).filter((a) => !seeded.some((s) => s.id === a.id));
    expect(mine).toHaveLength(5); // 3 managed + 2 discovered; the unmanaged device never had an asset
    expect(assetsOf(COMPANY_WITH_ASSETS).filter((a) => seeded.some((s) => s.id === a.id))).toEqual(seeded);
    const first = named(COMPANY_WITH_ASSETS, "HOST-001")!;
    expect(first).toMatchObject({
      active: true,
      serialNumber: "SN-1",
      warrantyEnd: "2028-06-30",
      custom: {
        [PORTAL_DEVICE_ID_FIELD]: String(deviceIds[0]),
        "IP Address": "10.0.0.1",
        "Operating System": "Microsoft Windows 11 Pro",
        RAM: "16 GB",
      },
    });
    expect(named(COMPANY_WITH_ASSETS, "HOST-004")?.active).toBe(false); // discovered → inactive
    expect(named(COMPANY_WITH_ASSETS, "HOST-006")).toBeUndefined();
    expect(assetsOf(COMPANY_WITHOUT_ASSETS).map((a) => [a.name, a.active])).toEqual(
      [20, 21, 22, 23, 24].map((i) => [`HOST-0${i}`, true]),
    );

    // The asset id is stored on the device and shown by the API.
    const token = (
      await env.services.portal.createUser(SYSTEM_ACTOR, { name: "t", role: "technician", partnerId })
    ).token;
    const res = await app.inject({
      method: "GET",
      url: `/api/devices/${deviceIds[0]}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.json().psaCiId).toBe(first.id);
  });

  it("a re-run with nothing changed writes nothing: its requests are the validation and one page per company", async () => {
    const snapshot = tenant.assets();
    const before = ops.length;
    const run = await runManual();
    expect(run.status).toBe("succeeded");
    expect(run.counts).toEqual({ created: 0, updated: 0, deactivated: 0, unchanged: 11, failed: 0 });
    expect(since(before)).toEqual(["validate.credentials", "assets.query", "assets.query"]);
    expect(run.apiCalls).toBe(3);
    expect(tenant.assets()).toEqual(snapshot);
  });

  it("a dry run shows each changed field from → to, writes nothing, and the real run writes only those fields", async () => {
    await env.services.portal.updateDevice(SYSTEM_ACTOR, deviceIds[2]!, {
      ram: "32 GB",
      operatingSystem: "Microsoft Windows 11 Enterprise",
    });
    const snapshot = tenant.assets();
    const before = ops.length;
    const dry = await runManual(true);
    expect(dry.dryRun).toBe(true);
    expect(dry.status).toBe("succeeded");
    expect(writesSince(before)).toEqual([]);
    expect(tenant.assets()).toEqual(snapshot);
    const plan = dry.plan as {
      clients: Array<{
        code: string;
        items: Array<{ hostname: string; action: string; changes?: Record<string, unknown> }>;
      }>;
    };
    const fk1 = plan.clients.find((c) => c.code === "FK1")!;
    expect(fk1.items.find((i) => i.hostname === "HOST-003")).toMatchObject({
      action: "update",
      changes: {
        "custom:Operating System": {
          from: "Microsoft Windows 11 Pro",
          to: "Microsoft Windows 11 Enterprise",
        },
        "custom:RAM": { from: "16 GB", to: "32 GB" },
      },
    });
    expect(Object.keys(fk1.items.find((i) => i.hostname === "HOST-003")?.changes ?? {})).toHaveLength(2);
    expect(fk1.items.find((i) => i.hostname === "HOST-001")?.action).toBe("unchanged");

    const w = ops.length;
    const real = await runManual();
    expect(real.counts).toMatchObject({ created: 0, updated: 1, deactivated: 0, failed: 0 });
    expect(writesSince(w)).toEqual(["assets.update"]);
    const after = named(COMPANY_WITH_ASSETS, "HOST-003")!;
    const was = snapshot.find((a) => a.id === after.id)!;
    expect(after).toEqual({
      ...was,
      custom: { ...was.custom, RAM: "32 GB", "Operating System": "Microsoft Windows 11 Enterprise" },
      lastActivity: after.lastActivity,
    });
  });

  it("managed → unmanaged costs exactly one write and sets the asset inactive", async () => {
    await env.services.portal.updateDevice(SYSTEM_ACTOR, deviceIds[1]!, { state: "unmanaged" });
    const before = ops.length;
    const run = await runManual();
    expect(run.counts).toMatchObject({ deactivated: 1, created: 0, updated: 0, failed: 0 });
    expect(writesSince(before)).toEqual(["assets.update"]);
    expect(named(COMPANY_WITH_ASSETS, "HOST-002")?.active).toBe(false);
  });

  it("overwrites a PSA-side edit of a synced field and says so in the log, naming the PSA", async () => {
    const asset = named(COMPANY_WITH_ASSETS, "HOST-003")!;
    tenant.editAsset(asset.id, { serialNumber: "EDITED-IN-PSA", custom: { ...asset.custom, RAM: "64 GB" } });
    const run = await runManual();
    expect(run.counts).toMatchObject({ updated: 1, failed: 0 });
    const line = run.log.find((l) => l.includes("FakePSA-side edit overwritten"));
    expect(line).toContain(`CI ${asset.id} (HOST-003)`);
    expect(line).toContain("serialNumber");
    expect(line).toContain("custom:RAM");
    expect(tenant.asset(asset.id)).toMatchObject({ serialNumber: "SN-3", custom: { RAM: "32 GB" } });
  });

  it("links existing assets by the portal id field and by serial number instead of duplicating them", async () => {
    const byId = (
      await env.services.portal.createDevice(
        SYSTEM_ACTOR,
        clientB,
        device(30, "managed", { serialNumber: "" }),
      )
    ).id;
    const bySerial = (
      await env.services.portal.createDevice(
        SYSTEM_ACTOR,
        clientB,
        device(31, "managed", { serialNumber: "SN-PRE" }),
      )
    ).id;
    const carrying = tenant.addAsset({
      companyId: COMPANY_WITHOUT_ASSETS,
      name: "renamed-in-psa",
      custom: { [PORTAL_DEVICE_ID_FIELD]: String(byId) },
    });
    const serial = tenant.addAsset({
      companyId: COMPANY_WITHOUT_ASSETS,
      name: "old-name",
      serialNumber: "sn-pre", // matched without regard to case
    });
    const count = assetsOf(COMPANY_WITHOUT_ASSETS).length;
    const dry = await runManual(true);
    const items = (dry.plan as { clients: Array<{ items: Array<Record<string, unknown>> }> }).clients.flatMap(
      (c) => c.items,
    );
    expect(items.find((i) => i["deviceId"] === byId)).toMatchObject({
      action: "update",
      ciId: carrying.id,
      matchedBy: "udf",
    });
    expect(items.find((i) => i["deviceId"] === bySerial)).toMatchObject({
      action: "update",
      ciId: serial.id,
      matchedBy: "serial",
    });
    const before = ops.length;
    const run = await runManual();
    expect(run.counts).toMatchObject({ created: 0, updated: 2, failed: 0 });
    expect(writesSince(before)).toEqual(["assets.update", "assets.update"]);
    expect(assetsOf(COMPANY_WITHOUT_ASSETS)).toHaveLength(count);
    expect(tenant.asset(carrying.id)).toMatchObject({ name: "HOST-030", active: true });
    expect(tenant.asset(serial.id)).toMatchObject({
      name: "HOST-031",
      serialNumber: "SN-PRE",
      custom: { [PORTAL_DEVICE_ID_FIELD]: String(bySerial) },
    });
    expect(await linkOf(byId)).toBe(carrying.id);
    expect(await linkOf(bySerial)).toBe(serial.id);
  });

  it("reports two assets claiming one device as a conflict and goes on with the others", async () => {
    for (const name of ["dup-a", "dup-b"])
      tenant.addAsset({ companyId: COMPANY_WITHOUT_ASSETS, name, serialNumber: "SN-DUP" });
    const dupSerial = (
      await env.services.portal.createDevice(
        SYSTEM_ACTOR,
        clientB,
        device(41, "managed", { serialNumber: "SN-DUP" }),
      )
    ).id;
    const dupId = (
      await env.services.portal.createDevice(
        SYSTEM_ACTOR,
        clientB,
        device(42, "managed", { serialNumber: "" }),
      )
    ).id;
    for (const name of ["udf-a", "udf-b"])
      tenant.addAsset({
        companyId: COMPANY_WITHOUT_ASSETS,
        name,
        custom: { [PORTAL_DEVICE_ID_FIELD]: String(dupId) },
      });
    await env.services.portal.createDevice(SYSTEM_ACTOR, clientB, device(43, "managed"));
    const run = await runManual();
    expect(run.status).toBe("partial");
    expect(run.counts).toMatchObject({ created: 1, failed: 2 });
    expect(
      run.log.some(
        (l) =>
          l.startsWith(`Device HOST-041 (id ${dupSerial})`) &&
          l.includes("both have serial number SN-DUP") &&
          l.includes("fix the duplicates in FakePSA"),
      ),
    ).toBe(true);
    expect(
      run.log.some(
        (l) => l.startsWith("Device HOST-042") && l.includes(`both carry ${PORTAL_DEVICE_ID_FIELD} ${dupId}`),
      ),
    ).toBe(true);
    expect(run.log).toContain("Created/updated devices for client:FK2 with 2 failed devices");
    expect(run.log.at(-1)).toBe("Integration completed.");
    expect(await linkOf(dupSerial)).toBeUndefined();
    expect(named(COMPANY_WITHOUT_ASSETS, "HOST-043")).toBeDefined();

    // The partner retires one duplicate of each in the PSA; the next run links the other.
    const dupB = named(COMPANY_WITHOUT_ASSETS, "dup-b")!;
    tenant.editAsset(dupB.id, { serialNumber: "SN-DUP-RETIRED" });
    const udfB = named(COMPANY_WITHOUT_ASSETS, "udf-b")!;
    tenant.editAsset(udfB.id, { custom: {} });
    const next = await runManual();
    expect(next.status).toBe("succeeded");
    expect(next.counts).toMatchObject({ created: 0, updated: 2, failed: 0 });
    expect(await linkOf(dupSerial)).toBe(named(COMPANY_WITHOUT_ASSETS, "HOST-041")?.id);
    expect(named(COMPANY_WITHOUT_ASSETS, "dup-b")).toBeDefined();
    expect(await linkOf(dupId)).toBe(named(COMPANY_WITHOUT_ASSETS, "HOST-042")?.id);
  });

  it("sets the asset of a device gone from the portal inactive, never deletes it, and leaves it alone after", async () => {
    const id = (await env.services.portal.createDevice(SYSTEM_ACTOR, clientA, device(70, "managed"))).id;
    expect((await runManual()).counts).toMatchObject({ created: 1, failed: 0 });
    const assetId = (await linkOf(id))!;
    expect(tenant.asset(assetId)?.active).toBe(true);
    // The portal has no device delete: the device's row goes as a discovery feed's removal would.
    await env.services.db.kysely.deleteFrom("devices").where("id", "=", id).execute();
    const before = ops.length;
    const run = await runManual();
    expect(run.status).toBe("succeeded");
    expect(run.counts).toMatchObject({ created: 0, updated: 0, deactivated: 1, failed: 0 });
    expect(run.log).toContain("Deactivating configuration items of devices no longer in the portal");
    expect(since(before).filter((op) => op.startsWith("assets.") && op !== "assets.query")).toEqual([
      "assets.get",
      "assets.update",
    ]);
    expect(tenant.asset(assetId)).toMatchObject({ active: false, name: "HOST-070" });
    const again = ops.length;
    expect((await runManual()).counts).toMatchObject({ deactivated: 0, failed: 0 });
    expect(writesSince(again)).toEqual([]);
    expect(tenant.asset(assetId)).toBeDefined();
  });

  it("a failure on one device does not stop the others; the next run catches up", async () => {
    const made = [];
    for (let i = 0; i < 4; i++)
      made.push(
        (await env.services.portal.createDevice(SYSTEM_ACTOR, clientA, device(80 + i, "managed"))).id,
      );
    tenant.failNext({ code: "INVALID_REQUEST", on: "assets.create" });
    tenant.failNext({ code: "SERVER", on: "assets.create" });
    const run = await runManual();
    expect(run.status).toBe("partial");
    expect(run.counts).toMatchObject({ created: 2, failed: 2 });
    expect(
      run.log.filter((l) => /^Device HOST-08\d \(id \d+\): failed: assets\.create: /.test(l)),
    ).toHaveLength(2);
    expect(run.log).toContain("Created/updated devices for client:FK1 with 2 failed devices");
    expect(run.log).toContain("Successfully created/updated devices for client:FK2");
    expect(run.log.at(-1)).toBe("Integration completed.");
    const next = await runManual();
    expect(next.status).toBe("succeeded");
    expect(next.counts).toMatchObject({ created: 2, failed: 0 });
    for (const id of made) expect(await linkOf(id)).toBeGreaterThan(0);
    for (let i = 0; i < 4; i++)
      expect(assetsOf(COMPANY_WITH_ASSETS).filter((a) => a.name === `HOST-08${i}`)).toHaveLength(1);
  });

  it("an ambiguous create is looked up, not sent twice: one asset per device", async () => {
    const applied = (await env.services.portal.createDevice(SYSTEM_ACTOR, clientB, device(90, "managed"))).id;
    tenant.failNext({ code: "TIMEOUT", on: "assets.create", applied: true });
    const before = ops.length;
    const run = await runManual();
    expect(run.status).toBe("succeeded");
    expect(run.counts).toMatchObject({ created: 1, failed: 0 });
    expect(since(before).filter((op) => op === "assets.create")).toHaveLength(1);
    const carrying = (id: number) =>
      tenant.assets().filter((a) => a.custom[PORTAL_DEVICE_ID_FIELD] === String(id));
    expect(carrying(applied)).toHaveLength(1);
    expect(await linkOf(applied)).toBe(carrying(applied)[0]?.id);

    // Lost on its way (nothing applied): sent once more, still one asset.
    const lost = (await env.services.portal.createDevice(SYSTEM_ACTOR, clientB, device(91, "managed"))).id;
    tenant.failNext({ code: "NETWORK", on: "assets.create", ambiguous: true });
    const w = ops.length;
    expect((await runManual()).counts).toMatchObject({ created: 1, failed: 0 });
    expect(since(w).filter((op) => op === "assets.create")).toHaveLength(2);
    expect(carrying(lost)).toHaveLength(1);
    expect(await linkOf(lost)).toBe(carrying(lost)[0]?.id);
  });

  it("never starts on a failed validation: a missing custom field is named and nothing is written", async () => {
    tenant.customFields.delete("RAM");
    try {
      await env.services.portal.updateDevice(SYSTEM_ACTOR, deviceIds[0]!, { ram: "8 GB" });
      const before = ops.length;
      const run = await runManual();
      expect(run.status).toBe("failed");
      const err = run.log.find((l) => l.startsWith("Synchronization error:"));
      expect(err).toContain('Custom field "RAM" is missing on assets.');
      expect(err).toContain("FakePSA → Settings → Assets");
      expect(since(before)).toEqual(["validate.credentials"]);
    } finally {
      tenant.customFields.add("RAM");
    }
    const run = await runManual();
    expect(run.status).toBe("succeeded");
    expect(run.counts).toMatchObject({ updated: 1 });
    expect(tenant.asset((await linkOf(deviceIds[0]!))!)?.custom["RAM"]).toBe("8 GB");
  });

  it("simple mode writes the standard fields only", async () => {
    await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, integration({ advanced: false }));
    const id = (await env.services.portal.createDevice(SYSTEM_ACTOR, clientA, device(60, "managed"))).id;
    const run = await runManual();
    expect(run.counts).toMatchObject({ created: 1, updated: 0, failed: 0 });
    const asset = named(COMPANY_WITH_ASSETS, "HOST-060")!;
    expect(asset).toMatchObject({
      serialNumber: "SN-60",
      active: true,
      warrantyEnd: "2028-06-30",
      custom: {},
    });
    expect(await linkOf(id)).toBe(asset.id);
    await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, integration());
  });

  it("the mass-change guard holds a run that would deactivate many assets until it is approved", async () => {
    await runManual(); // brings the custom fields back after simple mode
    const managed = (await env.services.portal.devicesForSync(clientB))
      .filter((d) => d.state === "managed")
      .slice(0, 4);
    for (const d of managed)
      await env.services.portal.updateDevice(SYSTEM_ACTOR, d.id, { state: "unmanaged" });
    const before = ops.length;
    const run = await runManual();
    expect(run.status).toBe("awaiting-approval");
    expect(
      run.log.some((l) => l.startsWith("Mass-change guard: client:FK2 (Globex) would deactivate 4 of")),
    ).toBe(true);
    expect(writesSince(before)).toEqual([]);
    // While held it is the partner's active run.
    expect((await env.services.sync.startAssetRun(partnerId, "manual", { dryRun: false })).id).toBe(run.id);
    const res = await app.inject({
      method: "POST",
      url: `/api/sync-runs/${run.id}/approve`,
      headers: { authorization: `Bearer ${await adminToken("approver")}` },
    });
    expect(res.statusCode).toBe(200);
    const done = await env.services.sync.wait(run.id);
    expect(done.counts.deactivated).toBe(4);
    expect(done.approvedBy).toBe("approver");
    expect(done.log).toContain("Approved by approver; continuing.");
    expect(done.log.at(-1)).toBe("Integration completed.");
    expect(writesSince(before).filter((op) => op === "assets.update")).toHaveLength(4);
    for (const d of managed) expect(tenant.asset((await linkOf(d.id))!)?.active).toBe(false);
  });
});
