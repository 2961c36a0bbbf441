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
  it("starts the emulator and the API with the demo partner wired to it, and the onboarding sync succeeds", async () => {
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
      const tickets = await demo.services.portal.listTickets(
        (await import("../src/portal/access.js")).SYSTEM_ACTOR,
        p,
        {},
      );
      for (const t of tickets.items)
        expect((await demo.services.sync.tickets.view(t.id)).state, t.title).toBe("synced");
    } finally {
      await demo.close();
    }
  });
});
