import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../src/api/app.js";
import { DEMO_IDS } from "../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import type { IntegrationInput } from "../src/portal/types.js";
import { demoTicketing, fastClient, startTestEmulator, type TestEmulator } from "./helpers/autotask.js";
import { CW_IDS, type CwSyncFixture, cwIntegration, openCwSync } from "./helpers/connectwise.js";
import { device } from "./helpers/devices.js";
import { STORES, snapshot, testApp } from "./helpers/services.js";

/**
 * Companies matched by name (issue 15, point 2), over HTTP against both emulators: the picker's
 * search answers names, a client's company is checked in the PSA before it is saved (a missing id is
 * refused, nothing written; the name is stored with the id; a PSA that cannot answer is a 503),
 * auto-match proposes exact and normalised matches and leaves an ambiguous name alone, and Validate
 * lists the clients with devices or tickets and no company, and refreshes stored names.
 */
describe.each(STORES)("PSA companies on %s", (kind) => {
  let cw: CwSyncFixture;
  let at: TestEmulator;
  let app: App;
  const ids = { at: 0, cw: 0, other: 0, at1: 0, cw1: 0 };
  const tokens: Record<string, string> = {};
  const services = () => cw.env.services;
  const portal = () => services().portal;

  const call = (method: "GET" | "POST" | "PATCH", url: string, who: string, payload?: unknown) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${tokens[who]}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const client = async (id: number) => portal().getClient(SYSTEM_ACTOR, id);

  beforeAll(async () => {
    at = await startTestEmulator({ webhooks: false });
    cw = await openCwSync(kind, {
      services: { autotask: (c, urls) => fastClient(c, urls) },
      origins: [at.emu.url],
    });
    app = await testApp(cw.env);
    // Two more Autotask companies with one name in two legal forms: "Eagle Dental" is ambiguous.
    for (const name of ["Eagle Dental, Inc.", "Eagle Dental LLC"])
      await at.api("POST", "Companies", {
        companyName: name,
        companyType: 1,
        phone: "555-0100",
        ownerResourceID: DEMO_IDS.apiResource,
        isActive: true,
      });
    ids.at = (await portal().createPartner(SYSTEM_ACTOR, { name: "AT VAR" })).id;
    ids.cw = (await portal().createPartner(SYSTEM_ACTOR, { name: "CW VAR" })).id;
    ids.other = (await portal().createPartner(SYSTEM_ACTOR, { name: "Other VAR" })).id;
    for (const [key, partnerId, role] of [
      ["atAdmin", ids.at, "partner-admin"],
      ["atTech", ids.at, "technician"],
      ["atRead", ids.at, "read-only"],
      ["cwAdmin", ids.cw, "partner-admin"],
      ["otherAdmin", ids.other, "partner-admin"],
    ] as const)
      tokens[key] = (await portal().createUser(SYSTEM_ACTOR, { name: key, role, partnerId })).token;
    ids.at1 = (
      await portal().createClient(SYSTEM_ACTOR, ids.at, { code: "AT1", name: "Acme Dental Group" })
    ).id;
    ids.cw1 = (
      await portal().createClient(SYSTEM_ACTOR, ids.cw, { code: "CW1", name: "Acme Dental Group" })
    ).id;
    await portal().putIntegration(SYSTEM_ACTOR, ids.at, {
      ticketing: demoTicketing(at.emu.baseUrl, { enabled: true }),
      devices: {
        enabled: false,
        productId: DEMO_IDS.product,
        configurationItemTypeId: DEMO_IDS.ciType,
        advanced: false,
        schedule: null,
      },
    } as unknown as IntegrationInput);
    await portal().putIntegration(
      SYSTEM_ACTOR,
      ids.cw,
      cwIntegration(cw.f, { ticketing: false, devices: false }),
    );
    await services().sync.settingsSaved(ids.at);
    await services().sync.settingsSaved(ids.cw);
  });
  afterAll(async () => {
    await app?.close();
    await cw?.close();
    await at?.close();
  });

  it("searches the partner's live companies by part of the name, answering names and ids", async () => {
    const res = await call("GET", `/api/partners/${ids.at}/psa-companies?query=dental`, "atAdmin");
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.psaLabel).toBe("Autotask");
    expect(body.items.map((c: { name: string }) => c.name)).toEqual([
      "Acme Dental Group",
      "Eagle Dental LLC",
      "Eagle Dental, Inc.",
    ]);
    expect(body.items[0]).toEqual({
      id: DEMO_IDS.companies.AT1,
      name: "Acme Dental Group",
      identifier: null,
      active: true,
    });

    const cwRes = await call("GET", `/api/partners/${ids.cw}/psa-companies?query=BIRCH&limit=5`, "cwAdmin");
    expect(cwRes.statusCode, cwRes.body).toBe(200);
    expect(cwRes.json()).toEqual({
      psaLabel: "ConnectWise",
      items: [
        { id: CW_IDS.companies.birch, name: "Birch Logistics", identifier: "BirchLogistics", active: true },
      ],
    });

    const byIds = await call(
      "GET",
      `/api/partners/${ids.at}/psa-companies?ids=${DEMO_IDS.companies.AT2},999999`,
      "atAdmin",
    );
    expect(byIds.json().items).toEqual([
      { id: DEMO_IDS.companies.AT2, name: "Birch Logistics", identifier: null, active: true },
    ]);
  });

  it("lets only who may change the integration search, and only their own partner", async () => {
    expect((await call("GET", `/api/partners/${ids.at}/psa-companies`, "atTech")).statusCode).toBe(403);
    expect((await call("GET", `/api/partners/${ids.at}/psa-companies`, "otherAdmin")).statusCode).toBe(404);
    expect((await call("POST", `/api/partners/${ids.at}/clients/auto-match`, "atRead")).statusCode).toBe(403);
    const bad = await call("GET", `/api/partners/${ids.at}/psa-companies?ids=1,x`, "atAdmin");
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/ids/);
    // A partner without PSA credentials: a clear 409, no PSA call.
    const none = await call("GET", `/api/partners/${ids.other}/psa-companies`, "otherAdmin");
    expect(none.statusCode).toBe(409);
    expect(none.json().message).toMatch(/companies cannot be read/);
  });

  it("refuses a company id the PSA does not have, naming the client and the id, and writes nothing", async () => {
    const before = await snapshot(cw.env);
    const res = await call("PATCH", `/api/clients/${ids.at1}`, "atTech", { psaCompanyId: 999_999 });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      message: "Client AT1: Autotask has no company 999999",
      field: "psaCompanyId",
    });
    const created = await call("POST", `/api/partners/${ids.cw}/clients`, "cwAdmin", {
      code: "CW9",
      name: "Nobody",
      psaCompanyId: 999_999,
    });
    expect(created.statusCode).toBe(400);
    expect(created.json().message).toBe("Client CW9: ConnectWise has no company 999999");
    expect(await snapshot(cw.env)).toBe(before);
  });

  it("stores the company's name with its id, and clears it with the id", async () => {
    const res = await call("PATCH", `/api/clients/${ids.at1}`, "atTech", {
      psaCompanyId: DEMO_IDS.companies.AT1,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      psaCompanyId: DEMO_IDS.companies.AT1,
      psaCompanyName: "Acme Dental Group",
    });
    const cwRes = await call("POST", `/api/partners/${ids.cw}/clients`, "cwAdmin", {
      code: "CW2",
      name: "Birch",
      psaCompanyId: CW_IDS.companies.birch,
    });
    expect(cwRes.statusCode, cwRes.body).toBe(201);
    expect(cwRes.json()).toMatchObject({ psaCompanyName: "Birch Logistics" });
    const cleared = await call("PATCH", `/api/clients/${cwRes.json().id}`, "cwAdmin", { psaCompanyId: null });
    expect(cleared.json()).toMatchObject({ psaCompanyId: null, psaCompanyName: null });
    await call("PATCH", `/api/clients/${ids.cw1}`, "cwAdmin", { psaCompanyId: CW_IDS.companies.acme });
    expect((await client(ids.cw1)).psaCompanyName).toBe("Acme Dental Group");
  });

  it("answers 503 with Retry-After and saves nothing when the PSA cannot answer the check", async () => {
    await at.admin("PUT", "/faults", { seed: 1, share500: 1, onlyEntities: ["Companies"] });
    try {
      const before = await snapshot(cw.env);
      const res = await call("PATCH", `/api/clients/${ids.at1}`, "atAdmin", {
        psaCompanyId: DEMO_IDS.companies.AT2,
      });
      expect(res.statusCode, res.body).toBe(503);
      expect(res.headers["retry-after"]).toBeDefined();
      expect(res.json().message).toMatch(
        /^Autotask could not be asked to check company 175 for client AT1: .*nothing was saved/,
      );
      expect(await snapshot(cw.env)).toBe(before);
    } finally {
      await at.admin("PUT", "/faults", { share500: 0, onlyEntities: null });
    }
    expect((await client(ids.at1)).psaCompanyId).toBe(DEMO_IDS.companies.AT1);
  });

  it("proposes companies by exact and by normalised name, leaves an ambiguous name unmatched, saves nothing", async () => {
    const mk = (code: string, name: string) => portal().createClient(SYSTEM_ACTOR, ids.at, { code, name });
    const birch = await mk("AT2", "Birch Logistics");
    const cobalt = await mk("AT3", "cobalt  legal");
    const eagle = await mk("AT5", "Eagle Dental");
    const nobody = await mk("AT6", "Nobody Corp");
    const before = await snapshot(cw.env);
    const res = await call("POST", `/api/partners/${ids.at}/clients/auto-match`, "atAdmin");
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.proposals).toEqual([
      {
        clientId: birch.id,
        clientCode: "AT2",
        clientName: "Birch Logistics",
        companyId: DEMO_IDS.companies.AT2,
        companyName: "Birch Logistics",
        kind: "exact",
      },
      {
        clientId: cobalt.id,
        clientCode: "AT3",
        clientName: "cobalt  legal",
        companyId: DEMO_IDS.companies.AT3,
        companyName: "Cobalt Legal LLP",
        kind: "normalised",
      },
    ]);
    expect(body.unmatched.map((u: { clientId: number; reason: string }) => [u.clientId, u.reason])).toEqual([
      [eagle.id, "ambiguous"],
      [nobody.id, "none"],
    ]);
    expect(body.unmatched[0].candidates.map((c: { name: string }) => c.name).sort()).toEqual([
      "Eagle Dental LLC",
      "Eagle Dental, Inc.",
    ]);
    expect(await snapshot(cw.env)).toBe(before);
    // The confirmed proposal is saved through the normal PATCH.
    const saved = await call("PATCH", `/api/clients/${birch.id}`, "atAdmin", {
      psaCompanyId: DEMO_IDS.companies.AT2,
    });
    expect(saved.json()).toMatchObject({ psaCompanyName: "Birch Logistics" });
  });

  it("Validate names the clients with devices or tickets and no company, and refreshes stored names", async () => {
    const list = (await portal().listClients(SYSTEM_ACTOR, ids.at, { limit: 50 })).items;
    const byCode = (code: string) => list.find((c) => c.code === code)!;
    await portal().createDevice(SYSTEM_ACTOR, byCode("AT3").id, device(1, "managed"));
    for (const title of ["Printer down", "Disk full"])
      await portal().createTicket(SYSTEM_ACTOR, ids.at, {
        clientId: byCode("AT6").id,
        title,
        statusId: 1,
        priorityId: 10,
      });
    // A name stored before (or without) a check is refreshed by Validate.
    await portal().updateClient(SYSTEM_ACTOR, byCode("AT2").id, { psaCompanyId: DEMO_IDS.companies.AT2 });
    expect((await client(byCode("AT2").id)).psaCompanyName).toBeNull();
    const res = await call("POST", `/api/partners/${ids.at}/validate`, "atAdmin");
    expect(res.statusCode, res.body).toBe(200);
    const unmapped = res.json().checks.find((c: { name: string }) => c.name === "companies:unmapped");
    // Devices count only when device integration is on; AT5 has neither devices nor tickets.
    expect(unmapped).toMatchObject({
      ok: false,
      message: "Clients without a company: AT6 Nobody Corp (0 devices, 2 tickets).",
    });
    expect((await client(byCode("AT2").id)).psaCompanyName).toBe("Birch Logistics");
  });
});
