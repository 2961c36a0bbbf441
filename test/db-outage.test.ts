import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_MASTER_KEY } from "./helpers/services.js";
import { until } from "./helpers/wait.js";

/**
 * A PostgreSQL outage under a running server, with real processes: a throwaway PostgreSQL cluster
 * (initdb + pg_ctl in a temp dir, on a free port, never the shared server) and `nocbridge serve` as a
 * child process. Stopping the cluster must not end the server: /healthz stays 200, /readyz and the
 * API answer 503 "database unavailable"; started again, everything answers without a restart.
 * PostgreSQL only by nature (SQLite has no server to lose).
 */

const CLI = ["--import", "tsx", join(import.meta.dirname, "..", "src", "cli.ts")];
const TOKEN = `nbt_${randomBytes(16).toString("hex")}`;
const asRoot = process.getuid?.() === 0;

/** The PostgreSQL server binaries: NOCBRIDGE_TEST_PG_BIN, pg_config's bindir, or Debian's newest version. */
function pgBin(): string {
  if (process.env.NOCBRIDGE_TEST_PG_BIN) return process.env.NOCBRIDGE_TEST_PG_BIN;
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, "bin", "pg_ctl")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(debian, versions[0], "bin");
  }
  return execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
}

/** Runs a PostgreSQL tool as the postgres user (initdb refuses root). */
function pgTool(tool: string, args: string[]): string {
  const bin = join(pgBin(), tool);
  return asRoot
    ? execFileSync("runuser", ["-u", "postgres", "--", bin, ...args], { encoding: "utf8", stdio: "pipe" })
    : execFileSync(bin, args, { encoding: "utf8", stdio: "pipe" });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  return typeof addr === "object" && addr ? addr.port : 0;
}

interface Child {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  stderr(): string;
}

function spawnServe(env: NodeJS.ProcessEnv): Child {
  const proc = spawn("node", [...CLI, "serve", "--with-worker", "--port", "0"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout?.on("data", (b) => {
    out += String(b);
  });
  proc.stderr?.on("data", (b) => {
    out += String(b);
    err += String(b);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { proc, exited, output: () => out, stderr: () => err };
}

async function get(url: string, token?: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe("a PostgreSQL outage under a running server (postgres)", () => {
  let dir = "";
  let port = 0;
  let started = false;
  const children: ChildProcess[] = [];
  const data = () => join(dir, "data");
  const start = () => {
    pgTool("pg_ctl", [
      "-D",
      data(),
      "-l",
      join(dir, "postgres.log"),
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
      "-w",
      "start",
    ]);
    started = true;
  };
  const stop = (mode: "fast" | "immediate" = "fast") => {
    pgTool("pg_ctl", ["-D", data(), "-m", mode, "-w", "stop"]);
    started = false;
  };
  const baseEnv = (databaseUrl: string): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      NOCBRIDGE_DATA_DIR: dir,
      NOCBRIDGE_MASTER_KEY: TEST_MASTER_KEY,
      NOCBRIDGE_ADMIN_TOKEN: TOKEN,
      LOG_LEVEL: "info",
    };
    delete env.NOCBRIDGE_FAILPOINT;
    return env;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nb-pg-outage-"));
    if (asRoot) execFileSync("chown", ["postgres", dir]);
    pgTool("initdb", ["-D", data(), "-A", "trust", "-U", "postgres", "--no-sync"]);
    port = await freePort();
    start();
  }, 120_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    if (started) {
      try {
        stop("immediate");
      } catch {
        // already down
      }
    }
    if (dir) {
      if (asRoot) chownSync(dir, 0, 0);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("keeps serving: 503 while the database is down, answers again when it is back, no restart", async () => {
    const server = spawnServe(baseEnv(`postgres://postgres@127.0.0.1:${port}/postgres`));
    children.push(server.proc);
    const url = await until(
      async () => /listening on (http:\/\/\S+)/.exec(server.output())?.[1] ?? null,
      "the server to listen",
      60_000,
      50,
    );
    expect(await get(`${url}/readyz`)).toEqual({
      status: 200,
      body: { ok: true, database: true, jobs: true },
    });
    const created = await fetch(`${url}/api/partners`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Outage VAR" }),
    });
    expect(created.status).toBe(201);

    stop("fast");
    expect(await get(`${url}/healthz`)).toEqual({ status: 200, body: { ok: true } });
    const ready = await get(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ error: "database unavailable" });
    const listed = await get(`${url}/api/partners`, TOKEN);
    expect(listed.status).toBe(503);
    expect(listed.body).toMatchObject({ error: "database unavailable" });
    // The background worker's next beat meets the outage: it says so once and keeps going.
    await until(
      async () => server.output().includes("database unavailable: background work waits"),
      "the worker to notice the outage",
      30_000,
      100,
    );
    expect(server.proc.exitCode).toBeNull();
    expect(server.proc.signalCode).toBeNull();

    start();
    await until(
      async () => (await get(`${url}/readyz`)).status === 200,
      "/readyz to answer 200",
      30_000,
      100,
    );
    const again = await get(`${url}/api/partners`, TOKEN);
    expect(again.status).toBe(200);
    expect((again.body as { items: Array<{ name: string }> }).items.map((p) => p.name)).toContain(
      "Outage VAR",
    );
    await until(
      async () => server.output().includes("database available again"),
      "the worker to resume",
      30_000,
      100,
    );
    expect(server.output().match(/database unavailable: background work waits/g)).toHaveLength(1);
    expect(server.proc.exitCode).toBeNull();
  }, 120_000);

  it("a server whose database cannot be reached exits 1 with one line naming what failed", async () => {
    const closed = await freePort();
    const server = spawnServe(baseEnv(`postgres://postgres@127.0.0.1:${closed}/postgres`));
    children.push(server.proc);
    const result = await server.exited;
    expect(result).toEqual({ code: 1, signal: null });
    const lines = server.stderr().trim().split("\n");
    expect(lines, server.stderr()).toHaveLength(1);
    expect(lines[0]).toMatch(/^nocbridge: opening the database: .*ECONNREFUSED/);
  }, 60_000);
});
