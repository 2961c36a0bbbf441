/**
 * The scale benchmark's processes and database (bench/scale.ts): nocbridge `serve` and `worker`
 * processes spawned as an operator would run them, a fresh PostgreSQL schema per round (with the
 * job engine's schema beside it), and the clean-up of both.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import pg from "pg";
import { jobSchemaFor } from "../src/jobs/index.js";

const CLI = join(import.meta.dirname, "..", "src", "cli.ts");

/** A nocbridge process: its output goes to a log file (kept for a failed run's post-mortem). */
export interface NocbridgeProcess {
  name: string;
  child: ChildProcess;
  /** The first stdout line matching the pattern it was started with. */
  ready: string;
  /** Everything the process printed so far (the log file holds the same). */
  output(): string;
  /** Set once the process has exited (a round fails at once: its work would never be done). */
  exited(): string | null;
  stop(): Promise<void>;
}

/**
 * Spawns `node --import tsx src/cli.ts <args>` and resolves once stdout matches `readyWhen`; rejects
 * when the process exits first or after `timeoutMs`.
 */
export async function spawnNocbridge(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logDir: string,
  readyWhen: RegExp,
  timeoutMs = 120_000,
): Promise<NocbridgeProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    env,
    cwd: join(import.meta.dirname, ".."),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: WriteStream = createWriteStream(join(logDir, `${name}.log`));
  let out = "";
  const keep = (b: Buffer) => {
    log.write(b);
    // Enough for a post-mortem, not the whole of a long run.
    out = (out + String(b)).slice(-200_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in time:\n${out}`)), timeoutMs);
    child.stdout?.on("data", () => {
      const m = readyWhen.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(
        new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${out}`),
      );
    });
  });
  return {
    name,
    child,
    ready,
    output: () => out,
    exited: () =>
      child.exitCode === null && child.signalCode === null
        ? null
        : String(child.exitCode ?? child.signalCode),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        // A worker finishes its in-flight jobs first; one that hangs is killed.
        const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        await exited;
        clearTimeout(timer);
      }
      await new Promise<void>((resolve) => log.end(resolve));
    },
  };
}

/** A port that was free a moment ago (the server is told it: its webhook URL must be known up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The bench's database, made when it is not there (and then dropped at the end). A database of its
 * own, not a schema in a shared one: graphile-worker's NOTIFY channels are database-wide, and a job
 * schema installed anywhere in the database (another process's first start, a test) makes every
 * worker in it shut down (docs/operations.md, Measured: `npm run bench:scale`).
 */
export async function ensureDatabase(url: string): Promise<{ created: boolean; drop(): Promise<void> }> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name "${name}": use [a-z0-9_]`);
  const maintenance = new URL(url);
  maintenance.pathname = "/postgres";
  maintenance.search = "";
  const admin = new pg.Client({ connectionString: maintenance.toString() });
  await admin.connect();
  try {
    const { rowCount } = await admin.query("select 1 from pg_database where datname = $1", [name]);
    if (rowCount) return { created: false, drop: async () => {} };
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    created: true,
    async drop() {
      const c = new pg.Client({ connectionString: maintenance.toString() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A fresh schema of its own in the PostgreSQL database at `baseUrl`, for one round. */
export interface BenchSchema {
  name: string;
  /** The database URL the processes get: the schema as their search_path. */
  url: string;
  /** The job engine's schema (tables of the queued jobs). */
  jobs: string;
  /** A connection of the bench's own (reads the job tables). */
  client: pg.Client;
  drop(): Promise<void>;
}

export async function createSchema(baseUrl: string): Promise<BenchSchema> {
  const name = `bench_scale_${randomBytes(4).toString("hex")}`;
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  await client.query(`CREATE SCHEMA ${name}`);
  const jobs = jobSchemaFor(name);
  let dropped = false;
  return {
    name,
    url: `${baseUrl}${baseUrl.includes("?") ? "&" : "?"}options=-c%20search_path%3D${name}`,
    jobs,
    client,
    async drop() {
      if (dropped) return;
      dropped = true;
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${jobs} CASCADE`);
        await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
