import { join } from "node:path";
import { type App, buildApp } from "./api/app.js";
import type { Config } from "./config.js";
import { type Clock, systemClock } from "./lib/clock.js";
import { loadOrCreateKeyFile, newToken, parseMasterKey, SecretBox } from "./lib/crypto.js";
import { createLogger, type Logger } from "./lib/logger.js";
import { Portal } from "./portal/service.js";
import { type Db, migrate, openDb } from "./store/db.js";

/** Everything a running nocbridge holds. Built here, the composition root; nothing else wires parts. */
export interface Services {
  config: Config;
  db: Db;
  box: SecretBox;
  portal: Portal;
  logger: Logger;
  close(): Promise<void>;
}

export interface ServiceOptions {
  clock?: Clock;
  logger?: Logger;
  /** PostgreSQL: the schema to use (tests use one per file). */
  schema?: string;
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
  const portal = new Portal(db, box, opts.clock ?? systemClock);
  return { config, db, box, portal, logger, close: () => db.close() };
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
  const app = await buildApp({ portal, logger: services.logger });
  await app.listen({ host: config.host, port: config.port });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  return { app, url: `http://${host}:${port}`, generatedAdminToken, close: () => app.close() };
}
