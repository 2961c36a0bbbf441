import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import SqliteDatabase from "better-sqlite3";
import {
  Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresDialect,
  SqliteDialect,
} from "kysely";
import pg from "pg";
import { isPostgresUrl } from "../lib/database-url.js";
import * as m0001 from "./migrations/0001_init.js";
import * as m0002 from "./migrations/0002_sync.js";
import * as m0003 from "./migrations/0003_tickets.js";
import * as m0004 from "./migrations/0004_sessions.js";
import * as m0005 from "./migrations/0005_identity.js";
import * as m0008 from "./migrations/0008_ticket_defaults.js";
import * as m0009 from "./migrations/0009_webhooks.js";
import * as m0010 from "./migrations/0010_stream_tickets.js";
import * as m0011 from "./migrations/0011_budget_waits.js";
import * as m0012 from "./migrations/0012_integration_events.js";
import * as m0013 from "./migrations/0013_connector_settings.js";
import * as m0014 from "./migrations/0014_time_entries.js";
import * as m0015 from "./migrations/0015_attachments.js";
import * as m0016 from "./migrations/0016_effort_sync.js";
import * as m0017 from "./migrations/0017_attachment_links.js";
import * as m0018 from "./migrations/0018_client_company_name.js";
import * as m0019 from "./migrations/0019_file_checks.js";
import * as m0020 from "./migrations/0020_run_progress.js";
import * as m0022 from "./migrations/0022_reconciliation_ignores.js";
import * as m0023 from "./migrations/0023_ticket_seen_stamp.js";
import * as m0024 from "./migrations/0024_scale_out.js";
import * as m0025 from "./migrations/0025_run_pause.js";
import * as m0026 from "./migrations/0026_budget_ledger.js";
import * as m0027 from "./migrations/0027_link_run_outcome.js";
import type { Database } from "./schema.js";
import { Signals } from "./signals.js";

export type Dialect = "sqlite" | "postgres";

/** An open database: the query builder plus which engine is behind it. */
export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  /** PostgreSQL: the schema tables live in (current_schema() of the connection). */
  schema?: string;
  /** Wake-ups fired after commits, for listeners in this process (the rows are the truth). */
  signals: Signals;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** postgres://… or a SQLite file path or ":memory:". */
  url: string;
  /** PostgreSQL only: a schema to create (if missing) and use as search_path (tests use one per file). */
  schema?: string;
  /**
   * PostgreSQL only: told when a pooled connection breaks (the server restarted or went away). The
   * pool drops that connection and opens a new one for the next query. Default: one line on stderr.
   */
  onConnectionError?: (err: Error) => void;
}

/** How long a query waits for a pooled connection before failing (and the API answering 503), ms. */
const CONNECT_TIMEOUT_MS = 5_000;

/** Opens SQLite (WAL, foreign keys on) or a PostgreSQL pool, by the form of the URL. */
export async function openDb(opts: OpenOptions): Promise<Db> {
  if (isPostgresUrl(opts.url)) {
    if (opts.schema !== undefined) {
      if (!/^[a-z_][a-z0-9_]*$/.test(opts.schema)) throw new Error(`invalid schema name "${opts.schema}"`);
      const admin = new pg.Client({
        connectionString: opts.url,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      });
      admin.on("error", () => {}); // a failure surfaces through the query below
      await admin.connect();
      try {
        await admin.query(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`);
      } finally {
        await admin.end();
      }
    }
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: 10,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      ...(opts.schema !== undefined ? { options: `-c search_path=${opts.schema}` } : {}),
    });
    // Without listeners, a connection broken by a database restart raises an 'error' event that ends
    // the process: idle connections report through the pool, ones checked out (a transaction between
    // two statements) through the client itself.
    const lost =
      opts.onConnectionError ??
      ((err: Error) => process.stderr.write(`nocbridge: database connection lost: ${err.message}\n`));
    pool.on("error", (err) => lost(err));
    pool.on("connect", (client) => {
      client.on("error", () => {}); // reported by the pool (idle) or by the failing query (checked out)
    });
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const { rows } = await pool.query<{ schema: string }>("select current_schema() as schema");
    const schema = rows[0]?.schema;
    if (!schema) {
      await kysely.destroy();
      throw new Error("PostgreSQL has no current schema: check search_path in DATABASE_URL");
    }
    return {
      kysely,
      dialect: "postgres",
      schema,
      signals: new Signals(),
      close: () => kysely.destroy(),
    };
  }
  if (opts.url !== ":memory:") prepareSqliteFile(opts.url);
  const sqlite = new SqliteDatabase(opts.url);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { kysely, dialect: "sqlite", signals: new Signals(), close: () => kysely.destroy() };
}

/**
 * The database holds sealed secrets and token hashes: only its owner may read it. A directory this
 * creates is 0700; the file is created 0600 before SQLite opens it (SQLite gives its -wal and -shm
 * files the mode of the database file), and an existing file and its companions are narrowed to 0600.
 * An existing directory's mode is left alone (it may be shared, like the working directory).
 */
function prepareSqliteFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, "a", 0o600));
  for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    if (existsSync(f)) chmodSync(f, 0o600);
  }
}

/** The migrations in order. Append-only: a landed migration is never edited. */
function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    "0001_init": { up: (db) => m0001.up(db, dialect) },
    "0002_sync": { up: (db) => m0002.up(db, dialect) },
    "0003_tickets": { up: (db) => m0003.up(db, dialect) },
    "0004_sessions": { up: (db) => m0004.up(db, dialect) },
    "0005_identity": { up: (db) => m0005.up(db, dialect) },
    "0008_ticket_defaults": { up: (db) => m0008.up(db, dialect) },
    "0009_webhooks": { up: (db) => m0009.up(db, dialect) },
    "0010_stream_tickets": { up: (db) => m0010.up(db, dialect) },
    "0011_budget_waits": { up: (db) => m0011.up(db, dialect) },
    "0012_integration_events": { up: (db) => m0012.up(db, dialect) },
    "0013_connector_settings": { up: (db) => m0013.up(db, dialect) },
    "0014_time_entries": { up: (db) => m0014.up(db, dialect) },
    "0016_effort_sync": { up: (db) => m0016.up(db, dialect) },
    "0015_attachments": { up: (db) => m0015.up(db, dialect) },
    "0017_attachment_links": { up: (db) => m0017.up(db, dialect) },
    "0018_client_company_name": { up: (db) => m0018.up(db, dialect) },
    "0019_file_checks": { up: (db) => m0019.up(db, dialect) },
    "0020_run_progress": { up: (db) => m0020.up(db, dialect) },
    "0022_reconciliation_ignores": { up: (db) => m0022.up(db, dialect) },
    "0023_ticket_seen_stamp": { up: (db) => m0023.up(db, dialect) },
    "0024_scale_out": { up: (db) => m0024.up(db, dialect) },
    "0025_run_pause": { up: (db) => m0025.up(db, dialect) },
    "0026_budget_ledger": { up: (db) => m0026.up(db, dialect) },
    "0027_link_run_outcome": { up: (db) => m0027.up(db, dialect) },
  };
}

/**
 * Brings the schema up to date (or, with `to`, up to that migration: tests of a migration start from
 * the schema before it); returns the names of the migrations it applied.
 */
export async function migrate(db: Db, opts: { to?: string } = {}): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(db.dialect) };
  // Kysely looks for its migration tables across every schema unless told which one: name ours, so
  // several schemas in one database (tests, or tenants sharing a server) never see each other's.
  const migrator = new Migrator({
    db: db.kysely,
    provider,
    ...(db.schema ? { migrationTableSchema: db.schema } : {}),
  });
  const { error, results } = await (opts.to === undefined
    ? migrator.migrateToLatest()
    : migrator.migrateTo(opts.to));
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/** A write refused by a unique constraint (PostgreSQL 23505, SQLite SQLITE_CONSTRAINT_UNIQUE). */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE";
}
