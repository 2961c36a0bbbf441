/**
 * Scale-out on PostgreSQL: P partners, each on a tenant of its own in ONE Autotask emulator (every
 * API request SCALE_LATENCY_MS slower, real limits, webhooks on), served by one `nocbridge serve`
 * (API only) and W `nocbridge worker` processes — W = 1, then W = 2, each round on a fresh schema and
 * fresh emulator tenants. Per round:
 *
 *   firstSyncS   integration settings saved for every partner (devices and ticketing on) until every
 *                partner's onboarding asset run has finished (read from sync_runs).
 *   ticketP99Ms  while the first sync runs (and at least SCALE_MIN_LOAD_S), portal tickets are created
 *                and retitled through the REST API at SCALE_EDITS_PER_S across all partners; per edit,
 *                from the API request until the title is in the partner's tenant (read through the
 *                emulator's admin API, which spends no API requests; the reading's granularity, one
 *                sweep over the tenants waiting, is printed).
 *   resyncS      POST /api/partners/:id/sync/assets for every partner until every run has finished.
 *   pollCycleS   every partner's ticket poll job made due at once (as the worker queues it) until
 *                every one has run and queued its next poll.
 *   duplicates   emulator tickets per portal ticket (by externalID) beyond one, plus CIs per device
 *                (by the portal-id UDF) beyond one, after the round.
 *   writesPerEdit  emulator "create Tickets" + "update Tickets" during the load ÷ API creates and edits.
 *   http429      emulator rejections (threshold, thread limit, injected) during the round.
 *
 * Prints progress lines, then one JSON object on the last line:
 *   {"partners","devices","workers":{"1":{…},"2":{…}},"speedup","pollCycleS","duplicates","writesPerEdit","http429"}
 * (speedup = firstSyncS with 1 worker ÷ with 2; the top-level pollCycleS is the last round's).
 *
 *   npm run bench:scale                                  (200 partners × 250 devices, 150 ms, 20 edits/s)
 *   SCALE_PARTNERS=10 SCALE_DEVICES=20 npm run bench:scale
 *
 * Also: SCALE_WORKERS (default "1,2"), SCALE_CONCURRENCY (ticket jobs per worker, the worker's default 32; asset runs a quarter), SCALE_CLIENTS
 * (per partner, 1–4, default 4), SCALE_MIN_LOAD_S (10), SCALE_SETTLE_S (60), SCALE_PHASE_TIMEOUT_S
 * (3600), SCALE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/nocbridge_bench_scale, a
 * database of the bench's own: made and dropped when missing; see ensureDatabase for why).
 * Child processes are stopped and the schemas dropped on success and on failure; a failed round
 * leaves its process logs in the directory it prints.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CREDENTIALS, DEMO_IDS } from "../src/emulators/autotask/seed.js";
import { GraphileJobs } from "../src/jobs/index.js";
import { createLogger } from "../src/lib/logger.js";
import { PORTAL_ID_UDF } from "../src/psa/autotask/mapper.js";
import { DEFAULT_CONCURRENCY, enqueuePoll } from "../src/sync/background.js";
import { startEmulatorProcess } from "./emulator-process.js";
import { type LoadTarget, percentile, TicketLoad } from "./scale-load.js";
import {
  type BenchSchema,
  createSchema,
  ensureDatabase,
  freePort,
  type NocbridgeProcess,
  spawnNocbridge,
} from "./scale-procs.js";
import { devices, diff, extra, integration, mapPool } from "./scale-setup.js";

const num = (name: string, def: number, min = 1) => {
  const v = Number(process.env[name] ?? def);
  if (!Number.isFinite(v) || v < min) throw new Error(`${name} must be a number ≥ ${min}`);
  return v;
};
const PARTNERS = Math.round(num("SCALE_PARTNERS", 200));
const DEVICES = Math.round(num("SCALE_DEVICES", 250));
const LATENCY_MS = num("SCALE_LATENCY_MS", 150, 0);
const RATE = num("SCALE_EDITS_PER_S", 20);
const CONCURRENCY = Math.round(num("SCALE_CONCURRENCY", DEFAULT_CONCURRENCY));
const CLIENTS = Math.min(4, Math.round(num("SCALE_CLIENTS", 4)));
const MIN_LOAD_S = num("SCALE_MIN_LOAD_S", 10);
const SETTLE_S = num("SCALE_SETTLE_S", 60);
const PHASE_TIMEOUT_S = num("SCALE_PHASE_TIMEOUT_S", 3600);
const WORKERS = (process.env["SCALE_WORKERS"] ?? "1,2").split(",").map((w) => {
  const n = Number(w);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SCALE_WORKERS: "${w}" is not a worker count`);
  return n;
});
/** A database of its own (see ensureDatabase), made and dropped by the bench when it is not there. */
const PG_URL =
  process.env["SCALE_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/nocbridge_bench_scale";
/** Ticket slots per partner: each ticket is edited about every 10 s (see TicketLoad). */
const PER_PARTNER = Math.max(1, Math.min(50, Math.ceil((10 * RATE) / PARTNERS)));
const COMPANIES = Object.values(DEMO_IDS.companies);

const TOKEN = `nbt_${randomBytes(16).toString("hex")}`;
const MASTER_KEY = randomBytes(32).toString("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => Math.round(ms / 100) / 10;
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** Waits for `check` to say done, printing its progress now and then; fails after the phase timeout. */
async function until(what: string, check: () => Promise<{ done: boolean; note: string }>): Promise<void> {
  const end = Date.now() + PHASE_TIMEOUT_S * 1000;
  let lastNote = Date.now();
  for (;;) {
    const dead = procs.find((p) => p.exited() !== null);
    if (dead)
      throw new Error(`${what}: ${dead.name} exited (${dead.exited()}):\n${dead.output().slice(-3000)}`);
    const s = await check();
    if (s.done) return;
    if (Date.now() > end) throw new Error(`${what}: not done after ${PHASE_TIMEOUT_S} s (${s.note})`);
    if (Date.now() - lastNote > 15_000) {
      log(`  ${what}: ${s.note}`);
      lastNote = Date.now();
    }
    await sleep(250);
  }
}

interface EmuStats {
  requests: number;
  byOperation: Record<string, number>;
  rejected: Record<string, number>;
}

const database = await ensureDatabase(PG_URL);
const logDir = mkdtempSync(join(tmpdir(), "nb-bench-scale-"));
const emulator = await startEmulatorProcess([
  "--time-scale",
  "1",
  "--allow-http-webhooks",
  "--seed",
  "empty",
  "--fault-latency",
  String(LATENCY_MS),
]);
const stats = () => emulator.admin<EmuStats>("GET", "/stats");
const rows = <T>(tenant: string, entity: string) =>
  emulator.admin<{ items: T[] }>("GET", `/tenants/${tenant}/rows/${entity}`).then((r) => r.items);

let procs: NocbridgeProcess[] = [];
let schema: BenchSchema | null = null;
async function cleanUp(): Promise<void> {
  // Workers first (they finish or hand back their jobs), then the API.
  await Promise.all(procs.filter((p) => p.name !== "serve").map((p) => p.stop().catch(() => {})));
  await Promise.all(procs.filter((p) => p.name === "serve").map((p) => p.stop().catch(() => {})));
  procs = [];
  await schema?.drop().catch((e: unknown) => log(`could not drop schema ${schema?.name}: ${String(e)}`));
  schema = null;
}
let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: cleaning up`);
    setTimeout(() => process.exit(130), 30_000).unref();
    void cleanUp().finally(async () => {
      emulator.stop();
      await database.drop().catch(() => {});
      process.exit(130);
    });
  });

interface RoundResult {
  firstSyncS: number;
  resyncS: number;
  ticketP99Ms: number;
  /** p99 of edits only: a ticket's create (behind its partner's onboarding set-up) left out. */
  editP99Ms: number;
  ticketP50Ms: number;
  pollCycleS: number;
  edits: number;
  duplicates: number;
  writesPerEdit: number;
  http429: number;
}

async function round(workers: number): Promise<RoundResult> {
  log(`round with ${workers} worker(s): ${PARTNERS} tenants, ${PARTNERS} partners × ${DEVICES} devices`);
  await emulator.admin("POST", "/reset", { seed: "empty" });
  const tenantOf = (i: number) => `scale${i + 1}`;
  const creds = (i: number) => ({
    username: `scale${i + 1}@bench.example`,
    secret: `Scale-secret-${i + 1}`,
    integrationCode: DEFAULT_CREDENTIALS.integrationCode,
  });
  await mapPool(
    Array.from({ length: PARTNERS }, (_, i) => i),
    8,
    (i) => emulator.admin("POST", "/tenants", { id: tenantOf(i), seed: "demo", ...creds(i) }),
  );
  schema = await createSchema(PG_URL);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: schema.url,
    NOCBRIDGE_MASTER_KEY: MASTER_KEY,
    NOCBRIDGE_ADMIN_TOKEN: TOKEN,
    NOCBRIDGE_ALLOW_HTTP_WEBHOOKS: "1",
    NOCBRIDGE_PSA_URL_ALLOWLIST: emulator.url,
    NOCBRIDGE_PUBLIC_URL: base,
    LOG_LEVEL: process.env["SCALE_LOG_LEVEL"] ?? "warn",
  };
  // The API first: it migrates the schema, so workers start on a finished one.
  procs.push(
    await spawnNocbridge(
      "serve",
      ["serve", "--host", "127.0.0.1", "--port", String(port)],
      env,
      logDir,
      /listening on http/,
    ),
  );
  const workerPorts: number[] = [];
  for (let i = 0; i < workers; i++) {
    const workerPort = await freePort();
    workerPorts.push(workerPort);
    procs.push(
      await spawnNocbridge(
        `worker-${i + 1}`,
        ["worker", "--concurrency", String(CONCURRENCY), "--port", String(workerPort)],
        env,
        logDir,
        /nocbridge worker .*running/,
      ),
    );
  }
  /** Ticket jobs so far, summed over the workers' /metrics: count, mean and over 1 s / 5 s, by task. */
  const jobTimes = async (): Promise<string> => {
    const by = new Map<string, { n: number; sum: number; le1: number; le5: number }>();
    for (const wp of workerPorts) {
      const text = await fetch(`http://127.0.0.1:${wp}/metrics`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      }).then((r) => r.text());
      for (const m of text.matchAll(
        /^nocbridge_job_duration_seconds_(count|sum|bucket)\{([^}]*)\} ([\d.e+-]+)$/gm,
      )) {
        const labels = m[2] as string;
        const task = /task="([^"]+)"/.exec(labels)?.[1] ?? "?";
        if (!task.startsWith("tickets.")) continue;
        const cur = by.get(task) ?? { n: 0, sum: 0, le1: 0, le5: 0 };
        const v = Number(m[3]);
        if (m[1] === "count") cur.n += v;
        else if (m[1] === "sum") cur.sum += v;
        else if (labels.includes('le="1"')) cur.le1 += v;
        else if (labels.includes('le="5"')) cur.le5 += v;
        by.set(task, cur);
      }
    }
    return [...by]
      .map(
        ([t, v]) =>
          `${t} ${v.n} (mean ${v.n ? Math.round((v.sum / v.n) * 1000) : 0} ms, over 1 s ${v.n - v.le1}, over 5 s ${v.n - v.le5})`,
      )
      .join("; ");
  };

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };

  // ---- set-up (not timed): partners, clients on the tenant's demo companies, devices
  const setupStart = performance.now();
  const perClient = Math.ceil(DEVICES / CLIENTS);
  const partners = await mapPool(
    Array.from({ length: PARTNERS }, (_, i) => i),
    4,
    async (i) => {
      const p = await api<{ id: number }>("POST", "/api/partners", { name: `Scale VAR ${i + 1}` });
      const clientIds: number[] = [];
      for (let c = 0; c < CLIENTS; c++) {
        const client = await api<{ id: number }>("POST", `/api/partners/${p.id}/clients`, {
          code: `AT${c + 1}`,
          name: `Scale client ${i + 1}.${c + 1}`,
          psaCompanyId: COMPANIES[c],
        });
        clientIds.push(client.id);
        const n = Math.min(perClient, DEVICES - c * perClient);
        if (n <= 0) continue;
        await api("POST", `/api/clients/${client.id}/devices/import`, devices(i, c, n));
      }
      return { id: p.id, tenant: tenantOf(i), clientIds };
    },
  );
  log(
    `set-up: ${PARTNERS} partners, ${PARTNERS * DEVICES} devices in ${secs(performance.now() - setupStart)} s`,
  );

  const roundStart = await stats();
  const db = schema.client;
  const table = `${schema.name}.sync_runs`;

  // ---- first sync: settings saved for every partner, then their onboarding runs
  const t0 = performance.now();
  await mapPool(partners, 8, (p, i) =>
    api("PUT", `/api/partners/${p.id}/integration`, integration(emulator.restBase, creds(i))),
  );
  log(`settings saved for ${PARTNERS} partners in ${secs(performance.now() - t0)} s; load starts`);
  const loadStats = await stats();
  const target: LoadTarget = {
    partners,
    api,
    tickets: (tenant) => rows(tenant, "Tickets"),
  };
  const load = new TicketLoad(target, RATE, PER_PARTNER);
  const loadStart = performance.now();
  load.start();
  let firstSyncMs = 0;
  try {
    await until("first sync", async () => {
      const { rows: r } = await db.query<{ status: string; n: string }>(
        `select status, count(distinct partner_id) as n from ${table}
          where kind = 'assets' and dry_run = 0 group by status`,
      );
      const by = Object.fromEntries(r.map((x) => [x.status, Number(x.n)]));
      const finished = r.filter((x) => x.status !== "running").reduce((a, x) => a + Number(x.n), 0);
      return { done: finished >= PARTNERS && !by["running"], note: JSON.stringify(by) };
    });
    firstSyncMs = performance.now() - t0;
  } finally {
    const minEnd = loadStart + MIN_LOAD_S * 1000;
    if (performance.now() < minEnd) await sleep(minEnd - performance.now());
  }
  const { rows: firstRows } = await db.query<{ status: string; n: string }>(
    `select status, count(*) as n from ${table} where kind = 'assets' group by status`,
  );
  log(`first sync done in ${secs(firstSyncMs)} s: runs ${JSON.stringify(firstRows)}`);
  const lr = await load.finish(SETTLE_S * 1000);
  const afterLoad = await stats();
  const op = (s: EmuStats, k: string) => s.byOperation[k] ?? 0;
  const ticketWrites = (s: EmuStats) => op(s, "create Tickets") + op(s, "update Tickets");
  const writes = ticketWrites(afterLoad) - ticketWrites(loadStats);
  const edits = lr.ops;
  log(
    `tickets: ${edits} ops (${lr.creates} creates) in ${secs(performance.now() - loadStart)} s, ${lr.failures.length} failed, ` +
      `${lr.lost} never seen, ${lr.superseded} overtaken; p50 ${Math.round(percentile(lr.latencies, 50))} ms, ` +
      `p99 ${Math.round(percentile(lr.latencies, 99))} ms, max ${Math.round(lr.latencies.at(-1) ?? Number.NaN)} ms ` +
      `(watcher sweep ${Math.round(lr.sweepMs)} ms); edits by the emulator's write stamp p50 ` +
      `${Math.round(percentile(lr.editWriteLatencies, 50))} ms, p99 ${Math.round(percentile(lr.editWriteLatencies, 99))} ms; ` +
      `emulator ticket writes ${writes}`,
  );
  for (const f of lr.failures.slice(0, 5)) log(`  failed: ${f}`);
  log(
    `  creates by the emulator's write stamp: p50 ${Math.round(percentile(lr.createWriteLatencies, 50))} ms, ` +
      `p99 ${Math.round(percentile(lr.createWriteLatencies, 99))} ms`,
  );
  log(`  ticket jobs: ${await jobTimes().catch((e: unknown) => `not read (${String(e)})`)}`);
  log(
    `  slowest op to be seen, by when it was sent: ${lr.timeline.map((b) => `${b.atS}s ${b.maxMs}`).join(", ")}`,
  );

  // ---- re-sync: a manual asset sync of every partner
  const t2 = performance.now();
  const runIds = await mapPool(partners, 8, async (p) => {
    const r = await api<{ runId: number }>("POST", `/api/partners/${p.id}/sync/assets`);
    return r.runId;
  });
  await until("re-sync", async () => {
    const { rows: r } = await db.query<{ n: string }>(
      `select count(*) as n from ${table} where id = any($1) and status = 'running'`,
      [runIds],
    );
    return { done: Number(r[0]?.n) === 0, note: `${r[0]?.n} running` };
  });
  const resyncMs = performance.now() - t2;
  const { rows: resyncRows } = await db.query<{ status: string; n: string }>(
    `select status, count(*) as n from ${table} where id = any($1) group by status`,
    [runIds],
  );
  log(`re-sync done in ${secs(resyncMs)} s: ${JSON.stringify(resyncRows)}`);

  // ---- one poll cycle: every partner's poll job due now, as a worker queues it
  const beforePoll = await stats();
  const jobs = await GraphileJobs.open({
    url: schema.url,
    schema: schema.jobs,
    logger: createLogger("silent"),
    maxPoolSize: 2,
  });
  const {
    rows: [{ now: forcedAt } = { now: new Date() }],
  } = await db.query<{ now: Date }>("select now() as now");
  const t3 = performance.now();
  try {
    for (const p of partners) await enqueuePoll(jobs, p.id, 0);
  } finally {
    await jobs.close();
  }
  await until("poll cycle", async () => {
    const { rows: r } = await db.query<{ n: string }>(
      `select count(*) as n from ${schema?.jobs}.jobs
        where task_identifier = 'tickets.poll' and run_at < $1::timestamptz + interval '60 seconds'`,
      [forcedAt],
    );
    return { done: Number(r[0]?.n) === 0, note: `${r[0]?.n} polls due or running` };
  });
  const pollMs = performance.now() - t3;
  const afterPoll = await stats();
  log(
    `poll cycle of ${PARTNERS} partners in ${secs(pollMs)} s (emulator "query Tickets" +${op(afterPoll, "query Tickets") - op(beforePoll, "query Tickets")})`,
  );

  // ---- after the round: duplicates in every tenant, rejections
  let dupTickets = 0;
  let dupCis = 0;
  let linked = 0;
  let cis = 0;
  for (const p of partners) {
    const tickets = await rows<{ externalID?: string | null }>(p.tenant, "Tickets");
    dupTickets += extra(tickets.map((t) => t.externalID ?? null));
    linked += new Set(tickets.map((t) => t.externalID).filter((x) => x)).size;
    const items = await rows<{
      referenceTitle?: string | null;
      serialNumber?: string | null;
      userDefinedFields?: Array<{ name: string; value: unknown }>;
    }>(p.tenant, "ConfigurationItems");
    // A CI is a device's by the portal-id UDF; one without it (should the sync not write it) by the
    // device's hostname and serial number, unique within a partner.
    const ids = items.map((ci) => {
      const v = ci.userDefinedFields?.find((u) => u.name === PORTAL_ID_UDF)?.value;
      if (v !== undefined && v !== null && v !== "") return `id:${String(v)}`;
      return ci.referenceTitle ? `host:${ci.referenceTitle}|${ci.serialNumber ?? ""}` : null;
    });
    dupCis += extra(ids);
    cis += new Set(ids.filter((x) => x !== null)).size;
  }
  const end = await stats();
  const rejected = (s: EmuStats) => Object.values(s.rejected).reduce((a, n) => a + n, 0);
  const http429 = rejected(end) - rejected(roundStart);
  log(
    `after the round: ${linked} emulator tickets with an externalID for ${lr.creates} portal tickets (${dupTickets} extra); ` +
      `${cis} devices with a CI of ${PARTNERS * DEVICES} (${dupCis} extra CIs); emulator rejections ${JSON.stringify(diff(end.rejected, roundStart.rejected))}; ` +
      `${end.requests - roundStart.requests} API requests`,
  );
  if (lr.failures.length + lr.lost > 0 || linked < lr.creates || cis < PARTNERS * DEVICES)
    process.exitCode = 1;
  await cleanUp();
  return {
    firstSyncS: secs(firstSyncMs),
    resyncS: secs(resyncMs),
    ticketP99Ms: Math.round(percentile(lr.latencies, 99)),
    ticketP50Ms: Math.round(percentile(lr.latencies, 50)),
    editP99Ms: Math.round(percentile(lr.editLatencies, 99)),
    pollCycleS: secs(pollMs),
    edits,
    duplicates: dupTickets + dupCis,
    writesPerEdit: edits > 0 ? Math.round((writes / edits) * 100) / 100 : Number.NaN,
    http429,
  };
}

const results: Record<string, RoundResult> = {};
try {
  for (const w of WORKERS) results[String(w)] = await round(w);
} catch (e) {
  process.exitCode = 1;
  if (!interrupted) {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    for (const p of procs) log(`--- ${p.name} (last lines)\n${p.output().split("\n").slice(-30).join("\n")}`);
  }
} finally {
  await cleanUp();
  emulator.stop();
  await database.drop().catch((e: unknown) => log(`could not drop the bench database: ${String(e)}`));
}
if (process.exitCode === 1) log(`process logs kept in ${logDir}`);
else rmSync(logDir, { recursive: true, force: true });

const rounds = Object.values(results);
const one = results["1"];
const two = results["2"];
const totalEdits = rounds.reduce((a, r) => a + r.edits, 0);
console.log(
  JSON.stringify({
    partners: PARTNERS,
    devices: PARTNERS * DEVICES,
    latencyMs: LATENCY_MS,
    editsPerS: RATE,
    workers: results,
    speedup: one && two ? Math.round((one.firstSyncS / two.firstSyncS) * 100) / 100 : null,
    pollCycleS: rounds.at(-1)?.pollCycleS ?? null,
    duplicates: rounds.reduce((a, r) => a + r.duplicates, 0),
    writesPerEdit:
      totalEdits > 0
        ? Math.round((rounds.reduce((a, r) => a + r.writesPerEdit * r.edits, 0) / totalEdits) * 100) / 100
        : null,
    http429: rounds.reduce((a, r) => a + r.http429, 0),
  }),
);
