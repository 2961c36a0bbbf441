import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type RunningAutotaskEmulator,
  type StartAutotaskEmulatorOptions,
  startAutotaskEmulator,
} from "../../src/emulators/autotask/index.js";
import { AutotaskClient, type AutotaskClientOptions } from "../../src/psa/autotask/client.js";
import { PsaUrlPolicy } from "../../src/psa/url-policy.js";

/** Starts the emulator in-process on a free port: demo seed, tiny delays, no webhook delivery. */
export function startEmulator(opts: StartAutotaskEmulatorOptions = {}): Promise<RunningAutotaskEmulator> {
  return startAutotaskEmulator({ seed: "demo", timeScale: 0.001, webhooks: false, randomSeed: 42, ...opts });
}

/** Calls the emulator's admin API (`/_emulator/…`); throws on a non-2xx answer. */
export async function admin<T = unknown>(
  emu: RunningAutotaskEmulator,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const init: RequestInit = { method, headers: { "Content-Type": "application/json" } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${emu.url}/_emulator/${path}`, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`admin ${method} ${path}: HTTP ${res.status} ${text}`);
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

export interface EmulatorStatsView {
  requests: number;
  byEndpoint: Record<string, number>;
  rejected: { threshold: number; thread: number; fault: number };
  afterApply: { timeout: number; error500: number };
}

export const emulatorStats = (emu: RunningAutotaskEmulator) => admin<EmulatorStatsView>(emu, "GET", "stats");

/**
 * Time for the client that never waits for real: `now` moves only when the client sleeps (by the full
 * requested amount), and each sleep yields to real I/O for `ms × realScale`. Every wait the client asks
 * for is recorded, so Retry-After and slowdown delays can be asserted exactly.
 */
export function fastTime(realScale = 0.001) {
  let t = Date.UTC(2026, 0, 1);
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: (ms: number) => {
      sleeps.push(ms);
      t += ms;
      return new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms * realScale)));
    },
    sleeps,
  };
}

export interface LoggedRetry {
  code: string;
  delayMs: number;
}

/** A logger that keeps the client's retry records (and everything else it logs). */
export function recordingLogger() {
  const retries: LoggedRetry[] = [];
  const lines: string[] = [];
  const record = (obj: object, msg: string) => {
    lines.push(`${msg} ${JSON.stringify(obj)}`);
    const o = obj as Record<string, unknown>;
    if (typeof o["delayMs"] === "number" && typeof o["code"] === "string") {
      retries.push({ code: o["code"], delayMs: o["delayMs"] });
    }
  };
  return { logger: { debug: record, warn: record }, retries, lines };
}

/** A client for the emulator's first tenant, with fast time and small retry delays. */
export function clientFor(
  emu: RunningAutotaskEmulator,
  over: Partial<AutotaskClientOptions> = {},
): { client: AutotaskClient; time: ReturnType<typeof fastTime> } {
  const time = fastTime();
  const client = new AutotaskClient({
    credentials: { apiUrl: emu.baseUrl, ...emu.credentials },
    urlPolicy: PsaUrlPolicy.default.withOrigins(emu.url),
    retry: { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 2000, timeBudgetMs: 120_000 },
    requestTimeoutMs: 5000,
    now: time.now,
    sleep: time.sleep,
    ...over,
  });
  return { client, time };
}

/**
 * A stand-in for Autotask's global discovery host: answers ZoneInformation with whatever zone the
 * test sets (a tenant moving to another zone).
 */
export async function startDiscoveryHost(initialZone: string) {
  let zone = initialZone;
  let calls = 0;
  const server: Server = createServer((req, res) => {
    if (/\/v1\.0\/zoneinformation/i.test(req.url ?? "")) {
      calls++;
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ zoneName: "Test Zone", url: zone, webUrl: "http://ui.example/", ci: 1 }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ATServicesRest/`,
    setZone: (z: string) => {
      zone = z;
    },
    calls: () => calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
