import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type App, buildApp } from "../../src/api/app.js";
import { loadConfig } from "../../src/config.js";
import type { Clock } from "../../src/lib/clock.js";
import { createLogger } from "../../src/lib/logger.js";
import { openServices, type ServiceOptions, type Services } from "../../src/main.js";

/** Both stores every store test runs on. */
export const STORES = ["sqlite", "postgres"] as const;
export type StoreKind = (typeof STORES)[number];

/** PostgreSQL of the test machine (trust auth); override with NOCBRIDGE_TEST_PG_URL. */
export const PG_URL = process.env.NOCBRIDGE_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export const TEST_MASTER_KEY = randomBytes(32).toString("hex");

export interface TestEnv {
  services: Services;
  kind: StoreKind;
  close(): Promise<void>;
}

/**
 * Fresh services on a fresh database: SQLite in memory, or a new PostgreSQL schema that is dropped
 * afterwards. Nothing is shared between test files.
 */
export async function openTestServices(
  kind: StoreKind,
  opts: {
    clock?: Clock;
    autotask?: ServiceOptions["autotask"];
    /** PSA connectors registered next to Autotask (the fake connector). */
    connectors?: ServiceOptions["connectors"];
    guard?: ServiceOptions["guard"];
    budgetWaitMs?: ServiceOptions["budgetWaitMs"];
    ticketRetry?: ServiceOptions["ticketRetry"];
    /** NOCBRIDGE_ALLOW_HTTP_WEBHOOKS (default on: test servers listen on http://127.0.0.1:<port>). */
    allowHttpWebhooks?: boolean;
    /** NOCBRIDGE_PUBLIC_URL. */
    publicUrl?: string;
    /** Origins added to the PSA URL allow-list as exact entries (the test's emulators). */
    psaOrigins?: string[];
    /** More environment variables for loadConfig (attachment settings). */
    env?: Record<string, string>;
    /** A database other services use too (sharedTestDatabase); left in place by close(). */
    database?: TestDatabase;
    /** The sync engine's background work (schedules, ticket worker); default on. */
    background?: boolean;
    /**
     * The job engine (default "memory": these tests await drains and runs in this process). "shared":
     * PostgreSQL's, in the database's own job schema, for services that work as separate processes would.
     */
    jobs?: "memory" | "shared";
    /** Jobs a worker runs at once (shared jobs with background work). */
    concurrency?: number;
    /** Shared jobs: how often an idle worker looks for due jobs it was not told of, ms. */
    jobPollIntervalMs?: number;
    /** The ticket poll interval, ms. */
    pollIntervalMs?: number;
  } = {},
): Promise<TestEnv> {
  const shared = opts.database;
  const schema = shared ? shared.schema : `t_${randomBytes(6).toString("hex")}`;
  const databaseUrl = shared ? shared.url : kind === "postgres" ? PG_URL : ":memory:";
  const config = loadConfig(
    {
      NOCBRIDGE_MASTER_KEY: TEST_MASTER_KEY,
      LOG_LEVEL: "silent",
      NOCBRIDGE_ALLOW_HTTP_WEBHOOKS: opts.allowHttpWebhooks === false ? "0" : "1",
      ...(opts.publicUrl ? { NOCBRIDGE_PUBLIC_URL: opts.publicUrl } : {}),
      ...opts.env,
    },
    { databaseUrl, dataDir: "data-test-unused" },
  );
  if (opts.psaOrigins) config.psaUrls = config.psaUrls.withOrigins(...opts.psaOrigins);
  const services = await openServices(config, {
    logger: createLogger("silent"),
    ...(kind === "postgres" && schema ? { schema } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.autotask ? { autotask: opts.autotask } : {}),
    ...(opts.connectors ? { connectors: opts.connectors } : {}),
    ...(opts.guard ? { guard: opts.guard } : {}),
    ...(opts.budgetWaitMs !== undefined ? { budgetWaitMs: opts.budgetWaitMs } : {}),
    ...(opts.ticketRetry ? { ticketRetry: opts.ticketRetry } : {}),
    background: opts.background ?? true,
    jobs: opts.jobs ?? "memory",
    ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
    ...(opts.jobPollIntervalMs !== undefined ? { jobPollIntervalMs: opts.jobPollIntervalMs } : {}),
    ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
  });
  return {
    services,
    kind,
    async close() {
      await services.close();
      if (kind === "postgres" && !shared && schema) await dropSchema(schema);
    },
  };
}

/** A database several services (as several processes would) open at once. */
export interface TestDatabase {
  /** The database URL for openServices: a SQLite file, or PostgreSQL (with `schema`). */
  url: string;
  /** PostgreSQL: the schema, for openServices. */
  schema?: string;
  /** DATABASE_URL for another process (the CLI): PostgreSQL names the schema as its search_path. */
  processUrl: string;
  /** Drops the schema or deletes the file. */
  drop(): Promise<void>;
}

/** A fresh database that outlives the services opened on it: a SQLite file, or a PostgreSQL schema. */
export function sharedTestDatabase(kind: StoreKind): TestDatabase {
  if (kind === "postgres") {
    const schema = `t_${randomBytes(6).toString("hex")}`;
    return {
      url: PG_URL,
      schema,
      processUrl: `${PG_URL}?options=-c%20search_path%3D${schema}`,
      drop: () => dropSchema(schema),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "nb-shared-"));
  const file = join(dir, "shared.sqlite");
  return {
    url: file,
    processUrl: file,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Drops a test schema, and the job engine's beside it (services with shared jobs made one). */
export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.query(`DROP SCHEMA IF EXISTS ${schema}_jobs CASCADE`);
  } finally {
    await c.end();
  }
}

export async function testApp(env: TestEnv): Promise<App> {
  return buildApp({ portal: env.services.portal, sync: env.services.sync });
}

/** Every row of every table, to prove a rejected request wrote nothing. */
export async function snapshot(env: TestEnv): Promise<string> {
  const k = env.services.db.kysely;
  const out: Record<string, unknown> = {};
  for (const t of PORTAL_TABLES)
    out[t] = await k
      .selectFrom(t)
      .selectAll()
      .orderBy(t === "partner_integrations" ? "partner_id" : "id")
      .execute();
  return JSON.stringify(out);
}

/** The portal's tables (migration 0001). */
export const PORTAL_TABLES = [
  "partners",
  "partner_integrations",
  "clients",
  "devices",
  "tickets",
  "ticket_alerts",
  "ticket_notes",
  "mappings",
  "users",
  "audit_log",
] as const;
