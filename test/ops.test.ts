import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../src/api/app.js";
import { loadConfig } from "../src/config.js";
import { DEMO_IDS } from "../src/emulators/autotask/seed.js";
import { systemClock } from "../src/lib/clock.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { IMPORT_BATCH_ROWS, IMPORT_MAX_ROWS } from "../src/portal/device-import.js";
import { scheduleProblem } from "../src/portal/schedule.js";
import type { DeviceInput } from "../src/portal/service.js";
import type { AutotaskApi } from "../src/psa/autotask/api.js";
import { pruneProcessed } from "../src/sync/retention.js";
import { demoTicketing, fastClient, startTestEmulator, type TestEmulator } from "./helpers/autotask.js";
import { openTestServices, STORES, snapshot, type TestEnv, testApp } from "./helpers/services.js";
import { until } from "./helpers/wait.js";

type Method = "GET" | "POST" | "PUT";

const device = (i: number, over: Partial<DeviceInput> = {}): DeviceInput => ({
  state: "managed",
  hostname: `OPS-${String(i).padStart(5, "0")}`,
  deviceType: "Workstation",
  serialNumber: `SN-${i}`,
  ...over,
});

const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();

describe("schedule rule", () => {
  it.each([
    ["0 2 10,25 * *", null],
    ["15 * * * *", null],
    ["0 */2 * * 1-5", null],
    ["* * * * * *", "field"],
    ["0 0 2 10,25 * *", "field"],
    ["0 2 * *", "field"],
    ["* * * * *", "more than once an hour"],
    ["*/30 * * * *", "more than once an hour"],
    ["0,30 2 * * *", "more than once an hour"],
    ["0-5 2 * * *", "more than once an hour"],
    ["61 2 * * *", "not a cron expression"],
  ])("%s", (expr, problem) => {
    const got = scheduleProblem(expr);
    if (problem === null) expect(got).toBeNull();
    else expect(got).toContain(problem);
  });
});

describe("NOCBRIDGE_RETENTION_DAYS", () => {
  it("defaults to 30 days and rejects what is not a whole number of days", () => {
    expect(loadConfig({}).retentionDays).toBe(30);
    expect(loadConfig({ NOCBRIDGE_RETENTION_DAYS: "7" }).retentionDays).toBe(7);
    for (const bad of ["0", "-1", "1.5", "month"])
      expect(() => loadConfig({ NOCBRIDGE_RETENTION_DAYS: bad })).toThrow(/NOCBRIDGE_RETENTION_DAYS/);
  });
});

describe.each(STORES)("operations on %s", (kind) => {
  let env: TestEnv;
  let app: App;
  let token = "";
  let partnerId = 0;
  let clientId = 0;

  async function call(method: Method, url: string, body?: unknown, auth = true) {
    const res = await app.inject({
      method,
      url,
      headers: auth ? { authorization: `Bearer ${token}` } : {},
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read loosely-typed JSON answers
    return { status: res.statusCode, body: res.body ? (res.json() as any) : undefined };
  }

  beforeAll(async () => {
    env = await openTestServices(kind);
    app = await testApp(env);
    token = (await env.services.portal.createUser(SYSTEM_ACTOR, { name: "Ops", role: "noc-admin" })).token;
    partnerId = (await env.services.portal.createPartner(SYSTEM_ACTOR, { name: "Ops VAR" })).id;
    clientId = (await env.services.portal.createClient(SYSTEM_ACTOR, partnerId, { code: "OPS", name: "Ops" }))
      .id;
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  it("/readyz answers 200 without a token while the database answers; /healthz too", async () => {
    expect(await call("GET", "/readyz", undefined, false)).toEqual({ status: 200, body: { ok: true } });
    expect(await call("GET", "/healthz", undefined, false)).toEqual({ status: 200, body: { ok: true } });
  });

  describe("asset schedule", () => {
    const body = (schedule: string | null) => ({
      ticketing: {
        enabled: false,
        nocMayEnterTickets: false,
        apiUrl: "",
        username: "",
        secret: null,
        integrationCode: "",
        queueId: null,
        queueName: "",
        billingCodeId: null,
        billingCodeName: "",
      },
      devices: { enabled: false, productId: null, configurationItemTypeId: null, advanced: false, schedule },
    });

    it.each(["* * * * * *", "* * * * *", "*/5 * * * *", "0,30 * * * *", "0 2 * *"])(
      "refuses %s with 400 naming devices.schedule, writing nothing",
      async (schedule) => {
        const before = await snapshot(env);
        const r = await call("PUT", `/api/partners/${partnerId}/integration`, body(schedule));
        expect(r.status, JSON.stringify(r.body)).toBe(400);
        expect(r.body.field).toBe("devices.schedule");
        expect(r.body.message).toContain("devices.schedule");
        expect(await snapshot(env)).toBe(before);
      },
    );

    it("accepts an hourly and a twice-monthly schedule", async () => {
      for (const schedule of ["15 * * * *", "0 2 10,25 * *"]) {
        const r = await call("PUT", `/api/partners/${partnerId}/integration`, body(schedule));
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.devices.schedule).toBe(schedule);
      }
    });
  });

  describe("device import", () => {
    const url = () => `/api/clients/${clientId}/devices/import`;

    it(`refuses more than ${IMPORT_MAX_ROWS} rows with 413 naming the body, writing nothing`, async () => {
      const before = await snapshot(env);
      const rows = Array.from({ length: IMPORT_MAX_ROWS + 1 }, (_, i) => device(i));
      const r = await call("POST", url(), rows);
      expect(r.status).toBe(413);
      expect(r.body).toMatchObject({ statusCode: 413, code: "TOO_LARGE", field: "body" });
      expect(r.body.message).toContain(String(IMPORT_MAX_ROWS));
      expect(await snapshot(env)).toBe(before);
    });

    it("writes a feed larger than one batch, then reports unchanged and updated rows in feed order", async () => {
      const n = IMPORT_BATCH_ROWS * 2 + 17;
      const rows = Array.from({ length: n }, (_, i) => device(i));
      const first = await call("POST", url(), rows);
      expect(first.status, JSON.stringify(first.body).slice(0, 300)).toBe(200);
      expect(first.body).toMatchObject({ created: n, updated: 0, unchanged: 0 });
      expect(first.body.items.map((x: { index: number }) => x.index)).toEqual(rows.map((_, i) => i));
      const ids = first.body.items.map((x: { id: number }) => x.id);
      expect(new Set(ids).size).toBe(n);

      // Again, one device changed, one new, and the new one named twice (created once, then updated).
      const changedAt = IMPORT_BATCH_ROWS + 7;
      const again = rows.map((r, i) => (i === changedAt ? { ...r, model: "Changed" } : r));
      again.push(device(90_000), device(90_000, { model: "Second" }));
      const second = await call("POST", url(), again);
      expect(second.status).toBe(200);
      expect(second.body).toMatchObject({ created: 1, updated: 2, unchanged: n - 1 });
      expect(second.body.items[changedAt]).toEqual({
        index: changedAt,
        id: ids[changedAt],
        action: "updated",
      });
      const [created, updated] = second.body.items.slice(n);
      expect(created.action).toBe("created");
      expect(updated).toEqual({ index: n + 1, id: created.id, action: "updated" });
      const stored = await env.services.portal.getDevice(SYSTEM_ACTOR, created.id);
      expect(stored.model).toBe("Second");
      const list = await call("GET", `/api/clients/${clientId}/devices?limit=1`);
      expect(list.body.total).toBe(n + 1);
    });

    it("is all or nothing: a bad row in the last batch leaves the earlier batches unwritten", async () => {
      const before = await snapshot(env);
      const rows = Array.from({ length: IMPORT_BATCH_ROWS * 3 }, (_, i) => device(50_000 + i));
      rows[rows.length - 1] = device(59_999, { warrantyEndDate: "2028-02-30" });
      const r = await call("POST", url(), rows);
      expect(r.status).toBe(400);
      expect(r.body.field).toBe(`[${rows.length - 1}].warrantyEndDate`);
      expect(await snapshot(env)).toBe(before);
    });
  });

  it("retention deletes processed inbox/outbox rows and resolved errors older than the period, nothing else", async () => {
    const k = env.services.db.kysely;
    const ticket = await env.services.portal.createTicket(SYSTEM_ACTOR, partnerId, {
      clientId,
      title: "retention",
      description: "",
      statusId: 1,
      priorityId: 9,
    });
    const inbox = async (key: string, receivedDaysAgo: number, processedDaysAgo: number | null) =>
      (
        await k
          .insertInto("ticket_inbox")
          .values({
            partner_id: partnerId,
            dedup_key: key,
            source: "poll",
            entity_type: "Ticket",
            psa_id: 1,
            psa_ticket_id: 1,
            received_at: daysAgo(receivedDaysAgo),
            processed_at: processedDaysAgo === null ? null : daysAgo(processedDaysAgo),
          })
          .returning("id")
          .executeTakeFirstOrThrow()
      ).id;
    const outbox = async (createdDaysAgo: number, processedDaysAgo: number | null) =>
      (
        await k
          .insertInto("ticket_outbox")
          .values({
            partner_id: partnerId,
            ticket_id: ticket.id,
            kind: "ticket",
            created_at: daysAgo(createdDaysAgo),
            processed_at: processedDaysAgo === null ? null : daysAgo(processedDaysAgo),
          })
          .returning("id")
          .executeTakeFirstOrThrow()
      ).id;
    const error = async (lane: string, resolvedDaysAgo: number | null) =>
      (
        await k
          .insertInto("sync_errors")
          .values({
            partner_id: partnerId,
            lane,
            ticket_id: ticket.id,
            psa_ticket_id: null,
            error: "x",
            code: "ERROR",
            attempts: 1,
            parked: 1,
            next_attempt_at: null,
            first_at: daysAgo(60),
            last_at: daysAgo(60),
            resolved_at: resolvedDaysAgo === null ? null : daysAgo(resolvedDaysAgo),
          })
          .returning("id")
          .executeTakeFirstOrThrow()
      ).id;
    const event = async (processedDaysAgo: number | null) =>
      (
        await k
          .insertInto("integration_events")
          .values({
            partner_id: partnerId,
            onboarding: 0,
            created_at: daysAgo(45),
            processed_at: processedDaysAgo === null ? null : daysAgo(processedDaysAgo),
          })
          .returning("id")
          .executeTakeFirstOrThrow()
      ).id;
    const oldEvent = await event(40);
    const keptEvents = [await event(null), await event(2)];
    const old = {
      inbox: await inbox("old-processed", 45, 40),
      outbox: await outbox(45, 40),
      error: await error("ticket:old", 40),
    };
    const kept = {
      inbox: [await inbox("old-unprocessed", 45, null), await inbox("recent-processed", 3, 2)],
      outbox: [await outbox(45, null), await outbox(3, 2)],
      error: [await error("ticket:open", null), await error("ticket:recent", 2)],
    };
    const result = await pruneProcessed(env.services.db, systemClock, 30);
    expect(result).toMatchObject({ inbox: 1, outbox: 1, errors: 1, integrationEvents: 1 });
    const eventIds = (await k.selectFrom("integration_events").select("id").execute()).map((r) => r.id);
    expect(eventIds).not.toContain(oldEvent);
    for (const id of keptEvents) expect(eventIds).toContain(id);
    const ids = async (table: "ticket_inbox" | "ticket_outbox" | "sync_errors") =>
      (await k.selectFrom(table).select("id").execute()).map((r) => r.id);
    const inboxIds = await ids("ticket_inbox");
    const outboxIds = await ids("ticket_outbox");
    const errorIds = await ids("sync_errors");
    expect(inboxIds).not.toContain(old.inbox);
    expect(outboxIds).not.toContain(old.outbox);
    expect(errorIds).not.toContain(old.error);
    for (const id of kept.inbox) expect(inboxIds).toContain(id);
    for (const id of kept.outbox) expect(outboxIds).toContain(id);
    for (const id of kept.error) expect(errorIds).toContain(id);
    // Nothing more to prune the second time.
    expect(await pruneProcessed(env.services.db, systemClock, 30)).toEqual({
      inbox: 0,
      outbox: 0,
      errors: 0,
      integrationEvents: 0,
    });
  });
});

describe.each(STORES)("an asset run cut short saves its counts as it goes (%s)", (kind) => {
  const WRITTEN = 7;
  let at: TestEmulator;
  let env: TestEnv;
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });

  beforeAll(async () => {
    at = await startTestEmulator();
    // The real client over HTTP to the emulator; after WRITTEN creates, the next ones hang (as if the
    // process froze or died there), then fail once the test lets go.
    let creates = 0;
    const autotask = (creds: Parameters<typeof fastClient>[0]): AutotaskApi => {
      const client = fastClient(creds);
      const createIdempotent: AutotaskApi["createIdempotent"] = async (...args) => {
        if (creates++ >= WRITTEN) {
          await gate;
          throw new Error("stopped by the test");
        }
        return client.createIdempotent(...args);
      };
      return new Proxy(client, {
        get(target, prop) {
          if (prop === "createIdempotent") return createIdempotent;
          const v = Reflect.get(target, prop, target);
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
    };
    env = await openTestServices(kind, { autotask, psaOrigins: [at.emu.url] });
  });
  afterAll(async () => {
    release();
    await env?.close();
    await at?.close();
  });

  it("shows the devices it wrote while it runs, and after the restart marks it failed", async () => {
    const { portal, sync, db } = env.services;
    const partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Interrupted VAR" })).id;
    const clientId = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT1",
        name: "Acme",
        psaCompanyId: DEMO_IDS.companies.AT1,
      })
    ).id;
    for (let i = 0; i < 20; i++) await portal.createDevice(SYSTEM_ACTOR, clientId, device(i));
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl, { enabled: false, nocMayEnterTickets: false }),
      devices: {
        enabled: true,
        productId: DEMO_IDS.product,
        configurationItemTypeId: DEMO_IDS.ciType,
        advanced: false,
        schedule: null,
      },
    });
    // Enabling device integration starts the onboarding run.
    const run = await until(() => sync.runs.active(partnerId, "assets"), "the onboarding run");
    const saved = await until(async () => {
      const r = await sync.runs.get(run.id);
      return r && r.counts.created === WRITTEN ? r : null;
    }, `the run's saved counts to reach ${WRITTEN} created`);
    expect(saved.status).toBe("running");
    const links = await db.kysely
      .selectFrom("links")
      .select("portal_id")
      .where("partner_id", "=", partnerId)
      .execute();
    expect(links).toHaveLength(WRITTEN);
    const stats = (await at.stats()) as unknown as { byOperation: Record<string, number> };
    expect(stats.byOperation["create ConfigurationItems"]).toBe(WRITTEN);

    // What the next start does with a run a dead process left behind: failed, with what it did.
    expect(await sync.runs.failInterrupted()).toBe(1);
    const after = await sync.runs.get(run.id);
    expect(after?.status).toBe("failed");
    expect(after?.counts).toMatchObject({ created: WRITTEN, failed: 0 });
  });
});
