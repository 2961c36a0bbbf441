import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import type { CwStats, Rec } from "../../src/emulators/connectwise/index.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { DeviceInput } from "../../src/portal/service.js";
import { PORTAL_DEVICE_ID_FIELD } from "../../src/psa/connector.js";
import type { SyncRunDetail } from "../../src/sync/runs.js";
import {
  CW_IDS,
  type CwSyncFixture,
  cwIntegration,
  openCwSync,
  opsDelta,
  patchOps,
  requestsDelta,
} from "../helpers/connectwise.js";
import { device } from "../helpers/devices.js";
import { STORES, testApp } from "../helpers/services.js";

/**
 * The asset sync (src/sync/assets.ts, asset-runs.ts) against the ConnectWise emulator over HTTPS:
 * portal devices become company configurations (docs/connectwise.md, Assets) — standard fields,
 * custom fields in advanced mode, the active and inactive configuration statuses chosen in the
 * settings — with the fewest requests: a re-sync costs the validation, one page per company and one
 * JSON-Patch per changed configuration, counted by the emulator itself.
 */

const ACME = CW_IDS.companies.acme;
const BIRCH = CW_IDS.companies.birch;
const ACTIVE = CW_IDS.configurationStatuses.active;
const INACTIVE = CW_IDS.configurationStatuses.inactive;
const CONFIGS = "company/configurations";

type Config = Rec & {
  name: string;
  serialNumber?: string | null;
  activeFlag: boolean;
  status?: { id: number } | null;
  type?: { id: number } | null;
  company: { id: number };
  warrantyExpirationDate?: string | null;
  customFields: Array<{ id: number; caption: string; value: unknown }>;
};

describe.each(STORES)("asset sync against the ConnectWise emulator on %s", (kind) => {
  let cw: CwSyncFixture;
  let app: App;
  let partnerId = 0;
  let clientA = 0;
  let clientB = 0;
  const deviceIds: number[] = [];

  const services = () => cw.env.services;
  const portal = () => services().portal;
  const tenant = () => {
    const t = cw.f.emu.store.tenant(cw.f.emu.credentials.companyId);
    if (!t) throw new Error("no tenant");
    return t;
  };
  const configs = (companyId?: number) =>
    (tenant().rows("configurations") as Config[]).filter(
      (c) => companyId === undefined || c.company.id === companyId,
    );
  const named = (companyId: number, name: string) => configs(companyId).find((c) => c.name === name);
  const custom = (c: Config | undefined) =>
    Object.fromEntries((c?.customFields ?? []).map((f) => [f.caption, f.value]));
  const runManual = async (dryRun = false): Promise<SyncRunDetail> => {
    const run = await services().sync.startAssetRun(partnerId, "manual", { dryRun });
    return services().sync.wait(run.id);
  };
  const linkOf = async (deviceId: number) =>
    (await services().sync.links.psaIds(partnerId, "device", [deviceId])).get(deviceId);
  /** A run and what it cost: the emulator's count of operations, and the wire requests it was sent. */
  const measured = async (dryRun = false) => {
    const before: CwStats = await cw.stats();
    const from = cw.wire.length;
    const run = await runManual(dryRun);
    const after = await cw.stats();
    return {
      run,
      ops: opsDelta(before, after),
      requests: requestsDelta(before, after),
      sent: cw.wire.slice(from),
    };
  };
  const writesOf = (ops: Record<string, number>) =>
    Object.fromEntries(Object.entries(ops).filter(([k]) => /^(create|update|replace|delete) /.test(k)));

  beforeAll(async () => {
    // A create held unanswered times out after 2 s (the emulator holds it longer).
    cw = await openCwSync(kind, { client: { requestTimeoutMs: 2_000 } });
    app = await testApp(cw.env);
    const p = await portal().createPartner(SYSTEM_ACTOR, { name: "CW VAR", timeZone: "Asia/Kolkata" });
    partnerId = p.id;
    clientA = (
      await portal().createClient(SYSTEM_ACTOR, partnerId, {
        code: "CW1",
        name: "Acme Dental Group",
        psaCompanyId: ACME,
      })
    ).id;
    clientB = (
      await portal().createClient(SYSTEM_ACTOR, partnerId, {
        code: "CW2",
        name: "Birch Logistics",
        psaCompanyId: BIRCH,
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
      deviceIds.push((await portal().createDevice(SYSTEM_ACTOR, clientA, device(i + 1, s))).id);
    for (let i = 0; i < 5; i++)
      deviceIds.push((await portal().createDevice(SYSTEM_ACTOR, clientB, device(20 + i, "managed"))).id);
  });
  afterAll(async () => {
    await app?.close();
    await cw?.close();
  });

  it("onboarding in advanced mode: one configuration per managed and discovered device, with its fields, custom fields and status", async () => {
    const before = await cw.stats();
    const view = await portal().putIntegration(SYSTEM_ACTOR, partnerId, cwIntegration(cw.f));
    expect(view.ticketing.system).toBe("connectwise");
    await services().sync.settingsSaved(partnerId);
    const [started] = (await services().sync.runs.list(partnerId, "assets")).items;
    expect(started?.trigger).toBe("onboarding");
    const run = await services().sync.wait(started!.id);
    const after = await cw.stats();
    expect(run.status, run.log.join("\n")).toBe("succeeded");
    expect(run.counts).toEqual({ created: 10, updated: 0, deactivated: 0, unchanged: 1, failed: 0 });
    expect(run.log).toEqual([
      "Validating configuration...",
      "Configuration validation success.",
      "Creating/updating devices for client:CW1",
      "Successfully created/updated devices for client:CW1",
      "Creating/updating devices for client:CW2",
      "Successfully created/updated devices for client:CW2",
      "Integration completed.",
    ]);
    // One create per device. The demo tenant has no configuration yet, so the custom-field
    // definitions are learned from the first one made, whose custom fields follow in one PATCH (one
    // per create that started before the first answer: at most the run's 3 parallel writes).
    const writes = writesOf(opsDelta(before, after));
    expect(writes["create company/configurations"]).toBe(10);
    expect(writes["update company/configurations"]).toBeGreaterThanOrEqual(1);
    expect(writes["update company/configurations"]).toBeLessThanOrEqual(3);
    expect(Object.keys(writes).sort()).toEqual([
      "create company/configurations",
      "update company/configurations",
    ]);
    // The run counts the requests the emulator answered (discovery aside).
    expect(run.apiCalls).toBe(requestsDelta(before, after));

    expect(
      configs(ACME)
        .map((c) => c.name)
        .sort(),
    ).toEqual(["HOST-001", "HOST-002", "HOST-003", "HOST-004", "HOST-005"]);
    expect(named(ACME, "HOST-006")).toBeUndefined(); // unmanaged: never had a configuration
    const first = named(ACME, "HOST-001")!;
    expect(first).toMatchObject({
      serialNumber: "SN-1",
      modelNumber: "OptiPlex 7090",
      ipAddress: "10.0.0.1",
      defaultGateway: "10.0.0.1",
      osType: "Microsoft Windows 11 Pro",
      ram: "16 GB",
      lastLoginName: "user1",
      warrantyExpirationDate: "2028-06-30T00:00:00Z",
      activeFlag: true,
      type: { id: CW_IDS.configurationTypes.device },
      status: { id: ACTIVE },
      company: { id: ACME },
    });
    expect(custom(first)).toMatchObject({
      [PORTAL_DEVICE_ID_FIELD]: String(deviceIds[0]),
      "IP Address": "10.0.0.1",
      "Operating System": "Microsoft Windows 11 Pro",
      RAM: "16 GB",
      Make: "Dell Inc.",
      "BIOS Version": "2.18.0",
      DNS: "HOST-001",
    });
    // Discovered → the inactive status chosen in the settings, no warranty date.
    expect(named(ACME, "HOST-004")).toMatchObject({
      activeFlag: false,
      status: { id: INACTIVE },
      warrantyExpirationDate: null,
      serialNumber: "SN-4",
    });
    expect(custom(named(ACME, "HOST-004"))[PORTAL_DEVICE_ID_FIELD]).toBe(String(deviceIds[3]));
    expect(configs(BIRCH).map((c) => [c.name, c.activeFlag, c.status?.id])).toEqual(
      [20, 21, 22, 23, 24].map((i) => [`HOST-0${i}`, true, ACTIVE]),
    );
    // Every device is linked to its configuration.
    for (const [i, id] of deviceIds.entries()) {
      const c = configs().find((x) => custom(x)[PORTAL_DEVICE_ID_FIELD] === String(id));
      expect(await linkOf(id), `device ${i + 1}`).toBe(c?.id);
    }
  });

  /** What every asset run reads to validate (advanced mode, ticketing off): docs/connectwise.md, Validate. */
  const VALIDATION: Record<string, number> = {
    "count service/boards": 1, // the credentials
    "get company/configurations/types": 1,
    "get company/configurations/statuses": 2, // active and inactive
    "count company/configurations": 1, // the permission
    "list company/configurations": 1, // one configuration's custom fields
    "list company/companies": 1, // the clients' companies
  };
  const sum = (...parts: Array<Record<string, number>>) => {
    const out: Record<string, number> = {};
    for (const p of parts) for (const [k, n] of Object.entries(p)) out[k] = (out[k] ?? 0) + n;
    return out;
  };
  const pages = (n: number) => ({ "list company/configurations": n });

  it("a re-sync with nothing changed costs the validation and one page per company, and writes nothing", async () => {
    const snapshot = JSON.stringify(configs());
    const { run, ops, requests } = await measured();
    expect(run.status).toBe("succeeded");
    expect(run.counts).toEqual({ created: 0, updated: 0, deactivated: 0, unchanged: 11, failed: 0 });
    expect(ops).toEqual(sum(VALIDATION, pages(2)));
    expect(run.apiCalls).toBe(requests);
    expect(JSON.stringify(configs())).toBe(snapshot);
  });

  it("a dry run shows each changed field from → to and writes nothing; the real run sends one JSON-Patch per changed device, of the changed fields only", async () => {
    await portal().updateDevice(SYSTEM_ACTOR, deviceIds[2]!, {
      ram: "32 GB",
      operatingSystem: "Microsoft Windows 11 Enterprise",
    });
    await portal().updateDevice(SYSTEM_ACTOR, deviceIds[0]!, { warrantyEndDate: "2029-01-31" });
    const snapshot = JSON.stringify(configs());
    const dry = await measured(true);
    expect(dry.run.dryRun).toBe(true);
    expect(dry.run.status).toBe("succeeded");
    expect(writesOf(dry.ops)).toEqual({});
    expect(dry.ops).toEqual(sum(VALIDATION, pages(2)));
    expect(JSON.stringify(configs())).toBe(snapshot);
    const plan = dry.run.plan as {
      clients: Array<{
        code: string;
        items: Array<{ hostname: string; action: string; changes?: Record<string, unknown> }>;
      }>;
    };
    const items = plan.clients.find((c) => c.code === "CW1")!.items;
    expect(items.find((i) => i.hostname === "HOST-003")).toMatchObject({
      action: "update",
      changes: {
        ram: { from: "16 GB", to: "32 GB" },
        osType: { from: "Microsoft Windows 11 Pro", to: "Microsoft Windows 11 Enterprise" },
        "custom:RAM": { from: "16 GB", to: "32 GB" },
        "custom:Operating System": {
          from: "Microsoft Windows 11 Pro",
          to: "Microsoft Windows 11 Enterprise",
        },
      },
    });
    expect(Object.keys(items.find((i) => i.hostname === "HOST-003")!.changes!)).toHaveLength(4);
    expect(items.find((i) => i.hostname === "HOST-001")).toMatchObject({
      action: "update",
      changes: { warrantyExpirationDate: { from: "2028-06-30T00:00:00Z", to: "2029-01-31T00:00:00Z" } },
    });
    expect(Object.keys(items.find((i) => i.hostname === "HOST-001")!.changes!)).toHaveLength(1);
    expect(items.find((i) => i.hostname === "HOST-002")?.action).toBe("unchanged");

    const real = await measured();
    expect(real.run.counts).toMatchObject({ created: 0, updated: 2, deactivated: 0, failed: 0 });
    expect(real.ops).toEqual(sum(VALIDATION, pages(2), { "update company/configurations": 2 }));
    expect(real.run.apiCalls).toBe(real.requests);
    const patches = real.sent.filter((r) => r.method === "PATCH");
    const third = named(ACME, "HOST-003")!;
    const one = named(ACME, "HOST-001")!;
    expect(patches.map((r) => r.path).sort()).toEqual(
      [`${CONFIGS}/${one.id}`, `${CONFIGS}/${third.id}`].sort(),
    );
    expect(patchOps(patches.find((r) => r.path === `${CONFIGS}/${one.id}`))).toEqual([
      { op: "replace", path: "warrantyExpirationDate", value: "2029-01-31T00:00:00Z" },
    ]);
    const ops = patchOps(patches.find((r) => r.path === `${CONFIGS}/${third.id}`));
    expect(ops.map((o) => [o.op, o.path])).toEqual([
      ["replace", "osType"],
      ["replace", "ram"],
      ["replace", "customFields"],
    ]);
    // Custom fields go as the whole array (ConnectWise replaces it), the others' values kept.
    const sentCustom = Object.fromEntries(
      (ops[2]!.value as Array<{ caption: string; value: unknown }>).map((f) => [f.caption, f.value]),
    );
    expect(sentCustom).toMatchObject({
      RAM: "32 GB",
      "Operating System": "Microsoft Windows 11 Enterprise",
      Make: "Dell Inc.",
      [PORTAL_DEVICE_ID_FIELD]: String(deviceIds[2]),
    });
    expect(third).toMatchObject({
      ram: "32 GB",
      osType: "Microsoft Windows 11 Enterprise",
      serialNumber: "SN-3",
    });
    expect(custom(third)).toMatchObject({
      RAM: "32 GB",
      "Operating System": "Microsoft Windows 11 Enterprise",
      Make: "Dell Inc.",
    });
    expect(one.warrantyExpirationDate).toBe("2029-01-31T00:00:00Z");
  });

  it("managed → unmanaged costs one PATCH: the inactive status chosen in the settings and activeFlag off", async () => {
    await portal().updateDevice(SYSTEM_ACTOR, deviceIds[1]!, { state: "unmanaged" });
    const { run, ops, sent } = await measured();
    expect(run.counts).toMatchObject({ deactivated: 1, created: 0, updated: 0, failed: 0 });
    expect(ops).toEqual(sum(VALIDATION, pages(2), { "update company/configurations": 1 }));
    const c = named(ACME, "HOST-002")!;
    expect(c).toMatchObject({ activeFlag: false, status: { id: INACTIVE } });
    const patch = patchOps(sent.find((r) => r.method === "PATCH"));
    expect(patch).toEqual([
      { op: "replace", path: "status", value: { id: INACTIVE } },
      { op: "replace", path: "activeFlag", value: false },
    ]);
    // …and back to managed: the active status again, one PATCH.
    await portal().updateDevice(SYSTEM_ACTOR, deviceIds[1]!, { state: "managed" });
    const back = await measured();
    expect(back.run.counts).toMatchObject({ updated: 1, failed: 0 });
    expect(writesOf(back.ops)).toEqual({ "update company/configurations": 1 });
    expect(named(ACME, "HOST-002")).toMatchObject({ activeFlag: true, status: { id: ACTIVE } });
  });

  it("overwrites a ConnectWise-side edit of a synced field and says so in the log", async () => {
    const c = named(ACME, "HOST-003")!;
    await cw.asTech("PATCH", `${CONFIGS}/${c.id}`, [
      { op: "replace", path: "serialNumber", value: "EDITED-IN-CW" },
    ]);
    const { run, ops } = await measured();
    expect(run.counts).toMatchObject({ updated: 1, failed: 0 });
    expect(writesOf(ops)).toEqual({ "update company/configurations": 1 });
    const line = run.log.find((l) => l.includes("ConnectWise-side edit overwritten"));
    expect(line).toContain(`CI ${c.id} (HOST-003)`);
    expect(line).toContain("serialNumber");
    expect(named(ACME, "HOST-003")?.serialNumber).toBe("SN-3");
  });

  it("links an existing configuration by its Partner Portal Device Id custom field or its serial number instead of duplicating it", async () => {
    const byId = (
      await portal().createDevice(SYSTEM_ACTOR, clientB, device(30, "managed", { serialNumber: "" }))
    ).id;
    const bySerial = (
      await portal().createDevice(SYSTEM_ACTOR, clientB, device(31, "managed", { serialNumber: "SN-PRE" }))
    ).id;
    const fieldId = tenant().customFields.find((f) => f.caption === PORTAL_DEVICE_ID_FIELD)!.id;
    const carrying = await cw.asTech<Config>("POST", CONFIGS, {
      name: "renamed-in-cw",
      type: { id: CW_IDS.configurationTypes.device },
      company: { id: BIRCH },
      customFields: [{ id: fieldId, value: String(byId) }],
    });
    const serial = await cw.asTech<Config>("POST", CONFIGS, {
      name: "old-name",
      type: { id: CW_IDS.configurationTypes.device },
      company: { id: BIRCH },
      serialNumber: "SN-PRE",
    });
    const count = configs(BIRCH).length;
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
    const { run, ops } = await measured();
    expect(run.counts).toMatchObject({ created: 0, updated: 2, failed: 0 });
    expect(writesOf(ops)).toEqual({ "update company/configurations": 2 });
    expect(configs(BIRCH)).toHaveLength(count);
    expect(tenant().get("configurations", carrying.id)).toMatchObject({
      name: "HOST-030",
      activeFlag: true,
      status: { id: ACTIVE },
    });
    const s = tenant().get("configurations", serial.id) as Config;
    expect(s).toMatchObject({ name: "HOST-031", serialNumber: "SN-PRE" });
    expect(custom(s)[PORTAL_DEVICE_ID_FIELD]).toBe(String(bySerial));
    expect(await linkOf(byId)).toBe(carrying.id);
    expect(await linkOf(bySerial)).toBe(serial.id);
  });

  it("sets the configuration of a device gone from the portal inactive, never deletes it, and leaves it alone after", async () => {
    const id = (await portal().createDevice(SYSTEM_ACTOR, clientA, device(70, "managed"))).id;
    expect((await runManual()).counts).toMatchObject({ created: 1, failed: 0 });
    const configId = (await linkOf(id))!;
    expect(tenant().get("configurations", configId)).toMatchObject({
      activeFlag: true,
      status: { id: ACTIVE },
    });
    // The portal has no device delete: the device's row goes as a discovery feed's removal would.
    await services().db.kysely.deleteFrom("devices").where("id", "=", id).execute();
    const { run, ops } = await measured();
    expect(run.status).toBe("succeeded");
    expect(run.counts).toMatchObject({ created: 0, updated: 0, deactivated: 1, failed: 0 });
    expect(run.log).toContain("Deactivating configuration items of devices no longer in the portal");
    // The orphan is read by id, then one PATCH.
    expect(ops).toEqual(
      sum(VALIDATION, pages(2), { "get company/configurations": 1, "update company/configurations": 1 }),
    );
    expect(tenant().get("configurations", configId)).toMatchObject({
      activeFlag: false,
      status: { id: INACTIVE },
      name: "HOST-070",
    });
    const again = await measured();
    expect(again.run.counts).toMatchObject({ deactivated: 0, failed: 0 });
    expect(writesOf(again.ops)).toEqual({});
    expect(tenant().get("configurations", configId)).toBeDefined();
  });

  it("the mass-change guard holds a run that would deactivate many configurations until it is approved", async () => {
    const managed = (await portal().devicesForSync(clientB)).filter((d) => d.state === "managed").slice(0, 4);
    for (const d of managed) await portal().updateDevice(SYSTEM_ACTOR, d.id, { state: "unmanaged" });
    const before = await cw.stats();
    const run = await runManual();
    expect(run.status).toBe("awaiting-approval");
    expect(
      run.log.some((l) =>
        l.startsWith("Mass-change guard: client:CW2 (Birch Logistics) would deactivate 4 of"),
      ),
    ).toBe(true);
    expect(writesOf(opsDelta(before, await cw.stats()))).toEqual({});
    // While held it is the partner's active run.
    expect((await services().sync.startAssetRun(partnerId, "manual", { dryRun: false })).id).toBe(run.id);
    const token = (
      await portal().createUser(SYSTEM_ACTOR, { name: "approver", role: "partner-admin", partnerId })
    ).token;
    const res = await app.inject({
      method: "POST",
      url: `/api/sync-runs/${run.id}/approve`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    const done = await services().sync.wait(run.id);
    expect(done.counts.deactivated).toBe(4);
    expect(done.approvedBy).toBe("approver");
    expect(done.log).toContain("Approved by approver; continuing.");
    expect(done.log.at(-1)).toBe("Integration completed.");
    expect(writesOf(opsDelta(before, await cw.stats()))).toEqual({ "update company/configurations": 4 });
    for (const d of managed)
      expect(tenant().get("configurations", (await linkOf(d.id))!)).toMatchObject({
        activeFlag: false,
        status: { id: INACTIVE },
      });
  });

  it("waits out 429s for their Retry-After and writes each device once", async () => {
    const made: number[] = [];
    for (let i = 0; i < 3; i++)
      made.push((await portal().createDevice(SYSTEM_ACTOR, clientA, device(100 + i, "managed"))).id);
    const client = cw.clients.at(-1)!;
    const c0 = client.stats();
    const before = await cw.stats();
    await cw.admin("PUT", "faults", { seed: 8, share429: 0.5, retryAfterSeconds: 1, onlyWrites: true });
    let run: SyncRunDetail;
    try {
      run = await runManual();
    } finally {
      await cw.admin("PUT", "faults", { share429: 0, onlyWrites: false });
    }
    const after = await cw.stats();
    expect(run.status, run.log.join("\n")).toBe("succeeded");
    expect(run.counts).toMatchObject({ created: 3, failed: 0 });
    const refused = after.rejected.fault429 - before.rejected.fault429;
    expect(refused).toBeGreaterThan(0);
    // Refused before being applied: every create was sent again, and applied once.
    expect(writesOf(opsDelta(before, after))).toEqual({ "create company/configurations": 3 + refused });
    const c1 = client.stats();
    expect(c1.rateLimited - c0.rateLimited).toBe(refused);
    expect(c1.throttledMs - c0.throttledMs).toBeGreaterThanOrEqual(1000 * refused);
    for (const id of made) {
      const mine = configs().filter((c) => custom(c)[PORTAL_DEVICE_ID_FIELD] === String(id));
      expect(mine).toHaveLength(1);
      expect(await linkOf(id)).toBe(mine[0]?.id);
    }
  });

  it("a create that times out after being applied is looked up, not sent again: one configuration", async () => {
    const id = (await portal().createDevice(SYSTEM_ACTOR, clientB, device(90, "managed"))).id;
    const client = cw.clients.at(-1)!;
    const c0 = client.stats();
    const before = await cw.stats();
    // Applied, then never answered: the connection is held past the client's timeout.
    await cw.admin("PUT", "faults", {
      shareTimeoutAfterApply: 1,
      onlyWrites: true,
      timeoutAfterMs: 10_000_000,
    });
    let run: SyncRunDetail;
    try {
      run = await runManual();
    } finally {
      await cw.admin("PUT", "faults", {
        shareTimeoutAfterApply: 0,
        onlyWrites: false,
        timeoutAfterMs: 10_000,
      });
    }
    const after = await cw.stats();
    expect(run.status, run.log.join("\n")).toBe("succeeded");
    expect(run.counts).toMatchObject({ created: 1, failed: 0 });
    expect(after.afterApply.timeout - before.afterApply.timeout).toBe(1);
    expect(writesOf(opsDelta(before, after))).toEqual({ "create company/configurations": 1 });
    const c1 = client.stats();
    expect(c1.timeouts - c0.timeouts).toBe(1);
    expect(c1.recoveredByLookup - c0.recoveredByLookup).toBe(1);
    const mine = configs().filter((c) => custom(c)[PORTAL_DEVICE_ID_FIELD] === String(id));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ name: "HOST-090", company: { id: BIRCH }, activeFlag: true });
    expect(await linkOf(id)).toBe(mine[0]?.id);
  });

  it("simple mode writes the standard fields only, and matches an existing configuration by its serial number", async () => {
    await portal().putIntegration(SYSTEM_ACTOR, partnerId, cwIntegration(cw.f, { advanced: false }));
    const id = (await portal().createDevice(SYSTEM_ACTOR, clientA, device(60, "managed"))).id;
    const existing = await cw.asTech<Config>("POST", CONFIGS, {
      name: "pre-existing",
      type: { id: CW_IDS.configurationTypes.device },
      company: { id: ACME },
      serialNumber: "SN-61",
    });
    const matched = (await portal().createDevice(SYSTEM_ACTOR, clientA, device(61, "managed"))).id;
    const { run, ops, sent } = await measured();
    expect(run.status, run.log.join("\n")).toBe("succeeded");
    expect(run.counts).toMatchObject({ created: 1, updated: 1, failed: 0 });
    expect(writesOf(ops)).toEqual({ "create company/configurations": 1, "update company/configurations": 1 });
    const made = named(ACME, "HOST-060")!;
    expect(made).toMatchObject({
      serialNumber: "SN-60",
      activeFlag: true,
      status: { id: ACTIVE },
      warrantyExpirationDate: "2028-06-30T00:00:00Z",
    });
    expect(Object.values(custom(made)).every((v) => v === null)).toBe(true);
    const create = sent.find((r) => r.method === "POST" && r.path === CONFIGS);
    expect(create?.body).not.toHaveProperty("customFields");
    expect(await linkOf(id)).toBe(made.id);
    expect(tenant().get("configurations", existing.id)).toMatchObject({
      name: "HOST-061",
      serialNumber: "SN-61",
      ipAddress: "10.0.0.61",
      activeFlag: true,
      status: { id: ACTIVE },
      warrantyExpirationDate: "2028-06-30T00:00:00Z",
    });
    expect(patchOps(sent.find((r) => r.method === "PATCH")).map((o) => o.path)).not.toContain("customFields");
    expect(await linkOf(matched)).toBe(existing.id);
  });
});
