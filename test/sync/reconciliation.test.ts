import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { runReconciliation } from "../../src/cli/reconciliation.js";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { ReconciliationView } from "../../src/sync/reconciliation/service.js";
import type { SyncRunDetail } from "../../src/sync/runs.js";
import {
  demoTicketing,
  fastClient,
  startTestEmulator,
  type TestEmulator,
  tenant,
} from "../helpers/autotask.js";
import { device } from "../helpers/devices.js";
import { openTestServices, STORES, type TestEnv, testApp } from "../helpers/services.js";

type Method = "GET" | "POST";

interface Ci {
  id: number;
  companyID: number;
  referenceTitle: string;
  serialNumber: string | null;
  isActive: boolean;
  userDefinedFields: Array<{ name: string; value: string | null }>;
}

const C = DEMO_IDS.companies;

describe.each(STORES)("reconciliation view against the Autotask emulator on %s", (kind) => {
  let env: TestEnv;
  let at: TestEmulator;
  let app: App;
  let partnerId = 0;
  let otherPartnerId = 0;
  let clientA = 0;
  let clientB = 0;
  const t = { admin: "", tech: "", otherAdmin: "", noc: "" };
  const devices: Record<string, number> = {};

  async function call(token: string, method: Method, url: string, body?: unknown) {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read loosely-typed JSON answers
    return { status: res.statusCode, body: (res.body ? res.json() : undefined) as any };
  }
  const base = () => `/api/partners/${partnerId}/reconciliation`;
  const view = async (): Promise<ReconciliationView> => {
    const r = await call(t.admin, "GET", `${base()}?refresh=true`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as ReconciliationView;
  };
  const act = (body: object, token = t.admin) => call(token, "POST", `${base()}/actions`, body);
  const cisOf = async (companyId: number) =>
    (
      await at.api<{ items: Ci[] }>("POST", "ConfigurationItems/query", {
        filter: [{ op: "eq", field: "companyID", value: companyId }],
      })
    ).items;
  const newCi = async (companyID: number, referenceTitle: string, serialNumber: string) =>
    (
      await at.admin<{ ids: number[] }>("POST", tenant("/rows/ConfigurationItems"), {
        companyID,
        productID: DEMO_IDS.product,
        configurationItemType: DEMO_IDS.ciType,
        referenceTitle,
        serialNumber,
        isActive: true,
      })
    ).ids[0] as number;
  /** Edits a CI as a technician in Autotask (not the integration's own user). */
  const editInPsa = async (body: Record<string, unknown>) => {
    const tech = await at.admin<{ username: string; secret: string; integrationCode: string }>(
      "POST",
      tenant("/actAs"),
      { resourceId: DEMO_IDS.technicians[0] },
    );
    await at.api("PATCH", "ConfigurationItems", body, tech);
  };
  const runSync = async (): Promise<SyncRunDetail> => {
    const run = await env.services.sync.startAssetRun(partnerId, "manual", { dryRun: false });
    return env.services.sync.wait(run.id);
  };
  const linkOf = async (deviceId: number) =>
    (await env.services.sync.links.psaIds(partnerId, "device", [deviceId])).get(deviceId);
  /** The company name a client keeps (as Setup's company picker stores it with the mapping). */
  const nameClient = (clientId: number, name: string) =>
    env.services.db.kysely
      .updateTable("clients")
      .set({ psa_company_name: name })
      .where("id", "=", clientId)
      .execute();
  const audit = async () =>
    (
      await env.services.db.kysely
        .selectFrom("audit_log")
        .select(["action", "target", "actor_name", "detail"])
        .where("partner_id", "=", partnerId)
        .where("action", "like", "reconciliation.%")
        .orderBy("id")
        .execute()
    ).map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, {
      autotask: (c, urls) => fastClient(c, urls),
      psaOrigins: [at.emu.url],
    });
    app = await testApp(env);
    const portal = env.services.portal;
    t.noc = (await portal.createUser(SYSTEM_ACTOR, { name: "Nora Noc", role: "noc-admin" })).token;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Recon VAR" })).id;
    otherPartnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Other VAR" })).id;
    const user = async (name: string, role: "partner-admin" | "technician", p: number) =>
      (await portal.createUser(SYSTEM_ACTOR, { name, role, partnerId: p })).token;
    t.admin = await user("Pat Admin", "partner-admin", partnerId);
    t.tech = await user("Tess Tech", "technician", partnerId);
    t.otherAdmin = await user("Olga Other", "partner-admin", otherPartnerId);
    clientA = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT1",
        name: "Acme Dental Group",
        psaCompanyId: C.AT1,
      })
    ).id;
    clientB = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT2",
        name: "Birch Logistics",
        psaCompanyId: C.AT2,
      })
    ).id;
    await nameClient(clientA, "Acme Dental Group");
    await nameClient(clientB, "Birch Logistics");
    for (const i of [1, 2, 3])
      devices[`a${i}`] = (await portal.createDevice(SYSTEM_ACTOR, clientA, device(i, "managed"))).id;
    for (const i of [21, 22])
      devices[`b${i}`] = (await portal.createDevice(SYSTEM_ACTOR, clientB, device(i, "managed"))).id;
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
    await env.services.sync.assetRuns.settled();
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
    await at?.close();
  });

  it("finds nothing after a clean sync, with names of companies read", async () => {
    expect((await cisOf(C.AT1)).length).toBe(3);
    const v = await view();
    expect(v.items).toEqual([]);
    expect(v.counts).toEqual({
      "orphan-ci": 0,
      "wrong-company": 0,
      "duplicate-serial": 0,
      "changed-in-psa": 0,
    });
    expect(v.companies).toEqual({ read: 2, skipped: [] });
    expect(v.apiCalls).toBeGreaterThan(0);
  });

  it("keeps other partners and technicians out", async () => {
    expect((await call(t.otherAdmin, "GET", base())).status).toBe(404);
    expect((await act({ action: "ignore", key: "orphan-ci:ci:1" }, t.otherAdmin)).status).toBe(404);
    expect((await call(t.tech, "GET", base())).status).toBe(403);
    expect((await act({ action: "ignore", key: "orphan-ci:ci:1" }, t.tech)).status).toBe(403);
    expect((await call(t.noc, "GET", `${base()}?refresh=true`)).status).toBe(200);
    // The other partner has no PSA connection: a clear 409, not an empty list.
    const other = await call(t.otherAdmin, "GET", `/api/partners/${otherPartnerId}/reconciliation`);
    expect(other.status).toBe(409);
    expect(other.body.message).toContain("not complete");
  });

  it("an orphan CI is found, linked to a device through the action, and the next sync updates it (no duplicate)", async () => {
    const orphanId = await newCi(C.AT1, "front-desk-pc", "SN-HANDMADE");
    devices.aNew = (await env.services.portal.createDevice(SYSTEM_ACTOR, clientA, device(4, "managed"))).id;
    const v = await view();
    const item = v.items.find((i) => i.kind === "orphan-ci");
    expect(item).toMatchObject({
      key: `orphan-ci:ci:${orphanId}`,
      ci: {
        id: orphanId,
        name: "front-desk-pc",
        serialNumber: "SN-HANDMADE",
        companyName: "Acme Dental Group",
      },
      actions: ["link", "deactivate", "ignore"],
    });
    expect(item?.summary).toContain("front-desk-pc");
    expect(item?.summary).toContain("Acme Dental Group");
    expect(item?.candidates?.map((d) => d.hostname)).toEqual(["HOST-004"]);
    expect(v.counts["orphan-ci"]).toBe(1);

    // Bad input and stale items: a clear 4xx naming the field, nothing written.
    const missing = await act({ action: "link", ciId: orphanId });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain("deviceId");
    expect((await act({ action: "link", ciId: 999_999, deviceId: devices.aNew })).status).toBe(404);
    const taken = await act({ action: "link", ciId: orphanId, deviceId: devices.a1 });
    expect(taken.status).toBe(409);
    expect(taken.body.message).toContain("deviceId");
    const otherCompany = await act({ action: "link", ciId: orphanId, deviceId: devices.b21 });
    expect(otherCompany.status).toBe(409);
    expect(otherCompany.body.message).toContain("ciId");
    expect(await linkOf(devices.aNew as number)).toBeUndefined();

    const linked = await act({ action: "link", ciId: orphanId, deviceId: devices.aNew });
    expect(linked.status, JSON.stringify(linked.body)).toBe(200);
    expect(linked.body.message).toContain("front-desk-pc");
    expect(linked.body.message).toContain("HOST-004");
    expect(await linkOf(devices.aNew as number)).toBe(orphanId);
    expect((await act({ action: "link", ciId: orphanId, deviceId: devices.aNew })).status).toBe(409);
    expect((await view()).items.filter((i) => i.kind === "orphan-ci")).toEqual([]);

    const run = await runSync();
    expect(run.counts).toMatchObject({ created: 0, failed: 0 });
    const cis = await cisOf(C.AT1);
    expect(cis).toHaveLength(4);
    const ci = cis.find((c) => c.id === orphanId) as Ci;
    expect(ci.referenceTitle).toBe("HOST-004");
    expect(ci.serialNumber).toBe("SN-4");
    expect(ci.userDefinedFields.find((u) => u.name === "Partner Portal Device Id")?.value).toBe(
      String(devices.aNew),
    );
    expect((await view()).items).toEqual([]);
  });

  it("a duplicate serial on two CIs is found and resolved by deactivating the extra CI", async () => {
    const linkedCi = (await linkOf(devices.b21 as number)) as number;
    const extra = await newCi(C.AT2, "HOST-021-old", "SN-21");
    const v = await view();
    const dup = v.items.find((i) => i.kind === "duplicate-serial");
    expect(dup?.serialNumber).toBe("SN-21");
    expect(dup?.cis?.map((c) => [c.id, c.name, c.companyName, c.linkedDeviceId, c.linkedHostname])).toEqual([
      [linkedCi, "HOST-021", "Birch Logistics", devices.b21, "HOST-021"],
      [extra, "HOST-021-old", "Birch Logistics", null, null],
    ]);
    expect(v.items.some((i) => i.kind === "orphan-ci" && i.ci?.id === extra)).toBe(true);
    // The CI a device owns is not deactivated: the sync would set it back.
    const owned = await act({ action: "deactivate", ciId: linkedCi });
    expect(owned.status).toBe(409);
    expect(owned.body.message).toContain("HOST-021");
    const done = await act({ action: "deactivate", ciId: extra });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect((await cisOf(C.AT2)).find((c) => c.id === extra)?.isActive).toBe(false);
    expect((await act({ action: "deactivate", ciId: extra })).status).toBe(409); // stale
    expect((await view()).items).toEqual([]);
  });

  it("a duplicate serial on two devices is found; ignore hides it (counted), un-ignore shows it", async () => {
    devices.bDup = (
      await env.services.portal.createDevice(
        SYSTEM_ACTOR,
        clientB,
        device(23, "unmanaged", { serialNumber: "SN-22" }),
      )
    ).id;
    const v = await view();
    const dup = v.items.find((i) => i.kind === "duplicate-serial");
    expect(dup?.devices?.map((d) => [d.hostname, d.clientName])).toEqual([
      ["HOST-022", "Birch Logistics"],
      ["HOST-023", "Birch Logistics"],
    ]);
    const key = dup?.key as string;
    expect((await act({ action: "ignore", key: "duplicate-serial:devices:nope" })).status).toBe(409);
    expect((await act({ action: "ignore", key })).status).toBe(200);
    expect((await act({ action: "ignore", key })).status).toBe(409);
    const hidden = await view();
    expect(hidden.items).toEqual([]);
    expect(hidden.ignoredCount).toBe(1);
    expect(hidden.ignored[0]).toMatchObject({ key, ignoredBy: "Pat Admin", actions: ["unignore"] });
    expect((await act({ action: "unignore", key })).status).toBe(200);
    expect((await act({ action: "unignore", key })).status).toBe(404);
    expect((await view()).items.map((i) => i.key)).toEqual([key]);
    // Fixed at the source (the RMM reports the right serial): the finding is gone.
    await env.services.portal.updateDevice(SYSTEM_ACTOR, devices.bDup as number, { serialNumber: "SN-23" });
    expect((await view()).items).toEqual([]);
  });

  it("a CI deactivated in the PSA shows as changed-in-psa; ignore hides it; resync writes the portal's values back", async () => {
    const ciId = (await linkOf(devices.a2 as number)) as number;
    await editInPsa({ id: ciId, isActive: false });
    const v = await view();
    const item = v.items.find((i) => i.kind === "changed-in-psa");
    expect(item).toMatchObject({
      device: { hostname: "HOST-002", clientName: "Acme Dental Group" },
      ci: { id: ciId, name: "HOST-002", active: false, companyName: "Acme Dental Group" },
      actions: ["resync", "ignore"],
    });
    expect(item?.summary).toContain("deactivated");
    expect(item?.changes).toEqual([{ field: "isActive", written: true, now: false }]);
    expect((await act({ action: "ignore", key: item?.key })).status).toBe(200);
    expect((await view()).items).toEqual([]);
    // Another edit is a new finding.
    await editInPsa({ id: ciId, referenceTitle: "renamed-in-autotask" });
    const again = (await view()).items.find((i) => i.kind === "changed-in-psa");
    expect(again?.changes?.map((c) => c.field).sort()).toEqual(["isActive", "referenceTitle"]);
    const r = await act({ action: "resync", deviceId: devices.a2 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.message).toContain("HOST-002");
    const ci = (await cisOf(C.AT1)).find((c) => c.id === ciId) as Ci;
    expect([ci.isActive, ci.referenceTitle]).toEqual([true, "HOST-002"]);
    expect((await view()).items).toEqual([]);
  });

  it("a client re-mapped to another company: its devices show as wrong-company; move re-homes one", async () => {
    const oldCi = (await linkOf(devices.b21 as number)) as number;
    await env.services.portal.updateClient(SYSTEM_ACTOR, clientB, { psaCompanyId: C.AT3 });
    await nameClient(clientB, "Cobalt Legal LLP");
    // The old company is no longer one of the partner's: its name comes from the PSA where the
    // connector reads companies, else the item says "company <id>".
    const { session } = await env.services.sync.sessions.forPartner(partnerId);
    const oldName = session?.companies ? "Birch Logistics" : `company ${C.AT2}`;
    const v = await view();
    const wrong = v.items.filter((i) => i.kind === "wrong-company");
    expect(wrong.map((i) => i.device?.hostname)).toEqual(["HOST-021", "HOST-022"]);
    expect(wrong[0]).toMatchObject({
      ci: { id: oldCi, companyId: C.AT2, companyName: oldName },
      expectedCompany: { id: C.AT3, name: "Cobalt Legal LLP" },
      actions: ["move", "ignore"],
    });
    expect(wrong[0]?.summary).toContain(`HOST-021 (Birch Logistics) is linked to CI HOST-021 in ${oldName}`);
    const resync = await act({ action: "resync", deviceId: devices.b21 });
    expect(resync.status).toBe(409);
    expect(resync.body.message).toContain("move it instead");
    // While an asset sync runs, actions that write wait for it to finish.
    const held = await env.services.sync.runs.create(partnerId, "assets", "manual", false);
    const busy = await act({ action: "move", deviceId: devices.b21 });
    expect([busy.status, busy.body.message]).toEqual([
      409,
      "an asset sync is running for this partner; try again when it has finished",
    ]);
    await env.services.sync.runs.update(held.id, { status: "failed", error: "test", finished: true });
    const before = (await cisOf(C.AT3)).length;
    const r = await act({ action: "move", deviceId: devices.b21 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const moved = (await cisOf(C.AT3)).filter((c) => c.referenceTitle === "HOST-021");
    expect(moved).toHaveLength(1);
    expect((await cisOf(C.AT3)).length).toBe(before + 1);
    expect(await linkOf(devices.b21 as number)).toBe(moved[0]?.id);
    expect((await cisOf(C.AT2)).find((c) => c.id === oldCi)?.isActive).toBe(false);
    expect((await act({ action: "move", deviceId: devices.b21 })).status).toBe(409); // stale
    const after = await view();
    expect(after.items.map((i) => [i.kind, i.device?.hostname])).toEqual([["wrong-company", "HOST-022"]]);
  });

  it("wrote an audit row for every action, with names", async () => {
    const rows = await audit();
    expect(rows.map((r) => r.action)).toEqual([
      "reconciliation.link",
      "reconciliation.deactivate",
      "reconciliation.ignore",
      "reconciliation.unignore",
      "reconciliation.ignore",
      "reconciliation.resync",
      "reconciliation.move",
    ]);
    expect(rows.every((r) => r.actor_name === "Pat Admin")).toBe(true);
    expect(rows[0]?.detail).toMatchObject({ ci: "front-desk-pc", device: "HOST-004" });
    // Through the API too (partner admins read their own audit log).
    const api = await call(t.admin, "GET", `/api/partners/${partnerId}/audit?action=reconciliation.move`);
    expect(api.body.items).toHaveLength(1);
  });

  it("the CLI lists the items as an aligned table with names, and acts on them by hostname", async () => {
    const out = await runReconciliation(env.services, "recon var", undefined, { refresh: true });
    const [head, header, rule, row, ...rest] = out.split("\n");
    expect(head).toMatch(
      /^1 item \(orphan-ci 0, wrong-company 1, duplicate-serial 0, changed-in-psa 0; 0 ignored;/,
    );
    expect(header).toMatch(/^KIND +DEVICE +CLIENT +CI +SERIAL +COMPANY +DETAIL +KEY$/);
    expect(rule).toMatch(/^-+ +-+/);
    expect(row).toContain("HOST-022");
    expect(row).toContain("Birch Logistics");
    expect(row).toContain("client's company: Cobalt Legal LLP");
    expect(row?.indexOf("wrong-company:device:")).toBe(header?.indexOf("KEY"));
    expect(rest).toEqual([]);
    expect(out).not.toContain("(index)");
    const moved = await runReconciliation(env.services, String(partnerId), "move", { device: "host-022" });
    expect(moved).toMatch(/^HOST-022 \(Birch Logistics\): created CI/);
    expect(await runReconciliation(env.services, "Recon VAR", undefined, {})).toMatch(/^0 items/);
    await expect(runReconciliation(env.services, "Recon VAR", "merge", {})).rejects.toThrow(/action/);
    await expect(runReconciliation(env.services, "Nobody", undefined, {})).rejects.toThrow(
      /partner not found/,
    );
  });
});
