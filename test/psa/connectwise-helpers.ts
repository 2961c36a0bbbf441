/**
 * The ConnectWise emulator over HTTPS for the connector's tests: the connector's client goes through
 * the real guarded transport (node:https with the allow-list applied when connecting), so the
 * emulator's certificate is trusted through https.globalAgent's CA for the test process, and the
 * emulator's exact origin is added to the allow-list (loopback is allowed only that way).
 */
import { globalAgent } from "node:https";
import { pino } from "pino";
import {
  DEMO_IDS,
  type RunningConnectWiseEmulator,
  type StartConnectWiseEmulatorOptions,
  startConnectWiseEmulator,
} from "../../src/emulators/connectwise/index.js";
import { type Clock, systemClock } from "../../src/lib/clock.js";
import type { Connector, IntegrationSettings, PsaSession } from "../../src/psa/connector.js";
import { ConnectWiseClient, type ConnectWiseClientOptions } from "../../src/psa/connectwise/client.js";
import { connectwiseConnector } from "../../src/psa/connectwise/connector.js";
import { type ConnectWiseSettings, connectwiseSettings } from "../../src/psa/connectwise/settings.js";
import { PsaUrlPolicy } from "../../src/psa/url-policy.js";
import { httpsCall } from "../emulator/connectwise-helpers.js";

export interface CwFixture {
  emu: RunningConnectWiseEmulator;
  policy: PsaUrlPolicy;
  /** A client for the first tenant, with fast retries. */
  client(o?: Partial<ConnectWiseClientOptions>): ConnectWiseClient;
  /** `POST/PUT/GET /_emulator/{path}` */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

const previousCa: unknown[] = [];

/** Starts the emulator (fast callbacks, no throttle) and trusts its certificate in this process. */
export async function startCwFixture(opts: StartConnectWiseEmulatorOptions = {}): Promise<CwFixture> {
  const emu = await startConnectWiseEmulator({
    timeScale: 0.001,
    ...opts,
    faults: { requestsPerMinute: 0, ...opts.faults },
  });
  previousCa.push(globalAgent.options.ca);
  globalAgent.options.ca = emu.caPem;
  const policy = PsaUrlPolicy.default.withOrigins(emu.url);
  const c = emu.credentials;
  return {
    emu,
    policy,
    client: (o = {}) =>
      new ConnectWiseClient({
        credentials: {
          siteUrl: emu.url,
          companyId: c.companyId,
          publicKey: c.publicKey,
          privateKey: c.privateKey,
          clientId: c.clientId,
        },
        urlPolicy: policy,
        retry: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 5, timeBudgetMs: 10_000 },
        requestTimeoutMs: 5_000,
        ...o,
      }),
    admin: async (method, path, body) => {
      const { Agent } = await import("node:https");
      const agent = new Agent({ ca: emu.caPem });
      try {
        const r = await httpsCall(
          agent,
          method,
          `${emu.url}/_emulator/${path}`,
          body,
          body === undefined ? {} : { "content-type": "application/json" },
        );
        return { status: r.status, body: r.body };
      } finally {
        agent.destroy();
      }
    },
    close: async () => {
      globalAgent.options.ca = previousCa.pop() as typeof globalAgent.options.ca;
      globalAgent.destroy();
      await emu.close();
    },
  };
}

/** The demo seed's integration settings (board NOC, its statuses, configuration type and statuses). */
export function demoIntegration(emu: RunningConnectWiseEmulator, advanced = true): IntegrationSettings {
  const c = emu.credentials;
  return {
    ticketing: {
      enabled: true,
      system: "connectwise",
      siteUrl: emu.url,
      companyId: c.companyId,
      publicKey: c.publicKey,
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
      enabled: true,
      advanced,
      configurationTypeId: DEMO_IDS.configurationTypes.device,
      activeStatusId: DEMO_IDS.configurationStatuses.active,
      inactiveStatusId: DEMO_IDS.configurationStatuses.inactive,
    },
  };
}

export function demoSettings(emu: RunningConnectWiseEmulator, advanced = true): ConnectWiseSettings {
  return connectwiseSettings(demoIntegration(emu, advanced));
}

export const silentLogger = pino({ level: "silent" });

/** A session of the connector for partner 1 on the emulator's first tenant. */
export function openSession(
  f: CwFixture,
  o: { advanced?: boolean; clock?: Clock; client?: Partial<ConnectWiseClientOptions> } = {},
): { session: PsaSession; connector: Connector } {
  const connector = connectwiseConnector({ client: (credentials) => f.client({ credentials, ...o.client }) });
  const session = connector.open(demoIntegration(f.emu, o.advanced ?? true), f.emu.credentials.privateKey, {
    partnerId: 1,
    logger: silentLogger,
    clock: o.clock ?? systemClock,
  });
  return { session, connector };
}

/** The tenant loses a configuration custom field (and its configurations show the list without it). */
export function dropCustomField(f: CwFixture, caption: string): void {
  const t = f.emu.store.tenant(f.emu.credentials.companyId);
  if (!t) throw new Error("no tenant");
  t.customFields = t.customFields.filter((c) => c.caption !== caption);
  for (const rec of t.rows("configurations")) {
    const fields = (rec["customFields"] as Array<{ caption: string }>).filter((c) => c.caption !== caption);
    t.put("configurations", { ...rec, customFields: fields });
  }
}
