/**
 * Does a large device import stall the server? `nocbridge serve` runs in its own process on a fresh
 * store (a SQLite file in a temp dir, or BENCH_DATABASE_URL); this process imports BENCH_ROWS devices
 * into one client over HTTP, in requests of at most 5,000 (the per-request maximum), one after the
 * other, while a probe sends GET /healthz one request at a time (a new one BENCH_PROBE_MS after each
 * answer). /healthz needs neither a token nor the database, so its latency is the server's event-loop
 * stall. The same probe runs for BENCH_IDLE_MS with nothing else going on first. Prints human lines,
 * then one JSON object (nearest-rank p99 over every probe in the window):
 *
 *   {"idleP99Ms", "importP99Ms", "deltaMs", "rows", "importMs", "importMaxMs", "probes", "store"}
 *
 *   npm run bench:import      (BENCH_ROWS=10000, BENCH_PROBE_MS=5, BENCH_IDLE_MS=3000)
 *
 * The request bodies are serialised before the probe starts, and answers are read as text, so this
 * process does no heavy work of its own inside the window.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { IMPORT_MAX_ROWS } from "../src/portal/device-import.js";

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);
const PROBE_MS = Number(process.env.BENCH_PROBE_MS ?? 5);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 3_000);
const TOKEN = `nbt_${randomBytes(16).toString("hex")}`;

const dir = mkdtempSync(join(tmpdir(), "nb-bench-import-"));
const databaseUrl = process.env.BENCH_DATABASE_URL ?? join(dir, "nocbridge.sqlite");
let child: ChildProcess | undefined;

function startServer(): Promise<string> {
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "..", "src", "cli.ts"), "serve", "--port", "0"],
    {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        NOCBRIDGE_DATA_DIR: dir,
        NOCBRIDGE_ADMIN_TOKEN: TOKEN,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  child = proc;
  return new Promise<string>((resolve, reject) => {
    let out = "";
    proc.stdout?.on("data", (b) => {
      out += String(b);
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    proc.on("exit", (code) => reject(new Error(`nocbridge serve exited ${code}`)));
  });
}

async function api<T>(base: string, method: string, path: string, body?: string): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** GET /healthz one at a time until `stop()` resolves; returns every latency, ms. */
async function probe(base: string, until: Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  let done = false;
  void until.finally(() => {
    done = true;
  });
  while (!done) {
    const t = performance.now();
    const res = await fetch(`${base}/healthz`);
    await res.text();
    out.push(performance.now() - t);
    await sleep(PROBE_MS);
  }
  return out;
}

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(0.99 * s.length) - 1)] ?? 0;
}

const round = (n: number) => Math.round(n * 10) / 10;

try {
  const base = await startServer();
  const partner = await api<{ id: number }>(
    base,
    "POST",
    "/api/partners",
    JSON.stringify({ name: "Bench VAR" }),
  );
  const client = await api<{ id: number }>(
    base,
    "POST",
    `/api/partners/${partner.id}/clients`,
    JSON.stringify({ code: "BENCH", name: "Bench client" }),
  );
  const devices = Array.from({ length: ROWS }, (_, i) => ({
    state: i % 10 === 0 ? "discovered" : "managed",
    hostname: `BENCH-${String(i).padStart(6, "0")}`,
    deviceType: "Workstation",
    ipAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    gateway: "10.0.0.1",
    make: "Dell Inc.",
    model: "OptiPlex 7090",
    operatingSystem: "Microsoft Windows 11 Pro",
    ram: "16 GB",
    biosName: "Dell Inc. BIOS 2.18.0",
    biosVersion: "2.18.0",
    driveInfo: "C: 476 GB",
    lastLoggedUser: `user${i}`,
    serialNumber: `SN-${i}`,
    warrantyEndDate: "2028-06-30",
  }));
  const bodies: string[] = [];
  for (let i = 0; i < devices.length; i += IMPORT_MAX_ROWS)
    bodies.push(JSON.stringify(devices.slice(i, i + IMPORT_MAX_ROWS)));

  // Warm-up (connections, JIT), then the idle figure.
  await probe(base, sleep(500));
  const idle = await probe(base, sleep(IDLE_MS));

  let importMs = 0;
  const importing = (async () => {
    const t = performance.now();
    let created = 0;
    for (const body of bodies) {
      const r = await api<{ created: number }>(
        base,
        "POST",
        `/api/clients/${client.id}/devices/import`,
        body,
      );
      created += r.created;
    }
    importMs = performance.now() - t;
    if (created !== ROWS) throw new Error(`imported ${created} of ${ROWS} devices`);
  })();
  const during = await probe(
    base,
    importing.catch(() => {}),
  );
  await importing;

  const result = {
    idleP99Ms: round(p99(idle)),
    importP99Ms: round(p99(during)),
    deltaMs: round(p99(during) - p99(idle)),
    rows: ROWS,
    importMs: Math.round(importMs),
    importMaxMs: round(Math.max(...during)),
    probes: { idle: idle.length, import: during.length },
    store: databaseUrl.startsWith("postgres") ? "postgres" : "sqlite",
  };
  console.log(
    `${ROWS} devices in ${bodies.length} request(s) of at most ${IMPORT_MAX_ROWS}: ${result.importMs} ms (${result.store})`,
  );
  console.log(
    `/healthz p99: idle ${result.idleP99Ms} ms, during the import ${result.importP99Ms} ms (max ${result.importMaxMs} ms); delta ${result.deltaMs} ms`,
  );
  console.log(JSON.stringify(result));
} finally {
  child?.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
