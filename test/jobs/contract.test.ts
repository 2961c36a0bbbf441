import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { GraphileJobs } from "../../src/jobs/graphile.js";
import { MemoryJobs } from "../../src/jobs/memory.js";
import type { Jobs, TaskList } from "../../src/jobs/types.js";
import { createLogger } from "../../src/lib/logger.js";
import { PG_URL } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

/**
 * The job contract both engines keep: the embedded one (in-process) and the PostgreSQL one
 * (graphile-worker, shared by processes). The engine's correctness across processes rests on these
 * rules, so each is pinned on both.
 */

const BACKENDS = ["memory", "graphile"] as const;
const logger = createLogger("silent");
const schemas: string[] = [];

async function dropSchemas(): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    for (const s of schemas.splice(0)) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  } finally {
    await c.end();
  }
}

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
};

describe.each(BACKENDS)("the job contract (%s)", (backend) => {
  const opened: Jobs[] = [];
  let schema = "";

  /** A fresh engine; with `shared`, a second one on the same job tables (another process's). */
  async function engine(shared = false): Promise<Jobs> {
    if (backend === "memory") {
      const j = new MemoryJobs();
      opened.push(j);
      return j;
    }
    if (!shared) {
      schema = `jobs_${randomBytes(5).toString("hex")}`;
      schemas.push(schema);
    }
    const j = await GraphileJobs.open({ url: PG_URL, schema, logger, graceMs: 2_000 });
    opened.push(j);
    return j;
  }

  afterEach(async () => {
    for (const j of opened.splice(0)) await j.close();
  });
  afterAll(dropSchemas);

  it("runs a job with its payload, on its first attempt", async () => {
    const jobs = await engine();
    const seen: unknown[] = [];
    await jobs.work(
      {
        hello: async (p, ctx) => {
          seen.push({ ...p, attempt: ctx.attempt, worker: ctx.workerId.length > 0 });
        },
      },
      { concurrency: 1 },
    );
    await jobs.add("hello", { partnerId: 7 });
    await until(async () => seen.length > 0, "the job ran");
    expect(seen).toEqual([{ partnerId: 7, attempt: 1, worker: true }]);
  });

  it("a key replaces the job waiting under it: one run, with the newest payload", async () => {
    const jobs = await engine();
    const runs: unknown[] = [];
    await jobs.add("k", { v: 1 }, { key: "poll:1", runAt: new Date(Date.now() + 3_600_000) });
    await jobs.add("k", { v: 2 }, { key: "poll:1" });
    await jobs.add("k", { v: 3 }, { key: "poll:1" });
    await jobs.work(
      { k: async (p) => void runs.push(p.v), marker: async () => void runs.push("marker") },
      {
        concurrency: 1,
      },
    );
    await jobs.add("marker", {}, { runAt: new Date(Date.now() + 300) });
    await until(async () => runs.includes("marker"), "the marker ran");
    expect(runs).toEqual([3, "marker"]);
  });

  it("preserve_run_at keeps the waiting job's time; a job is not run before its time", async () => {
    const jobs = await engine();
    const runs: string[] = [];
    const later = new Date(Date.now() + 3_600_000);
    await jobs.add("k", { v: "later" }, { key: "s:1", runAt: later });
    await jobs.add("k", { v: "now?" }, { key: "s:1", keyMode: "preserve_run_at" });
    await jobs.work(
      { k: async (p) => void runs.push(String(p.v)), marker: async () => void runs.push("marker") },
      {
        concurrency: 2,
      },
    );
    await jobs.add("marker", {}, { runAt: new Date(Date.now() + 500) });
    await until(async () => runs.includes("marker"), "the marker ran");
    expect(runs).toEqual(["marker"]);
    expect(await jobs.counts()).toContainEqual({ task: "k", state: "queued", count: 1 });
    await jobs.remove("s:1");
    expect((await jobs.counts()).filter((c) => c.task === "k")).toEqual([]);
  });

  it("a queue runs one job at a time, in order, across two engines on the same jobs", async () => {
    const a = await engine();
    const b = await engine(true);
    let active = 0;
    let most = 0;
    const order: number[] = [];
    const tasks: TaskList = {
      step: async (p) => {
        active++;
        most = Math.max(most, active);
        await new Promise((r) => setTimeout(r, 40));
        order.push(Number(p.n));
        active--;
      },
    };
    for (let n = 1; n <= 6; n++) await a.add("step", { n }, { queue: "tickets:1" });
    await a.work(tasks, { concurrency: 3 });
    await b.work(tasks, { concurrency: 3 });
    await until(async () => order.length === 6, "six jobs ran");
    expect(most).toBe(1);
    expect(order).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("among due jobs a lower priority runs first, whatever order they were added in", async () => {
    const jobs = await engine();
    const order: string[] = [];
    for (let n = 1; n <= 3; n++) await jobs.add("p", { v: `poll ${n}` }, { queue: `q:${n}`, priority: 5 });
    await jobs.add("p", { v: "drain" }, { queue: "q:4", priority: 0 });
    await jobs.work({ p: async (p) => void order.push(String(p.v)) }, { concurrency: 1 });
    await until(async () => order.length === 4, "four jobs ran");
    expect(order[0]).toBe("drain");
    expect(order.slice(1).sort()).toEqual(["poll 1", "poll 2", "poll 3"]);
  });

  it("jobs of different queues run side by side", async () => {
    const jobs = await engine();
    const both = gate();
    let active = 0;
    await jobs.work(
      {
        side: async () => {
          active++;
          if (active === 2) both.open();
          await Promise.race([both.opened, new Promise((r) => setTimeout(r, 10_000))]);
        },
      },
      { concurrency: 2 },
    );
    await jobs.add("side", {}, { queue: "tickets:1" });
    await jobs.add("side", {}, { queue: "tickets:2" });
    await both.opened;
    expect(active).toBe(2);
  });

  it("a key added while its job runs makes it run again after, never at the same time", async () => {
    const jobs = await engine();
    const first = gate();
    const started = gate();
    let runs = 0;
    let active = 0;
    let most = 0;
    await jobs.work(
      {
        drain: async () => {
          runs++;
          active++;
          most = Math.max(most, active);
          if (runs === 1) {
            started.open();
            await first.opened;
          }
          active--;
        },
      },
      { concurrency: 3 },
    );
    await jobs.add("drain", { partnerId: 1 }, { key: "drain:1", queue: "tickets:1" });
    await started.opened;
    await jobs.add("drain", { partnerId: 1 }, { key: "drain:1", queue: "tickets:1" });
    await jobs.add("drain", { partnerId: 1 }, { key: "drain:1", queue: "tickets:1" });
    first.open();
    await until(async () => runs === 2 && active === 0, "the second run");
    // The two adds during the first run were one job: a third run would come right after.
    await jobs.add("drain", { partnerId: 2 }, { key: "drain:2", queue: "tickets:2" });
    await until(async () => runs === 3, "the other partner's run");
    expect(most).toBe(1);
  });

  it("each work call is its own pool: long jobs of one never hold the slots of the other", async () => {
    const jobs = await engine();
    const release = gate();
    const started = gate();
    const quick: number[] = [];
    await jobs.work(
      {
        long: () => {
          started.open();
          return release.opened;
        },
      },
      { concurrency: 1 },
    );
    await jobs.work({ quick: async (p) => void quick.push(Number(p.n)) }, { concurrency: 1 });
    await jobs.add("long", {});
    await jobs.add("long", {});
    await started.opened;
    for (let n = 1; n <= 3; n++) await jobs.add("quick", { n });
    await until(async () => quick.length === 3, "the quick jobs ran beside the long one");
    expect((await jobs.counts()).find((c) => c.task === "long" && c.state === "queued")?.count).toBe(1);
    release.open();
  });

  it("a failing job is retried with backoff, then kept as failed", async () => {
    const jobs = await engine();
    const attempts: number[] = [];
    await jobs.work(
      {
        flaky: async (_p, ctx) => {
          attempts.push(ctx.attempt);
          throw new Error("PSA said no");
        },
      },
      { concurrency: 1 },
    );
    await jobs.add("flaky", {}, { maxAttempts: 2 });
    await until(async () => attempts.length === 2, "the retry", 20_000);
    await until(
      async () => (await jobs.counts()).some((c) => c.task === "flaky" && c.state === "failed"),
      "the job counted as failed",
    );
    expect(attempts).toEqual([1, 2]);
  });

  it("stop lets a job in flight finish, takes no more, and keeps the rest queued", async () => {
    const jobs = await engine();
    const started = gate();
    const release = gate();
    const done: string[] = [];
    await jobs.work(
      {
        slow: async () => {
          started.open();
          await release.opened;
          done.push("slow");
        },
        next: async () => void done.push("next"),
      },
      { concurrency: 1 },
    );
    await jobs.add("slow", {});
    await started.opened;
    const stopped = jobs.stop(5_000);
    await jobs.add("next", {});
    setTimeout(release.open, 100);
    await stopped;
    expect(done).toEqual(["slow"]);
    expect(jobs.working).toBe(false);
    expect(await jobs.counts()).toContainEqual({ task: "next", state: "queued", count: 1 });
  });
});

describe("graphile: the jobs of a worker that died", () => {
  afterAll(dropSchemas);

  it("are handed to another worker once released", { timeout: 90_000 }, async () => {
    const schema = `jobs_${randomBytes(5).toString("hex")}`;
    schemas.push(schema);
    const a = await GraphileJobs.open({ url: PG_URL, schema, logger, graceMs: 500 });
    const b = await GraphileJobs.open({ url: PG_URL, schema, logger, graceMs: 500 });
    try {
      const taken = gate();
      // Worker a takes the job and never finishes it: it stands for a process killed mid-job.
      await a.work(
        {
          stuck: () => {
            taken.open();
            return new Promise<void>(() => {});
          },
        },
        { concurrency: 1 },
      );
      await a.add("stuck", {}, { queue: "tickets:9" });
      await taken.opened;
      // b starts once a holds the job (else either could take it first).
      const ranOnB: string[] = [];
      await b.work({ stuck: async (_p, ctx) => void ranOnB.push(ctx.workerId) }, { concurrency: 1 });
      await new Promise((r) => setTimeout(r, 500));
      const dead = a.workerIds();
      expect(dead.length).toBe(1);
      // Still locked by a: b does not take it.
      expect(ranOnB).toEqual([]);
      await b.releaseWorkers(dead);
      await until(async () => ranOnB.length === 1, "b ran the released job", 30_000);
      expect(ranOnB[0]).not.toBe(dead[0]);
    } finally {
      await b.close();
      // a's job never ends; end its pool without waiting for it.
      await Promise.race([a.close(), new Promise((r) => setTimeout(r, 1_000))]);
    }
  });

  it("keep working when another schema of the same database installs the engine's tables", {
    timeout: 60_000,
  }, async () => {
    const schema = `jobs_${randomBytes(5).toString("hex")}`;
    const other = `jobs_${randomBytes(5).toString("hex")}`;
    schemas.push(schema, other);
    const a = await GraphileJobs.open({ url: PG_URL, schema, logger, graceMs: 500 });
    const ran: number[] = [];
    try {
      await a.work({ tick: async (p) => void ran.push(Number(p.n)) }, { concurrency: 1 });
      await a.add("tick", { n: 1 });
      await until(async () => ran.includes(1), "the first job", 30_000);
      // Another deployment (or test) installs its tables: the engine tells every listener of a
      // "breaking migration" in the database.
      const b = await GraphileJobs.open({ url: PG_URL, schema: other, logger });
      await b.close();
      await new Promise((r) => setTimeout(r, 1_500));
      await a.add("tick", { n: 2 });
      await until(async () => ran.includes(2), "a job after the other schema's install", 30_000);
      expect(a.working).toBe(true);
      expect(process.exitCode).not.toBe(57);
    } finally {
      await a.close();
    }
  });
});
