/**
 * The sync engine against the ConnectWise emulator over HTTPS: test services with the ConnectWise
 * connector registered (its clients trust the emulator's certificate and go through the guarded
 * transport with the emulator's origin allowed), a partner's settings for the emulator's demo tenant,
 * a technician's writes ("in ConnectWise"), and a record of every request the services' clients put
 * on the wire.
 */
import { Agent } from "node:https";
import type { CwStats, StartConnectWiseEmulatorOptions } from "../../src/emulators/connectwise/index.js";
import { DEMO_IDS } from "../../src/emulators/connectwise/index.js";
import type { IntegrationInput } from "../../src/portal/types.js";
import type { Connector } from "../../src/psa/connector.js";
import type { ConnectWiseApi } from "../../src/psa/connectwise/api.js";
import type { ConnectWiseClient, ConnectWiseClientOptions } from "../../src/psa/connectwise/client.js";
import { connectwiseConnector } from "../../src/psa/connectwise/connector.js";
import type { PatchOp } from "../../src/psa/connectwise/types.js";
import type { FetchFn } from "../../src/psa/http.js";
import { guardedFetch } from "../../src/psa/transport.js";
import { httpsCall } from "../emulator/connectwise-helpers.js";
import { type CwFixture, startCwFixture } from "../psa/connectwise-helpers.js";
import { openTestServices, type StoreKind, type TestEnv } from "./services.js";

export { DEMO_IDS as CW_IDS };

/** One request a services' ConnectWise client sent: method, path under the REST base, parsed body. */
export interface WireRequest {
  method: string;
  /** e.g. "company/configurations/12" (no query string). */
  path: string;
  query: URLSearchParams;
  body: unknown;
}

type CwServicesOptions = Omit<
  NonNullable<Parameters<typeof openTestServices>[1]>,
  "connectors" | "psaOrigins"
>;

export interface CwSyncFixture {
  f: CwFixture;
  env: TestEnv;
  connector: Connector;
  /** Every request the services' ConnectWise clients sent, in order. */
  wire: WireRequest[];
  /** The clients the connector made (one per partner and credentials), newest last. */
  clients: ConnectWiseClient[];
  /** The emulator's request statistics (its admin API). */
  stats(): Promise<CwStats>;
  /** The emulator's admin API; throws on a non-2xx answer. */
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /**
   * Other services on this emulator, with a connector (clients, caches) of their own, as another process
   * has: pass the same `database` to share the store. The caller closes them.
   */
  another(services: CwServicesOptions): Promise<TestEnv>;
  /** A write or read as the technician "asmith" (a change made in ConnectWise, not by our API member). */
  asTech<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

/**
 * The emulator (fast callbacks, no throttle) and test services with the ConnectWise connector.
 * `client` adjusts the services' clients (retries, timeouts).
 */
export async function openCwSync(
  kind: StoreKind,
  o: {
    emulator?: StartConnectWiseEmulatorOptions;
    client?: Partial<ConnectWiseClientOptions>;
    /** Wraps each client the connector makes (a spy that counts calls). */
    wrap?: (client: ConnectWiseClient) => ConnectWiseApi;
    services?: CwServicesOptions;
    /** More origins on the PSA URL allow-list (another emulator beside this one). */
    origins?: string[];
  } = {},
): Promise<CwSyncFixture> {
  const f = await startCwFixture(o.emulator);
  const wire: WireRequest[] = [];
  const clients: ConnectWiseClient[] = [];
  const transport = guardedFetch(f.policy);
  const recording: FetchFn = (input, init) => {
    const u = new URL(input);
    const path = u.pathname.replace(/^.*?\/apis\/3\.0\//, "");
    let body: unknown;
    if (typeof init?.body === "string") {
      try {
        body = JSON.parse(init.body);
      } catch {
        body = init.body;
      }
    }
    if (u.pathname.includes("/apis/3.0/"))
      wire.push({ method: init?.method ?? "GET", path, query: u.searchParams, body });
    return transport(input, init);
  };
  const makeConnector = () =>
    connectwiseConnector({
      client: (credentials) => {
        const c = f.client({ credentials, fetch: recording, ...o.client });
        clients.push(c);
        return o.wrap ? o.wrap(c) : c;
      },
    });
  const connector = makeConnector();
  const open = (services: CwServicesOptions | undefined, c: Connector) =>
    openTestServices(kind, {
      ...services,
      connectors: [c],
      psaOrigins: [f.emu.url, ...(o.origins ?? [])],
    });
  const env = await open(o.services, connector);
  const agent = new Agent({ ca: f.emu.caPem });
  const c = f.emu.credentials;
  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await f.admin(method, path, body);
    if (r.status >= 300)
      throw new Error(`${method} /_emulator/${path}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as T;
  };
  const tech = await admin<{ authorization: string }>("POST", `tenants/${c.companyId}/actAs`, {
    member: "asmith",
  });
  return {
    f,
    env,
    connector,
    wire,
    clients,
    stats: () => admin<CwStats>("GET", "stats"),
    admin,
    async asTech<T>(method: string, path: string, body?: unknown): Promise<T> {
      const r = await httpsCall(agent, method, `${f.emu.baseUrl}/${path}`, body, {
        authorization: tech.authorization,
        clientId: c.clientId,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      });
      if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${r.text}`);
      return r.body as T;
    },
    another: (services) => open(services, makeConnector()),
    async close() {
      await env.close();
      agent.destroy();
      await f.close();
    },
  };
}

/**
 * A partner's settings for the emulator's demo tenant: the NOC board and its New status, type Alert,
 * subtype Disk, source Portal; configuration type "Managed Device", statuses Active and Inactive.
 * Typed loosely: the portal's input types know the built-in systems only.
 */
export function cwIntegration(
  f: CwFixture,
  over: { ticketing?: boolean; devices?: boolean; advanced?: boolean; nocMayEnterTickets?: boolean } = {},
): IntegrationInput {
  const c = f.emu.credentials;
  return {
    ticketing: {
      enabled: over.ticketing ?? false,
      nocMayEnterTickets: over.nocMayEnterTickets ?? true,
      system: "connectwise",
      siteUrl: f.emu.url,
      companyId: c.companyId,
      publicKey: c.publicKey,
      secret: c.privateKey,
      clientId: c.clientId,
      boardId: DEMO_IDS.nocBoard,
      boardName: "NOC",
      defaultStatusId: DEMO_IDS.statuses.new,
      typeId: 1,
      subTypeId: 1,
      itemId: null,
      sourceId: 1,
      serviceLocationId: null,
    },
    devices: {
      enabled: over.devices ?? true,
      advanced: over.advanced ?? true,
      schedule: null,
      configurationTypeId: DEMO_IDS.configurationTypes.device,
      activeStatusId: DEMO_IDS.configurationStatuses.active,
      inactiveStatusId: DEMO_IDS.configurationStatuses.inactive,
    },
  } as unknown as IntegrationInput;
}

/** Operation → count between two stats snapshots (only the operations that moved). */
export function opsDelta(before: CwStats, after: CwStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(after.byOperation)) {
    const d = n - (before.byOperation[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/** Requests between two snapshots, discovery (`login/companyinfo`) left out as the client's count does. */
export function requestsDelta(before: CwStats, after: CwStats): number {
  const discovery = "get login/companyinfo";
  return (
    after.requests -
    before.requests -
    ((after.byOperation[discovery] ?? 0) - (before.byOperation[discovery] ?? 0))
  );
}

/** The JSON-Patch operations of a wire request (throws when it is not one). */
export function patchOps(r: WireRequest | undefined): PatchOp[] {
  if (r?.method !== "PATCH" || !Array.isArray(r.body)) throw new Error(`not a PATCH: ${JSON.stringify(r)}`);
  return r.body as PatchOp[];
}
