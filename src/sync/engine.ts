import type { JobOutcome, Jobs } from "../jobs/types.js";
import type { Clock } from "../lib/clock.js";
import type { SecretBox } from "../lib/crypto.js";
import type { Logger } from "../lib/logger.js";
import type { Actor } from "../portal/access.js";
import { notFound } from "../portal/errors.js";
import type { Portal } from "../portal/service.js";
import type { PsaOptions, ValidationResult } from "../psa/connector.js";
import type { ConnectorRegistry } from "../psa/registry.js";
import type { Db } from "../store/db.js";
import { AssetRuns, type AssetSyncStatus } from "./asset-runs.js";
import { enqueueDrain, enqueuePoll, enqueueSetup } from "./background.js";
import { CompanyDirectory } from "./companies.js";
import type { Failpoint } from "./failpoint.js";
import { LinkOutcomes } from "./link-outcomes.js";
import { LinkStore } from "./links.js";
import { LIVE_READ_TTL_MS, LiveReadCache } from "./live-cache.js";
import { OutageWatch } from "./outage.js";
import { PortalEvents } from "./portal-events.js";
import { type SyncPortal, syncPortal } from "./portal-port.js";
import { ProcessRole } from "./process-role.js";
import { PsaOptionsReader } from "./psa-options.js";
import { Reconciliation } from "./reconciliation/service.js";
import { type RunEvent, RunStore, type RunTrigger, type SyncRun, type SyncRunDetail } from "./runs.js";
import { AssetScheduler } from "./scheduler.js";
import { PsaSessions } from "./sessions.js";
import { StreamTickets } from "./stream-tickets.js";
import { type TimeEntrySyncView, timeEntrySyncViews } from "./tickets/effort-views.js";
import type { SyncErrorView } from "./tickets/errors.js";
import type { DriftFinding, ReceiveResult } from "./tickets/feed.js";
import { ticketQueueFilter } from "./tickets/queue-state.js";
import { ResourceMap } from "./tickets/resource-map.js";
import { TicketEngine } from "./tickets/service.js";
import type { PsaTicketView } from "./tickets/views.js";
import type { WebhookState } from "./tickets/webhooks.js";
import { Validation } from "./validation.js";

export type { AssetSyncStatus } from "./asset-runs.js";
export { nextRuns } from "./scheduler.js";

export interface SyncEngineOptions {
  db: Db;
  portal: Portal;
  box: SecretBox;
  /** Base URL Autotask calls for webhooks (NOCBRIDGE_PUBLIC_URL, else the server's address once listening). */
  publicUrl?: () => string | undefined;
  /** NOCBRIDGE_ALLOW_HTTP_WEBHOOKS: register webhooks at a URL that is not https on port 443. */
  allowHttpWebhooks?: boolean;
  /** Ticket poll interval per partner, ms (default 5 minutes). */
  pollIntervalMs?: number;
  /** Ticket sync retry tuning (tests shorten it). */
  ticketRetry?: { maxAttempts?: number; baseMs?: number };
  clock: Clock;
  logger: Logger;
  /** The PSA connectors, by system. */
  connectors: ConnectorRegistry;
  /** Mass-change guard: hold a run that deactivates more than `share` of a company's linked CIs (and at least `minimum`). */
  guard?: { share: number; minimum: number };
  /** Parallel CI writes within a client. */
  concurrency?: number;
  /** How long an asset run paused at the hourly API budget waits when the PSA named no time, ms. */
  budgetWaitMs?: number;
  /** Longest reuse of live PSA reads (pick-lists, Validate), ms; 0 = none (browser tests). */
  liveReadTtlMs?: number;
  /** Testing only (NOCBRIDGE_FAILPOINT): where the ticket sync stops the process during a create. */
  failpoint?: Failpoint;
  /** Days processed inbox/outbox rows and resolved sync errors are kept (default 30). */
  retentionDays?: number;
  /** The periodic file check: every open linked ticket's PSA files are listed about this often, ms (default 1 hour). */
  fileCheckPeriodMs?: number;
  /**
   * Background work. The PostgreSQL engine (shared by processes) makes this process one of many:
   * wake-ups become jobs, runs are owned and taken over. The in-process engine keeps one process.
   */
  jobs: Jobs;
  /** Told how each job run ended (metrics). */
  onJobOutcome?: (o: JobOutcome) => void;
  /** Told of every sync run that ends, with its kind and final status (the metrics count them). */
  onRunFinished?: (kind: string, status: string) => void;
}

/**
 * The sync engine's facade: wires the asset runs (./asset-runs.ts), their schedules (./scheduler.ts),
 * Validate (./validation.ts), the live pick-lists (./psa-options.ts) and the ticket sync, and the
 * process's background role (./process-role.ts: a worker, or the in-process beat that polls, retries
 * and recovers after a database outage).
 */
export class SyncEngine {
  readonly runs: RunStore;
  readonly links: LinkStore;
  /** The ticket side: two-way ticket sync, its feed from the PSA and its webhooks (./tickets/). */
  readonly tickets: TicketEngine;
  /** Single-use tickets for following a run's live log. */
  readonly streamTickets: StreamTickets;
  /** Partners' PSA sessions, through the connector their settings name. */
  readonly sessions: PsaSessions;
  /** The engine's one way into portal data. */
  readonly portal: SyncPortal;
  /** Asset sync runs: start, execute, approval, outage recovery. */
  readonly assetRuns: AssetRuns;
  /** The partners' asset-sync schedules. */
  readonly scheduler: AssetScheduler;
  /** The Validate checklist. */
  readonly validation: Validation;
  /** The portal-user ↔ PSA-resource map of time entries. */
  readonly effort: ResourceMap;
  /** The ticket queue's sync-state and PSA-number conditions (the portal's queue filters with them). */
  readonly queueFilter = ticketQueueFilter;
  /** Portal devices against the PSA's configuration items, and the actions that fix them. */
  readonly reconciliation: Reconciliation;
  /** The partners' PSA companies: search, the check before a client's company is saved, auto-match. */
  readonly companies: CompanyDirectory;
  readonly #options: PsaOptionsReader;
  /** Integration settings saves (integration_events rows) and what follows them. */
  readonly #events: PortalEvents;
  readonly #o: SyncEngineOptions;
  readonly #live: LiveReadCache;
  /** What this process does in the background (wake-ups; a worker, or the in-process beat). */
  readonly #role: ProcessRole;
  readonly #outage: OutageWatch;

  constructor(o: SyncEngineOptions) {
    this.#o = o;
    this.#outage = new OutageWatch(o.logger);
    this.#live = new LiveReadCache(() => o.clock.now().getTime(), o.liveReadTtlMs ?? LIVE_READ_TTL_MS);
    this.runs = new RunStore(o.db, o.clock, o.onRunFinished);
    this.links = new LinkStore(o.db, o.clock);
    this.portal = syncPortal(o.portal);
    this.streamTickets = new StreamTickets(o.db, o.clock, this.portal);
    this.sessions = new PsaSessions({
      registry: o.connectors,
      portal: this.portal,
      logger: o.logger,
      clock: o.clock,
    });
    this.companies = new CompanyDirectory({ portal: this.portal, sessions: this.sessions });
    this.validation = new Validation({
      db: o.db,
      portal: this.portal,
      sessions: this.sessions,
      live: this.#live,
      ticketChecks: (partnerId, session) => this.tickets.validationChecks(partnerId, session),
      refreshNames: (partnerId, session) => this.companies.refreshNames(partnerId, session),
    });
    this.effort = new ResourceMap({ db: o.db, portal: this.portal, sessions: this.sessions });
    this.reconciliation = new Reconciliation({
      db: o.db,
      clock: o.clock,
      portal: this.portal,
      links: this.links,
      runs: this.runs,
      sessions: this.sessions,
      validation: this.validation,
      ttlMs: o.liveReadTtlMs ?? LIVE_READ_TTL_MS,
    });
    this.#options = new PsaOptionsReader({ portal: this.portal, sessions: this.sessions, live: this.#live });
    const shared = o.jobs.backend === "graphile";
    this.scheduler = new AssetScheduler({
      portal: this.portal,
      logger: o.logger,
      jobs: o.jobs,
      clock: o.clock,
      fire: (partnerId) => this.assetRuns.fireScheduled(partnerId),
    });
    this.assetRuns = new AssetRuns({
      runs: this.runs,
      links: this.links,
      portal: this.portal,
      sessions: this.sessions,
      validation: this.validation,
      logger: o.logger,
      schedule: (partnerId) => this.scheduler.of(partnerId),
      guard: o.guard,
      concurrency: o.concurrency,
      jobs: o.jobs,
      clock: o.clock,
      budgetWaitMs: o.budgetWaitMs,
      shared: shared
        ? { jobs: o.jobs, liveness: () => this.#role.worker?.liveness, outcomes: new LinkOutcomes(o.db) }
        : undefined,
    });
    this.tickets = new TicketEngine({
      db: o.db,
      portal: this.portal,
      sessions: this.sessions,
      registry: o.connectors,
      box: o.box,
      clock: o.clock,
      logger: o.logger,
      publicUrl: () => o.publicUrl?.(),
      allowHttpWebhooks: o.allowHttpWebhooks,
      pollIntervalMs: o.pollIntervalMs,
      retry: o.ticketRetry,
      failpoint: o.failpoint,
      fileCheckPeriodMs: o.fileCheckPeriodMs,
      enqueueDrain: shared ? (partnerId, runAt) => enqueueDrain(o.jobs, partnerId, runAt) : undefined,
    });
    this.#events = new PortalEvents({
      db: o.db,
      clock: o.clock,
      logger: o.logger,
      background: () => this.#role.background,
      reschedule: (partnerId) => this.reschedule(partnerId),
      onboard: (partnerId) => this.startAssetRun(partnerId, "onboarding", { dryRun: false }),
      ticketingChanged: (partnerId) => this.ticketingChanged(partnerId),
      failed: (e, what) => this.#outage.failed(e, what),
      enqueueSetup: shared ? (partnerId) => enqueueSetup(o.jobs, partnerId) : undefined,
    });
    this.#role = new ProcessRole({
      db: o.db,
      clock: o.clock,
      logger: o.logger,
      jobs: o.jobs,
      portal: this.portal,
      tickets: this.tickets,
      assetRuns: this.assetRuns,
      scheduler: this.scheduler,
      runs: this.runs,
      events: this.#events,
      outage: this.#outage,
      pollIntervalMs: o.pollIntervalMs,
      retentionDays: o.retentionDays,
      onJobOutcome: o.onJobOutcome,
    });
  }

  /** Whether background work is shared with other processes (PostgreSQL's job engine). */
  get shared(): boolean {
    return this.#o.jobs.backend === "graphile";
  }

  /** This process's id as a worker (shared mode), or undefined. */
  get workerId(): string | undefined {
    return this.#role.worker?.liveness.id;
  }

  /** The job engine (metrics, readiness). */
  get jobs(): Jobs {
    return this.#o.jobs;
  }

  /**
   * The live PSA values the settings form and the mapping tables offer as pick-lists: queues, billing
   * codes, products, configuration item types, ticket statuses and priorities (./psa-options.ts).
   */
  psaOptions(actor: Actor, partnerId: number): Promise<PsaOptions> {
    return this.#options.options(actor, partnerId);
  }

  /**
   * After integration settings were saved (the settings route, before it answers): the partner's
   * pending integration_events rows are consumed, so its schedule is current and its onboarding sync
   * has started. Never rejects; a failure is logged and the heartbeat tries again.
   */
  settingsSaved(partnerId: number): Promise<void> {
    return this.#events.settle(partnerId);
  }

  /** Resolves when the settings changes saved so far are consumed and their webhook set-up is done. */
  ticketSetup(partnerId: number): Promise<void> {
    return this.#events.ticketSetup(partnerId);
  }

  /** Webhook registration follows the ticketing switch; then the first push of open tickets, a poll and a drain. */
  ticketingChanged(partnerId: number): Promise<void> {
    return this.tickets.ticketingChanged(partnerId);
  }

  /** The partner's webhook state: registered, or polling only and why (Setup and Sync pages). */
  async webhookState(actor: Actor, partnerId: number): Promise<WebhookState> {
    await this.portal.authorize(actor, partnerId);
    return this.tickets.webhookState(partnerId);
  }

  /** One poll cycle: mapping drift, then NOC-queue tickets into the inbox, then a drain. */
  pollTickets(partnerId: number): Promise<number> {
    return this.tickets.pollTickets(partnerId);
  }

  /**
   * "Poll now" from the API, for who may change the integration: the partner's poll job (the one the
   * workers keep queued) is due now, in the partner's serial ticket queue; a poll already waiting
   * becomes this one, so pressing twice queues one poll. The answer does not wait for the poll.
   */
  async pollTicketsNow(actor: Actor, partnerId: number): Promise<void> {
    await this.portal.authorize(actor, partnerId, "integration:write");
    await enqueuePoll(this.#o.jobs, partnerId, 0);
  }

  /** A PSA webhook delivery to /webhooks/:system/:partnerId (404 unless `system` is the partner's). */
  receiveWebhook(
    system: string,
    partnerId: number,
    raw: Buffer,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<ReceiveResult> {
    return this.tickets.receive(system, partnerId, raw, headers);
  }

  /** The PSA's call to a webhook's deactivation URL (404 unless `system` is the partner's). */
  webhookDeactivated(system: string, partnerId: number): Promise<void> {
    return this.tickets.webhookDeactivated(system, partnerId);
  }

  /** The partner's failing tickets (parked, or waiting for a retry); `all` includes resolved ones. */
  async ticketErrors(actor: Actor, partnerId: number, all: boolean): Promise<SyncErrorView[]> {
    await this.portal.authorize(actor, partnerId);
    return this.tickets.errors(partnerId, all);
  }

  /** Retries a failing ticket now; answers its error as it is after the retry. */
  async retryTicketError(actor: Actor, errorId: number): Promise<SyncErrorView> {
    const row = await this.tickets.error(errorId);
    if (!row || (actor.partnerId !== null && actor.partnerId !== row.partnerId)) throw notFound("sync error");
    await this.portal.authorize(actor, row.partnerId, "data:write");
    return (await this.tickets.retry(errorId)) ?? row;
  }

  /** The `psa` block of portal tickets (their sync state); the caller has checked access to the tickets. */
  ticketViews(ticketIds: number[]): Promise<Map<number, PsaTicketView>> {
    return this.tickets.views(ticketIds);
  }

  /** How time entries stand with the PSA (kept back: `unmapped`, `refused`, with the reason); the caller checked access. */
  timeEntryViews(entryIds: number[]): Promise<Map<number, TimeEntrySyncView>> {
    return timeEntrySyncViews(this.#o.db, entryIds);
  }

  /** Mapped statuses and priorities the PSA renamed, deactivated or removed. */
  async mappingDrift(actor: Actor, partnerId: number): Promise<Array<DriftFinding & { detectedAt: string }>> {
    await this.portal.authorize(actor, partnerId);
    return this.tickets.drift(partnerId);
  }

  /** Per ticket, the devices and alerts associated with it. */
  async ticketDeviceReport(actor: Actor, partnerId: number): Promise<unknown[]> {
    await this.portal.authorize(actor, partnerId);
    return this.tickets.deviceReport(partnerId);
  }

  /** Starts this process's background role (./process-role.ts): wake-ups, and with `background` the work. */
  async start(o: { background: boolean; concurrency?: number }): Promise<void> {
    this.runs.open();
    await this.#role.start(o);
  }

  async stop(): Promise<void> {
    await this.#role.stop();
    await this.assetRuns.settled();
    await this.runs.close();
  }

  // ---------------------------------------------------------------- assets and Validate (./asset-runs.ts, ./validation.ts)

  validate(actor: Actor, partnerId: number): Promise<ValidationResult> {
    return this.validation.validate(actor, partnerId);
  }

  requestAssetSync(actor: Actor, partnerId: number, dryRun: boolean): Promise<SyncRun> {
    return this.assetRuns.request(actor, partnerId, dryRun);
  }

  getRun(actor: Actor, runId: number): Promise<SyncRunDetail> {
    return this.assetRuns.get(actor, runId);
  }

  listRuns(actor: Actor, partnerId: number, limit: number, offset: number) {
    return this.assetRuns.list(actor, partnerId, limit, offset);
  }

  approve(actor: Actor, runId: number): Promise<SyncRun> {
    return this.assetRuns.approve(actor, runId);
  }

  cancel(actor: Actor, runId: number): Promise<SyncRun> {
    return this.assetRuns.cancel(actor, runId);
  }

  status(actor: Actor, partnerId: number): Promise<AssetSyncStatus> {
    return this.assetRuns.status(actor, partnerId);
  }

  assetStatus(partnerId: number): Promise<AssetSyncStatus> {
    return this.assetRuns.assetStatus(partnerId);
  }

  subscribe(runId: number, fn: (e: RunEvent) => void): () => void {
    return this.runs.subscribe(runId, fn);
  }

  /** Resolves when the run's current execution has finished (tests, CLI). */
  wait(runId: number): Promise<SyncRunDetail> {
    return this.assetRuns.wait(runId);
  }

  /** Starts a run, or returns the real run already going for this partner. */
  startAssetRun(
    partnerId: number,
    trigger: RunTrigger,
    o: { dryRun: boolean; by?: string },
  ): Promise<SyncRun> {
    return this.assetRuns.start(partnerId, trigger, o);
  }

  /** (Re)creates the partner's asset schedule from its settings, in the partner's time zone. */
  reschedule(partnerId: number): Promise<void> {
    return this.scheduler.reschedule(partnerId);
  }
}
