import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CLIENT_ID, DEFAULT_COMPANY_ID, DEFAULT_KEYS } from "../src/emulators/connectwise/seed.js";

/** The Autotask emulator in a child process (so a benchmark measures nocbridge's memory alone). */
export interface EmulatorProcess {
  process: ChildProcess;
  /** Origin, e.g. http://127.0.0.1:41234 */
  url: string;
  /** REST base: `${url}/ATServicesRest/` */
  restBase: string;
  /** Calls the admin API under /_emulator. */
  admin<T>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): void;
}

/** Starts `nocbridge emulator autotask --port 0 <args>` and waits for its URL. */
export async function startEmulatorProcess(args: string[]): Promise<EmulatorProcess> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(import.meta.dirname, "..", "src", "cli.ts"),
      "emulator",
      "autotask",
      "--port",
      "0",
      ...args,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (b) => {
      out += String(b);
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`emulator exited ${code}`)));
  });
  return {
    process: child,
    url,
    restBase: `${url}/ATServicesRest/`,
    async admin<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${url}/_emulator${path}`, {
        method,
        headers: { "content-type": "application/json" },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    stop: () => {
      child.kill("SIGTERM");
    },
  };
}

/** The ConnectWise emulator in a child process, over HTTPS with a certificate made at its start. */
export interface ConnectWiseEmulatorProcess {
  process: ChildProcess;
  /** Origin, e.g. https://127.0.0.1:41234 */
  url: string;
  /** The PEM of its certificate (written by --ca-out): what a client must trust. */
  caPem: string;
  /** An https agent that trusts it (the admin API and the bench's own calls). */
  agent: Agent;
  /** Calls the admin API under /_emulator. */
  admin<T>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): void;
}

/** The credentials the ConnectWise benches start the emulator with (its CLI defaults). */
export const CW_CREDENTIALS = {
  companyId: DEFAULT_COMPANY_ID,
  publicKey: DEFAULT_KEYS.publicKey,
  privateKey: DEFAULT_KEYS.privateKey,
  clientId: DEFAULT_CLIENT_ID,
};

/**
 * Starts `nocbridge emulator connectwise --port 0 --company-id … --public-key … --private-key …
 * --client-id … --seed demo --ca-out FILE <args>` and waits for its URL and certificate.
 */
export async function startConnectWiseEmulatorProcess(args: string[]): Promise<ConnectWiseEmulatorProcess> {
  const dir = mkdtempSync(join(tmpdir(), "nb-bench-cw-"));
  const caOut = join(dir, "ca.pem");
  const c = CW_CREDENTIALS;
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(import.meta.dirname, "..", "src", "cli.ts"),
      "emulator",
      "connectwise",
      "--port",
      "0",
      "--company-id",
      c.companyId,
      "--public-key",
      c.publicKey,
      "--private-key",
      c.privateKey,
      "--client-id",
      c.clientId,
      "--seed",
      "demo",
      "--ca-out",
      caOut,
      ...args,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (b) => {
      out += String(b);
      const m = /listening on (https:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`emulator exited ${code}`)));
  });
  const caPem = readFileSync(caOut, "utf8");
  rmSync(dir, { recursive: true, force: true });
  const agent = new Agent({ ca: caPem, keepAlive: true });
  return {
    process: child,
    url,
    caPem,
    agent,
    async admin<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await httpsJson(agent, method, `${url}/_emulator${path}`, body);
      if (res.status < 200 || res.status >= 300)
        throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
      return res.body as T;
    },
    stop: () => {
      agent.destroy();
      child.kill("SIGTERM");
    },
  };
}

/** One HTTPS exchange with a JSON body (or none), through `agent`. */
export function httpsJson(
  agent: Agent,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpsRequest(
      url,
      {
        method,
        agent,
        headers: { ...(payload === undefined ? {} : { "content-type": "application/json" }), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (b: Buffer) => chunks.push(b));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown;
          try {
            parsed = text === "" ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
