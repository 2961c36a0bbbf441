import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { DeviceInput } from "../../src/portal/service.js";
import type { IntegrationInput } from "../../src/portal/types.js";
import { openTestServices, STORES, type TestEnv, testApp } from "../helpers/services.js";
import { until } from "../helpers/wait.js";
import { type FakeConnector, fakeConnector } from "../psa/fake/connector.js";
import {
  COMPANY_WITH_ASSETS,
  COMPANY_WITHOUT_ASSETS,
  type FakeTenant,
  NOC_QUEUE,
  OTHER_QUEUE,
  PRIORITY_HIGH,
  PRIORITY_MEDIUM,
  STATUS_COMPLETE,
  STATUS_IN_PROGRESS,
  STATUS_NEW,
} from "../psa/fake/psa.js";
import { API_AUTHOR } from "../psa/fake/tickets.js";
import { fakeDelivery, signFake } from "../psa/fake/webhooks.js";

/**
 * Two-way ticket reconcile (src/sync/tickets/) against the fake connector (test/psa/fake/): what
 * test/sync/tickets.test.ts proves over the Autotask emulator, through the seam alone. The fake does
 * not deliver webhooks by itself: the test signs and posts them as the fake PSA would.
 */

const device = (i: number, over: Partial<DeviceInput> = {}): DeviceInput => ({
  state: "managed",
  hostname: `FK-${i}`,
  serialNumber: `FKSN-${i}`,
  ...over,
});

/** Every request the tenant answers, by operation: a spy on the fake, not a change to it. */
function recordOps(tenant: FakeTenant): string[] {
  const ops: string[] = [];
  const request = tenant.request.bind(tenant);
  tenant.request = (creds, op, fn) => {
    ops.push(op);
    return request(creds, op, fn);
  };
  return ops;
}

const WRITES = new Set(["tickets.create", "tickets.update", "notes.create"]);

/** The partner's mapping tables in the fake's values (portal ids: catalog.ts). */
const FORWARD = [
  { portalId: 1, psaId: STATUS_NEW, psaLabel: "New" },
  { portalId: 18, psaId: STATUS_NEW, psaLabel: "New" },
  { portalId: 7, psaId: STATUS_IN_PROGRESS, psaLabel: "In Progress" },
  { portalId: 9, psaId: STATUS_IN_PROGRESS, psaLabel: "In Progress" },
  { portalId: 3, psaId: STATUS_COMPLETE, psaLabel: "Complete" },
];
const REVERSE = [
  { portalId: 1, psaId: STATUS_NEW, psaLabel: "New" },
  { portalId: 7, psaId: STATUS_IN_PROGRESS, psaLabel: "In Progress" },
  { portalId: 3, psaId: STATUS_COMPLETE, psaLabel: "Complete" },
];
/** P0 ↔ High, P1 ↔ Medium; P2 and the fake's Low have no row until a test adds one. */
const PRIORITY = [
  { portalId: 8, psaId: PRIORITY_HIGH, psaLabel: "High" },
  { portalId: 9, psaId: PRIORITY_MEDIUM, psaLabel: "Medium" },
];

describe.each(STORES)("two-way ticket sync against the fake connector on %s", (kind) => {
  let env: TestEnv;
  let app: App;
  let fake: FakeConnector;
  let tenant: FakeTenant;
  let ops: string[] = [];
  let base = "";
  let hookUrl = "";
  let partnerId = 0;
  let clientA = 0;
  const dev: number[] = [];
  let nocToken = "";

  const portal = () => env.services.portal;
  const tickets = () => env.services.sync.tickets;
  const drain = () => tickets().notify(partnerId);
  const writesSince = (from: number) => ops.slice(from).filter((op) => WRITES.has(op));
  const settings = (over: { enabled?: boolean } = {}): IntegrationInput => {
    const s = fake.settings(partnerId, { advanced: true });
    return {
      ticketing: {
        ...s.ticketing,
        enabled: over.enabled ?? true,
        nocMayEnterTickets: true,
        secret: tenant.secret,
      },
      devices: { ...s.devices, enabled: true, advanced: true, schedule: null },
    } as unknown as IntegrationInput;
  };
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
    if (id === null) throw new Error(`portal ticket ${ticketId} has no FakePSA ticket`);
    return id;
  };
  const assetOf = async (deviceId: number) =>
    (await env.services.sync.links.psaIds(partnerId, "device", [deviceId])).get(deviceId);
  const portalTicketTitled = async (title: string) =>
    (await portal().listTickets(SYSTEM_ACTOR, partnerId, { limit: 500 })).items.find(
      (x) => x.title === title,
    );
  const hookSecret = () => {
    const hook = tenant.webhooks().find((w) => w.url === hookUrl);
    if (!hook) throw new Error("no FakePSA subscription at the webhook URL");
    return hook.secret;
  };
  const post = (body: string | Buffer, headers: Record<string, string>, url = hookUrl) =>
    fetch(url, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
  /** A delivery as the fake PSA makes it: its event, signed with the subscription's secret. */
  const deliver = async (event: Record<string, unknown>) => {
    const raw = Buffer.from(JSON.stringify(event));
    const res = await post(raw, signFake(raw, hookSecret()));
    expect(res.status).toBe(200);
  };
  const ticketChanged = (id: number) => deliver(fakeDelivery("ticket.changed", id));
  const inboxCount = async () =>
    Number(
      (
        await env.services.db.kysely
          .selectFrom("ticket_inbox")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("partner_id", "=", partnerId)
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    fake = fakeConnector();
    env = await openTestServices(kind, {
      connectors: [fake],
      ticketRetry: { maxAttempts: 3, baseMs: 10 },
    });
    app = await testApp(env);
    await app.listen({ port: 0, host: "127.0.0.1" });
    const addr = app.server.address();
    base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    env.services.setListeningUrl(base);
    nocToken = (await portal().createUser(SYSTEM_ACTOR, { name: "NOC", role: "noc-admin" })).token;

    const p = await portal().createPartner(SYSTEM_ACTOR, { name: "Fake ticket VAR" });
    partnerId = p.id;
    hookUrl = `${base}/webhooks/fake/${partnerId}`;
    tenant = fake.tenant(partnerId);
    ops = recordOps(tenant);
    clientA = (
      await portal().createClient(SYSTEM_ACTOR, partnerId, {
        code: "FK1",
        name: "Acme",
        psaCompanyId: COMPANY_WITH_ASSETS,
      })
    ).id;
    for (let i = 0; i < 3; i++) dev.push((await portal().createDevice(SYSTEM_ACTOR, clientA, device(i))).id);
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "status-forward", FORWARD);
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "status-reverse", REVERSE);
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "priority", PRIORITY);
    await portal().putIntegration(SYSTEM_ACTOR, partnerId, settings());
    await env.services.sync.settingsSaved(partnerId);
    await env.services.sync.ticketSetup(partnerId);
    const [onboarding] = (await env.services.sync.runs.list(partnerId, "assets")).items;
    expect((await env.services.sync.wait(onboarding!.id)).status).toBe("succeeded");
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  it("registers its subscriptions at /webhooks/fake/<partnerId>, the route that receives them", async () => {
    const state = (
      await app.inject({
        method: "GET",
        url: `/api/partners/${partnerId}/webhooks`,
        headers: { authorization: `Bearer ${nocToken}` },
      })
    ).json();
    expect(state).toMatchObject({ mode: "webhooks", url: hookUrl, reason: null });
    const subs = tenant.webhooks();
    expect(subs.map((w) => [w.entity, w.url, w.active])).toEqual([
      ["Ticket", hookUrl, true],
      ["TicketNote", hookUrl, true],
    ]);
    expect((await tickets().registered(partnerId)).map((h) => h.psaWebhookId).sort((a, b) => a - b)).toEqual(
      subs.map((w) => w.id).sort((a, b) => a - b),
    );
    // Unsigned, the delivery route answers 401 (it is the receiver, not a 404).
    expect((await fetch(hookUrl, { method: "POST", body: "{}" })).status).toBe(401);
  });

  it("portal → FakePSA: NOC queue, company, the first alert's asset, mapped status and priority, externalRef", async () => {
    const asset = await assetOf(dev[1]!);
    expect(asset).toBeGreaterThan(0);
    const before = ops.length;
    const t = await newPortalTicket({
      statusId: 7, // Work In Progress → In Progress
      priorityId: 8, // P0 → High
      alerts: [
        { deviceId: dev[1]!, message: "CPU 99 %" },
        { deviceId: dev[2]!, message: "CPU 97 %" },
      ],
    });
    await drain();
    const v = await view(t.id);
    expect(v.psa).toMatchObject({
      state: "synced",
      ticketNumber: expect.stringMatching(/^T\d{8}\.\d{4}$/),
      lastError: null,
    });
    expect(v.devices.map((d: { id: number }) => d.id)).toEqual([dev[1], dev[2]]);
    expect(tenant.ticket(v.psa.ticketId)).toMatchObject({
      queueId: NOC_QUEUE,
      companyId: COMPANY_WITH_ASSETS,
      assetId: asset,
      status: STATUS_IN_PROGRESS,
      priority: PRIORITY_HIGH,
      title: "Disk almost full",
      externalRef: String(t.id),
    });
    // The description, then the ticket's alerts (docs/ticket-content.md).
    expect(tenant.ticket(v.psa.ticketId)?.description).toMatch(
      /^C: at 92 %\n\n--- Alerts from the NOC portal ---\n.* · CPU 99 %\n.* · CPU 97 %$/,
    );
    expect(writesSince(before)).toEqual(["tickets.create"]);
  });

  it("FakePSA → portal by webhook: a ticket added in the NOC queue becomes a portal ticket for the mapped client and the asset's device", async () => {
    const asset = (await assetOf(dev[0]!))!;
    const pt = tenant.addTicket({
      companyId: COMPANY_WITH_ASSETS,
      title: "Printer offline",
      description: "Partner escalates",
      status: STATUS_IN_PROGRESS,
      priority: PRIORITY_HIGH,
      queueId: NOC_QUEUE,
      assetId: asset,
    });
    const before = ops.length;
    await ticketChanged(pt.id);
    const found = await until(() => portalTicketTitled("Printer offline"), "the portal ticket");
    expect(found).toMatchObject({
      clientId: clientA,
      deviceId: dev[0],
      statusId: 7,
      priorityId: 8,
      description: "Partner escalates",
    });
    expect((await view(found.id)).psa).toMatchObject({
      ticketId: pt.id,
      ticketNumber: pt.number,
      state: "synced",
    });
    expect(writesSince(before)).toEqual([]);
  });

  it("FakePSA → portal by poll: NOC-queue tickets come over, other queues are ignored even when a webhook names them", async () => {
    const other = tenant.addTicket({
      companyId: COMPANY_WITH_ASSETS,
      title: "Other queue",
      queueId: OTHER_QUEUE,
    });
    tenant.addTicket({ companyId: COMPANY_WITH_ASSETS, title: "Polled in", queueId: NOC_QUEUE });
    await ticketChanged(other.id);
    await env.services.sync.pollTickets(partnerId);
    await tickets().idle(partnerId);
    expect(await portalTicketTitled("Polled in")).toMatchObject({
      clientId: clientA,
      statusId: 1,
      priorityId: 9,
    });
    expect(await portalTicketTitled("Other queue")).toBeUndefined();
  });

  it("one edit causes one write on the other side, and our own writes coming back are not re-applied", async () => {
    const t = await newPortalTicket({ title: "Echo" });
    await drain();
    const psaId = await linked(t.id);
    const before = ops.length;
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { priorityId: 8 });
    await drain();
    expect(writesSince(before)).toEqual(["tickets.update"]);
    expect(tenant.ticket(psaId)?.priority).toBe(PRIORITY_HIGH);
    const updatedAt = (await portal().getTicket(SYSTEM_ACTOR, t.id)).updatedAt;
    await env.services.sync.pollTickets(partnerId); // sees our own write (lastActivity moved)
    await ticketChanged(psaId);
    await drain();
    expect(writesSince(before)).toEqual(["tickets.update"]);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).updatedAt).toBe(updatedAt);

    // …and a FakePSA edit is applied once, with no write back.
    const w = ops.length;
    tenant.editTicket(psaId, { title: "Echo (renamed by partner)", status: STATUS_COMPLETE });
    await ticketChanged(psaId);
    await until(
      async () => (await portal().getTicket(SYSTEM_ACTOR, t.id)).title === "Echo (renamed by partner)",
      "the rename",
    );
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).statusId).toBe(3); // Complete → Closed
    await env.services.sync.pollTickets(partnerId);
    await tickets().idle(partnerId);
    expect(writesSince(w)).toEqual([]);
    expect(tenant.ticket(psaId)?.title).toBe("Echo (renamed by partner)");
  });

  it("edits on both sides between two syncs: the later edit wins per field, with one write, and the resolution is noted", async () => {
    const t = await newPortalTicket({ title: "Conflict", description: "original" });
    await drain();
    const psaId = await linked(t.id);
    tickets().pause(partnerId);
    tenant.editTicket(psaId, { title: "Title from FakePSA", priority: PRIORITY_HIGH });
    await new Promise((r) => setTimeout(r, 15)); // the portal edit is later by source timestamp
    await portal().updateTicket(SYSTEM_ACTOR, t.id, {
      title: "Title from portal",
      description: "portal description",
    });
    await ticketChanged(psaId);
    const before = ops.length;
    await tickets().resume(partnerId);
    const p = await portal().getTicket(SYSTEM_ACTOR, t.id);
    const f = tenant.ticket(psaId)!;
    expect(p.title).toBe("Title from portal");
    expect(f.title).toBe("Title from portal");
    expect(f.description).toBe("portal description"); // changed on one side only
    expect(p.priorityId).toBe(8); // High → P0, changed in FakePSA only
    expect(writesSince(before)).toEqual(["tickets.update"]);
    const log = (await portal().listNotes(SYSTEM_ACTOR, t.id)).items.find((n) =>
      n.text.startsWith("Sync conflict resolved"),
    );
    expect(log?.text).toContain("title");
    expect(log?.text).toContain("kept the portal value");
    expect(log?.published).toBe(false);
    expect(tenant.notes(psaId)).toEqual([]); // the engine's own note stays in the portal

    // The other way round: the FakePSA edit is the later one and wins.
    tickets().pause(partnerId);
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { title: "Portal again" });
    await new Promise((r) => setTimeout(r, 15));
    tenant.editTicket(psaId, { title: "FakePSA later" });
    await ticketChanged(psaId);
    const w = ops.length;
    await tickets().resume(partnerId);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).title).toBe("FakePSA later");
    expect(tenant.ticket(psaId)?.title).toBe("FakePSA later");
    expect(writesSince(w)).toEqual([]);
    const notes = (await portal().listNotes(SYSTEM_ACTOR, t.id)).items.filter((n) =>
      n.text.startsWith("Sync conflict resolved"),
    );
    expect(notes.some((n) => n.text.includes("kept the FakePSA value"))).toBe(true);
  });

  it("notes follow both ways, published ↔ public and internal ↔ internal, and are never copied back", async () => {
    const t = await newPortalTicket({ title: "Notes" });
    await drain();
    const psaId = await linked(t.id);
    await portal().addNote(SYSTEM_ACTOR, t.id, { text: "Cleared temp files", published: true });
    await portal().addNote(SYSTEM_ACTOR, t.id, { text: "Internal: check the RAID", published: false });
    await drain();
    expect(tenant.notes(psaId).map((n) => [n.text, n.published, n.author])).toEqual([
      ["Cleared temp files", true, API_AUTHOR],
      ["Internal: check the RAID", false, API_AUTHOR],
    ]);
    const pub = tenant.addNote(psaId, { text: "Approved for tonight", published: true });
    const internal = tenant.addNote(psaId, { text: "Tech only: spare disk in van", published: false });
    await deliver(fakeDelivery("note.created", pub.id, psaId));
    // A note event that does not name its ticket: the engine asks the PSA.
    await deliver(fakeDelivery("note.created", internal.id));
    const got = await until(async () => {
      const items = (await portal().listNotes(SYSTEM_ACTOR, t.id)).items;
      return items.length === 4 ? items : null;
    }, "the FakePSA notes");
    expect(got.find((n) => n.text === "Approved for tonight")).toMatchObject({
      published: true,
      author: "Jane Technician",
    });
    expect(got.find((n) => n.text === "Tech only: spare disk in van")).toMatchObject({ published: false });
    // Nothing is copied twice: another poll and drain add no note on either side.
    const before = ops.length;
    await env.services.sync.pollTickets(partnerId);
    await tickets().idle(partnerId);
    expect((await portal().listNotes(SYSTEM_ACTOR, t.id)).total).toBe(4);
    expect(tenant.notes(psaId)).toHaveLength(4);
    expect(writesSince(before)).toEqual([]);
  });

  it("a ticket moved out of the NOC queue stops syncing and the portal ticket says so; back in, it resumes", async () => {
    const t = await newPortalTicket({ title: "Moving away" });
    await drain();
    const psaId = await linked(t.id);
    const number = tenant.ticket(psaId)!.number;
    tenant.editTicket(psaId, { queueId: OTHER_QUEUE, title: "Renamed elsewhere" });
    await ticketChanged(psaId);
    await until(async () => (await view(t.id)).psa.state === "out-of-queue", "out-of-queue");
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).title).toBe("Moving away");
    expect((await portal().listNotes(SYSTEM_ACTOR, t.id)).items.map((n) => n.text)).toContain(
      `FakePSA ticket ${number} was moved out of the NOC queue; it no longer syncs.`,
    );
    // A portal edit no longer crosses.
    const before = ops.length;
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { description: "edited while away" });
    await drain();
    expect(writesSince(before)).toEqual([]);
    expect(tenant.ticket(psaId)?.description).toBe("C: at 92 %");

    tenant.editTicket(psaId, { queueId: NOC_QUEUE });
    await ticketChanged(psaId);
    await until(async () => (await view(t.id)).psa.state === "synced", "back in sync");
    expect((await portal().listNotes(SYSTEM_ACTOR, t.id)).items.map((n) => n.text)).toContain(
      `FakePSA ticket ${number} is back in the NOC queue; sync resumed.`,
    );
    // The link is back in sync before the reconcile writes the fields: let that drain finish.
    await tickets().idle(partnerId);
    expect(
      tenant.ticket(psaId)?.description,
      JSON.stringify([await tickets().errors(partnerId, true), await view(t.id)]),
    ).toBe("edited while away");
  });

  it("an ambiguous create is resolved by the externalRef lookup, never duplicated", async () => {
    const refs = (id: number) => tenant.tickets().filter((x) => x.externalRef === String(id));
    // The create is carried out, its answer lost: the connector looks it up before it would resend.
    tenant.failNext({ code: "TIMEOUT", on: "tickets.create", applied: true });
    const before = ops.length;
    const a = await newPortalTicket({ title: "Lost answer" });
    await drain();
    expect(refs(a.id)).toHaveLength(1);
    expect(await linkOf(a.id)).toBe(refs(a.id)[0]?.id);
    expect(ops.slice(before).filter((op) => op === "tickets.create")).toHaveLength(1);

    // The lookup fails as well: the lane waits, and the engine's retry finds the ticket by its
    // externalRef before it would create again.
    tenant.failNext({ code: "TIMEOUT", on: "tickets.create", applied: true });
    tenant.failNext({ code: "SERVER", on: "tickets.query" });
    const w = ops.length;
    const b = await newPortalTicket({ title: "Lost answer, lost lookup" });
    await until(async () => {
      await drain();
      const id = await linkOf(b.id);
      if (id === null) await new Promise((r) => setTimeout(r, 20)); // the lane's backoff
      return id;
    }, "the retried lane");
    expect(refs(b.id)).toHaveLength(1);
    expect(await linkOf(b.id)).toBe(refs(b.id)[0]?.id);
    expect(ops.slice(w).filter((op) => op === "tickets.create")).toHaveLength(1);
    expect((await view(b.id)).psa.state).toBe("synced");
    // The lane did fail once (the lost answer, retryable) and was resolved by its retry.
    const failed = (await tickets().errors(partnerId, true)).filter((e) => e.ticketId === b.id);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ code: "TIMEOUT", parked: false, resolvedAt: expect.any(String) });
  });

  it("a missing mapping row parks the ticket, others keep flowing, and a retry after adding the row succeeds", async () => {
    const t = await newPortalTicket({ title: "P2 ticket", priorityId: 10 });
    await drain();
    const err = (await tickets().errors(partnerId)).find((e) => e.ticketId === t.id)!;
    expect(err).toMatchObject({ code: "MAPPING", parked: true, attempts: 1 });
    expect(err.error).toContain('portal priority "P2" (10) has no row in the priority mapping table');
    expect((await view(t.id)).psa.state).toBe("error");
    expect(tenant.tickets().some((x) => x.externalRef === String(t.id))).toBe(false);
    // Other tickets keep flowing meanwhile.
    const other = await newPortalTicket({ title: "Still flowing" });
    await drain();
    expect(await linkOf(other.id)).toBeGreaterThan(0);

    await portal().addMapping(SYSTEM_ACTOR, partnerId, "priority", {
      portalId: 10,
      psaId: 3,
      psaLabel: "Low",
    });
    const retry = await app.inject({
      method: "POST",
      url: `/api/sync/errors/${err.id}/retry`,
      headers: { authorization: `Bearer ${nocToken}` },
    });
    expect(retry.statusCode).toBe(200);
    expect(retry.json().resolvedAt).not.toBeNull();
    expect(tenant.ticket(await linked(t.id))).toMatchObject({ priority: 3, externalRef: String(t.id) });
  });

  it("a FakePSA company no client maps to is parked naming it, and a retry after mapping it succeeds", async () => {
    const pt = tenant.addTicket({
      companyId: COMPANY_WITHOUT_ASSETS,
      title: "Globex ticket",
      queueId: NOC_QUEUE,
    });
    await ticketChanged(pt.id);
    const err = await until(
      async () => (await tickets().errors(partnerId)).find((e) => e.psaTicketId === pt.id),
      "the parked error",
    );
    expect(err).toMatchObject({ code: "UNMAPPED_COMPANY", parked: true, attempts: 1 });
    expect(err.error).toMatch(
      new RegExp(
        `“Globex ticket” \\(${pt.number.replace(".", "\\.")}\\).* company (“[^”]+” \\()?${COMPANY_WITHOUT_ASSETS}\\b`,
      ),
    );
    await portal().createClient(SYSTEM_ACTOR, partnerId, {
      code: "FK2",
      name: "Globex",
      psaCompanyId: COMPANY_WITHOUT_ASSETS,
    });
    const retry = await app.inject({
      method: "POST",
      url: `/api/sync/errors/${err.id}/retry`,
      headers: { authorization: `Bearer ${nocToken}` },
    });
    expect(retry.statusCode).toBe(200);
    expect(retry.json().resolvedAt).not.toBeNull();
    expect(await portalTicketTitled("Globex ticket")).toBeDefined();
  });

  it("a portal close completes the FakePSA ticket, confirmed by reading it back", async () => {
    const t = await newPortalTicket({ title: "Close me" });
    await drain();
    const psaId = await linked(t.id);
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { statusId: 3 });
    await drain();
    expect(tenant.ticket(psaId)?.status).toBe(STATUS_COMPLETE);
    expect((await view(t.id)).psa.state).toBe("synced");
  });

  it("offers the fake's live pick-lists, and reports mapping drift in the drift list and Validate", async () => {
    const headers = { authorization: `Bearer ${nocToken}` };
    const res = await app.inject({ method: "GET", url: `/api/partners/${partnerId}/psa/options`, headers });
    expect(res.statusCode).toBe(200);
    const o = res.json();
    expect(o.queues).toContainEqual({ id: NOC_QUEUE, label: "NOC", isActive: true });
    expect(o.statuses).toContainEqual({ id: STATUS_IN_PROGRESS, label: "In Progress", isActive: true });
    expect(o.priorities).toContainEqual({ id: PRIORITY_HIGH, label: "High", isActive: true });
    // In FakePSA, a mapped status is renamed and a mapped priority deactivated.
    const status = tenant.statuses.find((v) => v.id === STATUS_IN_PROGRESS)!;
    const priority = tenant.priorities.find((v) => v.id === PRIORITY_HIGH)!;
    status.label = "Working";
    priority.isActive = false;
    try {
      await env.services.sync.pollTickets(partnerId);
      const drift = (
        await app.inject({ method: "GET", url: `/api/partners/${partnerId}/mappings/drift`, headers })
      ).json();
      const msgs = (drift.items as Array<{ message: string }>).map((d) => d.message);
      const renamed = `FakePSA status ${STATUS_IN_PROGRESS} was renamed from "In Progress" to "Working" (status-reverse table)`;
      expect(msgs).toContain(renamed);
      expect(msgs).toContain(
        `FakePSA status ${STATUS_IN_PROGRESS} was renamed from "In Progress" to "Working" (status-forward table)`,
      );
      expect(msgs).toContain(
        `FakePSA priority "High" (${PRIORITY_HIGH}) used by the priority table is inactive`,
      );
      const v = (
        await app.inject({ method: "POST", url: `/api/partners/${partnerId}/validate`, headers })
      ).json();
      expect(v.ok).toBe(false);
      const failed = v.checks.filter((c: { ok: boolean }) => !c.ok) as Array<{
        name: string;
        message: string;
      }>;
      expect(failed.map((c) => c.message)).toContain(renamed);
      // The deactivated priority is named once, by the connector's own check, not again as drift.
      expect(failed.map((c) => c.name)).toContain(`priority:${PRIORITY_HIGH}`);
      expect(failed.map((c) => c.name)).not.toContain(`drift:priority:${PRIORITY_HIGH}`);
      // The ticket sync's own items follow the connector's: the webhooks are in place.
      const hooks = v.checks.find((c: { name: string }) => c.name === "webhooks");
      expect(hooks).toMatchObject({ ok: true });
      expect(hooks.warning).toBeUndefined();
    } finally {
      status.label = "In Progress";
      priority.isActive = true;
    }
    await env.services.sync.pollTickets(partnerId);
  });

  it("checks the fake's signature before anything else: missing or wrong → 401 and nothing stored; a signed delivery is stored once and wakes the sync", async () => {
    const t = await newPortalTicket({ title: "Hooked" });
    await drain();
    const psaId = await linked(t.id);
    tenant.editTicket(psaId, { title: "Hooked (renamed)" });
    const before = await inboxCount();
    const body = JSON.stringify(fakeDelivery("ticket.changed", psaId));
    expect((await post(body, {})).status).toBe(401);
    expect((await post(body, signFake(Buffer.from(body), "not-the-secret"))).status).toBe(401);
    // Signed by the Autotask scheme instead of the fake's: not this receiver's signature.
    expect((await post(body, { "x-hook-signature": "sha1=AAAA" })).status).toBe(401);
    expect((await post("{oops", signFake(Buffer.from("{oops"), hookSecret()))).status).toBe(400);
    expect(await inboxCount()).toBe(before);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).title).toBe("Hooked");
    // The fake partner's deliveries are not Autotask's: another system's route does not know it.
    expect(
      (await post(body, signFake(Buffer.from(body), hookSecret()), `${base}/webhooks/autotask/${partnerId}`))
        .status,
    ).toBe(404);

    const ok1 = await post(body, signFake(Buffer.from(body), hookSecret()));
    const ok2 = await post(body, signFake(Buffer.from(body), hookSecret()));
    expect([ok1.status, ok2.status]).toEqual([200, 200]);
    expect(((await ok2.json()) as { duplicate: boolean }).duplicate).toBe(true);
    expect(await inboxCount()).toBe(before + 1);
    await until(
      async () => (await portal().getTicket(SYSTEM_ACTOR, t.id)).title === "Hooked (renamed)",
      "the webhook's wake-up",
    );
  });

  it("removes its subscriptions from FakePSA when ticket integration is switched off, and pushes open tickets when it is on again", async () => {
    expect(await tickets().registered(partnerId)).toHaveLength(2);
    await portal().putIntegration(SYSTEM_ACTOR, partnerId, settings({ enabled: false }));
    await env.services.sync.ticketSetup(partnerId);
    expect(await tickets().registered(partnerId)).toEqual([]);
    expect(tenant.webhooks()).toEqual([]);

    // While off nothing crosses; switched on again, the open tickets made meanwhile are pushed.
    const before = ops.length;
    const t = await newPortalTicket({ title: "Made while off" });
    await drain();
    expect(writesSince(before)).toEqual([]);
    await portal().putIntegration(SYSTEM_ACTOR, partnerId, settings({ enabled: true }));
    await env.services.sync.ticketSetup(partnerId);
    await drain();
    expect(tenant.webhooks().map((w) => [w.entity, w.url])).toEqual([
      ["Ticket", hookUrl],
      ["TicketNote", hookUrl],
    ]);
    expect(tenant.ticket(await linked(t.id))).toMatchObject({ title: "Made while off", queueId: NOC_QUEUE });
  });
});
