import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import {
  demoTicketing,
  fastClient,
  startTestEmulator,
  type TestEmulator,
  tenant,
} from "../helpers/autotask.js";
import { openTestServices, STORES, type TestEnv, testApp } from "../helpers/services.js";

interface AtEntry {
  id: number;
  ticketID: number;
  resourceID: number;
  roleID: number;
  billingCodeID: number | null;
  hoursWorked: number;
  startDateTime: string;
  summaryNotes: string;
  internalNotes: string | null;
}

const [alex] = DEMO_IDS.technicians;
const ONSITE = 78955513;

/**
 * Time entries to Autotask over HTTP. Entries are written straight into `time_entries` with their
 * outbox row (what the portal's time-entry API does in one transaction).
 */
describe.each(STORES)("time entries to the Autotask emulator on %s", (kind) => {
  let env: TestEnv;
  let at: TestEmulator;
  let partnerId = 0;
  let clientId = 0;
  let alexUser = 0;
  let jamieUser = 0;
  let stamp = Date.parse("2026-11-28T12:00:00.000Z");

  const k = () => env.services.db.kysely;
  const tickets = () => env.services.sync.tickets;
  const drain = () => tickets().notify(partnerId);
  const settings = (nocMayEnterTickets = true) => ({
    ticketing: {
      ...demoTicketing(at.emu.baseUrl, { nocMayEnterTickets }),
      effortResourceId: DEMO_IDS.apiResource,
      effortRoleId: null,
      effortWorkTypeId: ONSITE,
    },
    devices: {
      enabled: false,
      productId: null,
      configurationItemTypeId: null,
      advanced: false,
      schedule: null,
    },
  });
  const next = () => {
    stamp += 1000;
    return new Date(stamp).toISOString();
  };
  const announce = async (ticketId: number) => {
    await k()
      .insertInto("ticket_outbox")
      .values({ partner_id: partnerId, ticket_id: ticketId, kind: "time-entry", created_at: next() })
      .execute();
  };
  const addEntry = async (
    ticketId: number,
    userId: number,
    o: { start: string; end: string; summary: string; workTypeId?: number | null },
  ) => {
    const at = next();
    const row = await k()
      .insertInto("time_entries")
      .values({
        partner_id: partnerId,
        ticket_id: ticketId,
        user_id: userId,
        started_at: o.start,
        ended_at: o.end,
        summary: o.summary,
        internal_note: "checked the logs",
        billable: 1,
        work_type_id: o.workTypeId ?? null,
        created_at: at,
        updated_at: at,
        deleted_at: null,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    await announce(ticketId);
    return row.id;
  };
  const editEntry = async (id: number, ticketId: number, set: Record<string, unknown>) => {
    await k()
      .updateTable("time_entries")
      .set({ ...set, updated_at: next() })
      .where("id", "=", id)
      .execute();
    await announce(ticketId);
  };
  const psaTicketOf = async (ticketId: number) => (await tickets().view(ticketId)).ticketId;
  const atEntries = async (psaTicketId: number) =>
    (
      await at.api<{ items: AtEntry[] }>("POST", "TimeEntries/query", {
        filter: [{ op: "eq", field: "ticketID", value: psaTicketId }],
      })
    ).items;
  const newTicket = async (title: string) =>
    (
      await env.services.portal.createTicket(SYSTEM_ACTOR, partnerId, {
        clientId,
        title,
        description: "",
        statusId: 1,
        priorityId: 9,
      })
    ).id;

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, {
      autotask: fastClient,
      ticketRetry: { maxAttempts: 3, baseMs: 10 },
      psaOrigins: [at.emu.url],
    });
    const portal = env.services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Effort VAR" })).id;
    clientId = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT1",
        name: "Acme",
        psaCompanyId: DEMO_IDS.companies.AT1,
      })
    ).id;
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, settings());
    const user = async (name: string, username: string) =>
      (await portal.createUser(SYSTEM_ACTOR, { name, role: "technician", partnerId, username })).user.id;
    alexUser = await user("Alex Morgan", "alex.morgan@example.com");
    jamieUser = await user("Jamie Lee", "jamie");
  });
  afterAll(async () => {
    await env?.close();
    await at?.close();
  });

  it("suggests the resource map from e-mail sign-in names and stores it", async () => {
    const suggested = await env.services.sync.effort.suggest(partnerId);
    expect(suggested.find((s) => s.userId === alexUser)).toMatchObject({
      psaResourceId: alex,
      suggested: true,
    });
    expect(suggested.find((s) => s.userId === jamieUser)).toMatchObject({ psaResourceId: null });
    await env.services.sync.effort.put(partnerId, [
      { userId: alexUser, psaResourceId: alex, psaRoleId: null },
    ]);
    expect(
      (await env.services.sync.effort.suggest(partnerId)).find((s) => s.userId === alexUser),
    ).toMatchObject({
      psaResourceId: alex,
      suggested: false,
    });
  });

  it("answers GET and PUT /api/partners/:id/resource-map", async () => {
    const app = await testApp(env);
    const admin = (await env.services.portal.createUser(SYSTEM_ACTOR, { name: "NOC", role: "noc-admin" }))
      .token;
    const call = (method: "GET" | "PUT", body?: unknown) =>
      app.inject({
        method,
        url: `/api/partners/${partnerId}/resource-map`,
        headers: { authorization: `Bearer ${admin}` },
        ...(body ? { payload: body } : {}),
      });
    const got = (await call("GET")).json();
    expect(got.resources).toContainEqual(
      expect.objectContaining({
        id: alex,
        email: "alex.morgan@example.com",
        defaultRoleId: DEMO_IDS.roles.technician,
      }),
    );
    const put = await call("PUT", { lines: [{ userId: jamieUser, psaResourceId: alex, psaRoleId: null }] });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().lines.find((l: { userId: number }) => l.userId === jamieUser)).toMatchObject({
      psaResourceId: alex,
      psaLabel: "Alex Morgan",
      suggested: false,
    });
    // Back to unmapped (the default resource's test below relies on it).
    await call("PUT", { lines: [{ userId: jamieUser, psaResourceId: null, psaRoleId: null }] });
    const bad = await call("PUT", { lines: [{ userId: 999999, psaResourceId: alex, psaRoleId: null }] });
    expect(bad.statusCode, bad.body).toBe(400);
    await app.close();
  });

  it("validates the default resource, its role and the work type", async () => {
    const checks = async () =>
      (await env.services.sync.validation.validate(SYSTEM_ACTOR, partnerId)).checks.filter((c) =>
        c.name.startsWith("effort-"),
      );
    expect((await checks()).map((c) => [c.name, c.ok])).toEqual([
      ["effort-resource", true],
      ["effort-role", true],
      ["effort-work-type", true],
    ]);
    const s = settings();
    await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ...s,
      ticketing: {
        ...s.ticketing,
        effortRoleId: DEMO_IDS.roles.engineer,
        effortWorkTypeId: DEMO_IDS.internalTime,
      },
    });
    try {
      const bad = await checks();
      expect(bad.find((c) => c.name === "effort-role")).toMatchObject({ ok: false });
      expect(bad.find((c) => c.name === "effort-work-type")).toMatchObject({ ok: false });
    } finally {
      await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, settings());
    }
  });

  it("takes an entry logged through the API to Autotask, and its edit and deletion follow", async () => {
    const app = await testApp(env);
    const made = await env.services.portal.createUser(SYSTEM_ACTOR, {
      name: "Alex API",
      role: "technician",
      partnerId,
      username: "alex.api@example.com",
    });
    const alexToken = made.token;
    const alexApi = made.user.id;
    await env.services.sync.effort.put(partnerId, [
      { userId: alexUser, psaResourceId: alex, psaRoleId: null },
      { userId: alexApi, psaResourceId: alex, psaRoleId: null },
    ]);
    const call = (method: "POST" | "PATCH" | "DELETE", url: string, payload?: unknown) =>
      app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${alexToken}` },
        ...(payload ? { payload } : {}),
      });
    const t = await newTicket("Logged through the API");
    const created = await call("POST", `/api/tickets/${t}/time-entries`, {
      startedAt: "2026-11-28T13:00:00.000Z",
      endedAt: "2026-11-28T13:45:00.000Z",
      summary: "Restarted the print spooler",
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as number;
    await drain();
    const psa = (await psaTicketOf(t)) as number;
    expect(await atEntries(psa)).toEqual([
      expect.objectContaining({
        resourceID: alex,
        hoursWorked: 0.75,
        summaryNotes: "Restarted the print spooler",
      }),
    ]);
    expect(
      (await call("PATCH", `/api/time-entries/${id}`, { endedAt: "2026-11-28T14:00:00.000Z" })).statusCode,
    ).toBe(200);
    await drain();
    expect(await atEntries(psa)).toEqual([expect.objectContaining({ hoursWorked: 1 })]);
    expect((await call("DELETE", `/api/time-entries/${id}`)).statusCode).toBe(204);
    await drain();
    expect(await atEntries(psa)).toEqual([]);
  });

  it("books an entry on the linked ticket with the mapped resource, its role, the work type and hours", async () => {
    const t = await newTicket("Disk almost full");
    await addEntry(t, alexUser, {
      start: "2026-11-28T09:00:00.000Z",
      end: "2026-11-28T10:30:00.000Z",
      summary: "Cleared the temp folders",
    });
    await addEntry(t, alexUser, {
      start: "2026-11-28T11:00:00.000Z",
      end: "2026-11-28T11:15:00.000Z",
      summary: "Checked again",
      workTypeId: DEMO_IDS.remoteSupport,
    });
    await drain();
    const psa = await psaTicketOf(t);
    expect(psa).not.toBeNull();
    const got = (await atEntries(psa as number)).sort((a, b) => a.id - b.id);
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({
      resourceID: alex,
      roleID: DEMO_IDS.roles.technician,
      billingCodeID: ONSITE,
      hoursWorked: 1.5,
      summaryNotes: "Cleared the temp folders",
      internalNotes: "checked the logs",
    });
    expect(Date.parse(got[0]!.startDateTime)).toBe(Date.parse("2026-11-28T09:00:00.000Z"));
    expect(got[1]).toMatchObject({ billingCodeID: DEMO_IDS.remoteSupport, hoursWorked: 0.25 });
    // Nothing more crosses on a second pass.
    await announce(t);
    await drain();
    expect(await atEntries(psa as number)).toHaveLength(2);
  });

  it("books an unmapped user's entry as the default NOC resource with the technician's name", async () => {
    const t = await newTicket("Backup failed");
    await addEntry(t, jamieUser, {
      start: "2026-11-28T09:00:00.000Z",
      end: "2026-11-28T09:30:00.000Z",
      summary: "Re-ran the backup",
    });
    await drain();
    const [e] = await atEntries((await psaTicketOf(t)) as number);
    expect(e).toMatchObject({
      resourceID: DEMO_IDS.apiResource,
      roleID: DEMO_IDS.roles.technician,
      hoursWorked: 0.5,
      summaryNotes: "[Jamie Lee] Re-ran the backup",
    });
  });

  it("keeps an entry no resource can be found for on its own: the ticket goes on syncing", async () => {
    const s = settings();
    await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ...s,
      ticketing: { ...s.ticketing, effortResourceId: null },
    });
    try {
      const t = await newTicket("No resource for this one");
      const id = await addEntry(t, jamieUser, {
        start: "2026-11-28T15:00:00.000Z",
        end: "2026-11-28T15:30:00.000Z",
        summary: "Looked at it",
      });
      await drain();
      const psa = (await psaTicketOf(t)) as number;
      expect(psa).toBeGreaterThan(0);
      expect(await atEntries(psa)).toEqual([]);
      const link = await k()
        .selectFrom("time_entry_links")
        .selectAll()
        .where("time_entry_id", "=", id)
        .executeTakeFirst();
      expect(link).toMatchObject({ state: "unmapped", psa_time_entry_id: null });
      expect(link?.last_error).toContain("Jamie Lee");
      // The ticket page's list says it is kept back, and why.
      const app = await testApp(env);
      try {
        const admin = (
          await env.services.portal.createUser(SYSTEM_ACTOR, { name: "NOC list", role: "noc-admin" })
        ).token;
        const listed = await app.inject({
          method: "GET",
          url: `/api/tickets/${t}/time-entries`,
          headers: { authorization: `Bearer ${admin}` },
        });
        expect(listed.statusCode, listed.body).toBe(200);
        const item = listed.json().items.find((e: { id: number }) => e.id === id);
        expect(item.psa).toMatchObject({ state: "unmapped", psaId: null });
        expect(item.psa.message).toContain("Jamie Lee");
      } finally {
        await app.close();
      }
      expect((await tickets().errors(partnerId)).filter((e) => e.ticketId === t)).toEqual([]);
      // The ticket's own changes still cross.
      await env.services.portal.updateTicket(SYSTEM_ACTOR, t, { title: "Renamed while the entry waits" });
      await drain();
      const back = await at.api<{ item: { title: string } }>("GET", `Tickets/${psa}`);
      expect(back.item.title).toBe("Renamed while the entry waits");
    } finally {
      await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, settings());
      await drain();
    }
  });

  it("follows edits and deletions", async () => {
    const t = await newTicket("CPU high");
    const id = await addEntry(t, alexUser, {
      start: "2026-11-28T09:00:00.000Z",
      end: "2026-11-28T10:00:00.000Z",
      summary: "Looked at it",
    });
    await drain();
    const psa = (await psaTicketOf(t)) as number;
    expect(await atEntries(psa)).toHaveLength(1);
    await editEntry(id, t, { ended_at: "2026-11-28T11:00:00.000Z", summary: "Killed the runaway process" });
    await drain();
    const [e] = await atEntries(psa);
    expect(e).toMatchObject({ hoursWorked: 2, summaryNotes: "Killed the runaway process" });
    await editEntry(id, t, { deleted_at: next() });
    await drain();
    expect(await atEntries(psa)).toHaveLength(0);
    const link = await k()
      .selectFrom("time_entry_links")
      .selectAll()
      .where("time_entry_id", "=", id)
      .executeTakeFirst();
    expect(link?.state).toBe("deleted");
  });

  it("corrects an entry Autotask will not delete: zero hours and a deleted-in-the-portal summary", async () => {
    const t = await newTicket("Approved already");
    const id = await addEntry(t, alexUser, {
      start: "2026-11-28T12:00:00.000Z",
      end: "2026-11-28T13:00:00.000Z",
      summary: "Billed work",
    });
    await drain();
    const psa = (await psaTicketOf(t)) as number;
    const [e] = await atEntries(psa);
    // Approved in Autotask (admin fixture): a delete is refused.
    await at.admin("POST", tenant("/rows/TimeEntries"), { ...e, billingApprovalLevelMostRecent: 1 });
    await editEntry(id, t, { deleted_at: next() });
    await drain();
    expect(await atEntries(psa)).toEqual([
      expect.objectContaining({ hoursWorked: 0, summaryNotes: "[deleted in the portal] Billed work" }),
    ]);
    const link = await k()
      .selectFrom("time_entry_links")
      .selectAll()
      .where("time_entry_id", "=", id)
      .executeTakeFirst();
    expect(link?.state).toBe("corrected");
  });

  it("does not post twice a create that timed out after it was applied", async () => {
    const t = await newTicket("Lost answer");
    await drain();
    const psa = (await psaTicketOf(t)) as number;
    const unanswered = async () =>
      ((await at.stats()) as unknown as { afterApply: { timeout: number } }).afterApply.timeout;
    const before = await unanswered();
    await at.admin("PUT", "/faults", {
      shareTimeoutAfterApply: 1,
      onlyWrites: true,
      onlyEntities: ["TimeEntries"],
      timeoutAfterMs: 10_000_000,
    });
    try {
      await addEntry(t, alexUser, {
        start: "2026-11-28T14:00:00.000Z",
        end: "2026-11-28T15:00:00.000Z",
        summary: "Answer lost",
      });
      await drain();
    } finally {
      await at.admin("PUT", "/faults", {
        shareTimeoutAfterApply: 0,
        onlyWrites: false,
        onlyEntities: null,
        timeoutAfterMs: 10_000,
      });
    }
    expect((await unanswered()) - before).toBe(1);
    await announce(t);
    await drain();
    expect(await atEntries(psa)).toHaveLength(1);
  });

  it("writes entries as their resource when impersonation is on", async () => {
    const s = settings();
    await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ...s,
      ticketing: { ...s.ticketing, effortImpersonate: true },
    });
    await drain();
    try {
      const t = await newTicket("Impersonated");
      await addEntry(t, alexUser, {
        start: "2026-11-28T18:00:00.000Z",
        end: "2026-11-28T18:30:00.000Z",
        summary: "As Alex",
      });
      await drain();
      const [e] = await atEntries((await psaTicketOf(t)) as number);
      const row = (await at.api<{ item: Record<string, unknown> }>("GET", `TimeEntries/${e!.id}`)).item;
      expect(row).toMatchObject({ resourceID: alex, creatorUserID: alex });
    } finally {
      await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, {
        ...s,
        ticketing: { ...s.ticketing, effortImpersonate: false },
      });
    }
  });

  it("holds entries of a ticket not yet linked, then sends them once it is", async () => {
    await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, settings(false));
    await drain();
    const t = await newTicket("Logged before the link");
    await addEntry(t, alexUser, {
      start: "2026-11-28T16:00:00.000Z",
      end: "2026-11-28T16:45:00.000Z",
      summary: "Early work",
    });
    await drain();
    expect(await psaTicketOf(t)).toBeNull();
    await env.services.portal.putIntegration(SYSTEM_ACTOR, partnerId, settings(true));
    // A drain already under way keeps the settings it started with: let it finish first.
    await drain();
    await announce(t);
    await drain();
    const psa = await psaTicketOf(t);
    expect(psa).not.toBeNull();
    expect(await atEntries(psa as number)).toEqual([
      expect.objectContaining({ resourceID: alex, hoursWorked: 0.75, summaryNotes: "Early work" }),
    ]);
  });
});
