import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../src/demo/seed.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { openTestServices, STORES, type TestEnv } from "./helpers/services.js";

describe.each(STORES)("demo data on %s", (kind) => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await openTestServices(kind);
  });
  afterAll(async () => env?.close());

  it("creates clients AT1 and AT2 with about 50 devices in all three states, and tickets with alerts and notes", async () => {
    const portal = env.services.portal;
    const r = await seedDemo(portal, SYSTEM_ACTOR);
    expect(r.created).toBe(true);
    const clients = (await portal.listClients(SYSTEM_ACTOR, r.partner.id)).items;
    expect(clients.map((c) => c.code)).toEqual(["AT1", "AT2"]);
    const devices = [];
    for (const c of clients)
      devices.push(...(await portal.listDevices(SYSTEM_ACTOR, c.id, { limit: 500 })).items);
    expect(devices.length).toBeGreaterThanOrEqual(45);
    expect(devices.length).toBeLessThanOrEqual(60);
    expect(new Set(devices.map((d) => d.state))).toEqual(new Set(["managed", "discovered", "unmanaged"]));
    const managed = devices.filter((d) => d.state === "managed");
    expect(
      managed.every((d) => d.serialNumber !== "" && d.warrantyEndDate !== null && d.biosName !== ""),
    ).toBe(true);
    expect(new Set(devices.map((d) => d.hostname)).size).toBe(devices.length);

    const tickets = (await portal.listTickets(SYSTEM_ACTOR, r.partner.id, {})).items;
    expect(tickets.length).toBeGreaterThanOrEqual(3);
    const details = await Promise.all(tickets.map((t) => portal.getTicket(SYSTEM_ACTOR, t.id)));
    expect(details.some((t) => t.alerts.length > 1)).toBe(true);
    expect(details.some((t) => t.notes.some((n) => n.published) && t.notes.some((n) => !n.published))).toBe(
      true,
    );
  });

  it("is idempotent", async () => {
    const again = await seedDemo(env.services.portal, SYSTEM_ACTOR);
    expect(again.created).toBe(false);
    expect((await env.services.portal.listPartners(SYSTEM_ACTOR)).total).toBe(1);
  });
});

describe("nocbridge demo", () => {
  it("starts the emulators and the API with a demo partner wired to each: both validate, sync assets and send tickets", async () => {
    const { loadConfig } = await import("../src/config.js");
    const { startDemo } = await import("../src/demo/run.js");
    const { createLogger } = await import("../src/lib/logger.js");
    const { TEST_MASTER_KEY } = await import("./helpers/services.js");
    const config = loadConfig(
      { NOCBRIDGE_MASTER_KEY: TEST_MASTER_KEY, NOCBRIDGE_ADMIN_TOKEN: "nbt_demo-test-token", PORT: "0" },
      { databaseUrl: ":memory:", dataDir: "unused" },
    );
    const demo = await startDemo(config, { emulatorPort: 0, logger: createLogger("silent") });
    try {
      const headers = { authorization: "Bearer nbt_demo-test-token" };
      const p = demo.summary.partner.id;
      const runs = (await (
        await fetch(`${demo.server.url}/api/partners/${p}/sync-runs`, { headers })
      ).json()) as { items: Array<{ id: number; trigger: string }> };
      expect(runs.items[0]?.trigger).toBe("onboarding");
      const run = await demo.services.sync.wait(runs.items[0]!.id);
      expect(run.status).toBe("succeeded");
      expect(run.counts.created).toBeGreaterThan(30);
      expect(run.log.at(-1)).toBe("Integration completed.");
      const v = (await (
        await fetch(`${demo.server.url}/api/partners/${p}/validate`, { method: "POST", headers })
      ).json()) as { ok: boolean; checks: unknown[] };
      expect(v).toMatchObject({ ok: true });
      // Switching ticketing on sent the demo's open tickets to Autotask.
      await demo.services.sync.ticketSetup(p);
      await demo.services.sync.tickets.idle(p);
      const tickets = await demo.services.portal.listTickets(SYSTEM_ACTOR, p, {});
      for (const t of tickets.items)
        expect((await demo.services.sync.tickets.view(t.id)).state, t.title).toBe("synced");

      // The second partner, on the ConnectWise emulator (HTTPS with its self-signed certificate).
      const cw = demo.connectwise;
      const c = cw.summary.partner.id;
      expect(c).not.toBe(p);
      expect(cw.summary).toMatchObject({ created: true, clients: 2 });
      const tenant = cw.emulator.store.tenant(cw.emulator.credentials.companyId);
      if (!tenant) throw new Error("no ConnectWise tenant");
      const cwRuns = (await (
        await fetch(`${demo.server.url}/api/partners/${c}/sync-runs`, { headers })
      ).json()) as { items: Array<{ id: number; trigger: string }> };
      expect(cwRuns.items[0]?.trigger).toBe("onboarding");
      const onboarding = await demo.services.sync.wait(cwRuns.items[0]!.id);
      expect(onboarding.status, onboarding.log.join("\n")).toBe("succeeded");
      const cwValidation = (await (
        await fetch(`${demo.server.url}/api/partners/${c}/validate`, { method: "POST", headers })
      ).json()) as { ok: boolean; checks: Array<{ name: string; ok: boolean; message: string }> };
      expect(
        cwValidation.checks.filter((x) => !x.ok),
        JSON.stringify(cwValidation.checks),
      ).toEqual([]);
      expect(cwValidation.ok).toBe(true);
      // The onboarding asset sync made every managed and discovered device a configuration of its
      // client's company; a sync after it finds nothing to create.
      const configurations = tenant.rows("configurations");
      expect(onboarding.counts.created).toBeGreaterThan(10);
      expect(configurations).toHaveLength(onboarding.counts.created);
      expect(new Set(configurations.map((x) => (x["company"] as { id: number }).id))).toEqual(
        new Set([2, 3]),
      );
      const cwDevices = [];
      for (const client of (await demo.services.portal.listClients(SYSTEM_ACTOR, c)).items)
        cwDevices.push(
          ...(await demo.services.portal.listDevices(SYSTEM_ACTOR, client.id, { limit: 500 })).items,
        );
      expect(configurations).toHaveLength(cwDevices.filter((d) => d.state !== "unmanaged").length);
      const managed = cwDevices.find((d) => d.state === "managed");
      if (!managed) throw new Error("no managed device");
      const configuration = configurations.find((x) => x["name"] === managed.hostname);
      expect(configuration).toMatchObject({
        serialNumber: managed.serialNumber,
        activeFlag: true,
        type: { id: 1 },
        status: { id: 1 },
      });
      const again = (await (
        await fetch(`${demo.server.url}/api/partners/${c}/sync/assets`, { method: "POST", headers })
      ).json()) as { runId: number };
      const assets = await demo.services.sync.wait(again.runId);
      expect(assets.status, assets.log.join("\n")).toBe("succeeded");
      expect(assets.log.at(-1)).toBe("Integration completed.");
      expect(assets.counts.created).toBe(0);
      expect(tenant.rows("configurations")).toHaveLength(configurations.length);
      // Its tickets: the seeded ones, and one a technician raises in the portal, reach the NOC board.
      await demo.services.sync.ticketSetup(c);
      await demo.services.sync.tickets.idle(c);
      for (const t of (await demo.services.portal.listTickets(SYSTEM_ACTOR, c, {})).items)
        expect((await demo.services.sync.tickets.view(t.id)).state, t.title).toBe("synced");
      const hooks = (await (
        await fetch(`${demo.server.url}/api/partners/${c}/webhooks`, { headers })
      ).json()) as { mode: string; reason: string | null; webhooks: unknown[] };
      // ConnectWise calls back on the board's ticket changes (the demo allows http callbacks).
      expect(hooks).toMatchObject({ mode: "webhooks", reason: null, webhooks: [{ entity: "Ticket" }] });
      const raised = await fetch(`${demo.server.url}/api/partners/${c}/tickets`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({
          clientId: (await demo.services.portal.listClients(SYSTEM_ACTOR, c)).items[0]!.id,
          deviceId: managed.id,
          title: "Disk D: above 90 %",
          description: "Free space on D: fell below 10 %.",
          statusId: 1,
          priorityId: 9,
        }),
      });
      expect(raised.status).toBe(201);
      const portalTicket = (await raised.json()) as { id: number };
      await demo.services.sync.tickets.idle(c);
      const view = await demo.services.sync.tickets.view(portalTicket.id);
      expect(view.state).toBe("synced");
      const onBoard = tenant.get("tickets", view.ticketId as number);
      expect(onBoard).toMatchObject({
        summary: "Disk D: above 90 %",
        board: { id: 1 },
        status: { id: 1 },
        priority: { id: 2 },
        company: configuration?.["company"],
        externalXRef: `nocbridge:${portalTicket.id}`,
      });

      // The NOC technician of the demo signs in and works one queue of both partners' tickets, each
      // named by its PSA ticket number.
      const { DEMO_PASSWORD, NOC_TECH } = await import("../src/demo/run.js");
      const signIn = await fetch(`${demo.server.url}/api/session`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: NOC_TECH, password: DEMO_PASSWORD }),
      });
      expect(signIn.status).toBe(200);
      const session = (await signIn.json()) as {
        token: string;
        user: { role: string; partnerId: number | null };
      };
      expect(session.user).toMatchObject({ role: "technician", partnerId: null });
      const queue = (await (
        await fetch(`${demo.server.url}/api/tickets?limit=500`, {
          headers: { authorization: `Bearer ${session.token}` },
        })
      ).json()) as {
        total: number;
        items: Array<{ partnerId: number; psaSystem: string; psa: { ticketNumber: string | null } }>;
      };
      const all = (await demo.services.portal.listTickets(SYSTEM_ACTOR, p, {})).total;
      const allCw = (await demo.services.portal.listTickets(SYSTEM_ACTOR, c, {})).total;
      expect(queue.total).toBe(all + allCw);
      expect(new Set(queue.items.map((t) => t.partnerId))).toEqual(new Set([p, c]));
      for (const t of queue.items.filter((x) => x.partnerId === p)) {
        expect(t.psaSystem).toBe("autotask");
        expect(t.psa.ticketNumber).toMatch(/^T\d{8}\.\d{4}$/);
      }
      for (const t of queue.items.filter((x) => x.partnerId === c)) {
        expect(t.psaSystem).toBe("connectwise");
        expect(t.psa.ticketNumber).toMatch(/^\d+$/);
      }
    } finally {
      await demo.close();
    }
    // Two emulators, two onboarding syncs and two ticket pushes: more than the default on a busy machine.
  }, 120_000);
});
