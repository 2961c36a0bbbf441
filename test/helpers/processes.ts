import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import pg from "pg";
import { PG_URL } from "./services.js";

const CLI = ["--import", "tsx", join(import.meta.dirname, "..", "..", "src", "cli.ts")];

/** A nocbridge process the test started: `serve`, `serve --with-worker` or `worker`. */
export interface NocProcess {
  proc: ChildProcess;
  /** The API's URL (serve), else undefined. */
  url: string | undefined;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** SIGKILL: no clean-up of any kind, as a crash or an OOM kill. */
  kill9(): Promise<void>;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `nocbridge <args>`; resolves once it says it is listening (serve) or running (worker). */
export async function startNocbridge(args: string[], env: NodeJS.ProcessEnv): Promise<NocProcess> {
  const proc = spawn("node", [...CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<string | undefined>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nocbridge ${args[0]} did not start:\n${out}`)), 60_000);
    const look = () => {
      const m = /(?:listening|health and metrics) on (https?:\/\/\S+)/.exec(out);
      const worker = /nocbridge worker .* running[^\n]*\n/.exec(out);
      if (m?.[1] || (worker && !/health and metrics/.test(worker[0]))) {
        clearTimeout(timer);
        resolve(m?.[1]);
      }
    };
    proc.stdout?.on("data", (b) => {
      out += String(b);
      look();
    });
    proc.stderr?.on("data", (b) => {
      out += String(b);
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`nocbridge ${args[0]} exited (${code ?? signal}) before it was ready:\n${out}`));
    });
  });
  const url = await ready;
  return {
    proc,
    url,
    exited,
    output: () => out,
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      return exited;
    },
  };
}

/** A free local port (for a process whose URL must be known before it starts). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  if (!addr || typeof addr === "string") throw new Error("no port");
  return addr.port;
}

/** A fresh PostgreSQL schema and the DATABASE_URL that uses it; `drop` removes it and its jobs. */
export async function freshSchema(
  prefix: string,
): Promise<{ schema: string; url: string; drop(): Promise<void> }> {
  const schema = `${prefix}_${randomBytes(5).toString("hex")}`;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`CREATE SCHEMA ${schema}`);
  await c.end();
  return {
    schema,
    url: `${PG_URL}?options=-c%20search_path%3D${schema}`,
    async drop() {
      const d = new pg.Client({ connectionString: PG_URL });
      await d.connect();
      try {
        await d.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await d.query(`DROP SCHEMA IF EXISTS ${schema}_jobs CASCADE`);
      } finally {
        await d.end();
      }
    },
  };
}

/** One SQL query against the test database (the test looks at what the processes stored). */
export async function sqlQuery<T extends pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** A JSON client of a process's REST API with this bearer token: answers the parsed body, throws on non-2xx. */
export function apiClient(token: string) {
  return async <T = unknown>(
    base: string | undefined,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}
