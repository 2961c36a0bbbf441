import { randomBytes } from "node:crypto";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { demoTicketing, startTestEmulator, type TestEmulator } from "../helpers/autotask.js";
import {
  apiClient,
  freePort,
  freshSchema,
  type NocProcess,
  sqlQuery,
  startNocbridge,
} from "../helpers/processes.js";
import { TEST_MASTER_KEY } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

/**
 * Several nocbridge processes on one PostgreSQL database, against the Autotask emulator: API
 * processes (`serve`) and worker processes (`worker`), started, killed (SIGKILL) and restarted as real
 * processes. Nothing here runs in the test's own process but the checks.
 */

const TOKEN = `nbt_${randomBytes(16).toString("hex")}`;
const slow = <T>(fn: () => Promise<T | undefined | null | false>, what: string, ms = 90_000) =>
  until(fn, what, ms, 100);

const api = apiClient(TOKEN);

interface Setup {
  at: TestEmulator;
  env: NodeJS.ProcessEnv;
  schema: string;
  procs: NocProcess[];
  serve(port?: number): Promise<NocProcess>;
  worker(extra?: NodeJS.ProcessEnv, args?: string[]): Promise<NocProcess>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

/** A fresh schema and emulator, and starters for processes on them. */
async function setup(
  o: { publicPort?: number; emulator?: Parameters<typeof startTestEmulator>[0] } = {},
): Promise<Setup> {
  const at = await startTestEmulator(o.emulator ?? {});
  cleanups.push(() => at.close());
  const db = await freshSchema("scale");
  cleanups.push(() => db.drop());
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: db.url,
    NOCBRIDGE_MASTER_KEY: TEST_MASTER_KEY,
    NOCBRIDGE_ADMIN_TOKEN: TOKEN,
    LOG_LEVEL: "warn",
    NOCBRIDGE_ALLOW_HTTP_WEBHOOKS: "1",
    NOCBRIDGE_PSA_URL_ALLOWLIST: `https://*.autotask.net,${at.emu.url}`,
    ...(o.publicPort ? { NOCBRIDGE_PUBLIC_URL: `http://127.0.0.1:${o.publicPort}` } : {}),
  };
  delete env.NOCBRIDGE_FAILPOINT;
  if (!o.publicPort) delete env.NOCBRIDGE_PUBLIC_URL;
  const procs: NocProcess[] = [];
  cleanups.push(async () => {
    await Promise.all(procs.map((p) => p.kill9()));
  });
  const track = (p: NocProcess) => {
    procs.push(p);
    return p;
  };
  return {
    at,
    env,
    schema: db.schema,
    procs,
    serve: async (port = 0) => track(await startNocbridge(["serve", "--port", String(port)], env)),
    worker: async (extra = {}, args: string[] = []) =>
      track(await startNocbridge(["worker", "--concurrency", "3", ...args], { ...env, ...extra })),
  };
}

/** A partner wired to the emulator's demo tenant, with one client (through the API at `base`). */
async function partnerWithClient(
  base: string | undefined,
  name: string,
): Promise<{ partnerId: number; clientId: number }> {
  const partner = await api<{ id: number }>(base, "POST", "/api/partners", { name });
  const client = await api<{ id: number }>(base, "POST", `/api/partners/${partner.id}/clients`, {
    code: "AT1",
    name: "Acme",
    psaCompanyId: DEMO_IDS.companies.AT1,
  });
  return { partnerId: partner.id, clientId: client.id };
}

const integration = (at: TestEmulator, o: { tickets: boolean; devices: boolean }) => ({
  ticketing: demoTicketing(at.emu.baseUrl, { enabled: o.tickets, nocMayEnterTickets: o.tickets }),
  devices: {
    enabled: o.devices,
    productId: o.devices ? DEMO_IDS.product : null,
    configurationItemTypeId: o.devices ? DEMO_IDS.ciType : null,
    advanced: false,
  },
});

/** A partner with `count` managed devices (serials `SN-<PREFIX>-i`), device sync switched on: its onboarding run. */
async function onboardDevices(
  s: Setup,
  base: string | undefined,
  name: string,
  prefix: string,
  count: number,
): Promise<{ run: number }> {
  const { partnerId, clientId } = await partnerWithClient(base, name);
  const devices = Array.from({ length: count }, (_, i) => ({
    state: "managed",
    hostname: `${prefix}-${i}`,
    serialNumber: `SN-${prefix.toUpperCase()}-${i}`,
  }));
  await api(base, "POST", `/api/clients/${clientId}/devices/import`, devices);
  await api(
    base,
    "PUT",
    `/api/partners/${partnerId}/integration`,
    integration(s.at, { tickets: false, devices: true }),
  );
  const run = await slow(async () => {
    const st = await api<{ running: number | null }>(
      base,
      "GET",
      `/api/partners/${partnerId}/sync/assets/status`,
    );
    return st.running;
  }, "the onboarding run");
  return { run };
}

/** The worker process executing the run, once it has written some CIs. */
async function writingOwner(s: Setup, run: number): Promise<string> {
  return slow(async () => {
    const [r] = await sqlQuery<{
      owner: string | null;
      progress_phase: string | null;
      progress_done: number;
    }>(`select owner, progress_phase, progress_done from ${s.schema}.sync_runs where id = $1`, [run]);
    return r?.owner && r.progress_phase === "writing" && r.progress_done >= 10 ? r.owner : null;
  }, "the run writing CIs");
}

const ops = async (at: TestEmulator, op: string) =>
  ((await at.stats()) as unknown as { byOperation: Record<string, number> }).byOperation[op] ?? 0;

describe("several API and worker processes on one PostgreSQL database", () => {
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  it("tickets created and edited through two APIs, worked by two workers: one Autotask ticket each, one write per edit; concurrent saves register the webhooks once", async () => {
    const port = await freePort();
    const s = await setup({ publicPort: port });
    const [w1, w2] = [await s.worker(), await s.worker()];
    const a1 = await s.serve(port);
    const a2 = await s.serve();
    const { partnerId, clientId } = await partnerWithClient(a1.url, "Two APIs VAR");
    // The same settings saved through both APIs at once: one webhook set-up, one set of webhooks.
    const settings = integration(s.at, { tickets: true, devices: false });
    await Promise.all([
      api(a1.url, "PUT", `/api/partners/${partnerId}/integration`, settings),
      api(a2.url, "PUT", `/api/partners/${partnerId}/integration`, settings),
    ]);
    const state = await slow(async () => {
      const st = await api<{ mode: string; webhooks: Array<{ entity: string; psaWebhookId: number }> }>(
        a2.url,
        "GET",
        `/api/partners/${partnerId}/webhooks`,
      );
      return st.mode === "webhooks" ? st : null;
    }, "the webhooks registered");
    // In Autotask: exactly the webhooks the state names, one per entity — none left over by the second save.
    for (const [entity, root] of [
      ["Ticket", "TicketWebhooks"],
      ["TicketNote", "TicketNoteWebhooks"],
    ] as const) {
      const held = await s.at.api<{ items: Array<{ id: number }> }>("POST", `${root}/query`, {
        filter: [{ op: "gte", field: "id", value: 0 }],
      });
      expect(
        held.items.map((w) => w.id),
        root,
      ).toEqual(state.webhooks.filter((w) => w.entity === entity).map((w) => w.psaWebhookId));
      expect(held.items, root).toHaveLength(1);
    }

    // Ten portal tickets, created through both APIs in turn.
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = await api<{ id: number }>(
        i % 2 ? a2.url : a1.url,
        "POST",
        `/api/partners/${partnerId}/tickets`,
        {
          clientId,
          title: `Two APIs ${i}`,
          description: "made through one of two API processes",
          statusId: 1,
          priorityId: 9,
        },
      );
      ids.push(t.id);
    }
    const psaIds = new Map<number, number>();
    await slow(async () => {
      for (const id of ids) {
        if (psaIds.has(id)) continue;
        const v = await api<{ psa: { state: string; ticketId: number | null } }>(
          a1.url,
          "GET",
          `/api/tickets/${id}`,
        );
        if (v.psa.state === "synced" && v.psa.ticketId) psaIds.set(id, v.psa.ticketId);
      }
      return psaIds.size === ids.length;
    }, "every ticket synced");
    expect(await ops(s.at, "create Tickets")).toBe(10);
    for (const id of ids) {
      const found = await s.at.api<{ items: unknown[] }>("POST", "Tickets/query", {
        filter: [{ op: "eq", field: "externalID", value: String(id) }],
      });
      expect(found.items, `Autotask tickets of portal ticket ${id}`).toHaveLength(1);
    }

    // Each edited once, through the API that did not create it.
    const updatesBefore = await ops(s.at, "update Tickets");
    for (const [i, id] of ids.entries())
      await api(i % 2 ? a1.url : a2.url, "PATCH", `/api/tickets/${id}`, { title: `Two APIs ${i} (edited)` });
    await slow(async () => {
      for (const [i, id] of ids.entries()) {
        const t = await s.at.api<{ item: { title: string } }>("GET", `Tickets/${psaIds.get(id)}`);
        if (t.item.title !== `Two APIs ${i} (edited)`) return false;
      }
      return true;
    }, "every edit in Autotask");
    // Let any second write that would come show up before counting.
    await new Promise((r) => setTimeout(r, 2_000));
    const writes = (await ops(s.at, "update Tickets")) - updatesBefore;
    expect(writes).toBe(10);
    const errors = await api<{ items: unknown[] }>(
      a2.url,
      "GET",
      `/api/partners/${partnerId}/sync/errors?all=true`,
    );
    expect(errors.items).toEqual([]);
    for (const w of [w1, w2]) expect(w.output()).not.toMatch(/"level":(50|60)/);
  }, 240_000);

  it("a worker killed (SIGKILL) in the middle of an asset run: the other takes it over and finishes with true counts, no CI twice; an API restarted meanwhile does not touch the run, and the other API's live log streams to the end", async () => {
    // Each CI request takes a while, so the run is long enough to kill its worker in the middle.
    const s = await setup({
      emulator: { faults: { timeScale: 1, latencyMs: 40, onlyEntities: ["ConfigurationItems"] } },
    });
    await s.worker();
    await s.worker();
    const a1 = await s.serve();
    const a2 = await s.serve();
    const { run } = await onboardDevices(s, a1.url, "Takeover VAR", "take", 400);

    // The live log, followed through API 2 from here to the end.
    const stream = await fetch(`${a2.url}/api/sync-runs/${run}/events`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(stream.status).toBe(200);
    const text = stream.text().catch((e: unknown) => `the stream broke: ${String(e)}`);

    // Some CIs written: kill the run's worker, then restart API 1.
    const owner = await writingOwner(s, run);
    const pid = Number(owner.split(":")[1]);
    const victim = s.procs.find((p) => p.proc.pid === pid);
    expect(victim, `the worker ${owner}`).toBeDefined();
    await victim!.kill9();
    // While the other worker finds the dead one and takes the run over, API 1 restarts: the run goes on.
    await a1.stop();
    const a1again = await s.serve();
    expect((await api<{ status: string }>(a1again.url, "GET", `/api/sync-runs/${run}`)).status).toBe(
      "running",
    );

    const done = await slow(
      async () => {
        const r = await api<{ status: string; log: string[]; counts: Record<string, number> }>(
          a1again.url,
          "GET",
          `/api/sync-runs/${run}`,
        );
        return r.status !== "running" ? r : null;
      },
      "the run finished by the other worker",
      120_000,
    );
    expect(done.status).toBe("succeeded");
    expect(done.log.join("\n")).toMatch(/Taken over by worker .*: worker .* stopped/);
    // True counts: the devices the killed worker wrote count as created, not as unchanged.
    expect(done.counts).toEqual({ created: 400, updated: 0, deactivated: 0, unchanged: 0, failed: 0 });
    const cis = await s.at.api<{ items: Array<{ serialNumber: string }> }>(
      "POST",
      "ConfigurationItems/query",
      {
        filter: [{ op: "beginsWith", field: "serialNumber", value: "SN-TAKE-" }],
      },
    );
    expect(cis.items).toHaveLength(400);
    expect(new Set(cis.items.map((c) => c.serialNumber)).size).toBe(400);

    // The stream through API 2 saw the takeover and the end.
    const events = await text;
    expect(events).toContain("Taken over by worker");
    expect(events).toMatch(/event: status\ndata: \{[^}]*"status":"succeeded"/);
  }, 240_000);

  it("a worker killed between a ticket's create and its link: the other worker finishes it, one Autotask ticket", async () => {
    const s = await setup();
    const doomed = await s.worker({ NOCBRIDGE_FAILPOINT: "after-send" });
    const a1 = await s.serve();
    const { partnerId, clientId } = await partnerWithClient(a1.url, "Crash VAR");
    await api(
      a1.url,
      "PUT",
      `/api/partners/${partnerId}/integration`,
      integration(s.at, { tickets: true, devices: false }),
    );
    const t = await api<{ id: number }>(a1.url, "POST", `/api/partners/${partnerId}/tickets`, {
      clientId,
      title: "Created, then the worker died",
      description: "the link was never saved by the first worker",
      statusId: 1,
      priorityId: 9,
    });
    expect(await doomed.exited).toEqual({ code: 137, signal: null });
    expect(await ops(s.at, "create Tickets")).toBe(1);
    // Another worker: it finds the dead one, takes its partner lane and finishes the ticket.
    await s.worker();
    const view = await slow(async () => {
      const v = await api<{ psa: { state: string; ticketId: number | null } }>(
        a1.url,
        "GET",
        `/api/tickets/${t.id}`,
      );
      return v.psa.state === "synced" ? v : null;
    }, "the ticket synced by the other worker");
    const found = await s.at.api<{ items: Array<{ id: number }> }>("POST", "Tickets/query", {
      filter: [{ op: "eq", field: "externalID", value: String(t.id) }],
    });
    expect(found.items.map((i) => i.id)).toEqual([view.psa.ticketId]);
    expect(await ops(s.at, "create Tickets")).toBe(1);
  }, 180_000);

  it("a schedule fires once with three workers, and the next one is scheduled", async () => {
    const s = await setup();
    const [withPort] = await Promise.all([s.worker({}, ["--port", "0"]), s.worker(), s.worker()]);
    // A worker's own port: readiness names the job engine; metrics need a token and count jobs.
    const ready = await fetch(`${withPort!.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, database: true, jobs: true });
    expect((await fetch(`${withPort!.url}/metrics`)).status).toBe(401);
    const a1 = await s.serve();
    // (Once an API process has set the admin token:) the worker's port has no API.
    const noApi = await fetch(`${withPort!.url}/api/partners`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(noApi.status).toBe(404);
    const { partnerId, clientId } = await partnerWithClient(a1.url, "Schedule VAR");
    await api(a1.url, "POST", `/api/clients/${clientId}/devices/import`, [
      { state: "managed", hostname: "sched-1", serialNumber: "SN-SCHED-1" },
    ]);
    await api(
      a1.url,
      "PUT",
      `/api/partners/${partnerId}/integration`,
      integration(s.at, { tickets: false, devices: true }),
    );
    const runs = async () =>
      (
        await api<{ items: Array<{ id: number; trigger: string; status: string }> }>(
          a1.url,
          "GET",
          `/api/partners/${partnerId}/sync-runs`,
        )
      ).items;
    await slow(
      async () => (await runs()).some((r) => r.trigger === "onboarding" && r.status === "succeeded"),
      "onboarding",
    );
    const jobs = `${s.schema}_jobs`;
    const scheduled = () =>
      sqlQuery<{ run_at: Date }>(
        `select run_at from ${jobs}.jobs where task_identifier = 'assets.schedule' and key = $1`,
        [`schedule:${partnerId}`],
      );
    const [next] = await scheduled();
    expect(next!.run_at.getTime()).toBeGreaterThan(Date.now());
    // The schedule's time comes: its one job is made due now.
    await sqlQuery(
      `select ${jobs}.add_job('assets.schedule', json_build_object('partnerId', $1::int), job_key := $2, run_at := now())`,
      [partnerId, `schedule:${partnerId}`],
    );
    await slow(
      async () => (await runs()).some((r) => r.trigger === "schedule" && r.status === "succeeded"),
      "the scheduled run",
    );
    // Whoever took it added the next one; nothing else fires.
    const [after] = await slow(async () => {
      const rows = await scheduled();
      return rows.length === 1 && rows[0]!.run_at.getTime() > Date.now() ? rows : null;
    }, "the next schedule job");
    expect(after!.run_at.getTime()).toBeGreaterThan(Date.now());
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await runs()).filter((r) => r.trigger === "schedule")).toHaveLength(1);
    const metrics = await fetch(`${withPort!.url}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/nocbridge_jobs\{task="assets\.schedule",state="queued"\} 1/);
  }, 180_000);

  it("a worker stopped (SIGTERM) in the middle of an asset run hands it over after its grace period; the other worker goes on, no CI twice", async () => {
    const s = await setup({
      emulator: { faults: { timeScale: 1, latencyMs: 150, onlyEntities: ["ConfigurationItems"] } },
    });
    await s.worker();
    await s.worker();
    const a1 = await s.serve();
    const { run } = await onboardDevices(s, a1.url, "Handover VAR", "hand", 1000);
    const owner = await writingOwner(s, run);
    const leaving = s.procs.find((p) => p.proc.pid === Number(owner.split(":")[1]));
    expect(leaving, `the worker ${owner}`).toBeDefined();
    expect(await leaving!.stop()).toEqual({ code: 0, signal: null });

    const done = await slow(
      async () => {
        const r = await api<{ status: string; log: string[] }>(a1.url, "GET", `/api/sync-runs/${run}`);
        return r.status !== "running" ? r : null;
      },
      "the run finished by the other worker",
      180_000,
    );
    expect(done.status).toBe("succeeded");
    const log = done.log.join("\n");
    expect(log).toContain("Handed over: this worker is shutting down");
    expect(log).toContain("the previous worker handed the run over");
    expect(log).not.toContain("Taken over by worker");
    // One CI per device (serial numbers are unique per device): 1,000 in all, none twice.
    const { queryCount } = await s.at.api<{ queryCount: number }>("POST", "ConfigurationItems/query/count", {
      filter: [{ op: "beginsWith", field: "serialNumber", value: "SN-HAND-" }],
    });
    expect(queryCount).toBe(1000);
  }, 300_000);
});
