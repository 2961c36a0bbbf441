import {
  type RunningAutotaskEmulator,
  type StartAutotaskEmulatorOptions,
  startAutotaskEmulator,
} from "../../src/emulators/autotask/index.js";

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected field by field
  body: any;
  headers: Headers;
}

export interface Credentials {
  username: string;
  secret: string;
  integrationCode: string;
}

export interface TestEmulator {
  emu: RunningAutotaskEmulator;
  /** Calls `${baseUrl}V1.0/${path}` with the default (or given) credentials. */
  api(
    method: string,
    path: string,
    body?: unknown,
    opts?: { creds?: Credentials; headers?: Record<string, string> },
  ): Promise<Reply>;
  /** Calls `${url}/_emulator/${path}`. */
  admin(method: string, path: string, body?: unknown): Promise<Reply>;
  /** Fetches an absolute URL (paging links). */
  raw(method: string, url: string, body?: unknown, creds?: Credentials): Promise<Reply>;
  close(): Promise<void>;
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

export function authHeaders(c: Credentials): Record<string, string> {
  // The spelling @apigrate/autotask-restapi uses (docs/autotask.md, The public npm client).
  return { ApiIntegrationcode: c.integrationCode, UserName: c.username, Secret: c.secret };
}

/** Starts an emulator on a free port with short delays, webhooks off unless asked for. */
export async function startTestEmulator(opts: StartAutotaskEmulatorOptions = {}): Promise<TestEmulator> {
  // Test receivers listen on http://127.0.0.1:<port>, which a real tenant would refuse.
  const emu = await startAutotaskEmulator({
    timeScale: 0.001,
    webhooks: false,
    allowHttpWebhooks: true,
    ...opts,
  });
  const raw = async (method: string, url: string, body?: unknown, creds: Credentials = emu.credentials) => {
    const init: RequestInit = {
      method,
      headers: { "Content-Type": "application/json", ...authHeaders(creds) },
    };
    if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
    return reply(await fetch(url, init));
  };
  return {
    emu,
    raw,
    async api(method, path, body, o = {}) {
      const headers = {
        "Content-Type": "application/json",
        ...authHeaders(o.creds ?? emu.credentials),
        ...o.headers,
      };
      const init: RequestInit = { method, headers };
      if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
      return reply(await fetch(`${emu.baseUrl}V1.0/${path}`, init));
    },
    async admin(method, path, body) {
      const init: RequestInit = { method, headers: { "Content-Type": "application/json" } };
      if (body !== undefined) init.body = JSON.stringify(body);
      return reply(await fetch(`${emu.url}/_emulator/${path}`, init));
    },
    close: () => emu.close(),
  };
}

export const NOC_QUEUE = 18151451;

export function newTicket(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    companyID: 174,
    title: "Disk C: almost full",
    status: 1,
    priority: 2,
    queueID: NOC_QUEUE,
    // "Standard" requires nothing more; the demo's default category needs issue types.
    ticketCategory: 3,
    ...over,
  };
}
