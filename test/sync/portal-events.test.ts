import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import { demoTicketing, fastClient, startTestEmulator, type TestEmulator } from "../helpers/autotask.js";
import { openTestServices, STORES, type TestEnv, testApp } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

const devicesOn = {
  enabled: true,
  productId: DEMO_IDS.product,
  configurationItemTypeId: DEMO_IDS.ciType,
  advanced: false,
  schedule: null,
};
const devicesOff = { ...devicesOn, enabled: false };

/**
 * The portal tells the sync engine of changes only through the rows it writes (integration_events,
 * ticket_outbox); the in-process wake-up saves the engine a wait and nothing more.
 */
describe.each(STORES)("portal → engine through rows on %s", (kind) => {
  let at: TestEmulator;
  let env: TestEnv;
  let app: App;

  const portal = () => env.services.portal;
  const k = () => env.services.db.kysely;
  const events = (partnerId: number) =>
    k()
      .selectFrom("integration_events")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .orderBy("id")
      .execute();
  const outbox = (partnerId: number) =>
    k().selectFrom("ticket_outbox").selectAll().where("partner_id", "=", partnerId).orderBy("id").execute();
  const partnerWithClient = async (name: string) => {
    const partnerId = (await portal().createPartner(SYSTEM_ACTOR, { name })).id;
    const clientId = (
      await portal().createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT1",
        name: "Acme",
        psaCompanyId: DEMO_IDS.companies.AT1,
      })
    ).id;
    await portal().createDevice(SYSTEM_ACTOR, clientId, {
      state: "managed",
      hostname: `${name.replace(/\W/g, "")}-HOST`,
      serialNumber: `SN-${name.replace(/\W/g, "")}`,
    });
    return { partnerId, clientId };
  };

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, { autotask: fastClient, psaOrigins: [at.emu.url] });
    app = await testApp(env);
    await app.listen({ port: 0, host: "127.0.0.1" });
    const addr = app.server.address();
    env.services.setListeningUrl(`http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`);
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
    await at?.close();
  });

  it("an integration save leaves an integration_events row in its transaction, and the engine consumes it", async () => {
    const { partnerId } = await partnerWithClient("Events VAR");
    await expect(
      portal().putIntegration(SYSTEM_ACTOR, partnerId, {
        ticketing: demoTicketing(at.emu.baseUrl, { enabled: false }),
        devices: { ...devicesOn, productId: null },
      }),
    ).rejects.toThrow("devices.productId");
    expect(await events(partnerId)).toEqual([]);
    await portal().putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl, { enabled: false }),
      devices: devicesOn,
    });
    const [first, ...more] = await events(partnerId);
    expect(more).toEqual([]);
    expect(first).toMatchObject({ partner_id: partnerId, onboarding: 1 });

    await env.services.sync.settingsSaved(partnerId);
    expect((await events(partnerId))[0]?.processed_at).not.toBeNull();
    const runs = (await env.services.sync.runs.list(partnerId, "assets")).items;
    expect(runs.map((r) => r.trigger)).toEqual(["onboarding"]);
    expect((await env.services.sync.wait(runs[0]!.id)).status).toBe("succeeded");
    expect((await env.services.sync.assetStatus(partnerId)).schedule).not.toBeNull();

    // A later save is no onboarding: its row is consumed without a second onboarding run.
    await portal().putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl, { enabled: false }),
      devices: devicesOff,
    });
    expect((await events(partnerId)).map((e) => e.onboarding)).toEqual([1, 0]);
    await env.services.sync.settingsSaved(partnerId);
    expect((await events(partnerId)).every((e) => e.processed_at !== null)).toBe(true);
    expect((await env.services.sync.runs.list(partnerId, "assets")).items).toHaveLength(1);
    expect((await env.services.sync.assetStatus(partnerId)).schedule).toBeNull();
  });

  it("the wake-up alone gets a save consumed, without anyone asking the engine", async () => {
    const { partnerId } = await partnerWithClient("Woken VAR");
    await portal().putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl, { enabled: false }),
      devices: devicesOn,
    });
    await until(async () => (await events(partnerId))[0]?.processed_at, "the row to be consumed");
    const [run] = (await env.services.sync.runs.list(partnerId, "assets")).items;
    expect(run?.trigger).toBe("onboarding");
    await env.services.sync.wait(run!.id);
  });

  it("changes made while the engine is not running are picked up from their rows when it starts", async () => {
    const { partnerId, clientId } = await partnerWithClient("Offline VAR");
    await env.services.sync.stop();
    let started = false;
    try {
      await portal().putIntegration(SYSTEM_ACTOR, partnerId, {
        ticketing: demoTicketing(at.emu.baseUrl),
        devices: devicesOff,
      });
      const ticket = await portal().createTicket(SYSTEM_ACTOR, partnerId, {
        clientId,
        title: "Disk almost full",
        statusId: 1,
        priorityId: 9,
      });
      await portal().addNote(SYSTEM_ACTOR, ticket.id, { text: "seen by the NOC", published: true });
      // Nothing listens: the rows wait.
      await new Promise((r) => setTimeout(r, 200));
      expect((await events(partnerId)).map((e) => e.processed_at)).toEqual([null]);
      expect((await outbox(partnerId)).map((o) => [o.ticket_id, o.kind, o.processed_at])).toEqual([
        [ticket.id, "ticket", null],
        [ticket.id, "note", null],
      ]);
      expect(
        await k().selectFrom("ticket_links").select("id").where("ticket_id", "=", ticket.id).execute(),
      ).toEqual([]);

      await env.services.sync.start({ background: true });
      started = true;
      // No wake-up was heard: the engine's first beat finds the settings row (webhooks, first push,
      // poll) and the outbox rows.
      await until(async () => (await events(partnerId))[0]?.processed_at, "the settings row to be consumed");
      await env.services.sync.ticketSetup(partnerId);
      await until(
        async () => (await outbox(partnerId)).every((o) => o.processed_at !== null),
        "the outbox rows to be sent",
      );
      const link = await until(
        () =>
          k()
            .selectFrom("ticket_links")
            .selectAll()
            .where("ticket_id", "=", ticket.id)
            .where("state", "=", "linked")
            .executeTakeFirst(),
        "the ticket to reach Autotask",
      );
      const sent = await at.api<{ item: { title: string; queueID: number } }>(
        "GET",
        `Tickets/${link.psa_ticket_id}`,
      );
      expect(sent.item).toMatchObject({ title: "Disk almost full", queueID: DEMO_IDS.nocQueue });
      const notes = await at.api<{ items: Array<{ description: string }> }>(
        "GET",
        `Tickets/${link.psa_ticket_id}/Notes`,
      );
      expect(notes.items.map((n) => n.description)).toContain("seen by the NOC");
    } finally {
      if (!started) await env.services.sync.start({ background: true });
    }
  });
});
