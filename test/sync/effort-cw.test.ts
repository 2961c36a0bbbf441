import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import { CW_IDS, type CwSyncFixture, cwIntegration, openCwSync } from "../helpers/connectwise.js";
import { STORES } from "../helpers/services.js";

/**
 * Time entries to the ConnectWise emulator over HTTPS (docs/connectwise.md, Time entries): each
 * portal entry becomes a `time/entries` record charged to the linked service ticket, for the mapped
 * member (or the default NOC member with the technician's name in the notes), with a work role and
 * a work type. Entries are written straight into `time_entries` with their outbox row (what the
 * portal's time-entry API does in one transaction).
 */

interface CwEntry {
  id: number;
  chargeToId: number;
  chargeToType: string;
  member: { id: number };
  workRole: { id: number };
  workType: { id: number };
  timeStart: string;
  timeEnd: string;
  actualHours: number;
  notes: string;
  internalNotes: string;
  billableOption: string;
  status: string;
}

const [ALICE, BOB] = CW_IDS.technicians;
const R = CW_IDS.workRoles;
const W = CW_IDS.workTypes;

describe.each(STORES)("time entries to the ConnectWise emulator on %s", (kind) => {
  let cw: CwSyncFixture;
  let partnerId = 0;
  let clientId = 0;
  let aliceUser = 0;
  let jamieUser = 0;
  let stamp = Date.parse("2026-11-28T12:00:00.000Z");

  const services = () => cw.env.services;
  const k = () => services().db.kysely;
  const tickets = () => services().sync.tickets;
  const drain = () => tickets().notify(partnerId);
  const tenant = () => {
    const t = cw.f.emu.store.tenant(cw.f.emu.credentials.companyId);
    if (!t) throw new Error("no tenant");
    return t;
  };
  const settings = (
    o: { nocMayEnterTickets?: boolean; roleId?: number | null; workTypeId?: number } = {},
  ) => {
    const s = cwIntegration(cw.f, {
      ticketing: true,
      devices: false,
      nocMayEnterTickets: o.nocMayEnterTickets ?? true,
    });
    return {
      ...s,
      ticketing: {
        ...s.ticketing,
        effortResourceId: BOB,
        effortRoleId: o.roleId ?? null,
        effortWorkTypeId: o.workTypeId ?? W.onsite,
      },
    } as typeof s;
  };
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
  const linkOf = (id: number) =>
    k().selectFrom("time_entry_links").selectAll().where("time_entry_id", "=", id).executeTakeFirst();
  const psaTicketOf = async (ticketId: number) => (await tickets().view(ticketId)).ticketId;
  const cwEntries = (psaTicketId: number) =>
    (tenant().rows("timeEntries") as unknown as CwEntry[])
      .filter((e) => e.chargeToType === "ServiceTicket" && e.chargeToId === psaTicketId)
      .sort((a, b) => a.id - b.id);
  const newTicket = async (title: string) =>
    (
      await services().portal.createTicket(SYSTEM_ACTOR, partnerId, {
        clientId,
        title,
        description: "",
        statusId: 1,
        priorityId: 9,
      })
    ).id;

  beforeAll(async () => {
    // A create held unanswered times out after 2 s (the emulator holds it longer).
    cw = await openCwSync(kind, {
      client: { requestTimeoutMs: 2_000 },
      services: { ticketRetry: { maxAttempts: 3, baseMs: 10 } },
    });
    const portal = services().portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "CW effort VAR" })).id;
    clientId = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "CW1",
        name: "Acme",
        psaCompanyId: CW_IDS.companies.acme,
      })
    ).id;
    await portal.putMappings(SYSTEM_ACTOR, partnerId, "status-forward", [
      { portalId: 1, psaId: CW_IDS.statuses.new, psaLabel: "New", scope: CW_IDS.nocBoard },
    ]);
    await portal.putMappings(SYSTEM_ACTOR, partnerId, "priority", [
      { portalId: 9, psaId: CW_IDS.priorities.medium, psaLabel: "Priority 3 - Medium" },
    ]);
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, settings());
    const user = async (name: string, username: string) =>
      (await portal.createUser(SYSTEM_ACTOR, { name, role: "technician", partnerId, username })).user.id;
    aliceUser = await user("Alice Smith", "alice.smith@example.com");
    jamieUser = await user("Jamie Lee", "jamie");
  });
  afterAll(async () => {
    await cw?.close();
  });

  it("suggests the member map from the members' e-mail addresses", async () => {
    const suggested = await services().sync.effort.suggest(partnerId);
    expect(suggested.find((s) => s.userId === aliceUser)).toMatchObject({
      psaResourceId: ALICE,
      suggested: true,
    });
    expect(suggested.find((s) => s.userId === jamieUser)).toMatchObject({ psaResourceId: null });
    await services().sync.effort.put(partnerId, [
      { userId: aliceUser, psaResourceId: ALICE, psaRoleId: null },
    ]);
  });

  it("validates the default member, its work role and the work type", async () => {
    const checks = async () =>
      (await services().sync.validation.validate(SYSTEM_ACTOR, partnerId)).checks.filter((c) =>
        c.name.startsWith("effort-"),
      );
    expect((await checks()).map((c) => [c.name, c.ok])).toEqual([
      ["effort-resource", true],
      ["effort-role", true],
      ["effort-work-type", true],
    ]);
    await services().portal.putIntegration(
      SYSTEM_ACTOR,
      partnerId,
      settings({ roleId: R.retired, workTypeId: W.retired }),
    );
    try {
      const bad = await checks();
      expect(bad.find((c) => c.name === "effort-role")).toMatchObject({ ok: false });
      expect(bad.find((c) => c.name === "effort-work-type")).toMatchObject({ ok: false });
      expect(bad.find((c) => c.name === "effort-role")?.message).toContain("Retired Role");
    } finally {
      await services().portal.putIntegration(SYSTEM_ACTOR, partnerId, settings());
    }
  });

  it("enters the time on the service ticket with the mapped member, its work role, the work type and hours", async () => {
    const t = await newTicket("Disk almost full");
    await addEntry(t, aliceUser, {
      start: "2026-11-28T09:00:00.000Z",
      end: "2026-11-28T10:30:00.000Z",
      summary: "Cleared the temp folders",
    });
    await addEntry(t, aliceUser, {
      start: "2026-11-28T11:00:00.000Z",
      end: "2026-11-28T11:15:00.000Z",
      summary: "Checked again",
      workTypeId: W.afterHours,
    });
    await drain();
    const psa = await psaTicketOf(t);
    expect(psa).not.toBeNull();
    const got = cwEntries(psa as number);
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({
      member: { id: ALICE },
      workRole: { id: R.technician },
      workType: { id: W.onsite },
      actualHours: 1.5,
      notes: "Cleared the temp folders",
      internalNotes: "checked the logs",
      billableOption: "Billable",
    });
    expect(Date.parse(got[0]!.timeStart)).toBe(Date.parse("2026-11-28T09:00:00.000Z"));
    expect(got[1]).toMatchObject({ workType: { id: W.afterHours }, actualHours: 0.25 });
    // Nothing more crosses on a second pass.
    const from = cw.wire.length;
    await announce(t);
    await drain();
    expect(cwEntries(psa as number)).toHaveLength(2);
    expect(cw.wire.slice(from).filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("enters an unmapped user's time as the default NOC member with the technician's name", async () => {
    const t = await newTicket("Backup failed");
    await addEntry(t, jamieUser, {
      start: "2026-11-28T09:00:00.000Z",
      end: "2026-11-28T09:30:00.000Z",
      summary: "Re-ran the backup",
    });
    await drain();
    const [e] = cwEntries((await psaTicketOf(t)) as number);
    expect(e).toMatchObject({
      member: { id: BOB },
      // Bob's default work role (System > Members).
      workRole: { id: R.engineer },
      actualHours: 0.5,
      notes: "[Jamie Lee] Re-ran the backup",
    });
  });

  it("follows edits (JSON-Patch) and deletions", async () => {
    const t = await newTicket("CPU high");
    const id = await addEntry(t, aliceUser, {
      start: "2026-11-28T09:00:00.000Z",
      end: "2026-11-28T10:00:00.000Z",
      summary: "Looked at it",
    });
    await drain();
    const psa = (await psaTicketOf(t)) as number;
    expect(cwEntries(psa)).toHaveLength(1);
    const from = cw.wire.length;
    await editEntry(id, t, { ended_at: "2026-11-28T11:00:00.000Z", summary: "Killed the runaway process" });
    await drain();
    expect(
      cw.wire.slice(from).filter((r) => r.path.startsWith("time/entries") && r.method !== "GET"),
    ).toEqual([expect.objectContaining({ method: "PATCH" })]);
    expect(cwEntries(psa)[0]).toMatchObject({ actualHours: 2, notes: "Killed the runaway process" });
    await editEntry(id, t, { deleted_at: next() });
    await drain();
    expect(cwEntries(psa)).toHaveLength(0);
    expect((await linkOf(id))?.state).toBe("deleted");
  });

  it("corrects an entry ConnectWise will not delete: zero hours and a deleted-in-the-portal note", async () => {
    const t = await newTicket("Billed already");
    const id = await addEntry(t, aliceUser, {
      start: "2026-11-28T12:00:00.000Z",
      end: "2026-11-28T13:00:00.000Z",
      summary: "Billed work",
    });
    await drain();
    const psa = (await psaTicketOf(t)) as number;
    const [e] = cwEntries(psa);
    // Billed in ConnectWise: the emulator refuses its delete.
    (tenant().get("timeEntries", e!.id) as Record<string, unknown>)["status"] = "Billed";
    await editEntry(id, t, { deleted_at: next() });
    await drain();
    expect(cwEntries(psa)).toEqual([
      expect.objectContaining({ actualHours: 0, notes: "[deleted in the portal] Billed work" }),
    ]);
    expect((await linkOf(id))?.state).toBe("corrected");
  });

  it("does not post twice a create that timed out after it was applied", async () => {
    const t = await newTicket("Lost answer");
    await drain();
    const psa = (await psaTicketOf(t)) as number;
    expect(psa).not.toBeNull();
    const before = await cw.stats();
    await cw.admin("PUT", "faults", {
      shareTimeoutAfterApply: 1,
      onlyWrites: true,
      timeoutAfterMs: 10_000_000,
    });
    try {
      await addEntry(t, aliceUser, {
        start: "2026-11-28T14:00:00.000Z",
        end: "2026-11-28T15:00:00.000Z",
        summary: "Answer lost",
      });
      await drain();
    } finally {
      await cw.admin("PUT", "faults", {
        shareTimeoutAfterApply: 0,
        onlyWrites: false,
        timeoutAfterMs: 10_000,
      });
    }
    const after = await cw.stats();
    expect(after.afterApply.timeout - before.afterApply.timeout).toBe(1);
    await announce(t);
    await drain();
    expect(cwEntries(psa)).toEqual([expect.objectContaining({ notes: "Answer lost", actualHours: 1 })]);
  });

  it("holds entries of a ticket not yet linked, then sends them once it is", async () => {
    await services().portal.putIntegration(SYSTEM_ACTOR, partnerId, settings({ nocMayEnterTickets: false }));
    await drain();
    const t = await newTicket("Logged before the link");
    await addEntry(t, aliceUser, {
      start: "2026-11-28T16:00:00.000Z",
      end: "2026-11-28T16:45:00.000Z",
      summary: "Early work",
    });
    await drain();
    expect(await psaTicketOf(t)).toBeNull();
    await services().portal.putIntegration(SYSTEM_ACTOR, partnerId, settings());
    // A drain already under way keeps the settings it started with: let it finish first.
    await drain();
    await announce(t);
    await drain();
    const psa = await psaTicketOf(t);
    expect(psa).not.toBeNull();
    expect(cwEntries(psa as number)).toEqual([
      expect.objectContaining({
        member: expect.objectContaining({ id: ALICE }),
        actualHours: 0.75,
        notes: "Early work",
      }),
    ]);
  });
});
