import { join } from "node:path";
import { type App, buildApp } from "./api/app.js";
import type { Config } from "./config.js";
import { type Clock, systemClock } from "./lib/clock.js";
import { loadOrCreateKeyFile, newToken, parseMasterKey, SecretBox } from "./lib/crypto.js";
import { createLogger, type Logger } from "./lib/logger.js";
import { Portal } from "./portal/service.js";
import { AutotaskClient } from "./psa/autotask/client.js";
import type { PsaUrlPolicy } from "./psa/url-policy.js";
import { type Db, migrate, openDb } from "./store/db.js";
import type { AutotaskApi } from "./sync/autotask-api.js";
import { type PsaCredentials, SyncEngine, type SyncEngineOptions } from "./sync/engine.js";

/** Everything a running nocbridge holds. Built here, the composition root; nothing else wires parts. */
export interface Services {
  config: Config;
  db: Db;
  box: SecretBox;
  portal: Portal;
  sync: SyncEngine;
  logger: Logger;
  /** Tells the engine the server's own URL (the default webhook base). */
  setListeningUrl(url: string): void;
  close(): Promise<void>;
}

export interface ServiceOptions {
  clock?: Clock;
  logger?: Logger;
  /** PostgreSQL: the schema to use (tests use one per file). */
  schema?: string;
  /**
   * Builds a partner's Autotask client (tests pass one with fast retries). It is given the
   * configured URL policy, which it must apply.
   */
  autotask?: (creds: PsaCredentials, urlPolicy: PsaUrlPolicy) => AutotaskApi;
  guard?: SyncEngineOptions["guard"];
  /** A long-running server: schedules asset syncs and recovers interrupted runs (not for one-off commands). */
  background?: boolean;
  pollIntervalMs?: number;
  ticketRetry?: SyncEngineOptions["ticketRetry"];
  liveReadTtlMs?: SyncEngineOptions["liveReadTtlMs"];
}

/** The production Autotask client for a partner's credentials, calling only where `urlPolicy` allows. */
export function autotaskClientFor(
  logger: Logger,
  urlPolicy: PsaUrlPolicy,
): (creds: PsaCredentials) => AutotaskApi {
  return (creds) => {
    const client: AutotaskApi = new AutotaskClient({ credentials: creds, logger, urlPolicy });
    return client;
  };
}

/** Opens the store, applies migrations and builds the portal. */
export async function openServices(config: Config, opts: ServiceOptions = {}): Promise<Services> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const box = new SecretBox(
    config.masterKey
      ? parseMasterKey(config.masterKey)
      : loadOrCreateKeyFile(join(config.dataDir, "master.key")),
  );
  const db = await openDb({ url: config.databaseUrl, ...(opts.schema ? { schema: opts.schema } : {}) });
  try {
    await migrate(db);
  } catch (e) {
    await db.close();
    throw e;
  }
  const clock = opts.clock ?? systemClock;
  const portal = new Portal(db, box, clock, { psaUrlRefusal: (url) => config.psaUrls.refusal(url) });
  // Where Autotask sends webhooks: NOCBRIDGE_PUBLIC_URL, else the address the server listens on.
  const urls = { listening: undefined as string | undefined };
  const sync = new SyncEngine({
    db,
    portal,
    box,
    clock,
    logger,
    publicUrl: () => config.publicUrl ?? urls.listening,
    ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
    ...(opts.ticketRetry ? { ticketRetry: opts.ticketRetry } : {}),
    ...(opts.liveReadTtlMs !== undefined ? { liveReadTtlMs: opts.liveReadTtlMs } : {}),
    autotask: opts.autotask
      ? (creds) => (opts.autotask as NonNullable<ServiceOptions["autotask"]>)(creds, config.psaUrls)
      : autotaskClientFor(logger, config.psaUrls),
    ...(opts.guard ? { guard: opts.guard } : {}),
    ...(config.failpoint ? { failpoint: config.failpoint } : {}),
  });
  await sync.start({ background: opts.background === true });
  return {
    config,
    db,
    box,
    portal,
    sync,
    logger,
    setListeningUrl(url: string) {
      urls.listening = url;
    },
    async close() {
      await sync.stop();
      await db.close();
    },
  };
}

export interface Server {
  app: App;
  url: string;
  /** Set when NOCBRIDGE_ADMIN_TOKEN was not given and a token was generated for this start. */
  generatedAdminToken: string | undefined;
  close(): Promise<void>;
}

/** Starts the API on the configured host and port. */
export async function startServer(services: Services): Promise<Server> {
  const { config, portal } = services;
  let generatedAdminToken: string | undefined;
  let adminToken = config.adminToken;
  if (!adminToken) {
    adminToken = newToken();
    generatedAdminToken = adminToken;
  }
  await portal.ensureAdminToken(adminToken);
  const app = await buildApp({ portal, sync: services.sync, logger: services.logger });
  await app.listen({ host: config.host, port: config.port });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  services.setListeningUrl(url);
  return { app, url, generatedAdminToken, close: () => app.close() };
}
