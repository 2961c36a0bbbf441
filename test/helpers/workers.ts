/**
 * The ticket sync's processes, as a test drives them: one process, or the scale-out on one PostgreSQL
 * schema (docs/scale-out.md) — two worker processes and an API process, as services instances in this
 * test process, each with its own engine, connectors and caches. The workers take jobs from the
 * database's one job engine; all three serve the API behind a round-robin balancer, where the PSA
 * sends webhooks. Drains happen only when the test asks: one worker's drain, or the real drain jobs
 * both workers queue, until the partner's job queue is quiet.
 */
import { createServer, request } from "node:http";
import { sql } from "kysely";
import { vi } from "vitest";
import type { App } from "../../src/api/app.js";
import { jobSchemaFor } from "../../src/jobs/index.js";
import { ticketQueue } from "../../src/sync/background.js";
import { Liveness } from "../../src/sync/liveness.js";
import { sharedTestDatabase, type TestDatabase, type TestEnv, testApp } from "./services.js";
import { until } from "./wait.js";

/** Which worker: A, B, or both at once (with one process, always A). */
export type Who = "a" | "b" | "both";

/** What a process's services are opened with, beside a test's own options (nothing for the one process). */
export type ProcessOptions =
  | Record<string, never>
  | {
      database: TestDatabase;
      jobs: "shared";
      background: boolean;
      concurrency: number;
      jobPollIntervalMs: number;
      pollIntervalMs: number;
    };

export interface Processes {
  /** Process A's services (the only one, with one process). */
  env: TestEnv;
  /** Every process's services: A; or A, B and the API process. */
  envs: TestEnv[];
  /**
   * Scale-out: per worker (A, B), the "both" drains in which it ran a drain job; per process (A, B,
   * API), the webhook deliveries it answered; and how many of those were refused (400 or more).
   */
  stats: { drainedBy: number[]; answered: number[]; refused: number };
  /** After the partner's integration was saved: its webhook set-up done, and its drains held. */
  ready(partnerId: number): Promise<void>;
  drain(partnerId: number, who: Who): Promise<void>;
  poll(partnerId: number, who: Who): Promise<void>;
  /** Closes the servers and every process but A (which the caller closes). */
  close(): Promise<void>;
  /** After A is closed: drops the shared database. */
  drop(): Promise<void>;
}

/**
 * The workers' drains come from the job engine only while the test lets them: the drain job of a
 * worker whose gate is closed does nothing (as a paused worker's: its events wait in the store).
 */
interface DrainGate {
  open: boolean;
  /** Drain jobs this process ran while its gate was open. */
  ran: number;
  /** The drain job's work, done in this process now (what the process does when it takes the job). */
  drainHere(partnerId: number): Promise<void>;
}

function gateDrainJobs(env: TestEnv): DrainGate {
  const tickets = env.services.sync.tickets;
  const drainJob = tickets.drainJob.bind(tickets);
  const gate: DrainGate = { open: false, ran: 0, drainHere: drainJob };
  vi.spyOn(tickets, "drainJob").mockImplementation(async (partnerId) => {
    if (!gate.open) return;
    gate.ran++;
    await drainJob(partnerId);
  });
  return gate;
}

/** Waits until the partner's ticket queue has no job running and none due (a later retry may wait). */
async function queueQuiet(env: TestEnv, database: TestDatabase, partnerId: number): Promise<void> {
  const jobs = sql.table(`${jobSchemaFor(database.schema)}.jobs`);
  await until(
    async () => {
      const { rows } = await sql<{ busy: string }>`
        select count(*) as busy from ${jobs}
         where queue_name = ${ticketQueue(partnerId)}
           and (locked_at is not null or (run_at <= now() and attempts < max_attempts))`.execute(
        env.services.db.kysely,
      );
      return Number(rows[0]?.busy) === 0;
    },
    `partner ${partnerId}'s ticket jobs to finish`,
    60_000,
    5,
  );
}

/** A server for the services on a free port, which becomes their webhook base (a balancer may take its place). */
async function listening(env: TestEnv): Promise<{ app: App; url: string }> {
  const app = await testApp(env);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  env.services.setListeningUrl(url);
  return { app, url };
}

/** A load balancer: each request goes to the next target in turn; it counts answers and refusals per target. */
async function roundRobin(targets: string[], stats: Processes["stats"]) {
  let next = 0;
  const server = createServer((req, res) => {
    const i = next++ % targets.length;
    const to = new URL(targets[i] as string);
    const up = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const status = answer.statusCode ?? 502;
        stats.answered[i] = (stats.answered[i] ?? 0) + 1;
        if (status >= 400) stats.refused++;
        res.writeHead(status, answer.headers);
        answer.pipe(res);
      },
    );
    up.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  return {
    url: `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * One process (`workers` 1: its own in-memory jobs, its worker paused between the test's drains), or
 * two worker processes and an API process on one fresh PostgreSQL schema. `open` opens A's services,
 * `another` the others, with the options given (none for the one process).
 */
export async function openProcesses(
  workers: 1 | 2,
  open: (o: ProcessOptions) => Promise<TestEnv>,
  another: (o: ProcessOptions) => Promise<TestEnv> = open,
): Promise<Processes> {
  const stats: Processes["stats"] = { drainedBy: [0, 0], answered: [0, 0, 0], refused: 0 };
  if (workers === 1) {
    const env = await open({});
    const { app } = await listening(env);
    const tickets = env.services.sync.tickets;
    return {
      env,
      envs: [env],
      stats,
      async ready(partnerId) {
        await env.services.sync.ticketSetup(partnerId);
        tickets.pause(partnerId);
      },
      // One drain of the paused worker: resumed and paused again at once (no webhook starts another).
      async drain(partnerId) {
        const done = tickets.resume(partnerId);
        tickets.pause(partnerId);
        await done;
        await tickets.idle(partnerId);
      },
      async poll(partnerId) {
        await env.services.sync.pollTickets(partnerId);
      },
      close: () => app.close(),
      drop: async () => {},
    };
  }

  // The runs' clock jumps ahead between runs (see the property test): a process's last beat would then
  // look stale to the other, which would take it for dead and hand its jobs to itself while it still
  // runs them. No process dies here, so none is found dead.
  vi.spyOn(Liveness.prototype, "dead").mockResolvedValue([]);
  const database = sharedTestDatabase("postgres");
  const o: ProcessOptions = {
    database,
    jobs: "shared",
    background: true,
    // One partner's ticket jobs run one at a time whatever the concurrency.
    concurrency: 1,
    // A job skipped while a key replaced it is found again this soon (2 s in production).
    jobPollIntervalMs: 100,
    // The poll job's own interval is never reached: the polls are the test's.
    pollIntervalMs: 3_600_000,
  };
  const a = await open(o);
  const b = await another(o);
  // `nocbridge serve`: it turns wake-ups into jobs and takes none.
  const api = await another({ ...o, background: false });
  const workerEnvs = [a, b];
  const envs = [a, b, api];
  const gates = workerEnvs.map(gateDrainJobs);
  const servers = await Promise.all(envs.map(listening));
  const balancer = await roundRobin(
    servers.map((s) => s.url),
    stats,
  );
  for (const env of envs) env.services.setListeningUrl(balancer.url);
  const quiet = (partnerId: number) => queueQuiet(a, database, partnerId);

  /**
   * Both processes queue the partner's drain at once, and again once a drain job has started (a
   * wake-up in either process while a drain runs, as a webhook or a portal edit makes); the job
   * runners of both take them, until the partner's queue is quiet.
   */
  const drainBoth = async (partnerId: number) => {
    const before = gates.map((g) => g.ran);
    const wake = () => Promise.all(workerEnvs.map((e) => e.services.sync.tickets.notify(partnerId)));
    for (const g of gates) g.open = true;
    try {
      await wake();
      await until(
        async () => gates.some((g, i) => g.ran > (before[i] as number)),
        "a drain job to start",
        60_000,
        1,
      );
      await wake();
      await quiet(partnerId);
    } finally {
      for (const g of gates) g.open = false;
    }
    gates.forEach((g, i) => {
      if (g.ran > (before[i] as number)) stats.drainedBy[i]! += 1;
    });
  };

  return {
    env: a,
    envs,
    stats,
    async ready(partnerId) {
      // The set-up is a job too (either process takes it): registration, first push, a poll.
      await a.services.sync.ticketSetup(partnerId);
      await quiet(partnerId);
    },
    async drain(partnerId, who) {
      if (who === "both") return drainBoth(partnerId);
      await (gates[who === "a" ? 0 : 1] as DrainGate).drainHere(partnerId);
    },
    async poll(partnerId, who) {
      // Both: "Poll now" in one process while the other's poll job runs (outside the partner's queue).
      const polling = who === "both" ? workerEnvs : [workerEnvs[who === "a" ? 0 : 1] as TestEnv];
      await Promise.all(polling.map((e) => e.services.sync.pollTickets(partnerId)));
    },
    async close() {
      await balancer.close();
      for (const s of servers) await s.app.close();
      await b.close();
      await api.close();
    },
    drop: () => database.drop(),
  };
}
