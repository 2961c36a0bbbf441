import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Rec } from "../../src/emulators/connectwise/index.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { SyncRunDetail } from "../../src/sync/runs.js";
import { CW_IDS, type CwSyncFixture, cwIntegration, openCwSync } from "../helpers/connectwise.js";
import { device } from "../helpers/devices.js";
import { STORES } from "../helpers/services.js";

/**
 * The reconciliation analysis and its actions are PSA-neutral: the same findings and fixes against the
 * ConnectWise emulator over HTTPS (company configurations instead of Autotask CIs).
 */

const ACME = CW_IDS.companies.acme;
const BIRCH = CW_IDS.companies.birch;
const CONFIGS = "company/configurations";

type Config = Rec & {
  name: string;
  serialNumber?: string | null;
  activeFlag: boolean;
  company: { id: number };
};

describe.each(STORES)("reconciliation against the ConnectWise emulator on %s", (kind) => {
  let cw: CwSyncFixture;
  let partnerId = 0;
  let clientA = 0;
  const devices: Record<string, number> = {};

  const services = () => cw.env.services;
  const rec = () => services().sync.reconciliation;
  const view = () => rec().view(SYSTEM_ACTOR, partnerId, { refresh: true });
  const act = (input: Parameters<ReturnType<typeof rec>["act"]>[2]) =>
    rec().act(SYSTEM_ACTOR, partnerId, input);
  const configs = (companyId: number) => {
    const t = cw.f.emu.store.tenant(cw.f.emu.credentials.companyId);
    if (!t) throw new Error("no tenant");
    return (t.rows("configurations") as Config[]).filter((c) => c.company.id === companyId);
  };
  const newConfig = (companyId: number, name: string, serialNumber: string) =>
    cw.asTech<Config>("POST", CONFIGS, {
      name,
      type: { id: CW_IDS.configurationTypes.device },
      company: { id: companyId },
      serialNumber,
    });
  const linkOf = async (deviceId: number) =>
    (await services().sync.links.psaIds(partnerId, "device", [deviceId])).get(deviceId);
  const runSync = async (): Promise<SyncRunDetail> => {
    const run = await services().sync.startAssetRun(partnerId, "manual", { dryRun: false });
    return services().sync.wait(run.id);
  };

  beforeAll(async () => {
    cw = await openCwSync(kind);
    const portal = services().portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "CW Recon VAR" })).id;
    clientA = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "CW1",
        name: "Acme Dental Group",
        psaCompanyId: ACME,
      })
    ).id;
    const clientB = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "CW2",
        name: "Birch Logistics",
        psaCompanyId: BIRCH,
      })
    ).id;
    for (const i of [1, 2, 3])
      devices[`a${i}`] = (await portal.createDevice(SYSTEM_ACTOR, clientA, device(i, "managed"))).id;
    for (const i of [21, 22])
      devices[`b${i}`] = (await portal.createDevice(SYSTEM_ACTOR, clientB, device(i, "managed"))).id;
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, cwIntegration(cw.f));
    await services().sync.settingsSaved(partnerId);
    await services().sync.assetRuns.settled();
  });
  afterAll(async () => {
    await cw?.close();
  });

  it("finds nothing after a clean sync", async () => {
    expect(
      configs(ACME)
        .map((c) => c.name)
        .sort(),
    ).toEqual(["HOST-001", "HOST-002", "HOST-003"]);
    expect((await view()).items).toEqual([]);
  });

  it("an orphan configuration is linked to its device; the next sync updates it instead of creating one", async () => {
    const orphan = await newConfig(ACME, "front-desk-pc", "SN-HANDMADE");
    devices.aNew = (await services().portal.createDevice(SYSTEM_ACTOR, clientA, device(4, "managed"))).id;
    const item = (await view()).items.find((i) => i.kind === "orphan-ci");
    expect(item?.ci).toMatchObject({ id: orphan.id, name: "front-desk-pc", serialNumber: "SN-HANDMADE" });
    expect(item?.candidates?.map((d) => d.hostname)).toEqual(["HOST-004"]);
    await act({ action: "link", ciId: orphan.id, deviceId: devices.aNew });
    const run = await runSync();
    expect(run.counts).toMatchObject({ created: 0, failed: 0 });
    expect(configs(ACME)).toHaveLength(4);
    expect(configs(ACME).find((c) => c.id === orphan.id)).toMatchObject({
      name: "HOST-004",
      serialNumber: "SN-4",
    });
    expect((await view()).items).toEqual([]);
  });

  it("a configuration deactivated in ConnectWise shows as changed-in-psa; resync makes it active again", async () => {
    const id = (await linkOf(devices.a2 as number)) as number;
    await cw.asTech("PATCH", `${CONFIGS}/${id}`, [{ op: "replace", path: "activeFlag", value: false }]);
    const item = (await view()).items.find((i) => i.kind === "changed-in-psa");
    expect(item?.device?.hostname).toBe("HOST-002");
    expect(item?.summary).toContain("deactivated");
    expect(item?.changes).toContainEqual({ field: "activeFlag", written: true, now: false });
    const r = await act({ action: "resync", deviceId: devices.a2 });
    expect(r.message).toContain("HOST-002");
    expect(configs(ACME).find((c) => c.id === id)?.activeFlag).toBe(true);
    expect((await view()).items).toEqual([]);
  });

  it("a duplicate serial on two configurations is resolved by deactivating the extra one", async () => {
    const extra = await newConfig(BIRCH, "HOST-021-old", "SN-21");
    const dup = (await view()).items.find((i) => i.kind === "duplicate-serial");
    expect(dup?.cis?.map((c) => c.name)).toEqual(["HOST-021", "HOST-021-old"]);
    await act({ action: "deactivate", ciId: extra.id });
    expect(configs(BIRCH).find((c) => c.id === extra.id)?.activeFlag).toBe(false);
    expect((await view()).items).toEqual([]);
  });
});
