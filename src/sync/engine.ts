import type { Clock } from "../lib/clock.js";
import type { SecretBox } from "../lib/crypto.js";
import { fingerprint } from "../lib/fingerprint.js";
import type { Logger } from "../lib/logger.js";
import { type Actor, requirePartner } from "../portal/access.js";
import type { Portal } from "../portal/service.js";
import type { IntegrationView } from "../portal/types.js";
import type { AutotaskApi } from "../psa/autotask/api.js";
import { asTicketTraffic } from "../psa/budget.js";
import type { Check, PsaOptions, ValidationResult } from "../psa/connector.js";
import type { ConnectorRegistry } from "../psa/registry.js";
import type { Db } from "../store/db.js";
import { AssetRuns, type AssetSyncStatus } from "./asset-runs.js";
import type { Failpoint } from "./failpoint.js";
import { LinkStore } from "./links.js";
import { LIVE_READ_TTL_MS, LiveReadCache } from "./live-cache.js";
import { pushedOpenTickets } from "./open-tickets.js";
import { OutageWatch } from "./outage.js";
import { PortalEvents } from "./portal-events.js";
import { type SyncPortal, syncPortal } from "./portal-port.js";
import { PsaOptionsReader } from "./psa-options.js";
import { pruneProcessed } from "./retention.js";
import { type RunEvent, RunStore, type RunTrigger, type SyncRun, type SyncRunDetail } from "./runs.js";
import { AssetScheduler } from "./scheduler.js";
import { PsaSessions } from "./sessions.js";
import { StreamTickets } from "./stream-tickets.js";
import { TicketFeed } from "./ticket-feed.js";
import { TicketSync } from "./tickets.js";
import { webhookChecks } from "./validate-webhooks.js";
import { Validation } from "./validation.js";
import { publicUrlProblem, type WebhookState } from "./webhook-registration.js";

export type { AssetSyncStatus } from "./asset-runs.js";
export { nextRuns } from "./scheduler.js";

/** How often the ticket worker wakes up to poll partners that are due and retry waiting tickets, ms. */
const TICK_MS = 5_000;
/** How often processed sync rows older than the retention period are deleted, ms. */
const RETENTION_MS = 60 * 60_000;

export interface PsaCredentials {
  apiUrl: string;
  username: string;
  secret: string;
  integrationCode: string;
}

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
  /** Builds the Autotask client for one partner's credentials (one client per partner, reused). */
  autotask(creds: PsaCredentials): AutotaskApi;
  /** The PSA connectors, by system. */
  connectors: ConnectorRegistry;
  /** Mass-change guard: hold a run that deactivates more than `share` of a company's linked CIs (and at least `minimum`). */
  guard?: { share: number; minimum: number };
  /** Parallel CI writes within a client. */
  concurrency?: number;
  /** Longest reuse of live PSA reads (pick-lists, Validate), ms; 0 = none (browser tests). */
  liveReadTtlMs?: number;
  /** Testing only (NOCBRIDGE_FAILPOINT): where the ticket sync stops the process during a create. */
  failpoint?: Failpoint;
  /** Days processed inbox/outbox rows and resolved sync errors are kept (default 30). */
  retentionDays?: number;
}

/**
 * The sync engine's facade: wires the asset runs (./asset-runs.ts), their schedules (./scheduler.ts),
 * Validate (./validation.ts), the live pick-lists (./psa-options.ts) and the ticket sync, and runs the
 * heartbeat that polls, retries and recovers after a database outage.
 */
export class SyncEngine {
  readonly runs: RunStore;
  readonly links: LinkStore;
  readonly tickets: TicketSync;
  readonly feed: TicketFeed;
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
  readonly #options: PsaOptionsReader;
  readonly #lastPoll = new Map<number, number>();
  /** Integration settings saves (integration_events rows) and what follows them. */
  readonly #events: PortalEvents;
  #unlisten: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  readonly #o: SyncEngineOptions;
  readonly #live: LiveReadCache;
  readonly #clients = new Map<number, { key: string; api: AutotaskApi }>();
  #background = false;
  #retention: NodeJS.Timeout | undefined;
  readonly #outage: OutageWatch;

  constructor(o: SyncEngineOptions) {
    this.#o = o;
    this.#outage = new OutageWatch(o.logger);
    this.#live = new LiveReadCache(() => o.clock.now().getTime(), o.liveReadTtlMs ?? LIVE_READ_TTL_MS);
    this.runs = new RunStore(o.db, o.clock);
    this.links = new LinkStore(o.db, o.clock);
    this.streamTickets = new StreamTickets(o.db, o.clock);
    this.portal = syncPortal(o.portal);
    this.sessions = new PsaSessions({
      registry: o.connectors,
      portal: this.portal,
      logger: o.logger,
      clock: o.clock,
    });
    this.validation = new Validation({
      db: o.db,
      portal: this.portal,
      sessions: this.sessions,
      live: this.#live,
      ticketChecks: (partnerId) => this.#ticketChecks(partnerId),
    });
    this.#options = new PsaOptionsReader({ portal: this.portal, sessions: this.sessions, live: this.#live });
    this.scheduler = new AssetScheduler({
      portal: this.portal,
      logger: o.logger,
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
    });
    this.tickets = new TicketSync({
      db: o.db,
      portal: o.portal,
      clock: o.clock,
      logger: o.logger,
      api: (partnerId) => this.#partnerApi(partnerId),
      ...(o.ticketRetry?.maxAttempts ? { maxAttempts: o.ticketRetry.maxAttempts } : {}),
      ...(o.ticketRetry?.baseMs !== undefined ? { retryBaseMs: o.ticketRetry.baseMs } : {}),
      ...(o.failpoint ? { failpoint: o.failpoint } : {}),
    });
    this.#events = new PortalEvents({
      db: o.db,
      clock: o.clock,
      logger: o.logger,
      background: () => this.#background,
      reschedule: (partnerId) => this.reschedule(partnerId),
      onboard: (partnerId) => this.startAssetRun(partnerId, "onboarding", { dryRun: false }),
      ticketingChanged: (partnerId) => this.ticketingChanged(partnerId),
      failed: (e, what) => this.#outage.failed(e, what),
    });
    this.feed = new TicketFeed({
      db: o.db,
      portal: o.portal,
      box: o.box,
      clock: o.clock,
      logger: o.logger,
      tickets: this.tickets,
      publicUrl: () => o.publicUrl?.(),
      allowHttpWebhooks: o.allowHttpWebhooks === true,
      pollIntervalMinutes: Math.max(1, Math.round((o.pollIntervalMs ?? 5 * 60_000) / 60_000)),
    });
  }

  /** The partner's settings and (shared) Autotask client, or null without credentials. */
  async #partnerApi(partnerId: number): Promise<{ api: AutotaskApi; view: IntegrationView } | null> {
    const { view, secret } = await this.#o.portal.integrationForSync(partnerId);
    const api = this.#api(partnerId, view.ticketing, secret);
    return api ? { api, view } : null;
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

  /**
   * Webhook registration follows the ticketing switch; then the first push of open tickets, a poll
   * and a drain. The push never depends on the webhooks: a partner whose registration Autotask
   * refused is polled, and its open tickets still go across.
   */
  async ticketingChanged(partnerId: number): Promise<void> {
    const got = await this.#partnerApi(partnerId);
    if (!got?.view.ticketing.enabled) {
      await this.feed.unregister(partnerId, got?.api ?? null);
      await pushedOpenTickets(this.#o.db, partnerId, this.#o.clock, false);
      return;
    }
    await this.feed.register(partnerId, got.api, got.view);
    if (got.view.ticketing.nocMayEnterTickets)
      await pushedOpenTickets(this.#o.db, partnerId, this.#o.clock, true);
    await this.pollTickets(partnerId);
  }

  /** The partner's webhook state: registered, or polling only and why (Setup and Sync pages). */
  async webhookState(actor: Actor, partnerId: number): Promise<WebhookState> {
    requirePartner(actor, partnerId);
    await this.#o.portal.getPartner(actor, partnerId);
    const { view } = await this.#o.portal.integrationForSync(partnerId);
    return this.feed.registrar.state(partnerId, view.ticketing.enabled);
  }

  /** One poll cycle: mapping drift, then NOC-queue tickets into the inbox, then a drain. */
  pollTickets(partnerId: number): Promise<number> {
    return asTicketTraffic(() => this.#pollTickets(partnerId));
  }

  async #pollTickets(partnerId: number): Promise<number> {
    this.#lastPoll.set(partnerId, this.#o.clock.now().getTime());
    const got = await this.#partnerApi(partnerId);
    if (!got?.view.ticketing.enabled) return 0;
    await this.feed
      .checkDrift(partnerId, got.api)
      .catch((e: unknown) => this.#o.logger.warn({ err: e, partnerId }, "mapping drift check failed"));
    const n = await this.feed.poll(partnerId, got.api, got.view);
    await this.tickets.notify(partnerId);
    return n;
  }

  /** Every few seconds: partners due for a poll are polled; every ticketing partner's worker is woken for retries. */
  async #tick(): Promise<void> {
    await this.#events.consumeAll();
    const every = this.#o.pollIntervalMs ?? 5 * 60_000;
    const rows = await this.#o.db.kysely
      .selectFrom("partner_integrations")
      .select("partner_id")
      .where("ticketing_enabled", "=", 1)
      .execute();
    const now = this.#o.clock.now().getTime();
    for (const { partner_id: id } of rows) {
      if (now - (this.#lastPoll.get(id) ?? 0) >= every)
        await this.pollTickets(id).catch((e: unknown) =>
          this.#o.logger.warn({ err: e, partnerId: id }, "ticket poll failed"),
        );
      // Fire and forget: notify never rejects (its worker logs a failed drain and carries on).
      else void this.tickets.notify(id);
    }
    // Partners without ticketing still get their outbox consumed (nothing crosses), so it does not pile up.
    const idle = await this.#o.db.kysely
      .selectFrom("ticket_outbox")
      .select("partner_id")
      .distinct()
      .where("processed_at", "is", null)
      .execute();
    const enabled = new Set(rows.map((r) => r.partner_id));
    // Fire and forget, as above: notify never rejects.
    for (const { partner_id: id } of idle) if (!enabled.has(id)) void this.tickets.notify(id);
  }

  /**
   * Listens for the portal's wake-ups (the rows are the news: outbox rows wake the ticket worker,
   * integration_events rows are consumed by PortalEvents). With `background` (the server, not a
   * one-off CLI command) it also marks runs a dead process left "running" as failed and schedules
   * every partner; the heartbeat then consumes whatever rows a wake-up did not announce.
   */
  async start(o: { background: boolean }): Promise<void> {
    this.#unlisten?.();
    this.#unlisten = this.#o.db.signals.on((s) => {
      if (!this.#background) return;
      // Fire and forget: notify never rejects (its worker logs a failed drain); settle reports its own.
      if (s.kind === "outbox") void this.tickets.notify(s.partnerId);
      else void this.#events.settle(s.partnerId);
    });
    if (!o.background) return;
    this.#background = true;
    this.scheduler.activate();
    await this.runs.failInterrupted();
    const partners = await this.#o.db.kysely
      .selectFrom("partner_integrations")
      .select("partner_id")
      .where("devices_enabled", "=", 1)
      .execute();
    for (const p of partners) await this.reschedule(p.partner_id);
    // The ticket worker's heartbeat: it polls partners when due and retries lanes whose backoff has
    // passed. The first beat runs at once, so a restarted server sends the outbox rows a process that
    // died between commit and send left behind, without waiting for the partner's next change.
    // A beat that fails because the database is away is logged once; the next beat simply tries again.
    const beat = () => {
      this.#ticking ??= this.#tick()
        .then(() => {
          this.#outage.succeeded();
          if (this.assetRuns.interrupted) return this.assetRuns.resume();
        })
        .catch((e: unknown) => {
          this.#outage.failed(e, "ticket sync tick failed");
        })
        .finally(() => {
          this.#ticking = undefined;
        });
    };
    this.#timer = setInterval(beat, Math.min(TICK_MS, this.#o.pollIntervalMs ?? TICK_MS));
    this.#timer.unref();
    beat();
    const prune = () => {
      pruneProcessed(this.#o.db, this.#o.clock, this.#o.retentionDays ?? 30)
        .then((n) => {
          if (n.inbox + n.outbox + n.errors > 0) this.#o.logger.info(n, "pruned processed sync rows");
        })
        .catch((e: unknown) => {
          this.#outage.failed(e, "pruning processed sync rows failed");
        });
    };
    this.#retention = setInterval(prune, RETENTION_MS);
    this.#retention.unref();
    prune();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#retention) clearInterval(this.#retention);
    this.#retention = undefined;
    await this.#ticking;
    this.#background = false;
    this.scheduler.stop();
    await this.assetRuns.settled();
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

  /**
   * The ticket sync's items of the Validate checklist: mapping drift (a mapped status or priority
   * renamed, deactivated or removed), then the webhook items.
   */
  async #ticketChecks(partnerId: number): Promise<Check[]> {
    const got = await this.#partnerApi(partnerId);
    if (!got) return [];
    const checks: Check[] = (await this.feed.checkDrift(partnerId, got.api)).map((d) => ({
      name: `drift:${d.kind}:${d.psaId}`,
      ok: false,
      message: d.message,
      fix: `Update the ${d.kind} mapping row to the value Autotask has now.`,
    }));
    const state = await this.feed.registrar.state(partnerId, true);
    const problem = publicUrlProblem(this.#o.publicUrl?.(), this.#o.allowHttpWebhooks === true);
    checks.push(...(await webhookChecks(got.api, state, problem)));
    return checks;
  }

  /** The partner's client, reused while the credentials stay the same (its budget tracking lives there). */
  #api(
    partnerId: number,
    t: { apiUrl: string; username: string; integrationCode: string },
    secret: string | null,
  ): AutotaskApi | null {
    if (secret === null || t.username === "" || t.integrationCode === "") return null;
    const creds: PsaCredentials = {
      apiUrl: t.apiUrl,
      username: t.username,
      secret,
      integrationCode: t.integrationCode,
    };
    const key = fingerprint(creds);
    const cached = this.#clients.get(partnerId);
    if (cached?.key === key) return cached.api;
    const api = this.#o.autotask(creds);
    this.#clients.set(partnerId, { key, api });
    return api;
  }
}
