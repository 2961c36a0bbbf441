import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../src/api/app.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { openTestServices, STORES, type TestEnv, testApp } from "./helpers/services.js";

type Method = "GET" | "POST" | "PATCH" | "DELETE";

describe.each(STORES)("time entries and the effort report on %s", (kind) => {
  let env: TestEnv;
  let app: App;
  const t = { noc: "", adminA: "", techA: "", techA2: "", roA: "", adminB: "" };
  const id = {
    partnerA: 0,
    partnerB: 0,
    clientA: 0,
    clientA2: 0,
    clientB: 0,
    ticketA: 0,
    ticketA2: 0,
    ticketB: 0,
  };

  async function call(token: string, method: Method, url: string, body?: unknown, headers = {}) {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, ...headers },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    const json = res.headers["content-type"]?.toString().startsWith("application/json");
    // biome-ignore lint/suspicious/noExplicitAny: tests read loosely-typed JSON answers
    return { status: res.statusCode, body: (json ? res.json() : res.body) as any, headers: res.headers };
  }
  const ok = async (token: string, method: Method, url: string, body?: unknown) => {
    const r = await call(token, method, url, body);
    if (r.status >= 300) throw new Error(`${method} ${url} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  /** The rows a rejected request must leave as they were. */
  const rows = async () => {
    const k = env.services.db.kysely;
    return JSON.stringify([
      await k.selectFrom("time_entries").selectAll().orderBy("id").execute(),
      // processed_at left out: the engine marks rows processed as it goes.
      await k.selectFrom("ticket_outbox").select(["id", "ticket_id", "kind"]).orderBy("id").execute(),
      await k.selectFrom("audit_log").selectAll().orderBy("id").execute(),
    ]);
  };
  const outbox = async (ticketId: number) =>
    env.services.db.kysely
      .selectFrom("ticket_outbox")
      .selectAll()
      .where("ticket_id", "=", ticketId)
      .where("kind", "=", "time-entry")
      .execute();

  beforeAll(async () => {
    env = await openTestServices(kind);
    app = await testApp(env);
    const portal = env.services.portal;
    t.noc = (await portal.createUser(SYSTEM_ACTOR, { name: "Nora NOC", role: "noc-admin" })).token;
    id.partnerA = (await ok(t.noc, "POST", "/api/partners", { name: "Alpha IT" })).id;
    id.partnerB = (await ok(t.noc, "POST", "/api/partners", { name: "Bravo Systems" })).id;
    const user = async (name: string, role: string, partnerId: number) =>
      (await ok(t.noc, "POST", "/api/users", { name, role, partnerId })).token as string;
    t.adminA = await user("Ada Admin", "partner-admin", id.partnerA);
    t.techA = await user("Tom Tech", "technician", id.partnerA);
    t.techA2 = await user("Tina Tech", "technician", id.partnerA);
    t.roA = await user("Rita Reader", "read-only", id.partnerA);
    t.adminB = await user("Bob Admin", "partner-admin", id.partnerB);
    const client = async (token: string, partnerId: number, code: string, name: string) =>
      (await ok(token, "POST", `/api/partners/${partnerId}/clients`, { code, name })).id as number;
    id.clientA = await client(t.adminA, id.partnerA, "AT1", "Acme");
    id.clientA2 = await client(t.adminA, id.partnerA, "AT2", "Brightline, Inc.");
    id.clientB = await client(t.adminB, id.partnerB, "B1", "Bravo Client");
    const ticket = async (token: string, partnerId: number, clientId: number) =>
      (
        await ok(token, "POST", `/api/partners/${partnerId}/tickets`, {
          clientId,
          title: "Disk full",
          statusId: 1,
          priorityId: 9,
        })
      ).id as number;
    id.ticketA = await ticket(t.techA, id.partnerA, id.clientA);
    id.ticketA2 = await ticket(t.techA, id.partnerA, id.clientA2);
    id.ticketB = await ticket(t.adminB, id.partnerB, id.clientB);
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  it("creates, lists, patches and deletes an entry, each change with an outbox row and an audit row", async () => {
    const before = (await outbox(id.ticketA)).length;
    const r = await call(t.techA, "POST", `/api/tickets/${id.ticketA}/time-entries`, {
      startedAt: "2026-03-02T09:00:00Z",
      endedAt: "2026-03-02T10:30:00Z",
      summary: "Cleared the temp folder",
      internalNote: "customer called twice",
      billable: true,
      workTypeId: 29682801,
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      id: expect.any(Number),
      ticketId: id.ticketA,
      partnerId: id.partnerA,
      userName: "Tom Tech",
      startedAt: "2026-03-02T09:00:00.000Z",
      endedAt: "2026-03-02T10:30:00.000Z",
      minutes: 90,
      summary: "Cleared the temp folder",
      internalNote: "customer called twice",
      billable: true,
      workTypeId: 29682801,
      deletedAt: null,
    });
    const entryId = r.body.id;
    expect((await outbox(id.ticketA)).length).toBe(before + 1);

    // Start and a duration; billable defaults to true, work type to the partner's default (null).
    const d = await ok(t.techA, "POST", `/api/tickets/${id.ticketA}/time-entries`, {
      startedAt: "2026-03-02T14:00:00+02:00",
      durationMinutes: 45,
      summary: "Follow-up",
      billable: false,
    });
    expect(d).toMatchObject({ startedAt: "2026-03-02T12:00:00.000Z", endedAt: "2026-03-02T12:45:00.000Z" });
    expect(d).toMatchObject({ minutes: 45, billable: false, workTypeId: null, internalNote: "" });

    const list = await ok(t.roA, "GET", `/api/tickets/${id.ticketA}/time-entries`);
    expect(list.total).toBe(2);
    expect(list.items.map((e: { id: number }) => e.id)).toEqual([entryId, d.id]);

    const ticket = await ok(t.roA, "GET", `/api/tickets/${id.ticketA}`);
    expect(ticket.effort).toEqual({ minutes: 135, billableMinutes: 90, entries: 2 });

    const patched = await ok(t.techA, "PATCH", `/api/time-entries/${entryId}`, {
      endedAt: "2026-03-02T11:00:00Z",
      summary: "Cleared the temp folder and rotated logs",
    });
    expect(patched).toMatchObject({ minutes: 120, summary: "Cleared the temp folder and rotated logs" });
    expect((await outbox(id.ticketA)).length).toBe(before + 3);

    const del = await call(t.techA, "DELETE", `/api/time-entries/${d.id}`);
    expect(del.status).toBe(204);
    expect((await outbox(id.ticketA)).length).toBe(before + 4);
    expect((await ok(t.roA, "GET", `/api/tickets/${id.ticketA}/time-entries`)).total).toBe(1);
    expect((await call(t.techA, "PATCH", `/api/time-entries/${d.id}`, { summary: "x" })).status).toBe(404);
    expect((await ok(t.roA, "GET", `/api/tickets/${id.ticketA}`)).effort).toEqual({
      minutes: 120,
      billableMinutes: 120,
      entries: 1,
    });

    // The engine's read keeps the deleted entry, marked.
    const forSync = await env.services.portal.forSync.timeEntries(id.ticketA);
    expect(forSync.map((e) => [e.id, e.deletedAt !== null])).toEqual([
      [entryId, false],
      [d.id, true],
    ]);
    const audit = await ok(t.adminA, "GET", `/api/partners/${id.partnerA}/audit?action=time-entry.delete`);
    expect(audit.items[0]).toMatchObject({ action: "time-entry.delete", target: `time-entry:${d.id}` });
  });

  it("answers each bad field with a 400 naming it and writes nothing", async () => {
    const good = { startedAt: "2026-03-03T09:00:00Z", endedAt: "2026-03-03T09:30:00Z", summary: "ok" };
    const cases: Array<[string, Record<string, unknown>]> = [
      ["startedAt", { ...good, startedAt: "yesterday" }],
      ["startedAt", { ...good, startedAt: "2026-03-03T09:00:00" }],
      ["endedAt", { ...good, endedAt: "2026-03-03T25:00:00Z" }],
      ["startedAt", { ...good, startedAt: "2026-02-30T09:00:00Z" }],
      ["endedAt", { ...good, endedAt: "2026-03-03T08:00:00Z" }],
      ["endedAt", { ...good, endedAt: good.startedAt }],
      ["endedAt", { startedAt: good.startedAt, summary: "ok" }],
      ["summary", { ...good, summary: "" }],
      ["summary", { ...good, summary: "   " }],
      ["summary", { ...good, summary: "x".repeat(2001) }],
      ["billable", { ...good, billable: "maybe" }],
      ["workTypeId", { ...good, workTypeId: "abc" }],
      ["workTypeId", { ...good, workTypeId: 1.5 }],
      ["durationMinutes", { startedAt: good.startedAt, durationMinutes: 0, summary: "ok" }],
    ];
    const before = await rows();
    for (const [field, body] of cases) {
      const r = await call(t.techA, "POST", `/api/tickets/${id.ticketA}/time-entries`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.field, JSON.stringify(body)).toBe(field);
      expect(r.body.message).toContain(field);
    }
    const e = await ok(t.techA, "POST", `/api/tickets/${id.ticketA}/time-entries`, good);
    const after = await rows();
    for (const [field, body] of [
      ["endedAt", { endedAt: "2026-03-03T08:59:00Z" }],
      ["startedAt", { startedAt: "2026-03-03T10:00:00Z" }],
      ["summary", { summary: "" }],
      ["workTypeId", { workTypeId: 0 }],
    ] as const) {
      const r = await call(t.techA, "PATCH", `/api/time-entries/${e.id}`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.field).toBe(field);
    }
    expect(await rows()).toBe(after);
    expect(before).not.toBe(after);
    // The portal checks the same fields for callers other than the API (the CLI).
    await expect(
      env.services.portal.addTimeEntry(SYSTEM_ACTOR, id.ticketA, {
        ...good,
        endedAt: "2026-03-03T08:00:00Z",
      }),
    ).rejects.toMatchObject({ status: 400, field: "endedAt" });
  });

  it("lets technicians change their own entries only, admins any of their partner's, readers none", async () => {
    const own = await ok(t.techA, "POST", `/api/tickets/${id.ticketA}/time-entries`, {
      startedAt: "2026-03-04T09:00:00Z",
      endedAt: "2026-03-04T09:15:00Z",
      summary: "Tom's entry",
    });
    const before = await rows();
    expect(
      (await call(t.techA2, "PATCH", `/api/time-entries/${own.id}`, { summary: "mine now" })).status,
    ).toBe(403);
    expect((await call(t.techA2, "DELETE", `/api/time-entries/${own.id}`)).status).toBe(403);
    expect((await call(t.roA, "PATCH", `/api/time-entries/${own.id}`, { summary: "no" })).status).toBe(403);
    expect(
      (
        await call(t.roA, "POST", `/api/tickets/${id.ticketA}/time-entries`, {
          startedAt: "2026-03-04T09:00:00Z",
          endedAt: "2026-03-04T09:15:00Z",
          summary: "reader",
        })
      ).status,
    ).toBe(403);
    // Another partner's entry and ticket are not found, exactly as missing ones.
    expect((await call(t.adminB, "PATCH", `/api/time-entries/${own.id}`, { summary: "B" })).status).toBe(404);
    expect((await call(t.adminB, "DELETE", `/api/time-entries/${own.id}`)).status).toBe(404);
    expect((await call(t.adminB, "GET", `/api/tickets/${id.ticketA}/time-entries`)).status).toBe(404);
    expect(
      (
        await call(t.adminB, "POST", `/api/tickets/${id.ticketA}/time-entries`, {
          startedAt: "2026-03-04T09:00:00Z",
          endedAt: "2026-03-04T09:15:00Z",
          summary: "B",
        })
      ).status,
    ).toBe(404);
    expect((await call(t.adminB, "PATCH", "/api/time-entries/999999", { summary: "B" })).status).toBe(404);
    expect(await rows()).toBe(before);
    // The reader reads; the partner admin and the NOC admin change it.
    expect((await ok(t.roA, "GET", `/api/tickets/${id.ticketA}/time-entries`)).items.length).toBeGreaterThan(
      0,
    );
    expect(await ok(t.adminA, "PATCH", `/api/time-entries/${own.id}`, { billable: false })).toMatchObject({
      billable: false,
      userName: "Tom Tech",
    });
    expect(await ok(t.noc, "PATCH", `/api/time-entries/${own.id}`, { summary: "NOC fixed" })).toMatchObject({
      summary: "NOC fixed",
    });
    expect((await call(t.adminA, "DELETE", `/api/time-entries/${own.id}`)).status).toBe(204);
  });

  it("sums the effort report per client and month to match the entries, as JSON and CSV", async () => {
    const log = (token: string, ticketId: number, startedAt: string, minutes: number, billable: boolean) =>
      ok(token, "POST", `/api/tickets/${ticketId}/time-entries`, {
        startedAt,
        durationMinutes: minutes,
        summary: "report",
        billable,
      });
    await log(t.techA, id.ticketA2, "2026-04-01T08:00:00Z", 30, true);
    await log(t.techA2, id.ticketA2, "2026-04-30T23:00:00Z", 50, false);
    await log(t.techA, id.ticketA2, "2026-05-01T00:10:00Z", 20, true);
    const gone = await log(t.techA, id.ticketA2, "2026-05-02T00:10:00Z", 600, true);
    await ok(t.techA, "DELETE", `/api/time-entries/${gone.id}`);
    await log(t.adminB, id.ticketB, "2026-04-03T08:00:00Z", 15, true);

    const all = await ok(t.roA, "GET", `/api/partners/${id.partnerA}/reports/effort`);
    // Every entry of the partner that is not deleted, by the entries list.
    const entries = [];
    for (const ticketId of [id.ticketA, id.ticketA2])
      entries.push(...(await ok(t.roA, "GET", `/api/tickets/${ticketId}/time-entries`)).items);
    const sum = (xs: Array<{ minutes: number }>) => xs.reduce((n, x) => n + x.minutes, 0);
    expect(all.total).toEqual({
      entries: entries.length,
      minutes: sum(entries),
      billableMinutes: sum(entries.filter((e: { billable: boolean }) => e.billable)),
    });
    expect(all.lines.map((l: { clientCode: string; month: string }) => `${l.clientCode} ${l.month}`)).toEqual(
      ["AT1 2026-03", "AT2 2026-04", "AT2 2026-05"],
    );

    const april = await ok(
      t.roA,
      "GET",
      `/api/partners/${id.partnerA}/reports/effort?from=2026-04-01&to=2026-05-01`,
    );
    expect(april.lines).toEqual([
      {
        clientId: id.clientA2,
        clientCode: "AT2",
        clientName: "Brightline, Inc.",
        month: "2026-04",
        entries: 2,
        minutes: 80,
        billableMinutes: 30,
      },
    ]);
    expect(april.total).toEqual({ entries: 2, minutes: 80, billableMinutes: 30 });

    const csv = await call(
      t.roA,
      "GET",
      `/api/partners/${id.partnerA}/reports/effort?from=2026-04-01&format=csv`,
    );
    expect(csv.status).toBe(200);
    expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
    expect(csv.headers["content-disposition"]).toMatch(
      /^attachment; filename="effort-partner-\d+-from-2026-04-01\.csv"$/,
    );
    expect(csv.body).toBe(
      'client_code,client,month,entries,minutes,billable_minutes\r\nAT2,"Brightline, Inc.",2026-04,2,80,30\r\nAT2,"Brightline, Inc.",2026-05,1,20,20\r\n',
    );
    const accept = await call(
      t.roA,
      "GET",
      `/api/partners/${id.partnerA}/reports/effort?from=2026-04-01`,
      undefined,
      {
        accept: "text/csv",
      },
    );
    expect(accept.body).toBe(csv.body);

    const bad = await call(t.roA, "GET", `/api/partners/${id.partnerA}/reports/effort?from=April`);
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe("from");
    expect((await call(t.adminB, "GET", `/api/partners/${id.partnerA}/reports/effort`)).status).toBe(404);
    const b = await ok(t.adminB, "GET", `/api/partners/${id.partnerB}/reports/effort`);
    expect(b.total).toEqual({ entries: 1, minutes: 15, billableMinutes: 15 });
  });
});
