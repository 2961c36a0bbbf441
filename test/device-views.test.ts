import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../src/api/app.js";
import { DEMO_IDS } from "../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { demoTicketing, fastClient, startTestEmulator, type TestEmulator } from "./helpers/autotask.js";
import { device } from "./helpers/devices.js";
import { openTestServices, STORES, snapshot, type TestEnv, testApp } from "./helpers/services.js";
import { until } from "./helpers/wait.js";

/**
 * The partner-wide device list (all clients, search, sort, paging in the database) and the device
 * page's answer (alerts, tickets with PSA numbers, the linked CI read live from the Autotask emulator).
 */
describe.each(STORES)("device list and device page on %s", (kind) => {
  let env: TestEnv;
  let at: TestEmulator;
  let app: App;
  const t = { noc: "", techA: "", techB: "" };
  const id = { partnerA: 0, partnerB: 0, acme: 0, birch: 0, otherClient: 0 };
  const dev: Record<string, number> = {};
  const ticket = { both: 0, birch: 0, own: 0 };
  let emulatorClosed = false;

  async function call(token: string, url: string) {
    const res = await app.inject({ method: "GET", url, headers: { authorization: `Bearer ${token}` } });
    // biome-ignore lint/suspicious/noExplicitAny: tests read loosely-typed JSON answers
    return { status: res.statusCode, body: res.json() as any };
  }
  const list = async (query: string, token = t.noc) => {
    const r = await call(token, `/api/partners/${id.partnerA}/devices?${query}`);
    if (r.status !== 200) throw new Error(`${query} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as {
      total: number;
      items: Array<{ hostname: string; psaCiId: number | null; client: unknown }>;
    };
  };
  const names = async (query: string) => (await list(query)).items.map((d) => d.hostname);

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, {
      autotask: (c, urls) => fastClient(c, urls),
      psaOrigins: [at.emu.url],
    });
    app = await testApp(env);
    await app.listen({ port: 0, host: "127.0.0.1" });
    const addr = app.server.address();
    env.services.setListeningUrl(`http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`);
    const portal = env.services.portal;
    t.noc = (await portal.createUser(SYSTEM_ACTOR, { name: "NOC", role: "noc-admin" })).token;
    id.partnerA = (await portal.createPartner(SYSTEM_ACTOR, { name: "Devices VAR" })).id;
    id.partnerB = (await portal.createPartner(SYSTEM_ACTOR, { name: "Other VAR" })).id;
    const user = async (name: string, partnerId: number) =>
      (await portal.createUser(SYSTEM_ACTOR, { name, role: "technician", partnerId })).token;
    t.techA = await user("Tess A", id.partnerA);
    t.techB = await user("Theo B", id.partnerB);
    const client = async (partnerId: number, code: string, name: string, psaCompanyId: number | null) =>
      (await portal.createClient(SYSTEM_ACTOR, partnerId, { code, name, psaCompanyId })).id;
    id.acme = await client(id.partnerA, "AT1", "Acme Dental Group", DEMO_IDS.companies.AT1);
    id.birch = await client(id.partnerA, "AT2", "Birch Logistics", DEMO_IDS.companies.AT2);
    id.otherClient = await client(id.partnerB, "OT1", "Other Co", null);
    // What the client ↔ company mapping keeps of the PSA company's name (null until it is known).
    await env.services.db.kysely
      .updateTable("clients")
      .set({ psa_company_name: "Acme Dental Group Inc." })
      .where("id", "=", id.acme)
      .execute();
    const add = async (clientId: number, i: number, hostname: string, over: Parameters<typeof device>[2]) => {
      dev[hostname] = (
        await portal.createDevice(
          SYSTEM_ACTOR,
          clientId,
          device(i, over?.state ?? "managed", { hostname, ...over }),
        )
      ).id;
    };
    await add(id.acme, 1, "alpha01", { serialNumber: "SN-B", warrantyEndDate: "2027-01-31" });
    await add(id.acme, 2, "bravo02", { state: "discovered", serialNumber: "", warrantyEndDate: null });
    await add(id.birch, 3, "charlie03", { serialNumber: "SN-A", warrantyEndDate: "2026-12-31" });
    await add(id.birch, 4, "delta04", { state: "unmanaged", serialNumber: "SN-C", warrantyEndDate: null });
    await add(id.birch, 5, "echo05", { serialNumber: "SN_%x", warrantyEndDate: "2029-05-01" });
    await add(id.otherClient, 6, "alpha99", {});

    await portal.putIntegration(SYSTEM_ACTOR, id.partnerA, {
      ticketing: demoTicketing(at.emu.baseUrl),
      devices: {
        enabled: true,
        productId: DEMO_IDS.product,
        configurationItemTypeId: DEMO_IDS.ciType,
        advanced: true,
        schedule: null,
      },
    });
    await env.services.sync.ticketSetup(id.partnerA);
    const [onboarding] = (await env.services.sync.runs.list(id.partnerA, "assets")).items;
    expect((await env.services.sync.wait(onboarding!.id)).status).toBe("succeeded");

    const newTicket = async (clientId: number, title: string, over: Record<string, unknown>) =>
      (
        await portal.createTicket(SYSTEM_ACTOR, id.partnerA, {
          clientId,
          title,
          statusId: 1,
          priorityId: 9,
          ...over,
        })
      ).id;
    ticket.both = await newTicket(id.acme, "CPU and disk", {
      alerts: [
        { deviceId: dev["alpha01"]!, message: "CPU 99 %" },
        { deviceId: dev["bravo02"]!, message: "Disk 95 %" },
      ],
    });
    ticket.birch = await newTicket(id.birch, "Backup failed", {
      alerts: [{ deviceId: dev["charlie03"]!, message: "Backup job failed" }],
    });
    ticket.own = await newTicket(id.acme, "Patch reboot", { deviceId: dev["alpha01"]! });
    await env.services.sync.tickets.notify(id.partnerA);
    await until(async () => {
      const v = await env.services.sync.ticketViews([ticket.both, ticket.own]);
      return [...v.values()].every((x) => x.ticketNumber !== null);
    }, "the tickets in Autotask");
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
    if (!emulatorClosed) await at?.close();
  });

  it("lists the partner's devices across its clients, each with its client, warranty end and serial", async () => {
    const all = await list("");
    expect(all.total).toBe(5);
    expect(all.items.map((d) => d.hostname)).toEqual([
      "alpha01",
      "bravo02",
      "charlie03",
      "delta04",
      "echo05",
    ]);
    expect(all.items[0]).toMatchObject({
      hostname: "alpha01",
      serialNumber: "SN-B",
      warrantyEndDate: "2027-01-31",
      client: {
        id: id.acme,
        code: "AT1",
        name: "Acme Dental Group",
        psaCompanyId: DEMO_IDS.companies.AT1,
        psaCompanyName: "Acme Dental Group Inc.",
      },
      psaCiId: expect.any(Number),
      lastSyncedAt: expect.any(String),
    });
    expect(all.items[2]?.client).toMatchObject({ code: "AT2", psaCompanyName: null });
    // The unmanaged device never had a CI.
    expect(all.items[3]).toMatchObject({ hostname: "delta04", psaCiId: null, lastSyncedAt: null });
    expect(await names(`clientId=${id.birch}`)).toEqual(["charlie03", "delta04", "echo05"]);
    expect(await names("state=managed")).toEqual(["alpha01", "charlie03", "echo05"]);
  });

  it("searches hostname, serial number and IP address, case-insensitively and literally", async () => {
    expect(await names("search=ALPHA")).toEqual(["alpha01"]);
    expect(await names("search=sn-")).toEqual(["alpha01", "charlie03", "delta04"]);
    expect(await names(`search=${encodeURIComponent("sn_%")}`)).toEqual(["echo05"]);
    expect(await names("search=10.0.0.3")).toEqual(["charlie03"]);
    expect(await names(`search=o0&clientId=${id.acme}`)).toEqual(["bravo02"]);
    expect((await list("search=nothing-like-this")).total).toBe(0);
  });

  it("sorts by each column, both ways, with blanks last", async () => {
    expect(await names("sort=warranty")).toEqual(["charlie03", "alpha01", "echo05", "bravo02", "delta04"]);
    expect(await names("sort=warranty&order=desc")).toEqual([
      "echo05",
      "alpha01",
      "charlie03",
      "delta04",
      "bravo02",
    ]);
    expect(await names("sort=serial")).toEqual(["charlie03", "alpha01", "delta04", "echo05", "bravo02"]);
    expect(await names("sort=client&order=desc")).toEqual([
      "echo05",
      "delta04",
      "charlie03",
      "bravo02",
      "alpha01",
    ]);
    expect(await names("sort=state")).toEqual(["bravo02", "alpha01", "charlie03", "echo05", "delta04"]);
    expect(await names("sort=hostname&order=desc")).toEqual([
      "echo05",
      "delta04",
      "charlie03",
      "bravo02",
      "alpha01",
    ]);
    for (const order of ["asc", "desc"]) {
      const synced = (await list(`sort=synced&order=${order}`)).items;
      expect(synced.slice(0, 4).every((d) => d.psaCiId !== null)).toBe(true);
      expect(synced[4]?.hostname).toBe("delta04");
    }
  });

  it("pages in the database: limit and offset over the sorted list, with the total", async () => {
    const p = await list("sort=hostname&limit=2&offset=2");
    expect(p).toMatchObject({ total: 5, limit: 2, offset: 2 });
    expect(p.items.map((d) => d.hostname)).toEqual(["charlie03", "delta04"]);
    expect((await list("limit=2&offset=4")).items.map((d) => d.hostname)).toEqual(["echo05"]);
  });

  it("refuses a bad sort, order or another partner's client with a 400 naming the field, writing nothing", async () => {
    const before = await snapshot(env);
    const base = `/api/partners/${id.partnerA}/devices`;
    for (const [q, field] of [
      ["sort=colour", "sort"],
      ["order=sideways", "order"],
      [`clientId=${id.otherClient}`, "clientId"],
    ] as const) {
      const r = await call(t.noc, `${base}?${q}`);
      expect(r.status, q).toBe(400);
      expect(JSON.stringify(r.body), q).toContain(field);
    }
    expect(await snapshot(env)).toBe(before);
  });

  it("partner-scoped actors see only their own partner's devices", async () => {
    expect((await list("", t.techA)).total).toBe(5);
    expect((await call(t.techB, `/api/partners/${id.partnerA}/devices`)).status).toBe(404);
    expect((await call(t.techB, `/api/devices/${dev["alpha01"]}/overview`)).status).toBe(404);
    expect((await call(t.techA, `/api/devices/${dev["alpha99"]}/overview`)).status).toBe(404);
    const own = await call(t.techB, `/api/partners/${id.partnerB}/devices`);
    expect(own.body.items.map((d: { hostname: string }) => d.hostname)).toEqual(["alpha99"]);
    expect((await call(t.techA, `/api/devices/${dev["alpha01"]}/overview`)).status).toBe(200);
  });

  it("the device page: attributes, the alerts naming it, its tickets with Autotask numbers, its CI read live", async () => {
    const r = await call(t.noc, `/api/devices/${dev["alpha01"]}/overview`);
    expect(r.status).toBe(200);
    const o = r.body;
    expect(o.device).toMatchObject({
      hostname: "alpha01",
      biosName: "Dell Inc. BIOS 2.18.0",
      lastLoggedUser: "user1",
      client: { name: "Acme Dental Group" },
    });
    expect(o.alerts).toEqual([
      {
        id: expect.any(Number),
        ticketId: ticket.both,
        ticketTitle: "CPU and disk",
        message: "CPU 99 %",
        createdAt: expect.any(String),
      },
    ]);
    expect(o.alertsTotal).toBe(1);
    expect(o.tickets.map((x: { id: number }) => x.id)).toEqual([ticket.own, ticket.both]);
    expect(o.ticketsTotal).toBe(2);
    for (const x of o.tickets) {
      expect(x.primary).toBe(true);
      expect(x.psa).toMatchObject({
        state: "synced",
        ticketNumber: expect.stringMatching(/^T\d{8}\.\d{4}$/),
      });
    }
    const ci = (await env.services.sync.links.psaIds(id.partnerA, "device", [dev["alpha01"]!])).get(
      dev["alpha01"]!,
    );
    expect(o.ci).toMatchObject({
      psaId: ci,
      live: "found",
      name: "alpha01",
      active: true,
      serialNumber: "SN-B",
      companyId: DEMO_IDS.companies.AT1,
      companyName: "Acme Dental Group Inc.",
      problem: null,
    });
    // Advanced mode: the CI's user-defined fields as Autotask holds them, the portal id among them.
    const udfs = new Map(
      o.ci.customFields.map((f: { name: string; value: string | null }) => [f.name, f.value]),
    );
    expect(udfs.get("Partner Portal Device Id")).toBe(String(dev["alpha01"]));
    expect(udfs.get("Last Logged User")).toBe("user1");

    // A discovered device: an inactive CI; the ticket reaches it through an alert only.
    const b = (await call(t.noc, `/api/devices/${dev["bravo02"]}/overview`)).body;
    expect(b.alerts.map((a: { message: string }) => a.message)).toEqual(["Disk 95 %"]);
    expect(b.tickets).toEqual([expect.objectContaining({ id: ticket.both, primary: false })]);
    expect(b.ci).toMatchObject({ live: "found", active: false, name: "bravo02" });

    // No CI: no ci block; no alerts or tickets.
    const d = (await call(t.noc, `/api/devices/${dev["delta04"]}/overview`)).body;
    expect(d).toMatchObject({ ci: null, alerts: [], tickets: [], alertsTotal: 0, ticketsTotal: 0 });
  });

  it("a CI deactivated in Autotask shows as read just now, not as last written", async () => {
    const ciId = (await env.services.sync.links.psaIds(id.partnerA, "device", [dev["echo05"]!])).get(
      dev["echo05"]!,
    );
    await at.api("PATCH", "ConfigurationItems", { id: ciId, isActive: false });
    const o = (await call(t.noc, `/api/devices/${dev["echo05"]}/overview`)).body;
    expect(o.ci).toMatchObject({
      psaId: ciId,
      live: "found",
      active: false,
      companyId: DEMO_IDS.companies.AT2,
    });
  });

  it("a PSA that cannot be read: the CI keeps its id and last sync, and says why (the last test: it stops Autotask)", async () => {
    const before = (await call(t.noc, `/api/devices/${dev["charlie03"]}/overview`)).body.ci;
    await at.close();
    emulatorClosed = true;
    const r = await call(t.noc, `/api/devices/${dev["charlie03"]}/overview`);
    expect(r.status).toBe(200);
    expect(r.body.ci).toMatchObject({
      psaId: before.psaId,
      syncedAt: before.syncedAt,
      live: "unavailable",
      name: null,
      active: null,
    });
    expect(r.body.ci.problem).toEqual(expect.any(String));
    // The portal's side is all there.
    expect(r.body.alerts.map((a: { message: string }) => a.message)).toEqual(["Backup job failed"]);
  });
});
