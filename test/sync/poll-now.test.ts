import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import { POLL_TASK } from "../../src/sync/background.js";
import {
  demoTicketing,
  fastClient,
  startTestEmulator,
  type TestEmulator,
  tenant,
} from "../helpers/autotask.js";
import { openTestServices, STORES, type TestEnv, testApp } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

/**
 * "Poll now" (POST /api/partners/:id/sync/tickets/poll) queues the partner's poll job — the one the
 * workers keep, in the partner's serial ticket queue — and answers at once; the in-process jobs run it
 * here. No webhooks are registered (the server does not listen), so only a poll brings a PSA-side change.
 */
describe.each(STORES)("Poll now on %s", (kind) => {
  let env: TestEnv;
  let at: TestEmulator;
  let app: App;
  let partnerId = 0;
  let adminToken = "";
  let readOnlyToken = "";
  let otherAdminToken = "";
  /** Polls started, and (while set) what each waits for before it goes on. */
  const polls = { started: 0, hold: null as Promise<void> | null };

  const press = (token: string, id = partnerId) =>
    app.inject({
      method: "POST",
      url: `/api/partners/${id}/sync/tickets/poll`,
      headers: { authorization: `Bearer ${token}` },
    });
  /** The poll jobs by state ("queued", "running"). */
  const pollJobs = async () =>
    Object.fromEntries(
      (await env.services.sync.jobs.counts())
        .filter((c) => c.task === POLL_TASK)
        .map((c) => [c.state, c.count]),
    );
  const portalTicket = async (title: string) =>
    (await env.services.portal.listTickets(SYSTEM_ACTOR, partnerId, { limit: 500 })).items.find(
      (t) => t.title === title,
    );
  /** A ticket a technician puts into the NOC queue in Autotask. */
  const psaTicket = async (title: string) => {
    const tech = await at.admin<{ username: string; secret: string; integrationCode: string }>(
      "POST",
      tenant("/actAs"),
      { resourceId: DEMO_IDS.technicians[0] },
    );
    await at.api(
      "POST",
      "Tickets",
      {
        companyID: DEMO_IDS.companies.AT1,
        title,
        description: "Partner escalates",
        status: 30,
        priority: 4,
        queueID: DEMO_IDS.nocQueue,
        issueType: DEMO_IDS.issueType,
        subIssueType: DEMO_IDS.subIssueType,
      },
      tech,
    );
  };

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, { autotask: fastClient, psaOrigins: [at.emu.url] });
    app = await testApp(env);
    const portal = env.services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Poll VAR" })).id;
    await portal.createClient(SYSTEM_ACTOR, partnerId, {
      code: "AT1",
      name: "Acme",
      psaCompanyId: DEMO_IDS.companies.AT1,
    });
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl),
      devices: {
        enabled: false,
        productId: null,
        configurationItemTypeId: null,
        advanced: false,
        schedule: null,
      },
    });
    // The set-up after the save (webhooks refused: no public URL; the first poll) is done.
    await env.services.sync.ticketSetup(partnerId);
    const user = (role: "partner-admin" | "read-only", id: number) =>
      portal.createUser(SYSTEM_ACTOR, { name: `${role} ${id}`, role, partnerId: id });
    adminToken = (await user("partner-admin", partnerId)).token;
    readOnlyToken = (await user("read-only", partnerId)).token;
    const other = (await portal.createPartner(SYSTEM_ACTOR, { name: "Other VAR" })).id;
    otherAdminToken = (await user("partner-admin", other)).token;
    // Every poll, from a job or the heartbeat, goes through here.
    const tickets = env.services.sync.tickets;
    const poll = tickets.pollTickets.bind(tickets);
    vi.spyOn(tickets, "pollTickets").mockImplementation(async (id) => {
      polls.started++;
      if (polls.hold) await polls.hold;
      return poll(id);
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await app?.close();
    await env?.close();
    await at?.close();
  });

  it("queues the partner's poll (202); the poll runs and the ticket put into the NOC queue in Autotask appears in the portal", async () => {
    await psaTicket("Poll me");
    expect(await portalTicket("Poll me")).toBeUndefined();
    const before = polls.started;
    const res = await press(adminToken);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ queued: true });
    const found = await until(() => portalTicket("Poll me"), "the Autotask ticket in the portal");
    expect(found.title).toBe("Poll me");
    expect(polls.started).toBe(before + 1);
    await until(async () => Object.keys(await pollJobs()).length === 0, "no poll job left");
  });

  it("a press while a poll waits in the queue queues no second one", async () => {
    let release = () => {};
    polls.hold = new Promise<void>((r) => {
      release = r;
    });
    const before = polls.started;
    try {
      // The first press's poll runs (held); the next two wait behind it in the partner's queue, as one.
      expect((await press(adminToken)).statusCode).toBe(202);
      await until(async () => polls.started === before + 1, "the first poll running");
      expect((await press(adminToken)).statusCode).toBe(202);
      expect((await press(adminToken)).statusCode).toBe(202);
      expect(await pollJobs()).toEqual({ running: 1, queued: 1 });
      await psaTicket("Polled once more");
    } finally {
      polls.hold = null;
      release();
    }
    await until(() => portalTicket("Polled once more"), "the second poll's ticket in the portal");
    await until(async () => Object.keys(await pollJobs()).length === 0, "no poll job left");
    expect(polls.started).toBe(before + 2);
  });

  it("is refused to another partner's admin (404) and to a read-only user (403), and queues nothing", async () => {
    // Polls are held: a poll job queued by a refused press would stay, queued or running.
    let release = () => {};
    polls.hold = new Promise<void>((r) => {
      release = r;
    });
    try {
      const other = await press(otherAdminToken);
      expect(other.statusCode).toBe(404);
      const readOnly = await press(readOnlyToken);
      expect(readOnly.statusCode).toBe(403);
      expect(await pollJobs()).toEqual({});
      // The partner's own admin, for contrast: its press is there.
      expect((await press(adminToken)).statusCode).toBe(202);
      expect(Object.values(await pollJobs())).toEqual([1]);
    } finally {
      polls.hold = null;
      release();
    }
    await until(async () => Object.keys(await pollJobs()).length === 0, "no poll job left");
  });
});
