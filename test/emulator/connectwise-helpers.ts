import { Agent, request } from "node:https";
import {
  type RunningConnectWiseEmulator,
  type StartConnectWiseEmulatorOptions,
  startConnectWiseEmulator,
} from "../../src/emulators/connectwise/index.js";

export interface CwReply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected field by field
  body: any;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTPS request that trusts only the emulator's certificate. */
export function httpsCall(
  agent: Agent,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<CwReply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const req = request(url, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = text;
        try {
          parsed = text === "" ? undefined : JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers, text });
      });
    });
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export interface CwTest {
  emu: RunningConnectWiseEmulator;
  agent: Agent;
  /** Calls `${baseUrl}/${path}` with the first tenant's API member (or the given headers). */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<CwReply>;
  /** Calls `${url}/_emulator/${path}`. */
  admin(method: string, path: string, body?: unknown): Promise<CwReply>;
  /** Any absolute URL (paging links, key_url). */
  raw(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<CwReply>;
  /** Basic auth header value. */
  basic(companyId: string, publicKey: string, privateKey: string): string;
  close(): Promise<void>;
}

export async function startCw(opts: StartConnectWiseEmulatorOptions = {}): Promise<CwTest> {
  const emu = await startConnectWiseEmulator({ timeScale: 0.001, ...opts });
  const agent = new Agent({ ca: emu.caPem, keepAlive: false });
  const raw = (
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = emu.headers(),
  ) => httpsCall(agent, method, url, body, headers);
  return {
    emu,
    agent,
    raw,
    api: (method, path, body, headers) =>
      raw(method, `${emu.baseUrl}/${path}`, body, headers ?? emu.headers()),
    admin: (method, path, body) =>
      raw(
        method,
        `${emu.url}/_emulator/${path}`,
        body,
        body === undefined ? {} : { "content-type": "application/json" },
      ),
    basic: (c, pub, priv) => `Basic ${Buffer.from(`${c}+${pub}:${priv}`).toString("base64")}`,
    close: async () => {
      agent.destroy();
      await emu.close();
    },
  };
}

/** A clock tests move by hand. */
export function manualClock(start = "2026-01-05T10:00:00Z") {
  let t = Date.parse(start);
  return {
    now: () => new Date(t),
    advance: (ms: number) => {
      t += ms;
    },
  };
}
