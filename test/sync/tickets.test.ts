import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { DeviceInput } from "../../src/portal/service.js";
import type { IntegrationViewOf } from "../../src/portal/types.js";
import {
  demoTicketing,
  fastClient,
  startTestEmulator,
  type TestEmulator,
  tenant,
} from "../helpers/autotask.js";
import { openTestServices, STORES, type TestEnv, testApp } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

interface AtTicket {
  id: number;
  ticketNumber: string;
  title: string;
  description: string;
  status: number;
  priority: number;
  queueID: number;
  companyID: number;
  billingCodeID: number | null;
  configurationItemID: number | null;
  externalID: string | null;
}
type Creds = { username: string; secret: string; integrationCode: string };

/**
 * The client over real HTTP, except that while `refuse.close` is set a PATCH to status Complete (5)
 * arrives without its status — as when an Autotask workflow rule or a required field stops a close.
 */
const refuse = { close: false };
/** While set, runs right before our client sends a ticket update (an edit racing our write). */
const race: { beforeUpdate: (() => Promise<void>) | null } = { beforeUpdate: null };
function refusingCloses(creds: Parameters<typeof fastClient>[0]): ReturnType<typeof fastClient> {
  const api = fastClient(creds);
  const update = api.update.bind(api);
  api.update = async (entity, body, opts) => {
    if (race.beforeUpdate && entity === "Tickets") await race.beforeUpdate();
    if (refuse.close && entity === "Tickets" && body.status === 5) {
      const { status: _dropped, ...rest } = body;
      return update(entity, rest, opts);
    }
    return update(entity, body, opts);
  };
  return api;
}

const device = (i: number, over: Partial<DeviceInput> = {}): DeviceInput => ({
  state: "managed",
  hostname: `TK-${i}`,
  serialNumber: `TKSN-${i}`,
  ...over,
});

describe.each(STORES)("two-way ticket sync against the Autotask emulator on %s", (kind) => {
  let env: TestEnv;
  let at: TestEmulator;
  let app: App;
  let base = "";
  let partnerId = 0;
  let clientA = 0;
  let clientB = 0;
  const dev: number[] = [];
  let tech: Creds;
  let nocToken = "";

  const portal = () => env.services.portal;
  const tickets = () => env.services.sync.tickets;
  const drain = () => tickets().notify(partnerId);
  const atGet = async (id: number) => (await at.api<{ item: AtTicket }>("GET", `Tickets/${id}`)).item;
  const atWrites = async () => {
    const s = await at.stats();
    const ops = (s as unknown as { byOperation: Record<string, number> }).byOperation;
    return (ops["create Tickets"] ?? 0) + (ops["update Tickets"] ?? 0) + (ops["create TicketNotes"] ?? 0);
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
  const asTech = (method: string, path: string, body?: unknown) => at.api(method, path, body, tech);

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, {
      autotask: refusingCloses,
      ticketRetry: { maxAttempts: 3, baseMs: 10 },
      psaOrigins: [at.emu.url],
    });
    app = await testApp(env);
    await app.listen({ port: 0, host: "127.0.0.1" });
    const addr = app.server.address();
    base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    env.services.setListeningUrl(base);
    nocToken = (await portal().createUser(SYSTEM_ACTOR, { name: "NOC", role: "noc-admin" })).token;
    tech = await at.admin<Creds>("POST", tenant("/actAs"), { resourceId: DEMO_IDS.technicians[0] });

    const p = await portal().createPartner(SYSTEM_ACTOR, { name: "Ticket VAR" });
    partnerId = p.id;
    clientA = (
      await portal().createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT1",
        name: "Acme",
        psaCompanyId: DEMO_IDS.companies.AT1,
      })
    ).id;
    clientB = (
      await portal().createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT2",
        name: "Birch",
        psaCompanyId: DEMO_IDS.companies.AT2,
      })
    ).id;
    for (let i = 0; i < 3; i++) dev.push((await portal().createDevice(SYSTEM_ACTOR, clientA, device(i))).id);
    dev.push((await portal().createDevice(SYSTEM_ACTOR, clientB, device(9))).id);
    await portal().putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl),
      devices: {
        enabled: true,
        productId: DEMO_IDS.product,
        configurationItemTypeId: DEMO_IDS.ciType,
        advanced: true,
        schedule: null,
      },
    });
    await env.services.sync.ticketSetup(partnerId);
    const [onboarding] = (await env.services.sync.runs.list(partnerId, "assets")).items;
    await env.services.sync.wait(onboarding!.id);
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
    await at?.close();
  });

  it("registers signed TicketWebhook and TicketNoteWebhook with our API user excluded", async () => {
    const hooks = await env.services.sync.tickets.registered(partnerId);
    expect(hooks.map((h) => h.entity).sort()).toEqual(["Ticket", "TicketNote"]);
    const t = hooks.find((h) => h.entity === "Ticket")!;
    const wh = (await at.api<{ item: Record<string, unknown> }>("GET", `TicketWebhooks/${t.psaWebhookId}`))
      .item;
    expect(wh).toMatchObject({
      isActive: true,
      isReady: true,
      webhookUrl: `${base}/webhooks/autotask/${partnerId}`,
    });
    const excluded = await at.api<{ items: Array<{ resourceID: number }> }>(
      "GET",
      `TicketWebhooks/${t.psaWebhookId}/ExcludedResources`,
    );
    expect(excluded.items.map((e) => e.resourceID)).toEqual([DEMO_IDS.apiResource]);
    const fields = await at.api<{ items: unknown[] }>("GET", `TicketWebhooks/${t.psaWebhookId}/Fields`);
    expect(fields.items).toHaveLength(6);
  });

  it("registers its webhooks at /webhooks/autotask/<partnerId>, the route that receives them", async () => {
    const url = `${base}/webhooks/autotask/${partnerId}`;
    const state = (
      await app.inject({
        method: "GET",
        url: `/api/partners/${partnerId}/webhooks`,
        headers: { authorization: `Bearer ${nocToken}` },
      })
    ).json();
    expect(state).toMatchObject({ mode: "webhooks", url });
    for (const h of await env.services.sync.tickets.registered(partnerId)) {
      const root = h.entity === "Ticket" ? "TicketWebhooks" : "TicketNoteWebhooks";
      const wh = (await at.api<{ item: Record<string, unknown> }>("GET", `${root}/${h.psaWebhookId}`)).item;
      expect(wh).toMatchObject({ webhookUrl: url, deactivationUrl: `${url}/deactivated` });
    }
    // Unsigned, the delivery route answers 401 (it is the receiver, not a 404).
    expect((await fetch(url, { method: "POST", body: "{}" })).status).toBe(401);
  });

  it("offers the live Autotask pick-lists for the settings form and the mapping tables", async () => {
    const res = await app.inject({
      method: "GET",
      url: `/api/partners/${partnerId}/psa/options`,
      headers: { authorization: `Bearer ${nocToken}` },
    });
    expect(res.statusCode).toBe(200);
    const o = res.json();
    expect(o.queues).toContainEqual({ id: DEMO_IDS.nocQueue, label: "NOC", isActive: true });
    expect(o.billingCodes).toContainEqual({
      id: DEMO_IDS.remoteSupport,
      label: "Remote Support",
      isActive: true,
    });
    expect(o.products.map((p: { id: number }) => p.id)).toContain(DEMO_IDS.product);
    expect(o.configurationItemTypes.map((p: { id: number }) => p.id)).toContain(DEMO_IDS.ciType);
    expect(o.statuses).toContainEqual({ id: 30, label: "Assigned to NOC", isActive: true });
    expect(o.priorities).toContainEqual({ id: 4, label: "Critical", isActive: true });
  });

  it("portal → Autotask: NOC queue, allocation, company, the first alert's CI, mapped status and priority, externalID", async () => {
    const ci = (await env.services.sync.links.psaIds(partnerId, "device", [dev[1]!])).get(dev[1]!);
    expect(ci).toBeGreaterThan(0);
    const t = await newPortalTicket({
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
    const list = (
      await app.inject({
        method: "GET",
        url: `/api/partners/${partnerId}/tickets?limit=500`,
        headers: { authorization: `Bearer ${nocToken}` },
      })
    ).json();
    expect(list.items.find((x: { id: number }) => x.id === t.id).psa).toMatchObject({
      state: "synced",
      ticketId: v.psa.ticketId,
    });
    expect(v.devices.map((d: { id: number }) => d.id)).toEqual([dev[1], dev[2]]);
    const a = await atGet(v.psa.ticketId);
    expect(a).toMatchObject({
      queueID: DEMO_IDS.nocQueue,
      billingCodeID: DEMO_IDS.remoteSupport,
      companyID: DEMO_IDS.companies.AT1,
      configurationItemID: ci,
      status: 29, // New → Information (Figure 10)
      priority: 1, // P1 ← High (Figure 12)
      title: "Disk almost full",
      externalID: String(t.id),
    });
    // The description, then where the ticket came from: its alerts (test/sync/ticket-content.test.ts).
    expect(a.description).toMatch(
      /^C: at 92 %\n\n--- Alerts from the NOC portal ---\n.* · TK-1 · CPU 99 %\n.* · TK-2 · CPU 97 %$/,
    );
  });

  it("runs the seed's round trip: Handed Over to MSP → Action Required; Assigned to NOC → Response due; Complete → Closed", async () => {
    const t = await newPortalTicket({ title: "Maintenance window needed" });
    await drain();
    const atId = (await linkOf(t.id))!;
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { statusId: 9 });
    await drain();
    expect((await atGet(atId)).status).toBe(28);

    await asTech("PATCH", "Tickets", { id: atId, status: 30 }); // the partner approves
    await until(async () => (await portal().getTicket(SYSTEM_ACTOR, t.id)).statusId === 19, "Response due");
    await asTech("PATCH", "Tickets", { id: atId, status: 5 });
    await until(async () => (await portal().getTicket(SYSTEM_ACTOR, t.id)).statusId === 3, "Closed");
    expect((await atGet(atId)).status).toBe(5); // no echo wrote anything back
  });

  it("notes follow both ways with their visibility", async () => {
    const t = await newPortalTicket({ title: "Notes" });
    await drain();
    const atId = (await linkOf(t.id))!;
    await portal().addNote(SYSTEM_ACTOR, t.id, { text: "Cleared temp files", published: true });
    await portal().addNote(SYSTEM_ACTOR, t.id, { text: "Internal: check the RAID", published: false });
    await drain();
    const notes = await at.api<{ items: Array<{ description: string; publish: number }> }>(
      "POST",
      "TicketNotes/query",
      { filter: [{ op: "eq", field: "ticketID", value: atId }] },
    );
    expect(notes.items.map((n) => [n.description, n.publish])).toEqual([
      ["Cleared temp files", 1],
      ["Internal: check the RAID", 2],
    ]);
    await asTech("POST", `Tickets/${atId}/Notes`, {
      ticketID: atId,
      title: "Partner",
      description: "Approved for tonight",
      noteType: 1,
      publish: 1,
    });
    const got = await until(
      async () =>
        (await portal().listNotes(SYSTEM_ACTOR, t.id)).items.find((n) =>
          n.text.includes("Approved for tonight"),
        ),
      "the Autotask note",
    );
    expect(got.published).toBe(true);
    expect(got.author).toBe("Alex Morgan"); // the Autotask resource's name
    // Nothing is copied twice: another poll and drain add no note on either side.
    await env.services.sync.pollTickets(partnerId);
    expect((await portal().listNotes(SYSTEM_ACTOR, t.id)).total).toBe(3);
    expect(
      (
        await at.api<{ items: unknown[] }>("POST", "TicketNotes/query", {
          filter: [{ op: "eq", field: "ticketID", value: atId }],
        })
      ).items,
    ).toHaveLength(3);
  });

  it("Autotask → portal: a ticket put into the NOC queue becomes a portal ticket for the mapped client and the CI's device; other queues are ignored", async () => {
    const ci = (await env.services.sync.links.psaIds(partnerId, "device", [dev[0]!])).get(dev[0]!)!;
    const other = await asTech("POST", "Tickets", {
      companyID: DEMO_IDS.companies.AT1,
      title: "Other queue",
      status: 1,
      priority: 2,
      queueID: 29682833,
      issueType: DEMO_IDS.issueType,
      subIssueType: DEMO_IDS.subIssueType,
    });
    const { itemId } = (await asTech("POST", "Tickets", {
      companyID: DEMO_IDS.companies.AT1,
      title: "Printer offline",
      description: "Partner escalates",
      status: 30,
      priority: 4,
      queueID: DEMO_IDS.nocQueue,
      configurationItemID: ci,
      issueType: DEMO_IDS.issueType,
      subIssueType: DEMO_IDS.subIssueType,
    })) as { itemId: number };
    const found = await until(
      async () =>
        (await portal().listTickets(SYSTEM_ACTOR, partnerId, { limit: 500 })).items.find(
          (x) => x.title === "Printer offline",
        ),
      "the portal ticket",
    );
    expect(found).toMatchObject({
      clientId: clientA,
      deviceId: dev[0],
      statusId: 19,
      priorityId: 8,
      description: "Partner escalates",
    });
    expect((await view(found.id)).psa.ticketId).toBe(itemId);
    await env.services.sync.pollTickets(partnerId);
    const all = (await portal().listTickets(SYSTEM_ACTOR, partnerId, { limit: 500 })).items;
    expect(all.some((x) => x.title === "Other queue")).toBe(false);
    expect(other).toBeDefined();
  });

  it("a ticket moved out of the NOC queue stops syncing and the portal ticket says so", async () => {
    const t = await newPortalTicket({ title: "Moving away" });
    await drain();
    const atId = (await linkOf(t.id))!;
    await asTech("PATCH", "Tickets", { id: atId, queueID: 29682833, title: "Renamed elsewhere" });
    await until(async () => (await view(t.id)).psa.state === "out-of-queue", "out-of-queue");
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).title).toBe("Moving away");
    expect(
      (await portal().listNotes(SYSTEM_ACTOR, t.id)).items.some((n) =>
        n.text.includes("moved out of the NOC queue"),
      ),
    ).toBe(true);
  });

  it("an Autotask company no client maps to is parked as an error naming it, and a retry after mapping it succeeds", async () => {
    const { itemId } = (await asTech("POST", "Tickets", {
      companyID: DEMO_IDS.vendorCompany,
      title: "Vendor ticket",
      status: 30,
      priority: 2,
      queueID: DEMO_IDS.nocQueue,
      issueType: DEMO_IDS.issueType,
      subIssueType: DEMO_IDS.subIssueType,
    })) as { itemId: number };
    await env.services.sync.pollTickets(partnerId);
    const res = await app.inject({
      method: "GET",
      url: `/api/partners/${partnerId}/sync/errors`,
      headers: { authorization: `Bearer ${nocToken}` },
    });
    const err = (
      res.json().items as Array<{
        id: number;
        psaTicketId: number;
        error: string;
        parked: boolean;
        attempts: number;
      }>
    ).find((e) => e.psaTicketId === itemId)!;
    expect(err).toMatchObject({ parked: true, attempts: 1 });
    expect(err.error).toMatch(
      new RegExp(`“Vendor ticket” \\(T\\d{8}\\.\\d{4}\\).* company (“[^”]+” \\()?${DEMO_IDS.vendorCompany}`),
    );
    // Other tickets keep flowing meanwhile.
    const t = await newPortalTicket({ title: "Still flowing" });
    await drain();
    expect(await linkOf(t.id)).toBeGreaterThan(0);
    await portal().createClient(SYSTEM_ACTOR, partnerId, {
      code: "VND",
      name: "Vendor",
      psaCompanyId: DEMO_IDS.vendorCompany,
    });
    const retry = await app.inject({
      method: "POST",
      url: `/api/sync/errors/${err.id}/retry`,
      headers: { authorization: `Bearer ${nocToken}` },
    });
    expect(retry.statusCode).toBe(200);
    expect(retry.json().resolvedAt).not.toBeNull();
    const found = (await portal().listTickets(SYSTEM_ACTOR, partnerId, { limit: 500 })).items.find(
      (x) => x.title === "Vendor ticket",
    );
    expect(found).toBeDefined();
  });

  it("a status with no forward row leaves Autotask's status and warns; it is never guessed, and crosses once a row covers it", async () => {
    const t = await newPortalTicket({ title: "Response due ticket", statusId: 19 });
    await drain();
    const v = await view(t.id);
    expect(v.psa.state).toBe("synced");
    expect(v.psa.warning).toContain(
      'portal status "Response due" (19) has no row in the forward status mapping table',
    );
    // Created as portal New would be (New → Information).
    expect((await atGet(v.psa.ticketId)).status).toBe(29);
    await portal().addMapping(SYSTEM_ACTOR, partnerId, "status-forward", {
      portalId: 19,
      psaId: 8,
      psaLabel: "In Progress",
    });
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { title: "Response due ticket (edited)" });
    await drain();
    const after = await view(t.id);
    expect(after.psa).toMatchObject({ state: "synced", warning: null });
    expect(await atGet(after.psa.ticketId)).toMatchObject({
      status: 8,
      title: "Response due ticket (edited)",
    });
  });

  it("one edit causes one write on the other side, and our own writes coming back are not re-applied", async () => {
    const t = await newPortalTicket({ title: "Echo" });
    await drain();
    const atId = (await linkOf(t.id))!;
    const before = await atWrites();
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { priorityId: 10 });
    await drain();
    expect(await atWrites()).toBe(before + 1);
    expect((await atGet(atId)).priority).toBe(2);
    const updatedAt = (await portal().getTicket(SYSTEM_ACTOR, t.id)).updatedAt;
    await env.services.sync.pollTickets(partnerId); // sees our own write (lastActivityDate moved)
    expect(await atWrites()).toBe(before + 1);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).updatedAt).toBe(updatedAt);

    // …and an Autotask edit is applied once, with no write back.
    const w = await atWrites();
    await asTech("PATCH", "Tickets", { id: atId, title: "Echo (renamed by partner)" });
    await until(
      async () => (await portal().getTicket(SYSTEM_ACTOR, t.id)).title === "Echo (renamed by partner)",
      "the rename",
    );
    await env.services.sync.pollTickets(partnerId);
    expect(await atWrites()).toBe(w + 1); // the technician's own PATCH only
  });

  it("edits on both sides between two syncs: the later edit wins per field, and the resolution is logged on the ticket", async () => {
    const t = await newPortalTicket({ title: "Conflict", description: "original" });
    await drain();
    const atId = (await linkOf(t.id))!;
    tickets().pause(partnerId);
    await asTech("PATCH", "Tickets", { id: atId, title: "Title from Autotask", priority: 4 });
    await new Promise((r) => setTimeout(r, 15)); // the portal edit is later by source timestamp
    await portal().updateTicket(SYSTEM_ACTOR, t.id, {
      title: "Title from portal",
      description: "portal description",
    });
    await at.admin("POST", "/webhooks/flush");
    await tickets().resume(partnerId);
    const p = await portal().getTicket(SYSTEM_ACTOR, t.id);
    const a = await atGet(atId);
    expect(p.title).toBe("Title from portal");
    expect(a.title).toBe("Title from portal");
    expect(a.description).toBe("portal description"); // changed on one side only
    expect(p.priorityId).toBe(8); // Critical → P0, changed in Autotask only
    const log = (await portal().listNotes(SYSTEM_ACTOR, t.id)).items.find((n) =>
      n.text.startsWith("Sync conflict resolved"),
    );
    expect(log?.text).toContain("title");
    expect(log?.text).toContain("kept the portal value");
    expect(log?.published).toBe(false);
  });

  it("a lost webhook is caught by the poll", async () => {
    const t = await newPortalTicket({ title: "Lost hook" });
    await drain();
    const atId = (await linkOf(t.id))!;
    await at.admin("PUT", "/faults", { deliveryDrop: 1 });
    try {
      await asTech("PATCH", "Tickets", { id: atId, status: 28 });
      await at.admin("POST", "/webhooks/flush");
      expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).statusId).toBe(1);
      await env.services.sync.pollTickets(partnerId);
      expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).statusId).toBe(9);
    } finally {
      await at.admin("PUT", "/faults", { deliveryDrop: 0 });
    }
  });

  it("a poll does not read a ticket again that a webhook already synced at its stamp; an edit without a webhook still comes through", async () => {
    const t = await newPortalTicket({ title: "Polled once" });
    await drain();
    const atId = (await linkOf(t.id))!;
    const ops = async () =>
      ((await at.stats()) as unknown as { byOperation: Record<string, number> }).byOperation;
    // A poll first, so that only what happens next is new to the one after it (our own writes so far
    // moved stamps that this poll reads once).
    await env.services.sync.pollTickets(partnerId);
    await asTech("PATCH", "Tickets", { id: atId, title: "Polled once (by webhook)" });
    await until(
      async () => (await portal().getTicket(SYSTEM_ACTOR, t.id)).title === "Polled once (by webhook)",
      "the webhook's edit",
    );
    const before = await ops();
    await env.services.sync.pollTickets(partnerId);
    await tickets().idle(partnerId);
    const after = await ops();
    const delta = (op: string) => (after[op] ?? 0) - (before[op] ?? 0);
    expect(delta("query Tickets")).toBe(1); // the poll's listing
    expect(delta("get Tickets")).toBe(0); // no read of the ticket…
    expect(delta("query TicketNotes")).toBe(1); // …and one listing of new notes, for every ticket at once

    // An edit whose webhook is lost moves the stamp: the poll reads the ticket and applies it.
    await at.admin("PUT", "/faults", { deliveryDrop: 1 });
    try {
      await asTech("PATCH", "Tickets", { id: atId, priority: 4 });
      await at.admin("POST", "/webhooks/flush");
    } finally {
      await at.admin("PUT", "/faults", { deliveryDrop: 0 });
    }
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).priorityId).toBe(9);
    await env.services.sync.pollTickets(partnerId);
    await tickets().idle(partnerId);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).priorityId).toBe(8); // Critical → P0
  });

  it("a poll does not read a ticket again whose stamp only our own write moved; an edit racing that write still comes through", async () => {
    const t = await newPortalTicket({ title: "Own write" });
    await drain();
    const atId = (await linkOf(t.id))!;
    const ops = async () =>
      ((await at.stats()) as unknown as { byOperation: Record<string, number> }).byOperation;
    await env.services.sync.pollTickets(partnerId);
    await tickets().idle(partnerId);
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { title: "Own write (portal)" });
    await drain();
    expect((await atGet(atId)).title).toBe("Own write (portal)");
    const before = await ops();
    await env.services.sync.pollTickets(partnerId);
    await tickets().idle(partnerId);
    const after = await ops();
    expect((after["get Tickets"] ?? 0) - (before["get Tickets"] ?? 0)).toBe(0);

    // The technician edits another field between our read and our write, and its webhook is lost: the
    // ticket no longer holds what our sync left, so the poll reads it.
    race.beforeUpdate = async () => {
      race.beforeUpdate = null;
      await at.admin("PUT", "/faults", { deliveryDrop: 1 });
      try {
        await asTech("PATCH", "Tickets", { id: atId, priority: 4 });
        await at.admin("POST", "/webhooks/flush");
      } finally {
        await at.admin("PUT", "/faults", { deliveryDrop: 0 });
      }
    };
    try {
      await portal().updateTicket(SYSTEM_ACTOR, t.id, { title: "Own write (raced)" });
      await drain();
    } finally {
      race.beforeUpdate = null;
    }
    expect((await atGet(atId)).priority).toBe(4);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).priorityId).toBe(9);
    await env.services.sync.pollTickets(partnerId);
    await tickets().idle(partnerId);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).priorityId).toBe(8); // Critical → P0
  });

  it("a note whose webhook was lost is still found by the poll when a webhook synced its ticket since", async () => {
    const t = await newPortalTicket({ title: "Lost note hook" });
    await drain();
    const atId = (await linkOf(t.id))!;
    await env.services.sync.pollTickets(partnerId);
    await at.admin("PUT", "/faults", { deliveryDrop: 1 });
    try {
      await asTech("POST", `Tickets/${atId}/Notes`, {
        ticketID: atId,
        title: "Partner",
        description: "Note whose webhook was lost",
        noteType: 1,
        publish: 1,
      });
      await at.admin("POST", "/webhooks/flush");
    } finally {
      await at.admin("PUT", "/faults", { deliveryDrop: 0 });
    }
    // The ticket's own webhook syncs it (its notes are not read for a ticket event) at the stamp the
    // note moved too.
    await asTech("PATCH", "Tickets", { id: atId, title: "Lost note hook (edited)" });
    await until(
      async () => (await portal().getTicket(SYSTEM_ACTOR, t.id)).title === "Lost note hook (edited)",
      "the webhook's edit",
    );
    const hasNote = async () =>
      (await portal().listNotes(SYSTEM_ACTOR, t.id)).items.some((n) => n.text.includes("webhook was lost"));
    expect(await hasNote()).toBe(false);
    await env.services.sync.pollTickets(partnerId);
    await tickets().idle(partnerId);
    expect(await hasNote()).toBe(true);
  });

  it("creates are never duplicated under 429s, 500s and timeouts after apply", async () => {
    await at.admin("PUT", "/faults", {
      seed: 11,
      share429: 0.3,
      share500: 0.2,
      shareTimeoutAfterApply: 0.3,
      retryAfterSeconds: 0,
      onlyMethods: ["POST"],
      onlyEntities: ["Tickets"],
    });
    const made: number[] = [];
    try {
      for (let i = 0; i < 6; i++) made.push((await newPortalTicket({ title: `Faulty ${i}` })).id);
      for (let i = 0; i < 10 && (await Promise.all(made.map(linkOf))).some((x) => !x); i++) {
        await drain();
        for (const e of await tickets().errors(partnerId))
          if (e.ticketId !== null && made.includes(e.ticketId)) await tickets().retry(e.id);
      }
    } finally {
      await at.admin("PUT", "/faults", {
        share429: 0,
        share500: 0,
        shareTimeoutAfterApply: 0,
        onlyMethods: null,
        onlyEntities: null,
      });
    }
    for (const id of made) {
      const found = await at.api<{ items: AtTicket[] }>("POST", "Tickets/query", {
        filter: [{ op: "eq", field: "externalID", value: String(id) }],
      });
      expect(found.items, `portal ticket ${id}`).toHaveLength(1);
      expect(await linkOf(id)).toBe(found.items[0]!.id);
    }
  });

  it("checks the signature before anything else: missing or wrong → 401, oversized → 413, bad JSON → 400; nothing stored", async () => {
    const url = `${base}/webhooks/autotask/${partnerId}`;
    const count = async () =>
      (
        await env.services.db.kysely
          .selectFrom("ticket_inbox")
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n;
    const before = Number(await count());
    const body = JSON.stringify({
      Action: "Update",
      Guid: "x",
      EntityType: "Ticket",
      Id: 1,
      Fields: {},
      EventTime: "",
      SequenceNumber: 1,
      PersonID: 1,
    });
    const post = (b: string | Buffer, headers: Record<string, string>) =>
      fetch(url, { method: "POST", body: b, headers: { "content-type": "application/json", ...headers } });
    expect((await post(body, {})).status).toBe(401);
    expect(
      (
        await post(body, {
          "x-hook-signature": `sha1=${createHmac("sha1", "wrong").update(body).digest("base64")}`,
        })
      ).status,
    ).toBe(401);
    expect((await post(Buffer.alloc(300 * 1024, 32), { "x-hook-signature": "sha1=AAAA" })).status).toBe(413);
    // A signature made with the real secret over malformed JSON: 400.
    const rows = await env.services.db.kysely
      .selectFrom("psa_webhooks")
      .select("secret_sealed")
      .where("partner_id", "=", partnerId)
      .execute();
    const secret = env.services.box.decrypt(rows[0]!.secret_sealed, partnerId, "webhook-secret");
    const sign = (b: string) => `sha1=${createHmac("sha1", secret).update(b).digest("base64")}`;
    expect((await post("{oops", { "x-hook-signature": sign("{oops") })).status).toBe(400);
    expect(Number(await count())).toBe(before);
    // A valid delivery is stored once, however often it comes.
    const ok1 = await post(body, { "x-hook-signature": sign(body) });
    const ok2 = await post(body, { "x-hook-signature": sign(body) });
    expect([ok1.status, ok2.status]).toEqual([200, 200]);
    expect(((await ok2.json()) as { duplicate: boolean }).duplicate).toBe(true);
    expect(Number(await count())).toBe(before + 1);
  });

  it("confirms a close by reading the ticket back, and reports a close Autotask refused", async () => {
    // Closed → Complete is a default forward row.
    const t = await newPortalTicket({ title: "Close me" });
    await drain();
    const atId = (await linkOf(t.id))!;
    refuse.close = true;
    try {
      await portal().updateTicket(SYSTEM_ACTOR, t.id, { statusId: 3 });
      await drain();
      const v = await view(t.id);
      expect(v.psa.state).toBe("error");
      expect(v.psa.lastError).toMatch(
        /^Autotask did not close “Close me” \(T\d{8}\.\d{4}\): its status is Information \(29\) after writing Complete \(5\)$/,
      );
      expect((await atGet(atId)).status).toBe(29);
    } finally {
      refuse.close = false;
    }
    const err = (await tickets().errors(partnerId)).find((e) => e.ticketId === t.id)!;
    expect(err).toMatchObject({ code: "CLOSE_REFUSED", parked: true });
    await tickets().retry(err.id);
    expect((await atGet(atId)).status).toBe(5);
    expect((await view(t.id)).psa.state).toBe("synced");
  });

  it("applies several queued edits of one ticket in order, ending at the last one", async () => {
    const t = await newPortalTicket({ title: "v0" });
    await drain();
    const atId = (await linkOf(t.id))!;
    tickets().pause(partnerId);
    for (const title of ["v1", "v2", "v3"]) await portal().updateTicket(SYSTEM_ACTOR, t.id, { title });
    const w = await atWrites();
    await tickets().resume(partnerId);
    expect((await atGet(atId)).title).toBe("v3");
    // The three queued events of one ticket are one lane: read the current state once, write once.
    expect(await atWrites()).toBe(w + 1);
  });

  it("shows the report of devices and alerts per ticket", async () => {
    const res = await app.inject({
      method: "GET",
      url: `/api/partners/${partnerId}/reports/ticket-devices`,
      headers: { authorization: `Bearer ${nocToken}` },
    });
    const withAlerts = (
      res.json().items as Array<{ alerts: unknown[]; devices: Array<{ id: number; primary: boolean }> }>
    ).find((r) => r.alerts.length === 2)!;
    expect(withAlerts.devices.map((d) => [d.id, d.primary])).toEqual([
      [dev[1], true],
      [dev[2], false],
    ]);
  });

  it("reports mapping drift: a mapped status renamed or removed in Autotask", async () => {
    await at.admin("PATCH", tenant("/statuses/30"), { label: "Assigned to NOC (renamed)" });
    await at.admin("DELETE", tenant("/statuses/29"));
    await env.services.sync.pollTickets(partnerId);
    const res = await app.inject({
      method: "GET",
      url: `/api/partners/${partnerId}/mappings/drift`,
      headers: { authorization: `Bearer ${nocToken}` },
    });
    const msgs = (res.json().items as Array<{ message: string }>).map((d) => d.message);
    expect(msgs).toContain(
      'Autotask status 30 was renamed from "Assigned to NOC" to "Assigned to NOC (renamed)" (status-reverse table)',
    );
    expect(
      msgs.some((m) => m.startsWith('Autotask status "Information" (29)') && m.endsWith("no longer exists")),
    ).toBe(true);
    // …and the Validate checklist names them too.
    const v = (
      await app.inject({
        method: "POST",
        url: `/api/partners/${partnerId}/validate`,
        headers: { authorization: `Bearer ${nocToken}` },
      })
    ).json();
    expect(v.ok).toBe(false);
    const failed = (v.checks as Array<{ ok: boolean; message: string }>)
      .filter((c) => !c.ok)
      .map((c) => c.message);
    expect(failed).toContain(
      'Autotask status 30 was renamed from "Assigned to NOC" to "Assigned to NOC (renamed)" (status-reverse table)',
    );
    expect(failed.some((m) => m.includes("Ticket status 29") && m.includes("does not exist"))).toBe(true);
  });

  it("removes its webhooks from Autotask when ticket integration is switched off", async () => {
    const hooks = await env.services.sync.tickets.registered(partnerId);
    expect(hooks).toHaveLength(2);
    const current = (await portal().getIntegration(SYSTEM_ACTOR, partnerId)) as IntegrationViewOf<"autotask">;
    await portal().putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: { ...current.ticketing, enabled: false, secret: "********" },
      devices: current.devices,
    });
    await env.services.sync.ticketSetup(partnerId);
    expect(await env.services.sync.tickets.registered(partnerId)).toEqual([]);
    for (const h of hooks) {
      const root = h.entity === "Ticket" ? "TicketWebhooks" : "TicketNoteWebhooks";
      expect((await at.api<{ item: unknown }>("GET", `${root}/${h.psaWebhookId}`)).item).toBeNull();
    }
  });
});
