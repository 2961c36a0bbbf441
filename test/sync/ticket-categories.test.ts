import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import {
  DEFAULT_CREDENTIALS,
  fastClient,
  startTestEmulator,
  type TestEmulator,
  tenant,
} from "../helpers/autotask.js";
import { openTestServices, STORES, type TestEnv, testApp } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

interface AtTicket {
  id: number;
  title: string;
  status: number;
  issueType: number | null;
  subIssueType: number | null;
  ticketCategory: number | null;
  source: number | null;
  dueDateTime: string | null;
  billingCodeID: number | null;
}
interface Check {
  name: string;
  ok: boolean;
  message: string;
  fix?: string;
  warning?: boolean;
}
type Creds = { username: string; secret: string; integrationCode: string };

/** The settings of a partner that has not chosen any ticket defaults yet. */
const TICKETING = {
  enabled: true,
  nocMayEnterTickets: true,
  username: DEFAULT_CREDENTIALS.username,
  secret: DEFAULT_CREDENTIALS.secret,
  integrationCode: DEFAULT_CREDENTIALS.integrationCode,
  queueId: DEMO_IDS.nocQueue,
  queueName: "NOC",
  billingCodeId: DEMO_IDS.remoteSupport,
  billingCodeName: "Remote Support",
};
const DEVICES = { enabled: false, productId: null, configurationItemTypeId: null, advanced: false };

describe.each(STORES)("ticket defaults, work types, note visibility and status gaps on %s", (kind) => {
  let env: TestEnv;
  let at: TestEmulator;
  let app: App;
  let partnerId = 0;
  let clientId = 0;
  let token = "";
  let tech: Creds;

  const portal = () => env.services.portal;
  const tickets = () => env.services.sync.tickets;
  const drain = () => tickets().notify(partnerId);
  const atGet = async (id: number) => (await at.api<{ item: AtTicket }>("GET", `Tickets/${id}`)).item;
  const call = async (method: "GET" | "PUT" | "POST", url: string, payload?: unknown) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });
  const putTicketing = async (over: Record<string, unknown>) => {
    const res = await call("PUT", `/api/partners/${partnerId}/integration`, {
      ticketing: { ...TICKETING, apiUrl: at.emu.baseUrl, ...over },
      devices: DEVICES,
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const validate = async () =>
    (await call("POST", `/api/partners/${partnerId}/validate`)).json() as { ok: boolean; checks: Check[] };
  const psa = async (ticketId: number) =>
    (await call("GET", `/api/tickets/${ticketId}`)).json().psa as {
      ticketId: number;
      state: string;
      warning: string | null;
      lastError: string | null;
    };
  const newTicket = (title: string, statusId = 1) =>
    portal().createTicket(SYSTEM_ACTOR, partnerId, {
      clientId,
      title,
      description: "C: at 92 %",
      statusId,
      priorityId: 9,
    });
  const atNotes = async (atId: number) =>
    (
      await at.api<{ items: Array<{ description: string; publish: number }> }>("POST", "TicketNotes/query", {
        filter: [{ op: "eq", field: "ticketID", value: atId }],
      })
    ).items;

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, {
      autotask: fastClient,
      ticketRetry: { maxAttempts: 2, baseMs: 10 },
      psaOrigins: [at.emu.url],
    });
    app = await testApp(env);
    await app.listen({ port: 0, host: "127.0.0.1" });
    const addr = app.server.address();
    env.services.setListeningUrl(`http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`);
    token = (await portal().createUser(SYSTEM_ACTOR, { name: "NOC", role: "noc-admin" })).token;
    tech = await at.admin<Creds>("POST", tenant("/actAs"), { resourceId: DEMO_IDS.technicians[0] });
    partnerId = (await portal().createPartner(SYSTEM_ACTOR, { name: "Category VAR" })).id;
    clientId = (
      await portal().createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT1",
        name: "Acme",
        psaCompanyId: DEMO_IDS.companies.AT1,
      })
    ).id;
    await putTicketing({});
    await env.services.sync.ticketSetup(partnerId);
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
    await at?.close();
  });

  it("a create the ticket category refuses is parked with Autotask's text; Validate names the missing fields; picking them lets it through", async () => {
    const t = await newTicket("Category refuses me");
    const parked = await until(async () => {
      await drain();
      return (await tickets().errors(partnerId)).find((e) => e.ticketId === t.id && e.parked);
    }, "the refused create parked");
    expect(parked.error).toContain('issueType is required for ticket category "NOC Monitoring"');
    expect((await psa(t.id)).state).toBe("error");

    const v = await validate();
    expect(v.ok).toBe(false);
    const missing = v.checks.filter((c) => c.name.startsWith("ticket-field:") && !c.ok);
    expect(missing.map((c) => c.name)).toEqual(["ticket-field:issueType", "ticket-field:subIssueType"]);
    expect(missing[0]?.message).toContain('Ticket category "NOC Monitoring" requires Issue Type');
    expect(missing[0]?.fix).toContain("Setup → Ticket defaults");
    expect(missing[0]?.fix).toContain("Ticket Categories → NOC Monitoring");

    // The settings offer the pick-lists to choose from; sub-issue types carry their issue type.
    const options = (await call("GET", `/api/partners/${partnerId}/psa/options`)).json();
    expect(options.issueTypes).toContainEqual({
      id: DEMO_IDS.issueType,
      label: "Monitoring Alert",
      isActive: true,
    });
    expect(options.subIssueTypes).toContainEqual({
      id: DEMO_IDS.subIssueType,
      label: "Availability",
      isActive: true,
      parentId: DEMO_IDS.issueType,
    });
    expect(options.ticketCategories.map((c: { label: string }) => c.label)).toContain("NOC Monitoring");
    expect(options.sources).toContainEqual({ id: -2, label: "Insourced", isActive: true });

    const saved = await putTicketing({
      issueTypeId: DEMO_IDS.issueType,
      subIssueTypeId: DEMO_IDS.subIssueType,
      dueDateOffsetHours: 4,
    });
    expect(saved.ticketing).toMatchObject({
      issueTypeId: DEMO_IDS.issueType,
      subIssueTypeId: DEMO_IDS.subIssueType,
      dueDateOffsetHours: 4,
      ticketCategoryId: null,
      internalNotePublish: 2,
    });
    const after = await validate();
    expect(after.checks.filter((c) => c.name.startsWith("ticket-field:")).every((c) => c.ok)).toBe(true);

    await tickets().retry(parked.id);
    const view = await psa(t.id);
    expect(view.state).toBe("synced");
    const a = await atGet(view.ticketId);
    expect(a).toMatchObject({
      issueType: DEMO_IDS.issueType,
      subIssueType: DEMO_IDS.subIssueType,
      ticketCategory: DEMO_IDS.categories.nocMonitoring,
      source: 6, // the category's default
    });
    expect(Date.parse(a.dueDateTime as string)).toBeGreaterThan(Date.now() + 3 * 3_600_000);
  });

  it("refuses a sub-issue type without its issue type, naming the field, and keeps omitted defaults", async () => {
    const bad = await call("PUT", `/api/partners/${partnerId}/integration`, {
      ticketing: { ...TICKETING, apiUrl: at.emu.baseUrl, issueTypeId: null },
      devices: DEVICES,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe("ticketing.subIssueTypeId");
    const kept = await putTicketing({ queueName: "NOC" });
    expect(kept.ticketing.issueTypeId).toBe(DEMO_IDS.issueType);
  });

  it("a billing code that is not a work type fails Validate and is not offered", async () => {
    await putTicketing({ billingCodeId: DEMO_IDS.internalTime, billingCodeName: "Internal Administration" });
    const v = await validate();
    const check = v.checks.find((c) => c.name === "billing-code");
    expect(check).toMatchObject({ ok: false });
    expect(check?.message).toContain("is not a work type");
    expect(check?.fix).toContain("Work Types tab");
    const options = (await call("GET", `/api/partners/${partnerId}/psa/options`)).json();
    const ids = options.billingCodes.map((b: { id: number }) => b.id);
    expect(ids).toContain(DEMO_IDS.remoteSupport);
    expect(ids).not.toContain(DEMO_IDS.internalTime);
    await putTicketing({});
    expect((await validate()).checks.find((c) => c.name === "billing-code")?.ok).toBe(true);
  });

  it("internal notes go out as 2, or as 4 when the partner chooses it; only 1 comes back as published", async () => {
    const t = await newTicket("Notes visibility");
    await portal().addNote(SYSTEM_ACTOR, t.id, { text: "Internal first", published: false });
    await portal().addNote(SYSTEM_ACTOR, t.id, { text: "For everyone", published: true });
    await drain();
    const atId = (await psa(t.id)).ticketId;
    await putTicketing({ internalNotePublish: 4 });
    await portal().addNote(SYSTEM_ACTOR, t.id, { text: "Internal, co-managed", published: false });
    await drain();
    expect((await atNotes(atId)).map((n) => [n.description, n.publish])).toEqual([
      ["Internal first", 2],
      ["For everyone", 1],
      ["Internal, co-managed", 4],
    ]);
    for (const [description, publish] of [
      ["Tech co-managed", 4],
      ["Tech all users", 1],
    ] as const)
      await at.api(
        "POST",
        `Tickets/${atId}/Notes`,
        { title: "Partner", description, noteType: 1, publish },
        tech,
      );
    await env.services.sync.pollTickets(partnerId);
    const notes = await until(async () => {
      const items = (await portal().listNotes(SYSTEM_ACTOR, t.id)).items;
      return items.some((n) => n.text.includes("Tech all users")) && items;
    }, "the Autotask notes");
    expect(notes.find((n) => n.text.includes("Tech co-managed"))?.published).toBe(false);
    expect(notes.find((n) => n.text.includes("Tech all users"))?.published).toBe(true);
    await putTicketing({ internalNotePublish: 2 });
  });

  it("a ticket closed in the portal completes in Autotask (Closed → Complete is a default row)", async () => {
    const rows = await portal().getMappings(SYSTEM_ACTOR, partnerId, "status-forward");
    expect(rows.find((r) => r.portalId === 3)).toMatchObject({ psaId: 5, psaLabel: "Complete" });
    const t = await newTicket("Close me in the portal");
    await drain();
    const atId = (await psa(t.id)).ticketId;
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { statusId: 3 });
    await drain();
    expect((await atGet(atId)).status).toBe(5);
    expect((await psa(t.id)).state).toBe("synced");
  });

  it("a status with no forward row keeps Autotask's status while the title and notes keep syncing, with a warning", async () => {
    const t = await newTicket("Gap ticket");
    await drain();
    const atId = (await psa(t.id)).ticketId;
    expect((await atGet(atId)).status).toBe(29);
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { statusId: 19, title: "Gap ticket (response due)" });
    await portal().addNote(SYSTEM_ACTOR, t.id, { text: "Still crossing", published: true });
    await drain();
    const a = await atGet(atId);
    expect(a).toMatchObject({ status: 29, title: "Gap ticket (response due)" });
    expect((await atNotes(atId)).map((n) => n.description)).toContain("Still crossing");
    const view = await psa(t.id);
    expect(view.state).toBe("synced");
    expect(view.warning).toContain(
      'portal status "Response due" (19) has no row in the forward status mapping table',
    );
    expect((await tickets().errors(partnerId)).filter((e) => e.ticketId === t.id)).toEqual([]);

    const v = await validate();
    const gaps = v.checks.find((c) => c.name === "coverage:portal-statuses");
    expect(gaps).toMatchObject({ ok: true, warning: true });
    expect(gaps?.message).toContain('"Response due" (19)');
    const atStatuses = v.checks.find((c) => c.name === "coverage:autotask-statuses");
    expect(atStatuses?.message).toContain('"In Progress" (8)');
    const atPriorities = v.checks.find((c) => c.name === "coverage:autotask-priorities");
    expect(atPriorities).toMatchObject({ ok: true });
  });
});
