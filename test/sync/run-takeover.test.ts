import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import type { Jobs } from "../../src/jobs/types.js";
import type { Clock } from "../../src/lib/clock.js";
import { createLogger } from "../../src/lib/logger.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { AutotaskCredentials } from "../../src/psa/autotask/client.js";
import type { PsaUrlPolicy } from "../../src/psa/url-policy.js";
import { AssetRuns } from "../../src/sync/asset-runs.js";
import { LinkOutcomes } from "../../src/sync/link-outcomes.js";
import { Liveness } from "../../src/sync/liveness.js";
import type { RunJob } from "../../src/sync/run-legs.js";
import type { RunCounts } from "../../src/sync/runs.js";
import { demoTicketing, fastClient, startTestEmulator, type TestEmulator } from "../helpers/autotask.js";
import { device } from "../helpers/devices.js";
import { openTestServices, STORES, type TestEnv } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

/**
 * A run taken over after its worker died (shared mode), in this process: worker A executes a leg and
 * "dies" after some CI writes — its next write never goes out, the two after it reach Autotask but A
 * never hears back (so it saves no link for them), and A stops beating. Worker B then claims the run
 * and finishes it. The run ends with the counts of what was done, by either worker: a device A wrote
 * counts as created or updated, not as unchanged. (test/scale/processes.test.ts does it with real
 * processes and SIGKILL.)
 */
describe.each(STORES)("an asset run taken over after its worker died, on %s", (kind) => {
  let env: TestEnv;
  let at: TestEmulator;
  let partnerId = 0;
  let clientId = 0;
  const DEVICES = 12;

  /**
   * CI writes (creates and updates) pass until `killAfter` of them started; then the next one hangs
   * before it is sent and every one after it is carried out by Autotask, then hangs: the worker died.
   */
  const gate = { killAfter: null as number | null, started: 0, hung: 0 };
  const never = new Promise<never>(() => {});
  /** Sends a CI write through the gate. */
  const through = async <T>(entity: string, send: () => Promise<T>): Promise<T> => {
    if (entity !== "ConfigurationItems" || gate.killAfter === null) return send();
    const n = ++gate.started;
    if (n <= gate.killAfter) return send();
    if (n > gate.killAfter + 1) await send();
    gate.hung++;
    return never;
  };
  const client = (creds: AutotaskCredentials, urls: PsaUrlPolicy) => {
    const api = fastClient(creds, urls);
    const create = api.createIdempotent.bind(api);
    const update = api.update.bind(api);
    api.createIdempotent = (...args: Parameters<typeof create>) => through(args[0], () => create(...args));
    api.update = (...args: Parameters<typeof update>) => through(args[0], () => update(...args));
    return api;
  };

  /** Jobs the workers queued (none expected: no run here pauses or is handed over). */
  const queued: unknown[] = [];
  const jobs = {
    backend: "graphile",
    add: async (...args: unknown[]) => void queued.push(args),
  } as unknown as Jobs;

  /** A worker process's asset runs in shared mode, with its liveness on the test's store. */
  const worker = (id: string, clock: Clock = { now: () => new Date() }) => {
    const { sync, db } = env.services;
    const liveness = new Liveness(db, clock, id);
    const runs = new AssetRuns({
      runs: sync.runs,
      links: sync.links,
      portal: sync.portal,
      sessions: sync.sessions,
      validation: sync.validation,
      logger: createLogger("silent"),
      schedule: async () => ({ nextRunAt: null, schedule: null }),
      concurrency: 3,
      jobs,
      clock: { now: () => new Date() },
      shared: { jobs, liveness: () => liveness, outcomes: new LinkOutcomes(db) },
    });
    return { liveness, runs };
  };

  /**
   * A real run: worker A executes it until it dies after `killAfter` CI writes (it beat once, then
   * stopped); worker B, half a minute later by its clock, takes it over and finishes it.
   */
  const takenOver = async (killAfter: number) => {
    const run = await env.services.sync.runs.create(partnerId, "assets", "manual", false);
    const job: RunJob = { runId: run.id, partnerId, dryRun: false, approved: false };
    Object.assign(gate, { killAfter, started: 0, hung: 0 });
    const a = worker("worker-a");
    await a.liveness.beat([]);
    void a.runs.executeJob(job, "a"); // never ends: A is dead
    await until(async () => gate.hung === 3, "worker A stuck in its last three writes");
    gate.killAfter = null;
    const later = { now: () => new Date(Date.now() + 60_000) };
    await worker("worker-b", later).runs.executeJob(job, "b");
    return (await env.services.sync.runs.get(run.id))!;
  };

  const cis = async () =>
    (
      await at.api<{ items: Array<{ id: number; serialNumber: string; isActive: boolean }> }>(
        "POST",
        "ConfigurationItems/query",
        { filter: [{ op: "eq", field: "companyID", value: DEMO_IDS.companies.AT2 }] },
      )
    ).items;
  const journalRows = (runId: number) =>
    env.services.db.kysely.selectFrom("link_run_outcomes").selectAll().where("run_id", "=", runId).execute();
  const counts = (c: Partial<RunCounts>): RunCounts => ({
    created: 0,
    updated: 0,
    deactivated: 0,
    unchanged: 0,
    failed: 0,
    ...c,
  });

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, { autotask: client, psaOrigins: [at.emu.url], background: false });
    const portal = env.services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Takeover VAR" })).id;
    clientId = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT2",
        name: "Birch Logistics",
        psaCompanyId: DEMO_IDS.companies.AT2,
      })
    ).id;
    await portal.importDevices(
      SYSTEM_ACTOR,
      clientId,
      Array.from({ length: DEVICES }, (_, i) => device(700 + i, "managed")),
    );
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl, { enabled: false, nocMayEnterTickets: false }),
      devices: {
        enabled: true,
        productId: DEMO_IDS.product,
        configurationItemTypeId: DEMO_IDS.ciType,
        advanced: true,
        schedule: null,
      },
    });
  });
  afterAll(async () => {
    await env?.close();
    await at?.close();
  });

  it("a first sync taken over half way ends with every device created (none unchanged), no CI twice", async () => {
    await at.admin("DELETE", "/stats");
    const run = await takenOver(4);
    expect(run.status).toBe("succeeded");
    expect(run.log.join("\n")).toMatch(
      /Taken over by worker worker-b: worker worker-a stopped \(last heartbeat [^)]+\)/,
    );
    expect(run.counts).toEqual(counts({ created: DEVICES }));
    // Autotask has one CI per device: A created 6 (4, then 2 it never heard back of), B the other 6.
    const ops = ((await at.stats()) as unknown as { byOperation: Record<string, number> }).byOperation;
    expect(ops["create ConfigurationItems"]).toBe(DEVICES);
    const found = await cis();
    expect(found).toHaveLength(DEVICES);
    expect(new Set(found.map((c) => c.serialNumber)).size).toBe(DEVICES);
    expect(await env.services.sync.links.all(partnerId, "device")).toHaveProperty("size", DEVICES);
    // The run's record of its writes goes with its end; nothing was queued.
    expect(await journalRows(run.id)).toEqual([]);
    expect(queued).toEqual([]);
  });

  it("a run of updates and a deactivation taken over ends with them counted as such, the rest unchanged", async () => {
    const devices = (await env.services.portal.listDevices(SYSTEM_ACTOR, clientId, { limit: 100 })).items
      .filter((d) => d.hostname.startsWith("HOST-7"))
      .sort((x, y) => x.id - y.id);
    expect(devices).toHaveLength(DEVICES);
    // The first device is no longer managed (its CI is deactivated), the next six have more memory.
    await env.services.portal.updateDevice(SYSTEM_ACTOR, devices[0]!.id, { state: "unmanaged" });
    for (const d of devices.slice(1, 7))
      await env.services.portal.updateDevice(SYSTEM_ACTOR, d.id, { ram: "32 GB" });
    await at.admin("DELETE", "/stats");
    const run = await takenOver(2);
    expect(run.status).toBe("succeeded");
    expect(run.log.join("\n")).toContain("Taken over by worker worker-b");
    expect(run.counts).toEqual(counts({ deactivated: 1, updated: 6, unchanged: DEVICES - 7 }));
    const ops = ((await at.stats()) as unknown as { byOperation: Record<string, number> }).byOperation;
    expect(ops["update ConfigurationItems"]).toBe(7);
    expect(ops["create ConfigurationItems"] ?? 0).toBe(0);
    expect((await cis()).filter((c) => !c.isActive)).toHaveLength(1);
    expect(await journalRows(run.id)).toEqual([]);
  });
});
