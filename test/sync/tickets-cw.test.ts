import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { App } from "../../src/api/app.js";
import { signCallback } from "../../src/emulators/connectwise/index.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { MappingRowInput } from "../../src/portal/mappings.js";
import type { DeviceInput } from "../../src/portal/service.js";
import {
  CW_IDS,
  type CwSyncFixture,
  cwIntegration,
  openCwSync,
  opsDelta,
  type WireRequest,
} from "../helpers/connectwise.js";
import { STORES, testApp } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

/**
 * Two-way ticket sync (src/sync/tickets/) against the ConnectWise emulator over HTTPS
 * (docs/connectwise.md, Tickets and notes; Callbacks): the partner's NOC service board is the NOC
 * queue; status mapping rows are scoped to their board; the emulator delivers signed callbacks to
 * this test's server (/webhooks/connectwise/:partnerId), with its fault knobs dropping, duplicating
 * and reordering them, and polling by lastUpdated as the safety net.
 */

const NOC = CW_IDS.nocBoard;
const HELP_DESK = 2;
const S = CW_IDS.statuses; // the NOC board's: new 1, inProgress 2, waitingCustomer 3, resolved 4, closed 5
const HD_NEW = 6; // the Help Desk board's New and Completed
const HD_COMPLETED = 7;
const P = CW_IDS.priorities; // critical 1, high 2, medium 3, low 4
const ACME = CW_IDS.companies.acme;
const BIRCH = CW_IDS.companies.birch;

/**
 * Board-scoped mapping tables. The Help Desk board's rows come first: a lookup that ignored the
 * scope would send its statuses for tickets on the NOC board (which ConnectWise refuses).
 */
const FORWARD: MappingRowInput[] = [
  { portalId: 1, psaId: HD_NEW, psaLabel: "New", scope: HELP_DESK },
  { portalId: 3, psaId: HD_COMPLETED, psaLabel: "Completed", scope: HELP_DESK },
  { portalId: 1, psaId: S.new, psaLabel: "New", scope: NOC },
  { portalId: 18, psaId: S.new, psaLabel: "New", scope: NOC },
  { portalId: 7, psaId: S.inProgress, psaLabel: "In Progress", scope: NOC },
  { portalId: 9, psaId: S.inProgress, psaLabel: "In Progress", scope: NOC },
  { portalId: 2, psaId: S.waitingCustomer, psaLabel: "Waiting Customer", scope: NOC },
  { portalId: 3, psaId: S.closed, psaLabel: "Closed", scope: NOC },
];
const REVERSE: MappingRowInput[] = [
  { portalId: 1, psaId: HD_NEW, psaLabel: "New", scope: HELP_DESK },
  { portalId: 3, psaId: HD_COMPLETED, psaLabel: "Completed", scope: HELP_DESK },
  { portalId: 1, psaId: S.new, psaLabel: "New", scope: NOC },
  { portalId: 7, psaId: S.inProgress, psaLabel: "In Progress", scope: NOC },
  { portalId: 2, psaId: S.waitingCustomer, psaLabel: "Waiting Customer", scope: NOC },
  { portalId: 3, psaId: S.resolved, psaLabel: "Resolved", scope: NOC },
  { portalId: 3, psaId: S.closed, psaLabel: "Closed", scope: NOC },
];
/** P0 ↔ Priority 2 - High (and Critical → P0), P1 ↔ Medium, P2 ↔ Low. */
const PRIORITY: MappingRowInput[] = [
  { portalId: 8, psaId: P.high, psaLabel: "Priority 2 - High" },
  { portalId: 8, psaId: P.critical, psaLabel: "Priority 1 - Critical" },
  { portalId: 9, psaId: P.medium, psaLabel: "Priority 3 - Medium" },
  { portalId: 10, psaId: P.low, psaLabel: "Priority 4 - Low" },
];

const device = (i: number, over: Partial<DeviceInput> = {}): DeviceInput => ({
  state: "managed",
  hostname: `CW-${i}`,
  serialNumber: `CWSN-${i}`,
  ...over,
});

interface CwTicketRec {
  id: number;
  summary: string;
  board: { id: number };
  status: { id: number };
  priority: { id: number };
  company: { id: number };
  externalXRef: string | null;
  _info: { lastUpdated: string };
}
interface CwNoteRec {
  id: number;
  ticketId: number;
  text: string;
  detailDescriptionFlag: boolean;
  internalAnalysisFlag: boolean;
  member?: { name?: string } | null;
}

/** Writes our clients sent (creates, JSON-Patches, deletes; a POST …/search is a read). */
const isWrite = (r: WireRequest) =>
  r.method === "PATCH" || r.method === "DELETE" || (r.method === "POST" && !r.path.endsWith("/search"));
const describeWrite = (r: WireRequest) => `${r.method} ${r.path.replace(/\/\d+/g, "/{id}")}`;

describe.each(STORES)("two-way ticket sync against the ConnectWise emulator on %s", (kind) => {
  let cw: CwSyncFixture;
  let app: App;
  let base = "";
  let hookUrl = "";
  let partnerId = 0;
  let clientA = 0;
  const dev: number[] = [];
  let nocToken = "";
  /** While set, the emulator's clock stands still (its stamps are to the second). */
  let frozen: Date | null = null;
  /** Portal writes the sync applied (origin "psa"), by kind. */
  const portalWrites = { createTicket: 0, updateTicket: 0, addNote: 0 };

  const services = () => cw.env.services;
  const portal = () => services().portal;
  const tickets = () => services().sync.tickets;
  const tenant = () => {
    const t = cw.f.emu.store.tenant(cw.f.emu.credentials.companyId);
    if (!t) throw new Error("no tenant");
    return t;
  };
  const cwTicket = (id: number) => tenant().get("tickets", id) as CwTicketRec | undefined;
  const cwNotes = (id: number) =>
    (tenant().rows("notes") as unknown as CwNoteRec[])
      .filter((n) => n.ticketId === id)
      .sort((a, b) => a.id - b.id);
  const cwLinks = (id: number) => tenant().ticketConfigurations.get(id) ?? [];
  /** Writes our clients sent since `from` (an index into the wire record). */
  const writesSince = (from: number) => cw.wire.slice(from).filter(isWrite).map(describeWrite);
  const portalWritesNow = () => ({ ...portalWrites });
  /** Callbacks delivered, then the worker drained. */
  const settle = async () => {
    await cw.admin("POST", "callbacks/flush");
    await tickets().notify(partnerId);
    await tickets().idle(partnerId);
  };
  const drain = () => tickets().notify(partnerId);
  const view = async (ticketId: number) =>
    (
      await app.inject({
        method: "GET",
        url: `/api/tickets/${ticketId}`,
        headers: { authorization: `Bearer ${nocToken}` },
      })
    ).json();
  const newPortalTicket = async (over: Record<string, unknown> = {}) =>
    portal().createTicket(SYSTEM_ACTOR, partnerId, {
      clientId: clientA,
      title: "Disk almost full",
      description: "C: at 92 %",
      statusId: 1,
      priorityId: 9,
      ...over,
    });
  const linkOf = async (ticketId: number) => (await tickets().view(ticketId)).ticketId;
  const linked = async (ticketId: number) => {
    const id = await linkOf(ticketId);
    if (id === null) throw new Error(`portal ticket ${ticketId} has no ConnectWise ticket`);
    return id;
  };
  const configOf = async (deviceId: number) =>
    (await services().sync.links.psaIds(partnerId, "device", [deviceId])).get(deviceId);
  const portalTicketTitled = async (title: string) =>
    (await portal().listTickets(SYSTEM_ACTOR, partnerId, { limit: 500 })).items.find(
      (x) => x.title === title,
    );
  /** A service ticket the technician creates on a board ("in ConnectWise"). */
  const techTicket = (body: Record<string, unknown>) =>
    cw.asTech<CwTicketRec>("POST", "service/tickets", {
      board: { id: NOC },
      company: { id: ACME },
      status: { id: S.new },
      priority: { id: P.medium },
      ...body,
    });
  const techPatch = (id: number, ops: Array<{ op: string; path: string; value?: unknown }>) =>
    cw.asTech("PATCH", `service/tickets/${id}`, ops);
  const techNote = (id: number, text: string, published: boolean) =>
    cw.asTech<CwNoteRec>("POST", `service/tickets/${id}/notes`, {
      text,
      ...(published ? { detailDescriptionFlag: true } : { internalAnalysisFlag: true }),
    });
  const inboxCount = async () =>
    Number(
      (
        await services()
          .db.kysely.selectFrom("ticket_inbox")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("partner_id", "=", partnerId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const post = (body: string, headers: Record<string, string>) =>
    fetch(hookUrl, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

  beforeAll(async () => {
    // A create held unanswered times out after 2 s (the emulator holds it longer).
    cw = await openCwSync(kind, {
      emulator: { now: () => frozen ?? new Date() },
      client: { requestTimeoutMs: 2_000 },
      services: { ticketRetry: { maxAttempts: 3, baseMs: 10 } },
    });
    app = await testApp(cw.env);
    await app.listen({ port: 0, host: "127.0.0.1" });
    const addr = app.server.address();
    base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    services().setListeningUrl(base);
    nocToken = (await portal().createUser(SYSTEM_ACTOR, { name: "NOC", role: "noc-admin" })).token;
    const p = await portal().createPartner(SYSTEM_ACTOR, { name: "CW ticket VAR" });
    partnerId = p.id;
    hookUrl = `${base}/webhooks/connectwise/${partnerId}`;
    clientA = (
      await portal().createClient(SYSTEM_ACTOR, partnerId, {
        code: "CW1",
        name: "Acme Dental Group",
        psaCompanyId: ACME,
      })
    ).id;
    for (let i = 0; i < 3; i++) dev.push((await portal().createDevice(SYSTEM_ACTOR, clientA, device(i))).id);
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "status-forward", FORWARD);
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "status-reverse", REVERSE);
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "priority", PRIORITY);
    await portal().putIntegration(
      SYSTEM_ACTOR,
      partnerId,
      cwIntegration(cw.f, { ticketing: true, devices: true }),
    );
    await services().sync.settingsSaved(partnerId);
    await services().sync.ticketSetup(partnerId);
    const [onboarding] = (await services().sync.runs.list(partnerId, "assets")).items;
    expect((await services().sync.wait(onboarding!.id)).status).toBe("succeeded");
    // Count the portal writes the sync applies (origin "psa"); the calls go through unchanged.
    const origin = (a: unknown[]) => a[3] as { origin?: string } | undefined;
    const createTicket = portal().createTicket.bind(portal());
    vi.spyOn(portal(), "createTicket").mockImplementation((...a) => {
      if (origin(a)?.origin === "psa") portalWrites.createTicket++;
      return createTicket(...a);
    });
    const updateTicket = portal().updateTicket.bind(portal());
    vi.spyOn(portal(), "updateTicket").mockImplementation((...a) => {
      if (origin(a)?.origin === "psa") portalWrites.updateTicket++;
      return updateTicket(...a);
    });
    const addNote = portal().addNote.bind(portal());
    vi.spyOn(portal(), "addNote").mockImplementation((...a) => {
      if (origin(a)?.origin === "psa") portalWrites.addNote++;
      return addNote(...a);
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await app?.close();
    await cw?.close();
  });

  it("registers one callback entry for the NOC board at /webhooks/connectwise/<partnerId>, our own writes suppressed", async () => {
    const state = (
      await app.inject({
        method: "GET",
        url: `/api/partners/${partnerId}/webhooks`,
        headers: { authorization: `Bearer ${nocToken}` },
      })
    ).json();
    expect(state).toMatchObject({ mode: "webhooks", url: hookUrl, reason: null });
    const entries = tenant().rows("callbacks");
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      url: `${hookUrl}?recordId=`,
      type: "ticket",
      level: "board",
      objectId: NOC,
      inactiveFlag: false,
      isSelfSuppressedFlag: true,
      memberId: CW_IDS.apiMember,
    });
    expect((await tickets().registered(partnerId)).map((h) => h.psaWebhookId)).toEqual([entries[0]!.id]);
    // Unsigned, the delivery route answers 401 (it is the receiver, not a 404).
    expect((await post("{}", {})).status).toBe(401);
  });

  it("portal → ConnectWise: a service ticket on the NOC board with company, configuration, mapped status and priority, and the ref", async () => {
    const config = await configOf(dev[1]!);
    expect(config).toBeGreaterThan(0);
    const from = cw.wire.length;
    const t = await newPortalTicket({
      statusId: 7, // Work In Progress → In Progress (the NOC board's row, not the Help Desk's)
      priorityId: 8, // P0 → Priority 2 - High (the first row)
      alerts: [
        { deviceId: dev[1]!, message: "CPU 99 %" },
        { deviceId: dev[2]!, message: "CPU 97 %" },
      ],
    });
    await drain();
    const v = await view(t.id);
    expect(v.psa, JSON.stringify(await tickets().errors(partnerId))).toMatchObject({
      state: "synced",
      lastError: null,
    });
    const id = v.psa.ticketId as number;
    expect(v.psa.ticketNumber).toBe(String(id));
    expect(cwTicket(id)).toMatchObject({
      summary: "Disk almost full",
      board: { id: NOC },
      company: { id: ACME },
      status: { id: S.inProgress },
      priority: { id: P.high },
      type: { id: 1 },
      subType: { id: 1 },
      source: { id: 1 },
      externalXRef: `nocbridge:${t.id}`,
    });
    expect(cwLinks(id)).toEqual([config]);
    // The description is the ticket's first discussion note (its initial description).
    // Then where the ticket came from: its alerts (on one line: ConnectWise keeps line breaks as spaces).
    expect(cwNotes(id).map((n) => n.detailDescriptionFlag)).toEqual([true]);
    expect(cwNotes(id)[0]?.text).toMatch(
      /^C: at 92 % {2}--- Alerts from the NOC portal --- .* · CW-1 · CPU 99 % .* · CW-2 · CPU 97 %$/,
    );
    // One create, and the configuration link (a separate resource in ConnectWise).
    expect(writesSince(from)).toEqual(["POST service/tickets", "POST service/tickets/{id}/configurations"]);
  });

  it("statuses round-trip through the board-scoped tables: only the NOC board's rows are used, each edit one write", async () => {
    // New has a Help Desk row first; the NOC board's New is sent.
    const t = await newPortalTicket({ title: "Round trip", statusId: 1 });
    await drain();
    expect((await view(t.id)).psa, JSON.stringify(await tickets().errors(partnerId))).toMatchObject({
      state: "synced",
    });
    const id = await linked(t.id);
    expect(cwTicket(id)?.status.id).toBe(S.new);
    // ConnectWise → portal: Waiting Customer → On Hold.
    let p0 = portalWritesNow();
    await techPatch(id, [{ op: "replace", path: "status", value: { id: S.waitingCustomer } }]);
    await settle();
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).statusId).toBe(2);
    expect(portalWritesNow().updateTicket - p0.updateTicket).toBe(1);
    // Portal → ConnectWise: Handed Over to MSP → In Progress, one PATCH.
    let from = cw.wire.length;
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { statusId: 9 });
    await drain();
    expect(cwTicket(id)?.status.id).toBe(S.inProgress);
    expect(writesSince(from)).toEqual(["PATCH service/tickets/{id}"]);
    // ConnectWise → portal: Resolved → Closed.
    p0 = portalWritesNow();
    await techPatch(id, [{ op: "replace", path: "status", value: { id: S.resolved } }]);
    await settle();
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).statusId).toBe(3);
    expect(portalWritesNow().updateTicket - p0.updateTicket).toBe(1);
    // The portal reopens, then closes: New, then Closed — the NOC board's Closed, not the Help Desk's
    // Completed that comes first in the table — confirmed by reading it back.
    from = cw.wire.length;
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { statusId: 1 });
    await drain();
    expect(cwTicket(id)?.status.id).toBe(S.new);
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { statusId: 3 });
    await drain();
    expect(cwTicket(id)).toMatchObject({ status: { id: S.closed }, closedFlag: true });
    expect(writesSince(from)).toEqual(["PATCH service/tickets/{id}", "PATCH service/tickets/{id}"]);
    expect((await view(t.id)).psa).toMatchObject({ state: "synced", lastError: null });
    // Nothing echoes back: our own writes are not called back (self-suppressed), and a poll finds
    // nothing to write on either side.
    p0 = portalWritesNow();
    from = cw.wire.length;
    await services().sync.pollTickets(partnerId);
    await settle();
    expect(writesSince(from)).toEqual([]);
    expect(portalWritesNow()).toEqual(p0);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).statusId).toBe(3);
  });

  it("ConnectWise → portal by callback: a ticket the partner puts on the NOC board becomes a portal ticket for the mapped client and the configuration's device", async () => {
    const config = (await configOf(dev[0]!))!;
    const from = cw.wire.length;
    const p0 = portalWritesNow();
    const ct = await techTicket({
      summary: "Printer offline",
      initialDescription: "Partner escalates",
      status: { id: S.inProgress },
      priority: { id: P.critical },
    });
    // The configuration link is its own resource; the technician's next edit calls us again.
    await cw.asTech("POST", `service/tickets/${ct.id}/configurations`, { id: config });
    await techNote(ct.id, "Linked the printer", false);
    await settle();
    const found = await until(() => portalTicketTitled("Printer offline"), "the portal ticket");
    expect(found).toMatchObject({
      clientId: clientA,
      deviceId: dev[0],
      statusId: 7, // In Progress → Work In Progress
      priorityId: 8, // Critical → P0
      description: "Partner escalates",
    });
    expect((await view(found.id)).psa).toMatchObject({
      ticketId: ct.id,
      ticketNumber: String(ct.id),
      state: "synced",
    });
    expect(
      (await portal().listNotes(SYSTEM_ACTOR, found.id)).items.map((n) => [n.text, n.published]),
    ).toEqual([["Linked the printer", false]]);
    // Nothing goes back to ConnectWise, and the portal ticket was made once.
    expect(writesSince(from)).toEqual([]);
    expect(portalWritesNow().createTicket - p0.createTicket).toBe(1);
    const deliveries = (
      await cw.admin<{ deliveries: Array<{ url: string; outcome: string; attempts: number[] }> }>(
        "GET",
        "callbacks",
      )
    ).deliveries.filter((d) => d.url === `${hookUrl}?recordId=${ct.id}`);
    expect(deliveries.length).toBeGreaterThan(0);
    expect(deliveries.every((d) => d.outcome === "delivered" && d.attempts.at(-1) === 200)).toBe(true);
  });

  it("ConnectWise → portal: other boards are ignored even when a callback names them; callbacks dropped, polling by lastUpdated catches up", async () => {
    const other = await techTicket({
      summary: "Other board",
      board: { id: HELP_DESK },
      status: { id: HD_NEW },
    });
    await settle();
    await cw.admin("PUT", "faults", { callbackDrop: 1 });
    let dropped: number;
    try {
      const before = (await cw.admin<{ stats: { dropped: number } }>("GET", "callbacks")).stats.dropped;
      await techTicket({ summary: "Polled in", initialDescription: "no callback reached us" });
      await techPatch(other.id, [{ op: "replace", path: "summary", value: "Other board (renamed)" }]);
      await settle();
      dropped = (await cw.admin<{ stats: { dropped: number } }>("GET", "callbacks")).stats.dropped - before;
    } finally {
      await cw.admin("PUT", "faults", { callbackDrop: 0 });
    }
    expect(dropped).toBeGreaterThan(0);
    expect(await portalTicketTitled("Polled in")).toBeUndefined();
    await services().sync.pollTickets(partnerId);
    await tickets().idle(partnerId);
    expect(await portalTicketTitled("Polled in")).toMatchObject({
      clientId: clientA,
      statusId: 1,
      priorityId: 9,
      description: "no callback reached us",
    });
    expect(await portalTicketTitled("Other board")).toBeUndefined();
    expect(await portalTicketTitled("Other board (renamed)")).toBeUndefined();
  });

  it("edits both ways: one write on the other side per edit, and nothing echoes back", async () => {
    const t = await newPortalTicket({ title: "Echo" });
    await drain();
    const id = await linked(t.id);
    const from = cw.wire.length;
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { priorityId: 8 });
    await drain();
    expect(writesSince(from)).toEqual(["PATCH service/tickets/{id}"]);
    expect(cwTicket(id)?.priority.id).toBe(P.high);
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { title: "Echo (portal)" });
    await drain();
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { description: "more detail" });
    await drain();
    // The title is the ticket's summary, the description its first discussion note.
    expect(writesSince(from)).toEqual([
      "PATCH service/tickets/{id}",
      "PATCH service/tickets/{id}",
      "PATCH service/tickets/{id}/notes/{id}",
    ]);
    expect(cwTicket(id)?.summary).toBe("Echo (portal)");
    expect(cwNotes(id)[0]).toMatchObject({ text: "more detail", detailDescriptionFlag: true });
    const updatedAt = (await portal().getTicket(SYSTEM_ACTOR, t.id)).updatedAt;
    const p0 = portalWritesNow();
    await services().sync.pollTickets(partnerId); // sees our own writes (lastUpdated moved)
    await settle();
    expect(writesSince(from)).toHaveLength(3);
    expect(portalWritesNow()).toEqual(p0);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).updatedAt).toBe(updatedAt);

    // …and a ConnectWise edit is applied once, with no write back.
    const w = cw.wire.length;
    await techPatch(id, [
      { op: "replace", path: "summary", value: "Echo (renamed by partner)" },
      { op: "replace", path: "priority", value: { id: P.low } },
    ]);
    await settle();
    expect(await portal().getTicket(SYSTEM_ACTOR, t.id)).toMatchObject({
      title: "Echo (renamed by partner)",
      priorityId: 10,
    });
    expect(portalWritesNow().updateTicket - p0.updateTicket).toBe(1);
    await services().sync.pollTickets(partnerId);
    await settle();
    expect(writesSince(w)).toEqual([]);
    expect(portalWritesNow().updateTicket - p0.updateTicket).toBe(1);
    expect(cwTicket(id)).toMatchObject({ summary: "Echo (renamed by partner)", priority: { id: P.low } });
  });

  it("notes both ways — published ↔ discussion, internal ↔ internal flag — by callback, never copied back", async () => {
    const t = await newPortalTicket({ title: "Notes" });
    await drain();
    const id = await linked(t.id);
    const from = cw.wire.length;
    await portal().addNote(SYSTEM_ACTOR, t.id, { text: "Cleared temp files", published: true });
    await portal().addNote(SYSTEM_ACTOR, t.id, { text: "Internal: check the RAID", published: false });
    await drain();
    expect(writesSince(from)).toEqual(["POST service/tickets/{id}/notes", "POST service/tickets/{id}/notes"]);
    expect(
      cwNotes(id)
        .slice(1)
        .map((n) => [n.text, n.detailDescriptionFlag, n.internalAnalysisFlag]),
    ).toEqual([
      // Headed with the portal author (here the system actor): ConnectWise notes have no title.
      ["Note from system (NOC): Cleared temp files", true, false],
      ["Note from system (NOC): Internal: check the RAID", false, true],
    ]);
    // Written in ConnectWise: a note reaches us as a callback of its ticket (ConnectWise has no note
    // callbacks), with no poll.
    const p0 = portalWritesNow();
    await techNote(id, "Approved for tonight", true);
    await techNote(id, "Tech only: spare disk in van", false);
    await settle();
    const got = (await portal().listNotes(SYSTEM_ACTOR, t.id)).items;
    expect(got.map((n) => [n.text, n.published])).toEqual([
      ["Cleared temp files", true],
      ["Internal: check the RAID", false],
      ["Approved for tonight", true],
      ["Tech only: spare disk in van", false],
    ]);
    expect(got.find((n) => n.text === "Approved for tonight")?.author).toBe("Alice Smith");
    expect(portalWritesNow().addNote - p0.addNote).toBe(2);
    // Nothing is copied twice: another poll and drain add no note on either side.
    await services().sync.pollTickets(partnerId);
    await settle();
    expect((await portal().listNotes(SYSTEM_ACTOR, t.id)).total).toBe(4);
    expect(cwNotes(id)).toHaveLength(5); // the description and four notes
    expect(writesSince(from)).toHaveLength(2);
    expect(portalWritesNow().addNote - p0.addNote).toBe(2);
  });

  it("callbacks duplicated or reordered: each message is stored once, the ticket is read afresh, and the portal is written once", async () => {
    const t = await newPortalTicket({ title: "Faulty callbacks" });
    await drain();
    const id = await linked(t.id);
    const calls = async () =>
      (await cw.admin<{ stats: { duplicated: number; reordered: number } }>("GET", "callbacks")).stats;

    // Every message delivered twice.
    let c0 = await calls();
    let inbox = await inboxCount();
    let p0 = portalWritesNow();
    await cw.admin("PUT", "faults", { callbackDuplicate: 1 });
    try {
      await techPatch(id, [{ op: "replace", path: "summary", value: "Delivered twice" }]);
      await settle();
    } finally {
      await cw.admin("PUT", "faults", { callbackDuplicate: 0 });
    }
    expect((await calls()).duplicated - c0.duplicated).toBe(1);
    expect(await inboxCount()).toBe(inbox + 1);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).title).toBe("Delivered twice");
    expect(portalWritesNow().updateTicket - p0.updateTicket).toBe(1);

    // Two edits whose callbacks arrive in the opposite order: the later state wins, one portal write.
    c0 = await calls();
    inbox = await inboxCount();
    p0 = portalWritesNow();
    const from = cw.wire.length;
    await cw.admin("PUT", "faults", { callbackReorder: 1 });
    try {
      await techPatch(id, [{ op: "replace", path: "summary", value: "First edit" }]);
      await techPatch(id, [
        { op: "replace", path: "summary", value: "Second edit" },
        { op: "replace", path: "priority", value: { id: P.high } },
      ]);
      await settle();
    } finally {
      await cw.admin("PUT", "faults", { callbackReorder: 0 });
    }
    expect((await calls()).reordered - c0.reordered).toBeGreaterThan(0);
    expect(await inboxCount()).toBe(inbox + 2);
    expect(await portal().getTicket(SYSTEM_ACTOR, t.id)).toMatchObject({
      title: "Second edit",
      priorityId: 8,
    });
    expect(portalWritesNow().updateTicket - p0.updateTicket).toBe(1);
    expect(writesSince(from)).toEqual([]);
  });

  it("checks the callback's signature before anything else: unsigned, wrongly signed, tampered or foreign-keyed deliveries get 401 and store nothing", async () => {
    const t = await newPortalTicket({ title: "Hooked" });
    await drain();
    const id = await linked(t.id);
    const tn = tenant();
    const body = (over: Record<string, unknown> = {}) =>
      JSON.stringify({
        MessageId: `00000000-0000-4000-8000-${String(Date.now()).padStart(12, "0")}`,
        FromUrl: new URL(cw.f.emu.url).host,
        CompanyId: tn.companyId,
        MemberId: "asmith",
        Action: "updated",
        Type: "ticket",
        ID: id,
        Entity: JSON.stringify({ id, _info: { lastUpdated: new Date().toISOString() } }),
        Metadata: { key_url: cw.f.emu.callbacks.keyUrl(tn) },
        CallbackObjectRecId: 1,
        ...over,
      });
    // The technician renames it with callbacks off: only our forged deliveries could tell us.
    await cw.admin("PUT", "callbacks", { enabled: false });
    try {
      await techPatch(id, [{ op: "replace", path: "summary", value: "Hooked (renamed)" }]);
    } finally {
      await cw.admin("PUT", "callbacks", { enabled: true });
    }
    const before = await inboxCount();
    const good = body();
    const signed = (raw: string, key = tn.signingKey) => ({ "x-content-signature": signCallback(raw, key) });
    expect((await post(good, {})).status).toBe(401);
    expect((await post(good, signed(good, "not-the-signing-key"))).status).toBe(401);
    expect((await post(`${good} `, signed(good))).status).toBe(401);
    const foreign = body({
      Metadata: { key_url: "https://cw.attacker.example/v2025_1/system/callbackkey/index.rails?id=1" },
    });
    expect((await post(foreign, signed(foreign))).status).toBe(401);
    const otherCompany = body({ CompanyId: "someone-else" });
    expect((await post(otherCompany, signed(otherCompany))).status).toBe(401);
    // Signed the Autotask way instead: not this receiver's signature.
    expect((await post(good, { "x-hook-signature": "sha1=AAAA" })).status).toBe(401);
    expect(await inboxCount()).toBe(before);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).title).toBe("Hooked");
    // ConnectWise deliveries are not Autotask's: another system's route does not know this partner.
    expect(
      (
        await fetch(`${base}/webhooks/autotask/${partnerId}`, {
          method: "POST",
          body: good,
          headers: { "content-type": "application/json", ...signed(good) },
        })
      ).status,
    ).toBe(404);

    const ok1 = await post(good, signed(good));
    const ok2 = await post(good, signed(good));
    expect([ok1.status, ok2.status]).toEqual([200, 200]);
    expect(((await ok2.json()) as { duplicate: boolean }).duplicate).toBe(true);
    expect(await inboxCount()).toBe(before + 1);
    await until(
      async () => (await portal().getTicket(SYSTEM_ACTOR, t.id)).title === "Hooked (renamed)",
      "the callback's wake-up",
    );
  });

  it("a ticket moved off the NOC board stops syncing (seen by polling: board callbacks no longer fire) and resumes when it is back", async () => {
    const t = await newPortalTicket({ title: "Moving away" });
    await drain();
    const id = await linked(t.id);
    await techPatch(id, [
      { op: "replace", path: "board", value: { id: HELP_DESK } },
      { op: "replace", path: "status", value: { id: HD_NEW } },
      { op: "remove", path: "type" },
      { op: "remove", path: "subType" },
      { op: "replace", path: "summary", value: "Renamed elsewhere" },
    ]);
    await settle();
    expect((await view(t.id)).psa.state).toBe("synced"); // no callback for another board
    await services().sync.pollTickets(partnerId);
    await tickets().idle(partnerId);
    expect((await view(t.id)).psa.state).toBe("out-of-queue");
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).title).toBe("Moving away");
    expect((await portal().listNotes(SYSTEM_ACTOR, t.id)).items.map((n) => n.text)).toContain(
      `ConnectWise ticket ${id} was moved out of the NOC queue; it no longer syncs.`,
    );
    const from = cw.wire.length;
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { description: "edited while away" });
    await drain();
    expect(writesSince(from)).toEqual([]);

    await techPatch(id, [
      { op: "replace", path: "board", value: { id: NOC } },
      { op: "replace", path: "status", value: { id: S.inProgress } },
    ]);
    await settle();
    await until(async () => (await view(t.id)).psa.state === "synced", "back in sync");
    expect((await portal().listNotes(SYSTEM_ACTOR, t.id)).items.map((n) => n.text)).toContain(
      `ConnectWise ticket ${id} is back in the NOC queue; sync resumed.`,
    );
    expect(cwNotes(id)[0]?.text).toBe("edited while away");
  });

  it("waits out 429s for their Retry-After: each edit and note is applied once", async () => {
    const t = await newPortalTicket({ title: "Throttled" });
    await drain();
    const id = await linked(t.id);
    const client = cw.clients.at(-1)!;
    const c0 = client.stats();
    const before = await cw.stats();
    const from = cw.wire.length;
    await cw.admin("PUT", "faults", { seed: 8, share429: 0.5, retryAfterSeconds: 1, onlyWrites: true });
    try {
      await portal().updateTicket(SYSTEM_ACTOR, t.id, { title: "Throttled (edited)" });
      await drain();
      await portal().updateTicket(SYSTEM_ACTOR, t.id, { priorityId: 10 });
      await drain();
      await portal().addNote(SYSTEM_ACTOR, t.id, { text: "Throttled note", published: true });
      await drain();
    } finally {
      await cw.admin("PUT", "faults", { share429: 0, onlyWrites: false });
    }
    const after = await cw.stats();
    const refused = after.rejected.fault429 - before.rejected.fault429;
    expect(refused).toBeGreaterThan(0);
    const c1 = client.stats();
    expect(c1.rateLimited - c0.rateLimited).toBe(refused);
    expect(c1.throttledMs - c0.throttledMs).toBeGreaterThanOrEqual(1000 * refused);
    expect(cwTicket(id)).toMatchObject({ summary: "Throttled (edited)", priority: { id: P.low } });
    expect(cwNotes(id).filter((n) => n.text === "Note from system (NOC): Throttled note")).toHaveLength(1);
    // A refused request was not applied: the writes on the wire are one per edit, plus one resend per 429.
    const writes = writesSince(from);
    expect(writes.length).toBe(3 + refused);
    expect([...new Set(writes)]).toEqual(["PATCH service/tickets/{id}", "POST service/tickets/{id}/notes"]);
    const applied = opsDelta(before, after);
    expect(
      (applied["update service/tickets"] ?? 0) + (applied["create service/tickets/notes"] ?? 0) - refused,
    ).toBe(3);
    expect((await view(t.id)).psa).toMatchObject({ state: "synced", lastError: null });
  });

  it("a create that times out after being applied is looked up by its ref: exactly one service ticket", async () => {
    const client = cw.clients.at(-1)!;
    const c0 = client.stats();
    const before = await cw.stats();
    // Applied, then never answered: the connection is held past the client's timeout.
    await cw.admin("PUT", "faults", {
      shareTimeoutAfterApply: 1,
      onlyWrites: true,
      timeoutAfterMs: 10_000_000,
    });
    let t: Awaited<ReturnType<typeof newPortalTicket>>;
    try {
      t = await newPortalTicket({ title: "Lost answer" });
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
    const c1 = client.stats();
    expect(c1.timeouts - c0.timeouts).toBe(1);
    expect(c1.recoveredByLookup - c0.recoveredByLookup).toBe(1);
    const mine = (tenant().rows("tickets") as unknown as CwTicketRec[]).filter(
      (x) => x.externalXRef === `nocbridge:${t.id}`,
    );
    expect(mine).toHaveLength(1);
    expect(await linkOf(t.id)).toBe(mine[0]?.id);
    expect((await view(t.id)).psa).toMatchObject({ state: "synced", lastError: null });
    expect(
      (after.byOperation["create service/tickets"] ?? 0) -
        (before.byOperation["create service/tickets"] ?? 0),
    ).toBe(1);
  });

  it("a ticket of a ConnectWise company no client maps to is parked naming it, and a retry after mapping it succeeds", async () => {
    const ct = await techTicket({ summary: "Birch ticket", company: { id: BIRCH } });
    await settle();
    const err = await until(
      async () => (await tickets().errors(partnerId)).find((e) => e.psaTicketId === ct.id),
      "the parked error",
    );
    expect(err).toMatchObject({ code: "UNMAPPED_COMPANY", parked: true, attempts: 1 });
    expect(err.error).toMatch(
      new RegExp(`^ConnectWise ticket “Birch ticket” \\(${ct.id}\\) .* company (“[^”]+” \\()?${BIRCH}\\b`),
    );
    await portal().createClient(SYSTEM_ACTOR, partnerId, {
      code: "CW2",
      name: "Birch Logistics",
      psaCompanyId: BIRCH,
    });
    const retry = await app.inject({
      method: "POST",
      url: `/api/sync/errors/${err.id}/retry`,
      headers: { authorization: `Bearer ${nocToken}` },
    });
    expect(retry.statusCode).toBe(200);
    expect(retry.json().resolvedAt).not.toBeNull();
    expect(await portalTicketTitled("Birch ticket")).toBeDefined();
  });

  it("Validate checks the mapped statuses of the partner's board only, and the callback entry", async () => {
    const res = await app.inject({
      method: "POST",
      url: `/api/partners/${partnerId}/validate`,
      headers: { authorization: `Bearer ${nocToken}` },
    });
    expect(res.statusCode).toBe(200);
    const v = res.json() as { ok: boolean; checks: Array<{ name: string; ok: boolean; message: string }> };
    expect(
      v.checks.filter((c) => !c.ok),
      JSON.stringify(v.checks.filter((c) => !c.ok)),
    ).toEqual([]);
    expect(v.ok).toBe(true);
    const statusChecks = v.checks.filter((c) => c.name.startsWith("status:")).map((c) => c.name);
    expect(statusChecks.sort()).toEqual(
      [S.new, S.inProgress, S.waitingCustomer, S.resolved, S.closed].map((id) => `status:${id}`).sort(),
    );
    expect(v.checks.find((c) => c.name === "webhooks:registration")).toMatchObject({ ok: true });
  });

  it("a poll does not read a ticket again that a callback already synced at its (final) stamp", async () => {
    const t = await newPortalTicket({ title: "Polled once" });
    await drain();
    const id = await linked(t.id);
    await services().sync.pollTickets(partnerId);
    await tickets().idle(partnerId);
    // The technician's edit is stamped in a second long over when the callback's sync reads it.
    frozen = new Date(Date.now() - 10_000);
    try {
      await techPatch(id, [{ op: "replace", path: "summary", value: "Polled once (by callback)" }]);
      await settle();
    } finally {
      frozen = null;
    }
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).title).toBe("Polled once (by callback)");
    const from = cw.wire.length;
    await services().sync.pollTickets(partnerId);
    await tickets().idle(partnerId);
    const own = new RegExp(`^service/tickets/${id}(/|$)`);
    const polled = cw.wire.slice(from).map((r) => r.path);
    expect(polled).toContain("service/tickets"); // the poll's listing
    expect(polled.filter((p) => own.test(p))).toEqual([]); // no read of the ticket, its notes or CIs
  });

  it("an edit in the same second as the one a callback's sync read is not lost to a poll after that second", async () => {
    const t = await newPortalTicket({ title: "Same second, callback" });
    await drain();
    const id = await linked(t.id);
    frozen = new Date();
    try {
      await techPatch(id, [{ op: "replace", path: "summary", value: "Same second, callback (1)" }]);
      await settle(); // read while its second is not over
      expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).title).toBe("Same second, callback (1)");
      await cw.admin("PUT", "callbacks", { enabled: false });
      const stamp = cwTicket(id)!._info.lastUpdated;
      await techPatch(id, [{ op: "replace", path: "summary", value: "Same second, callback (2)" }]);
      expect(cwTicket(id)!._info.lastUpdated).toBe(stamp);
      // The poll comes once the stamp is final (its second and the settle window are over).
      await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(stamp) + 6_100 - Date.now())));
      await services().sync.pollTickets(partnerId);
      await tickets().idle(partnerId);
    } finally {
      frozen = null;
      await cw.admin("PUT", "callbacks", { enabled: true });
    }
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).title).toBe("Same second, callback (2)");
  });

  it("an edit stamped in the same second as one a poll already saw is not lost (ConnectWise stamps lastUpdated to the second)", async () => {
    const t = await newPortalTicket({ title: "Same second" });
    await drain();
    const id = await linked(t.id);
    const stamp = cwTicket(id)!._info.lastUpdated;
    frozen = new Date(Date.parse(stamp));
    await cw.admin("PUT", "callbacks", { enabled: false });
    try {
      await services().sync.pollTickets(partnerId); // sees the ticket at its stamp
      await tickets().idle(partnerId);
      await techPatch(id, [{ op: "replace", path: "summary", value: "Same second (edited)" }]);
      expect(cwTicket(id)!._info.lastUpdated).toBe(stamp);
      await services().sync.pollTickets(partnerId);
      await tickets().idle(partnerId);
    } finally {
      frozen = null;
      await cw.admin("PUT", "callbacks", { enabled: true });
    }
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).title).toBe("Same second (edited)");
  });
});
