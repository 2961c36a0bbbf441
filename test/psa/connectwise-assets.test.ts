/**
 * The ConnectWise AssetPort against the emulator over HTTPS: portal devices as company
 * configurations (standard fields, the custom fields of advanced mode, active and inactive status),
 * a diff of only what changed, JSON-Patch updates that keep the other custom fields, and creates
 * that are not duplicated when their answer is lost.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/connectwise/index.js";
import type { AssetSource, PsaSession } from "../../src/psa/connector.js";
import { type CwFixture, dropCustomField, openSession, startCwFixture } from "./connectwise-helpers.js";

let f: CwFixture;

beforeAll(async () => {
  f = await startCwFixture();
});
afterAll(async () => {
  await f?.close();
});
beforeEach(async () => {
  await f.admin("POST", "reset");
});

const tenant = () => {
  const t = f.emu.store.tenant(f.emu.credentials.companyId);
  if (!t) throw new Error("no tenant");
  return t;
};

const device = (over: Partial<AssetSource> = {}): AssetSource => ({
  id: 41,
  hostname: "ACME-PC-41",
  deviceType: "Workstation",
  ipAddress: "10.0.0.41",
  gateway: "10.0.0.1",
  make: "Dell",
  model: "OptiPlex 7090",
  operatingSystem: "Windows 11 Pro",
  ram: "16 GB",
  biosName: "Dell BIOS",
  biosVersion: "1.2.3",
  driveInfo: "C: 512 GB SSD",
  lastLoggedUser: "ACME\\jdoe",
  serialNumber: "SN-0041",
  warrantyEndDate: "2027-05-31",
  state: "managed",
  ...over,
});

const acme = DEMO_IDS.companies.acme;
const custom = (id: number) =>
  Object.fromEntries(
    (
      (tenant().get("configurations", id)?.["customFields"] ?? []) as Array<{
        caption: string;
        value: unknown;
      }>
    ).map((c) => [c.caption, c.value]),
  );

describe("ConnectWise assets", () => {
  let s: PsaSession;
  beforeEach(() => {
    s = openSession(f).session;
  });

  it("creates a managed device's configuration with its fields and custom fields, and finds nothing to change after", async () => {
    const d = device();
    const id = await s.assets.create(acme, s.assets.desired(d), d);
    const raw = tenant().get("configurations", id) as Record<string, unknown>;
    expect(raw).toMatchObject({
      name: "ACME-PC-41",
      serialNumber: "SN-0041",
      modelNumber: "OptiPlex 7090",
      ipAddress: "10.0.0.41",
      defaultGateway: "10.0.0.1",
      osType: "Windows 11 Pro",
      ram: "16 GB",
      lastLoginName: "ACME\\jdoe",
      activeFlag: true,
      warrantyExpirationDate: "2027-05-31T00:00:00Z",
      type: { id: DEMO_IDS.configurationTypes.device },
      status: { id: DEMO_IDS.configurationStatuses.active },
      company: { id: acme },
    });
    expect(custom(id)).toMatchObject({
      "Partner Portal Device Id": "41",
      Make: "Dell",
      "BIOS Version": "1.2.3",
      DNS: "ACME-PC-41",
    });
    const [a] = await s.assets.listByCompany(acme);
    expect(a).toMatchObject({
      id,
      companyId: acme,
      name: "ACME-PC-41",
      serialNumber: "SN-0041",
      active: true,
      portalDeviceId: 41,
    });
    expect(s.assets.diff(a!, s.assets.desired(d))).toEqual({});
    expect((await s.assets.get(id))?.portalDeviceId).toBe(41);
    expect(await s.assets.get(9_999)).toBeNull();
  });

  it("learns the custom fields from the first configuration: later creates are one request", async () => {
    const d1 = device();
    await s.assets.create(acme, s.assets.desired(d1), d1);
    f.emu.stats.reset();
    const d2 = device({ id: 42, hostname: "ACME-PC-42", serialNumber: "SN-0042" });
    const id2 = await s.assets.create(acme, s.assets.desired(d2), d2);
    expect(f.emu.stats.snapshot().byOperation).toEqual({ "create company/configurations": 1 });
    expect(custom(id2)["Partner Portal Device Id"]).toBe("42");
  });

  it("diffs only what changed and writes it in one PATCH, keeping the other custom fields", async () => {
    const d = device();
    const id = await s.assets.create(acme, s.assets.desired(d), d);
    const changed = device({ ram: "32 GB", ipAddress: "10.0.0.99", biosVersion: "1.2.4" });
    const [a] = await s.assets.listByCompany(acme);
    const diff = s.assets.diff(a!, s.assets.desired(changed));
    expect(diff).toEqual({
      ipAddress: { from: "10.0.0.41", to: "10.0.0.99" },
      ram: { from: "16 GB", to: "32 GB" },
      "custom:BIOS Version": { from: "1.2.3", to: "1.2.4" },
      "custom:IP Address": { from: "10.0.0.41", to: "10.0.0.99" },
      "custom:RAM": { from: "16 GB", to: "32 GB" },
    });
    f.emu.stats.reset();
    await s.assets.update(id, diff);
    expect(f.emu.stats.snapshot().byOperation).toEqual({ "update company/configurations": 1 });
    expect(custom(id)).toMatchObject({
      RAM: "32 GB",
      "BIOS Version": "1.2.4",
      Make: "Dell",
      "Partner Portal Device Id": "41",
    });
    const [after] = await s.assets.listByCompany(acme);
    expect(s.assets.diff(after!, s.assets.desired(changed))).toEqual({});
  });

  it("deactivates a device that is no longer managed, with the inactive status chosen in settings", async () => {
    const d = device();
    const id = await s.assets.create(acme, s.assets.desired(d), d);
    const [a] = await s.assets.listByCompany(acme);
    const diff = s.assets.diff(a!, s.assets.desired(device({ state: "unmanaged" })));
    expect(diff).toEqual({
      activeFlag: { from: true, to: false },
      status: { from: DEMO_IDS.configurationStatuses.active, to: DEMO_IDS.configurationStatuses.inactive },
    });
    expect(s.assets.deactivates(a!, diff)).toBe(true);
    expect(s.assets.deactivation(a!)).toEqual(diff);
    await s.assets.update(id, s.assets.deactivation(a!));
    const gone = await s.assets.get(id);
    expect(gone).toMatchObject({ active: false });
    expect(tenant().get("configurations", id)?.["status"]).toMatchObject({
      id: DEMO_IDS.configurationStatuses.inactive,
    });
    expect(
      s.assets.deactivates(gone!, s.assets.diff(gone!, s.assets.desired(device({ state: "discovered" })))),
    ).toBe(false);
  });

  it("tells a value the portal wants unchanged from one it changed", () => {
    const a = s.assets.desired(device());
    const b = s.assets.desired(device({ ram: "32 GB" }));
    expect(s.assets.sameWanted("serialNumber", a, b)).toBe(true);
    expect(s.assets.sameWanted("ram", a, b)).toBe(false);
    expect(s.assets.sameWanted("custom:RAM", a, b)).toBe(false);
    expect(s.assets.sameWanted("custom:Make", a, b)).toBe(true);
  });

  it("writes standard fields only in simple mode", async () => {
    const simple = openSession(f, { advanced: false }).session;
    const d = device();
    const id = await simple.assets.create(acme, simple.assets.desired(d), d);
    expect(Object.values(custom(id)).every((v) => v === null)).toBe(true);
    const [a] = await simple.assets.listByCompany(acme);
    expect(a?.portalDeviceId).toBeNull();
    expect(simple.assets.diff(a!, simple.assets.desired(d))).toEqual({});
  });

  it("names a missing custom field before creating anything", async () => {
    const d = device();
    await s.assets.create(acme, s.assets.desired(d), d);
    const fresh = openSession(f).session;
    dropCustomField(f, "Make");
    const d2 = device({ id: 43, serialNumber: "SN-43" });
    await expect(fresh.assets.create(acme, fresh.assets.desired(d2), d2)).rejects.toThrow(
      /custom field "Make"/,
    );
    expect(tenant().rows("configurations")).toHaveLength(1);
  });

  for (const [mode, advanced, over] of [
    ["the Partner Portal Device Id custom field", true, {}],
    ["the serial number", false, {}],
    ["the name when there is no serial number", false, { serialNumber: "" }],
  ] as const) {
    it(`does not duplicate a configuration whose create was applied but not answered (found by ${mode})`, async () => {
      const sess = openSession(f, { advanced }).session;
      const seed = device({ id: 40, hostname: "SEED", serialNumber: "SN-SEED" });
      await sess.assets.create(acme, sess.assets.desired(seed), seed);
      f.emu.faults.configure({ share500AfterApply: 1, onlyWrites: true });
      const d = device(over);
      const id = await sess.assets.create(acme, sess.assets.desired(d), d);
      f.emu.faults.configure({ share500AfterApply: 0 });
      const mine = tenant()
        .rows("configurations")
        .filter((c) => c["name"] === "ACME-PC-41");
      expect(mine.map((c) => c.id)).toEqual([id]);
      expect(f.emu.stats.snapshot().afterApply.error500).toBe(1);
    });
  }
});
