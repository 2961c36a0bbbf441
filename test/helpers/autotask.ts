import { startAutotaskEmulator } from "../../src/emulators/autotask/index.js";
import { DEFAULT_CREDENTIALS, DEFAULT_TENANT_ID, DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import type {
  RunningAutotaskEmulator,
  StartAutotaskEmulatorOptions,
} from "../../src/emulators/autotask/server.js";
import type { AutotaskApi } from "../../src/psa/autotask/api.js";
import type { AutotaskCredentials as PsaCredentials } from "../../src/psa/autotask/client.js";
import { AutotaskClient } from "../../src/psa/autotask/client.js";
import { PsaUrlPolicy } from "../../src/psa/url-policy.js";

export { DEFAULT_CREDENTIALS };

/**
 * The ticketing settings of a partner wired to the emulator's demo tenant: its credentials, the NOC
 * queue, the "Remote Support" work type, and the issue and sub-issue type its default ticket
 * category requires.
 */
export function demoTicketing(
  apiUrl: string,
  over: { enabled?: boolean; nocMayEnterTickets?: boolean } = {},
) {
  return {
    enabled: over.enabled ?? true,
    nocMayEnterTickets: over.nocMayEnterTickets ?? true,
    apiUrl,
    username: DEFAULT_CREDENTIALS.username,
    secret: DEFAULT_CREDENTIALS.secret,
    integrationCode: DEFAULT_CREDENTIALS.integrationCode,
    queueId: DEMO_IDS.nocQueue,
    queueName: "NOC",
    billingCodeId: DEMO_IDS.remoteSupport,
    billingCodeName: "Remote Support",
    issueTypeId: DEMO_IDS.issueType,
    subIssueTypeId: DEMO_IDS.subIssueType,
  };
}

/** The Autotask emulator on a free port, with an admin helper. Delays are scaled down for tests. */
export interface TestEmulator {
  emu: RunningAutotaskEmulator;
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** Calls the Autotask API as the given credentials (default: the integration's API user). */
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    creds?: { username: string; secret: string; integrationCode: string },
  ): Promise<T>;
  stats(): Promise<{
    requests: number;
    byEndpoint: Record<string, number>;
    rejected: Record<string, number>;
  }>;
  close(): Promise<void>;
}

export async function startTestEmulator(opts: StartAutotaskEmulatorOptions = {}): Promise<TestEmulator> {
  // Test receivers listen on http://127.0.0.1:<port>, which a real tenant would refuse.
  const emu = await startAutotaskEmulator({
    timeScale: 0.001,
    seed: "demo",
    allowHttpWebhooks: true,
    ...opts,
  });
  const call = async <T>(
    url: string,
    method: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<T> => {
    const res = await fetch(url, {
      method,
      headers: { "content-type": "application/json", ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url} → ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    emu,
    admin: (method, path, body) => call(`${emu.url}/_emulator${path}`, method, body, {}),
    api: (method, path, body, creds = DEFAULT_CREDENTIALS) =>
      call(`${emu.baseUrl}V1.0/${path}`, method, body, {
        ApiIntegrationCode: creds.integrationCode,
        UserName: creds.username,
        Secret: creds.secret,
      }),
    stats: () => call(`${emu.url}/_emulator/stats`, "GET", undefined, {}),
    close: () => emu.close(),
  };
}

/** Tenant-scoped admin path. */
export const tenant = (path: string) => `/tenants/${DEFAULT_TENANT_ID}${path}`;

/**
 * An Autotask client with test-sized retry delays, as the sync engine's factory: it applies the URL
 * policy the engine gives it; called directly, it allows the origin its credentials name (the emulator).
 */
export function fastClient(creds: PsaCredentials, urlPolicy?: PsaUrlPolicy): AutotaskApi {
  return new AutotaskClient({
    credentials: creds,
    urlPolicy:
      urlPolicy ??
      (creds.apiUrl === ""
        ? PsaUrlPolicy.default
        : PsaUrlPolicy.default.withOrigins(new URL(creds.apiUrl).origin)),
    // Many quick attempts: fault tests inject 429s, thread-limit rejections and timeouts at high rates.
    retry: { maxAttempts: 15, baseDelayMs: 2, maxDelayMs: 20, timeBudgetMs: 20_000 },
    requestTimeoutMs: 2_000,
  });
}
