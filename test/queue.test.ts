import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../src/api/app.js";
import { DEMO_IDS } from "../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { demoTicketing, startTestEmulator, type TestEmulator } from "./helpers/autotask.js";
import { openTestServices, STORES, type TestEnv, testApp } from "./helpers/services.js";
import { until } from "./helpers/wait.js";

interface Row {
  id: number;
  partnerId: number;
  partnerName: string;
  clientCode: string;
  clientName: string;
  title: string;
  statusId: number;
  status: string;
  priority: string;
  psa?: { state: string; ticketNumber: string | null };
}
interface Counts {
  total: number;
  statuses: Array<{ statusId: number; status: string; count: number }>;
}

/** Autotask queue other than the NOC queue (the demo tenant's). */
const OTHER_QUEUE = 29682833;

/**
 * The NOC technician's ticket queue (GET /api/tickets, GET /api/tickets/counts) across two partners:
 * "North VAR" on the Autotask emulator (over HTTP) with a ticket in each sync state the engine has, and
 * "South VAR" with no PSA.
 */
describe.each(STORES)("ticket queue across partners on %s", (kind) => {
  let env: TestEnv;
  let at: TestEmulator;
  let app: App;
  let north = 0;
  let south = 0;
  let n1 = 0;
  let s1 = 0;
  const tokens: Record<"nocTech" | "northReader" | "southTech" | "admin", string> = {
    nocTech: "",
    northReader: "",
    southTech: "",
    admin: "",
  };
  /** Ticket ids by name. */
  const t: Record<string, number> = {};

  const portal = () => env.services.portal;
  const tickets = () => env.services.sync.tickets;
  const get = async (who: keyof typeof tokens, url: string) => {
    const res = await app.inject({ method: "GET", url, headers: { authorization: `Bearer ${tokens[who]}` } });
    return { status: res.statusCode, body: res.json() };
  };
  const queue = async (who: keyof typeof tokens, query = "") => {
    const res = await get(who, `/api/tickets${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { items: Row[]; total: number; limit: number; offset: number };
  };
  const titles = async (who: keyof typeof tokens, query = "") =>
    (await queue(who, query)).items.map((r) => r.title).sort();
  const counts = async (who: keyof typeof tokens, query = "") => {
    const res = await get(who, `/api/tickets/counts${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as Counts;
  };
  const countOf = (c: Counts, statusId: number) => c.statuses.find((s) => s.statusId === statusId)?.count;

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, {
      psaOrigins: [at.emu.url],
      ticketRetry: { maxAttempts: 2, baseMs: 10 },
    });
    app = await testApp(env);
    north = (await portal().createPartner(SYSTEM_ACTOR, { name: "North VAR" })).id;
    south = (await portal().createPartner(SYSTEM_ACTOR, { name: "South VAR" })).id;
    n1 = (
      await portal().createClient(SYSTEM_ACTOR, north, {
        code: "N1",
        name: "Nimbus Ltd",
        psaCompanyId: DEMO_IDS.companies.AT1,
      })
    ).id;
    // No company: its tickets cannot go to Autotask and are parked at once.
    const n2 = (await portal().createClient(SYSTEM_ACTOR, north, { code: "N2", name: "Nadir" })).id;
    s1 = (await portal().createClient(SYSTEM_ACTOR, south, { code: "S1", name: "Sextant" })).id;
    await portal().putIntegration(SYSTEM_ACTOR, north, {
      ticketing: demoTicketing(at.emu.baseUrl),
      devices: {
        enabled: false,
        productId: null,
        configurationItemTypeId: null,
        advanced: false,
        schedule: null,
      },
    });
    await env.services.sync.ticketSetup(north);
    tokens.nocTech = (await portal().createUser(SYSTEM_ACTOR, { name: "Nina", role: "technician" })).token;
    tokens.admin = (await portal().createUser(SYSTEM_ACTOR, { name: "Ada", role: "noc-admin" })).token;
    tokens.northReader = (
      await portal().createUser(SYSTEM_ACTOR, { name: "Rory", role: "read-only", partnerId: north })
    ).token;
    tokens.southTech = (
      await portal().createUser(SYSTEM_ACTOR, { name: "Sam", role: "technician", partnerId: south })
    ).token;

    const make = async (
      name: string,
      partnerId: number,
      clientId: number,
      statusId: number,
      priorityId: number,
    ) => {
      t[name] = (
        await portal().createTicket(SYSTEM_ACTOR, partnerId, {
          clientId,
          title: name,
          description: "",
          statusId,
          priorityId,
        })
      ).id;
    };
    const drain = () => tickets().notify(north);
    await make("Disk full on SRV01", north, n1, 1, 9);
    await make("Backup failed", north, n1, 18, 10);
    await make("Printer offline", north, n2, 1, 10);
    await drain();
    // Moved to another Autotask queue: the ticket stops syncing (seen by the poll).
    const moved = (await tickets().view(t["Backup failed"] as number)).ticketId as number;
    await at.api("PATCH", "Tickets", { id: moved, queueID: OTHER_QUEUE });
    await tickets().pollTickets(north);
    await until(
      async () => (await tickets().view(t["Backup failed"] as number)).state === "out-of-queue",
      "out-of-queue",
    );
    // Held in the outbox: pending.
    tickets().pause(north);
    await make("CPU at 100 %", north, n1, 7, 8);
    await make("South router down", south, s1, 1, 8);
    await make("South VPN flaps", south, s1, 18, 11);
    // South has no PSA: its outbox rows are consumed and nothing crosses.
    await tickets().notify(south);
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
    await at?.close();
  });

  it("shows a NOC-wide technician every partner's tickets with partner and client names, PSA numbers and sync states", async () => {
    const page = await queue("nocTech");
    expect(page.total).toBe(6);
    const by = new Map(page.items.map((r) => [r.title, r]));
    const disk = by.get("Disk full on SRV01");
    expect(disk).toMatchObject({
      partnerName: "North VAR",
      psaSystem: "autotask",
      clientCode: "N1",
      clientName: "Nimbus Ltd",
    });
    expect(disk?.psa?.state).toBe("synced");
    expect(disk?.psa?.ticketNumber).toMatch(/^T\d{8}\.\d{4}$/);
    expect(by.get("Backup failed")?.psa?.state).toBe("out-of-queue");
    expect(by.get("Printer offline")?.psa?.state).toBe("error");
    expect(by.get("CPU at 100 %")?.psa?.state).toBe("pending");
    expect(by.get("South router down")).toMatchObject({
      partnerName: "South VAR",
      status: "New",
      priority: "P0",
    });
    expect(by.get("South router down")?.psa).toMatchObject({ state: "not-synced", ticketNumber: null });
  });

  it("filters by sync state in the database exactly as each ticket's own sync state reads", async () => {
    const all = (await queue("nocTech")).items;
    const states = ["synced", "pending", "error", "out-of-queue", "not-synced"];
    for (const state of states) {
      const expected = all
        .filter((r) => r.psa?.state === state)
        .map((r) => r.title)
        .sort();
      expect(await titles("nocTech", `?syncState=${state}`), state).toEqual(expected);
    }
    expect(await titles("nocTech", "?syncState=not-synced")).toEqual([
      "South VPN flaps",
      "South router down",
    ]);
    expect(await titles("nocTech", "?syncState=error")).toEqual(["Printer offline"]);
  });

  it("filters by partner, client, status and priority, and combines them", async () => {
    expect(await titles("nocTech", `?partnerId=${south}`)).toEqual(["South VPN flaps", "South router down"]);
    expect(await titles("nocTech", `?clientId=${n1}`)).toEqual([
      "Backup failed",
      "CPU at 100 %",
      "Disk full on SRV01",
    ]);
    expect(await titles("nocTech", "?statusId=1")).toEqual([
      "Disk full on SRV01",
      "Printer offline",
      "South router down",
    ]);
    expect(await titles("nocTech", "?priorityId=8")).toEqual(["CPU at 100 %", "South router down"]);
    expect(await titles("nocTech", `?partnerId=${north}&statusId=1&priorityId=10`)).toEqual([
      "Printer offline",
    ]);
    expect(await titles("nocTech", `?partnerId=${south}&syncState=synced`)).toEqual([]);
  });

  it("searches titles, client codes and names, and PSA ticket numbers", async () => {
    expect(await titles("nocTech", "?search=router")).toEqual(["South router down"]);
    expect(await titles("nocTech", "?search=NADIR")).toEqual(["Printer offline"]);
    expect(await titles("nocTech", "?search=s1")).toEqual(["South VPN flaps", "South router down"]);
    const number = (await tickets().view(t["Disk full on SRV01"] as number)).ticketNumber as string;
    expect(await titles("nocTech", `?search=${encodeURIComponent(number)}`)).toEqual(["Disk full on SRV01"]);
    // % and _ are matched literally, not as wildcards.
    expect(await titles("nocTech", "?search=100%20%25")).toEqual(["CPU at 100 %"]);
    expect(await titles("nocTech", "?search=%25")).toEqual(["CPU at 100 %"]);
    expect(await titles("nocTech", "?search=_")).toEqual([]);
  });

  it("pages newest change first, every ticket once", async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < 6; offset += 4) {
      const page = await queue("nocTech", `?limit=4&offset=${offset}`);
      expect(page).toMatchObject({ total: 6, limit: 4, offset });
      seen.push(...page.items.map((r) => r.title));
    }
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(6);
    // The last two made come first.
    expect(seen.slice(0, 2)).toEqual(["South VPN flaps", "South router down"]);
    expect((await queue("nocTech", "?limit=4&offset=8")).items).toEqual([]);
  });

  it("counts tickets per status under the other filters, the status filter left out", async () => {
    const c = await counts("nocTech");
    expect(c.total).toBe(6);
    expect(c.statuses).toHaveLength(10);
    expect(c.statuses.find((s) => s.statusId === 1)).toEqual({ statusId: 1, status: "New", count: 3 });
    expect(countOf(c, 18)).toBe(2);
    expect(countOf(c, 7)).toBe(1);
    expect(countOf(c, 3)).toBe(0);
    expect(c.statuses.reduce((s, x) => s + x.count, 0)).toBe(6);
    const southOnly = await counts("nocTech", `?partnerId=${south}&statusId=1`);
    expect(southOnly.total).toBe(2);
    expect([countOf(southOnly, 1), countOf(southOnly, 18)]).toEqual([1, 1]);
    const errors = await counts("nocTech", "?syncState=error");
    expect([errors.total, countOf(errors, 1)]).toEqual([1, 1]);
    // Each count is what the list shows with that status chosen.
    for (const s of c.statuses.filter((x) => x.count > 0))
      expect((await queue("nocTech", `?statusId=${s.statusId}`)).total).toBe(s.count);
  });

  it("shows a partner's users their partner's tickets only, whatever the filters say", async () => {
    expect(await titles("southTech")).toEqual(["South VPN flaps", "South router down"]);
    expect((await counts("southTech")).total).toBe(2);
    expect(await titles("northReader")).toEqual([
      "Backup failed",
      "CPU at 100 %",
      "Disk full on SRV01",
      "Printer offline",
    ]);
    expect(await titles("southTech", "?search=disk")).toEqual([]);
    // Another partner, or its client, named in a filter: 400 naming the field, as if it did not exist.
    for (const [query, field] of [
      [`?partnerId=${north}`, "partnerId"],
      [`?clientId=${n1}`, "clientId"],
    ] as const) {
      for (const path of ["/api/tickets", "/api/tickets/counts"]) {
        const res = await get("southTech", `${path}${query}`);
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ field, message: expect.stringContaining("not found") });
      }
    }
    // The same answer for a partner that does not exist.
    const missing = await get("admin", "/api/tickets?partnerId=999999");
    expect(missing.status).toBe(400);
    expect(missing.body.field).toBe("partnerId");
  });

  it("answers bad filters with a 400 naming the field", async () => {
    for (const [query, field] of [
      ["?syncState=linked", "syncState"],
      ["?statusId=999", "statusId"],
      ["?priorityId=1", "priorityId"],
      ["?limit=0", "limit"],
      ["?partnerId=abc", "partnerId"],
      ["?colour=red", "colour"],
    ] as const) {
      const res = await get("nocTech", `/api/tickets${query}`);
      expect(res.status, query).toBe(400);
      expect(JSON.stringify(res.body), query).toContain(field);
    }
    const anon = await app.inject({ method: "GET", url: "/api/tickets" });
    expect(anon.statusCode).toBe(401);
  });

  it("keeps the per-partner ticket list and the ticket routes as they were", async () => {
    const res = await get("nocTech", `/api/partners/${north}/tickets`);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(4);
    const one = await get("southTech", `/api/tickets/${t["South router down"]}`);
    expect(one.status).toBe(200);
    expect(one.body.title).toBe("South router down");
    expect((await get("southTech", `/api/tickets/${t["Disk full on SRV01"]}`)).status).toBe(404);
  });
});
