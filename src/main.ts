import { readFileSync } from "node:fs";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import { type App, buildApp } from "./api/app.js";
import type { ReadinessCheck } from "./api/routes/ops.js";
import type { Config } from "./config.js";
import { openJobs } from "./jobs/index.js";
import type { Jobs } from "./jobs/types.js";
import { type Clock, systemClock } from "./lib/clock.js";
import type { ConsoleSummary } from "./lib/console-summary.js";
import { loadOrCreateKeyFile, newToken, parseMasterKey, SecretBox } from "./lib/crypto.js";
import { isPostgresUrl } from "./lib/database-url.js";
import { createLogger, type Logger } from "./lib/logger.js";
import { Metrics, type PsaRequestMetrics } from "./lib/metrics.js";
import { Portal } from "./portal/service.js";
import type { AutotaskApi } from "./psa/autotask/api.js";
import { AutotaskClient, type AutotaskCredentials } from "./psa/autotask/client.js";
import { autotaskConnector } from "./psa/autotask/connector.js";
import type { BudgetLedger } from "./psa/budget-ledger.js";
import type { Connector } from "./psa/connector.js";
import type { ConnectWiseApi, ConnectWiseCredentials } from "./psa/connectwise/api.js";
import { ConnectWiseClient } from "./psa/connectwise/client.js";
import { connectwiseConnector } from "./psa/connectwise/connector.js";
import { ConnectorRegistry } from "./psa/registry.js";
import { guardedFetch } from "./psa/transport.js";
import type { PsaUrlPolicy } from "./psa/url-policy.js";
import { type Db, migrate, openDb } from "./store/db.js";
import { syncActivity } from "./sync/activity.js";
import { storeBudgetLedger } from "./sync/budget-ledger.js";
import { SyncEngine, type SyncEngineOptions } from "./sync/engine.js";
import { runCounts, ticketSyncLag } from "./sync/ops-metrics.js";

/** Everything a running nocbridge holds. Built here, the composition root; nothing else wires parts. */
export interface Services {
  config: Config;
  db: Db;
  box: SecretBox;
  portal: Portal;
  sync: SyncEngine;
  /** The PSA connectors this nocbridge runs. */
  connectors: ConnectorRegistry;
  /** This process's metrics (GET /metrics); the job engine sets its job counts and observes its jobs. */
  metrics: Metrics;
  logger: Logger;
  /** The quiet console's per-minute summary, for a long-running server (requests are then logged at debug). */
  consoleSummary: ConsoleSummary | undefined;
  /** Tells the engine the server's own URL (the default webhook base). */
  setListeningUrl(url: string): void;
  close(): Promise<void>;
}

export interface ServiceOptions {
  clock?: Clock;
  logger?: Logger;
  /** A server's console summary (made with the logger, which counts warnings and errors into it). */
  consoleSummary?: ConsoleSummary;
  /** PostgreSQL: the schema to use (tests use one per file). */
  schema?: string;
  /**
   * Builds a partner's Autotask client (tests pass one with fast retries). It is given the
   * configured URL policy, which it must apply, and the metrics with the partner's label and the
   * partner's budget ledger, which it may.
   */
  autotask?: (creds: AutotaskCredentials, urlPolicy: PsaUrlPolicy, labels: PsaClientLabels) => AutotaskApi;
  /**
   * Builds a partner's ConnectWise client (tests pass one with fast retries). It is given the
   * configured URL policy, which it must apply, and the metrics with the partner's label, which it may.
   */
  connectwise?: (
    creds: ConnectWiseCredentials,
    urlPolicy: PsaUrlPolicy,
    labels: PsaClientLabels,
  ) => ConnectWiseApi;
  /** This process's metrics (default: a new registry). */
  metrics?: Metrics;
  /**
   * A certificate (PEM) the ConnectWise clients trust besides Node's bundled ones: the demo's
   * emulator serves HTTPS with a self-signed one. Only those clients' connections are affected.
   */
  connectwiseCa?: string;
  /**
   * Further PSA connectors, registered next to Autotask and ConnectWise (tests add a fake one); one
   * whose system is a built-in's replaces it.
   */
  connectors?: Connector[];
  guard?: SyncEngineOptions["guard"];
  /** How long an asset run paused at the hourly API budget waits when the PSA named no time (tests). */
  budgetWaitMs?: SyncEngineOptions["budgetWaitMs"];
  /**
   * This process does background work (a worker, or a server with its worker): schedules, polls,
   * drains, asset runs. Not for one-off commands.
   */
  background?: boolean;
  /** Ticket jobs a worker runs at once (default 32; asset runs a quarter of that). */
  concurrency?: number;
  /**
   * The job engine: "shared" (PostgreSQL's, for any number of processes; the default there) or
   * "memory" (in this process; SQLite's, and single-process tests on PostgreSQL).
   */
  jobs?: "memory" | "shared";
  /** The shared job engine: how often an idle worker looks for due jobs it was not told of, ms (default 2 s). */
  jobPollIntervalMs?: number;
  pollIntervalMs?: number;
  ticketRetry?: SyncEngineOptions["ticketRetry"];
  liveReadTtlMs?: SyncEngineOptions["liveReadTtlMs"];
}

/**
 * What a PSA client is given to report its requests: the metrics and its partner as their label; and
 * the ledger, in the store, where every process serving the partner counts its hourly API budget.
 */
export interface PsaClientLabels {
  metrics: PsaRequestMetrics;
  partner: string;
  budgetLedger: BudgetLedger;
}

/**
 * The production Autotask client for a partner's credentials, calling only where `urlPolicy` allows,
 * counting its requests in `metrics` and its hourly budget in the partner's ledger (`ledger`).
 */
export function autotaskClientFor(
  logger: Logger,
  urlPolicy: PsaUrlPolicy,
  metrics?: PsaRequestMetrics,
  ledger?: (partnerId: number) => BudgetLedger,
): (creds: AutotaskCredentials, partnerId: number) => AutotaskApi {
  return (creds, partnerId) => {
    const client: AutotaskApi = new AutotaskClient({
      credentials: creds,
      logger,
      urlPolicy,
      ...(metrics ? { metrics, partner: String(partnerId) } : {}),
      ...(ledger ? { budgetLedger: ledger(partnerId) } : {}),
    });
    return client;
  };
}

/**
 * The production ConnectWise client for a partner's credentials, calling only where `urlPolicy`
 * allows; `ca`: a certificate trusted besides Node's bundled ones (the demo's emulator).
 */
export function connectwiseClientFor(
  logger: Logger,
  urlPolicy: PsaUrlPolicy,
  ca?: string,
  metrics?: PsaRequestMetrics,
): (creds: ConnectWiseCredentials, partnerId: number) => ConnectWiseApi {
  const fetch = ca === undefined ? undefined : guardedFetch(urlPolicy, { ca: [...rootCertificates, ca] });
  return (creds, partnerId) =>
    new ConnectWiseClient({
      credentials: creds,
      logger,
      urlPolicy,
      ...(fetch ? { fetch } : {}),
      ...(metrics ? { metrics, partner: String(partnerId) } : {}),
    });
}

/** Opens the store, applies migrations and builds the portal. */
export async function openServices(config: Config, opts: ServiceOptions = {}): Promise<Services> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const postgres = isPostgresUrl(config.databaseUrl);
  const shared = postgres && opts.jobs !== "memory";
  // Every process on a shared database must decrypt the same stored secrets: one key, given to each.
  if (postgres && !config.masterKey)
    throw new StartupError(
      "reading the master key",
      new Error("NOCBRIDGE_MASTER_KEY is required with PostgreSQL: give every process the same key"),
    );
  const box = new SecretBox(
    config.masterKey
      ? parseMasterKey(config.masterKey)
      : loadOrCreateKeyFile(join(config.dataDir, "master.key")),
  );
  const db = await step("opening the database", () =>
    openDb({
      url: config.databaseUrl,
      ...(opts.schema ? { schema: opts.schema } : {}),
      onConnectionError: (err) => logger.warn({ err }, "database connection lost; reconnecting on next use"),
    }),
  );
  try {
    await step("migrating the database", () => migrate(db));
  } catch (e) {
    await db.close().catch(() => {});
    throw e;
  }
  const clock = opts.clock ?? systemClock;
  let jobs: Jobs;
  try {
    jobs = await step("starting the job engine", () =>
      openJobs({
        db,
        url: config.databaseUrl,
        logger,
        memory: !shared,
        ...(opts.jobPollIntervalMs !== undefined ? { pollIntervalMs: opts.jobPollIntervalMs } : {}),
      }),
    );
  } catch (e) {
    await db.close().catch(() => {});
    throw e;
  }
  // Where Autotask sends webhooks: NOCBRIDGE_PUBLIC_URL, else the address the server listens on.
  const urls = { listening: undefined as string | undefined };
  const metrics = opts.metrics ?? new Metrics();
  // Every process serving a partner counts its hourly API budget in the store, so together they stop at
  // its shares (docs/scale-out.md, The hourly API budget).
  const ledger = (partnerId: number) => storeBudgetLedger(db, partnerId);
  const labels = (partnerId: number): PsaClientLabels => ({
    metrics,
    partner: String(partnerId),
    budgetLedger: ledger(partnerId),
  });
  const autotask = opts.autotask;
  const autotaskClient = autotask
    ? (creds: AutotaskCredentials, partnerId: number) => autotask(creds, config.psaUrls, labels(partnerId))
    : autotaskClientFor(logger, config.psaUrls, metrics, ledger);
  const connectwise = opts.connectwise;
  const connectwiseClient = connectwise
    ? (creds: ConnectWiseCredentials, partnerId: number) =>
        connectwise(creds, config.psaUrls, labels(partnerId))
    : connectwiseClientFor(logger, config.psaUrls, opts.connectwiseCa, metrics);
  // A connector the options pass for a built-in system takes its place (a test's own ConnectWise).
  const given = opts.connectors ?? [];
  const builtins = [
    autotaskConnector({ client: autotaskClient }),
    connectwiseConnector({ client: connectwiseClient }),
  ];
  const connectors = new ConnectorRegistry([
    ...builtins.map((b) => given.find((c) => c.system === b.system) ?? b),
    ...given.filter((c) => !builtins.some((b) => b.system === c.system)),
  ]);
  const portal = new Portal(db, box, clock, {
    psaUrlRefusal: (url) => config.psaUrls.refusal(url),
    manifests: connectors.list().map((c) => c.manifest),
    attachments: {
      maxBytes: config.attachmentMaxBytes,
      types: config.attachmentTypes,
      dir: config.attachmentDir,
    },
  });
  const sync = new SyncEngine({
    connectors,
    db,
    portal,
    box,
    clock,
    logger,
    publicUrl: () => config.publicUrl ?? urls.listening,
    allowHttpWebhooks: config.allowHttpWebhooks,
    ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
    ...(opts.ticketRetry ? { ticketRetry: opts.ticketRetry } : {}),
    ...(opts.liveReadTtlMs !== undefined ? { liveReadTtlMs: opts.liveReadTtlMs } : {}),
    ...(opts.guard ? { guard: opts.guard } : {}),
    ...(opts.budgetWaitMs !== undefined ? { budgetWaitMs: opts.budgetWaitMs } : {}),
    retentionDays: config.retentionDays,
    fileCheckPeriodMs: config.fileCheckMinutes * 60_000,
    ...(config.failpoint ? { failpoint: config.failpoint } : {}),
    jobs,
    onRunFinished: (kind, status) => metrics.runFinished(kind, status),
    onJobOutcome: (o) => metrics.observeJob(o.task, o.ok ? "ok" : "failed", o.seconds),
  });
  metrics.setSyncLag(() => ticketSyncLag(db, clock));
  metrics.setJobCounts(() => jobs.counts());
  metrics.setRunCounts(() => runCounts(db));
  try {
    await step("starting the sync engine", () =>
      sync.start({
        background: opts.background === true,
        ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      }),
    );
  } catch (e) {
    await sync.stop().catch(() => {});
    await jobs.close().catch(() => {});
    await db.close().catch(() => {});
    throw e;
  }
  return {
    config,
    db,
    box,
    portal,
    sync,
    connectors,
    metrics,
    logger,
    consoleSummary: opts.consoleSummary,
    setListeningUrl(url: string) {
      urls.listening = url;
    },
    async close() {
      await sync.stop();
      await jobs.close();
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
export async function startServer(
  services: Services,
  o: {
    /** The built web UI to serve (default: dist/web when it has been built; null: none). */
    webRoot?: string | null;
    /** Readiness beyond the database for /readyz (a process that runs the job engine reports it). */
    ready?: ReadinessCheck;
    /** A worker's port: only /healthz, /readyz and /metrics. */
    opsOnly?: boolean;
  } = {},
): Promise<Server> {
  const { config, portal } = services;
  let generatedAdminToken: string | undefined;
  // A worker's ops port leaves the admin token to the API processes (it has no API to use it with).
  if (!o.opsOnly) {
    let adminToken = config.adminToken;
    if (!adminToken) {
      adminToken = newToken();
      generatedAdminToken = adminToken;
    }
    const token = adminToken;
    await step("setting the admin token", () => portal.ensureAdminToken(token));
  }
  // NOCBRIDGE_TLS_CERT and NOCBRIDGE_TLS_KEY (both or neither, checked in config.ts): serve https.
  const https =
    config.tlsCert && config.tlsKey
      ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) }
      : undefined;
  const summary = services.consoleSummary;
  // With the shared job engine, a process that cannot reach it can neither queue nor take work.
  const sync = services.sync;
  const ready = o.ready ?? (sync.shared ? async () => ({ jobs: await sync.jobs.ready() }) : undefined);
  const app = await buildApp({
    portal,
    sync: services.sync,
    logger: services.logger,
    metrics: services.metrics,
    ...(config.metricsToken ? { metricsToken: config.metricsToken } : {}),
    ...(https ? { https } : {}),
    ...(o.webRoot !== undefined ? { webRoot: o.webRoot } : {}),
    ...(ready ? { ready } : {}),
    ...(o.opsOnly ? { opsOnly: true, webRoot: null } : {}),
    ...(summary ? { onAnswered: (status: number) => summary.request(status) } : {}),
  });
  await step(`listening on ${config.host}:${config.port}`, () =>
    app.listen({ host: config.host, port: config.port }),
  );
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `${https ? "https" : "http"}://${host}:${port}`;
  services.setListeningUrl(url);
  const stopSummary = summary?.start(services.logger, (since, until) =>
    syncActivity(services.db, since.toISOString(), until.toISOString()),
  );
  return {
    app,
    url,
    generatedAdminToken,
    close: async () => {
      stopSummary?.();
      await app.close();
    },
  };
}

/** A start-up step that failed: `what` names the step, the message says why. */
export class StartupError extends Error {
  constructor(
    readonly what: string,
    readonly reason: unknown,
  ) {
    super(`${what}: ${reasonText(reason)}`);
    this.name = "StartupError";
  }
}

async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw e instanceof StartupError ? e : new StartupError(what, e);
  }
}

/** One line: the error's message, or its code when it has none (node's AggregateError for ECONNREFUSED). */
function reasonText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const first = e instanceof AggregateError ? (e.errors[0] as Error | undefined) : undefined;
  const text = e.message || first?.message || (e as { code?: string }).code || e.name;
  return text.split("\n")[0] as string;
}
