import { Cron } from "croner";
import type { Clock } from "../lib/clock.js";
import type { SecretBox } from "../lib/crypto.js";
import { fingerprint } from "../lib/fingerprint.js";
import type { Logger } from "../lib/logger.js";
import { type Actor, requirePartner, requirePermission, SYSTEM_ACTOR } from "../portal/access.js";
import { DEFAULT_ASSET_SCHEDULE } from "../portal/catalog.js";
import { notFound, PortalError } from "../portal/errors.js";
import { scheduleProblem } from "../portal/schedule.js";
import type { Portal } from "../portal/service.js";
import type { IntegrationView } from "../portal/types.js";
import { type AutotaskApi, queryAll } from "../psa/autotask/api.js";
import type { AutotaskEntity } from "../psa/autotask/types.js";
import { isPsaError } from "../psa/errors.js";
import type { ConnectorRegistry } from "../psa/registry.js";
import type { Db } from "../store/db.js";
import { AssetSync } from "./assets.js";
import type { Failpoint } from "./failpoint.js";
import { LinkStore } from "./links.js";
import { identity, LIVE_READ_TTL_MS, LiveReadCache, VALIDATE_TTL_MS } from "./live-cache.js";
import { isDbOutage, OutageWatch } from "./outage.js";
import { type SyncPortal, syncPortal } from "./portal-port.js";
import { pruneProcessed } from "./retention.js";
import { type RunEvent, RunStore, type RunTrigger, type SyncRun, type SyncRunDetail } from "./runs.js";
import { PsaSessions } from "./sessions.js";
import { StreamTickets } from "./stream-tickets.js";
import type { SyncErrorView } from "./tickets/errors.js";
import type { DriftFinding, ReceiveResult } from "./tickets/feed.js";
import { TicketEngine } from "./tickets/service.js";
import type { PsaTicketView } from "./tickets/views.js";
import type { WebhookState } from "./tickets/webhooks.js";
import { type ValidationResult, validateConfiguration } from "./validate.js";
import { WORK_TYPE_USE_TYPE } from "./validate-tickets.js";

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

export interface AssetSyncStatus {
  lastSyncAt: string | null;
  lastSyncStatus: string | null;
  nextRunAt: string | null;
  schedule: string | null;
  running: number | null;
}

/**
 * Runs asset syncs (manual, scheduled, onboarding), validation, approval of held runs, and the
 * per-partner schedules. One real run per partner at a time: asking again returns the run in progress.
 */
export class SyncEngine {
  readonly runs: RunStore;
  readonly links: LinkStore;
  /** The ticket side: two-way ticket sync, its feed from the PSA and its webhooks. */
  readonly tickets: TicketEngine;
  /** Single-use tickets for following a run's live log. */
  readonly streamTickets: StreamTickets;
  /** Partners' PSA sessions, through the connector their settings name. */
  readonly sessions: PsaSessions;
  /** The engine's one way into portal data. */
  readonly portal: SyncPortal;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  readonly #o: SyncEngineOptions;
  readonly #live: LiveReadCache;
  readonly #clients = new Map<number, { key: string; api: AutotaskApi }>();
  readonly #inflight = new Map<number, Promise<void>>();
  readonly #crons = new Map<number, Cron>();
  readonly #starting = new Map<number, Promise<SyncRun>>();
  #background = false;
  #retention: NodeJS.Timeout | undefined;
  readonly #outage: OutageWatch;
  /** Runs the database went away under: marked failed and started again once it answers. */
  readonly #unfinished = new Map<number, { partnerId: number; dryRun: boolean; message: string }>();
  /** Partners whose scheduled run could not start while the database was away. */
  readonly #missed = new Set<number>();

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
    });
  }

  /** The partner's settings and (shared) Autotask client, or null without credentials. */
  async #partnerApi(partnerId: number): Promise<{ api: AutotaskApi; view: IntegrationView } | null> {
    const { view, secret } = await this.#o.portal.integrationForSync(partnerId);
    const api = this.#api(partnerId, view.ticketing, secret);
    return api ? { api, view } : null;
  }

  /**
   * The live Autotask values the settings form and the mapping tables offer as pick-lists: queues,
   * billing codes, products, configuration item types, ticket statuses and priorities.
   */
  async psaOptions(
    actor: Actor,
    partnerId: number,
  ): Promise<Record<string, Array<{ id: number; label: string; isActive: boolean }>>> {
    requirePartner(actor, partnerId);
    await this.#o.portal.getPartner(actor, partnerId);
    // A live read spends the partner's API budget: only roles that may change the settings, and cached.
    requirePermission(actor, "integration:write");
    const got = await this.#partnerApi(partnerId);
    if (!got) return this.#psaOptions(null);
    return this.#live.get(`options:${partnerId}`, identity(got.api), () => this.#psaOptions(got));
  }

  async #psaOptions(
    got: { api: AutotaskApi } | null,
  ): Promise<Record<string, Array<{ id: number; label: string; isActive: boolean }>>> {
    if (!got)
      throw new PortalError(
        "CONFLICT",
        409,
        "the Autotask API username, secret and integration code are not all set",
      );
    const { api } = got;
    try {
      const fields = await api.fieldInfo("Tickets");
      const pick = (name: string) =>
        (fields.find((f) => f.name.toLowerCase() === name)?.picklistValues ?? []).map((v) => ({
          id: Number(v.value),
          label: v.label,
          isActive: v.isActive,
        }));
      const rows = async (entity: string, label: string, keep = (_r: AutotaskEntity) => true) =>
        (
          await queryAll<AutotaskEntity>(api, entity, {
            filter: [{ op: "gte", field: "id", value: 0 }],
            includeFields: ["id", label, "isActive", ...(entity === "BillingCodes" ? ["useType"] : [])],
          })
        )
          .filter(keep)
          .map((r) => ({
            id: r.id,
            label: String(r[label] ?? r.id),
            isActive: r.isActive !== false,
          }));
      // Sub-issue types carry their issue type, so the form can offer only the chosen one's.
      const subIssueTypes = (
        fields.find((f) => f.name.toLowerCase() === "subissuetype")?.picklistValues ?? []
      ).map((v) => ({
        id: Number(v.value),
        label: v.label,
        isActive: v.isActive,
        parentId: v.parentValue ? Number(v.parentValue) : null,
      }));
      return {
        queues: pick("queueid"),
        statuses: pick("status"),
        priorities: pick("priority"),
        // Only work types can be a ticket's billing code.
        billingCodes: await rows("BillingCodes", "name", (r) => Number(r["useType"]) === WORK_TYPE_USE_TYPE),
        ticketCategories: pick("ticketcategory"),
        ticketTypes: pick("tickettype"),
        issueTypes: pick("issuetype"),
        subIssueTypes,
        sources: pick("source"),
        products: await rows("Products", "name"),
        configurationItemTypes: await rows("ConfigurationItemTypes", "name"),
      };
    } catch (e) {
      // A spent hourly budget is the cause as it stands (with its figures), not the credentials: the
      // API's error map answers it 503 with Retry-After.
      if (isPsaError(e) && e.code === "BUDGET_EXHAUSTED") throw e;
      throw new PortalError(
        "CONFLICT",
        409,
        `Autotask did not answer with these credentials: ${(e as Error).message}`,
      );
    }
  }

  // ---------------------------------------------------------------- tickets (src/sync/tickets/)

  /** Resolves when the webhook set-up started by the last settings change is done. */
  ticketSetup(partnerId: number): Promise<void> {
    return this.tickets.ticketSetup(partnerId);
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

  /** "Poll now" from the API: as `pollTickets`, for who may change the integration. */
  async pollTicketsNow(actor: Actor, partnerId: number): Promise<number> {
    await this.portal.authorize(actor, partnerId, "integration:write");
    return this.tickets.pollTickets(partnerId);
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

  /**
   * Hooks onboarding into the portal. With `background` (the server, not a one-off CLI command) it
   * also marks runs a dead process left "running" as failed and schedules every partner.
   */
  async start(o: { background: boolean }): Promise<void> {
    this.#o.portal.setHooks({
      // Settings are saved whatever happens here; a failure to schedule or start is logged, not thrown.
      integrationSaved: async (partnerId, _view, onboarding) => {
        try {
          await this.reschedule(partnerId);
          if (onboarding) await this.startAssetRun(partnerId, "onboarding", { dryRun: false });
        } catch (e) {
          this.#o.logger.error({ err: e, partnerId }, "asset schedule or onboarding sync did not start");
        }
        // Not awaited: saving settings never waits on the PSA. `ticketSetup()` lets a caller wait.
        if (this.#background) this.tickets.settingsSaved(partnerId);
      },
      ticketChanged: (partnerId) => {
        // Fire and forget: notify never rejects (its worker logs a failed drain).
        if (this.#background) void this.tickets.notify(partnerId);
      },
    });
    if (!o.background) return;
    this.#background = true;
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
      this.#ticking ??= this.tickets
        .tick()
        .then(() => {
          this.#outage.succeeded();
          if (this.#unfinished.size > 0 || this.#missed.size > 0) return this.#resume();
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

  /** After an outage: runs it cut short are closed and started again, missed schedules run now. */
  async #resume(): Promise<void> {
    for (const [runId, r] of this.#unfinished) {
      await this.runs.update(runId, { status: "failed", error: r.message, finished: true });
      this.#unfinished.delete(runId);
      if (!r.dryRun) this.#missed.add(r.partnerId);
    }
    for (const partnerId of this.#missed) {
      this.#missed.delete(partnerId);
      await this.startAssetRun(partnerId, "schedule", { dryRun: false });
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#retention) clearInterval(this.#retention);
    this.#retention = undefined;
    await this.#ticking;
    this.#background = false;
    for (const c of this.#crons.values()) c.stop();
    this.#crons.clear();
    await Promise.allSettled([...this.#inflight.values()]);
  }

  // ---------------------------------------------------------------- API-facing (with access checks)

  async validate(actor: Actor, partnerId: number): Promise<ValidationResult> {
    requirePartner(actor, partnerId);
    await this.#o.portal.getPartner(actor, partnerId);
    requirePermission(actor, "integration:write");
    const got = await this.#partnerApi(partnerId);
    if (!got) return this.#validateAll(partnerId, null);
    // Cached while the client and every input of the checklist stay the same (repeated clicks).
    const { portal } = this.#o;
    const inputs = fingerprint({
      view: got.view,
      clients: await portal.clientsForSync(partnerId),
      mappings: await Promise.all(
        (["status-forward", "status-reverse", "priority"] as const).map((t) =>
          portal.getMappings(SYSTEM_ACTOR, partnerId, t),
        ),
      ),
    });
    return this.#live.get(
      `validate:${partnerId}`,
      `${identity(got.api)}:${inputs}`,
      () => this.#validateAll(partnerId, got),
      VALIDATE_TTL_MS,
    );
  }

  async #validateAll(
    partnerId: number,
    got: { api: AutotaskApi; view: IntegrationView } | null,
  ): Promise<ValidationResult> {
    const result = await this.#validate(partnerId, "all", got?.api ?? null);
    // Mapping drift and the webhook items are part of the checklist when ticketing is on.
    const { session } = got ? await this.sessions.forPartner(partnerId) : { session: null };
    const more = session ? await this.tickets.validationChecks(partnerId, session, result.checks) : [];
    if (more.length > 0) {
      result.checks.push(...more);
      result.ok = result.checks.every((c) => c.ok);
    }
    return result;
  }

  async requestAssetSync(actor: Actor, partnerId: number, dryRun: boolean): Promise<SyncRun> {
    requirePartner(actor, partnerId);
    await this.#o.portal.getPartner(actor, partnerId);
    requirePermission(actor, "integration:write");
    return this.startAssetRun(partnerId, "manual", { dryRun, by: actor.name });
  }

  async getRun(actor: Actor, runId: number): Promise<SyncRunDetail> {
    const run = await this.runs.get(runId);
    if (!run || (actor.partnerId !== null && actor.partnerId !== run.partnerId)) throw notFound("sync run");
    return run;
  }

  async listRuns(actor: Actor, partnerId: number, limit: number, offset: number) {
    requirePartner(actor, partnerId);
    await this.#o.portal.getPartner(actor, partnerId);
    return { ...(await this.runs.list(partnerId, "assets", limit, offset)), limit, offset };
  }

  async approve(actor: Actor, runId: number): Promise<SyncRun> {
    const run = await this.getRun(actor, runId);
    requirePermission(actor, "integration:write");
    if (run.status !== "awaiting-approval")
      throw new PortalError("CONFLICT", 409, `run ${runId} is ${run.status}, not awaiting approval`);
    await this.runs.update(runId, { status: "running", approvedBy: actor.name, finished: false });
    await this.runs.line(runId, `Approved by ${actor.name}; continuing.`);
    this.#launch(run.partnerId, runId, { dryRun: false, approved: true });
    return (await this.runs.get(runId)) as SyncRun;
  }

  async cancel(actor: Actor, runId: number): Promise<SyncRun> {
    const run = await this.getRun(actor, runId);
    requirePermission(actor, "integration:write");
    if (run.status !== "awaiting-approval")
      throw new PortalError(
        "CONFLICT",
        409,
        `only a run awaiting approval can be cancelled; run ${runId} is ${run.status}`,
      );
    await this.runs.line(runId, `Cancelled by ${actor.name}; nothing was written.`);
    await this.runs.update(runId, { status: "failed", error: `cancelled by ${actor.name}`, finished: true });
    return (await this.runs.get(runId)) as SyncRun;
  }

  async status(actor: Actor, partnerId: number): Promise<AssetSyncStatus> {
    requirePartner(actor, partnerId);
    await this.#o.portal.getPartner(actor, partnerId);
    return this.assetStatus(partnerId);
  }

  async assetStatus(partnerId: number): Promise<AssetSyncStatus> {
    const [last, active] = await Promise.all([
      this.runs.lastFinished(partnerId, "assets"),
      this.runs.active(partnerId, "assets"),
    ]);
    const cron = this.#crons.get(partnerId);
    return {
      lastSyncAt: last?.finishedAt ?? null,
      lastSyncStatus: last?.status ?? null,
      nextRunAt: cron?.nextRun()?.toISOString() ?? null,
      schedule: cron?.getPattern() ?? null,
      running: active?.id ?? null,
    };
  }

  subscribe(runId: number, fn: (e: RunEvent) => void): () => void {
    return this.runs.subscribe(runId, fn);
  }

  /** Resolves when the run's current execution has finished (tests, CLI). */
  async wait(runId: number): Promise<SyncRunDetail> {
    await this.#inflight.get(runId);
    return (await this.runs.get(runId)) as SyncRunDetail;
  }

  // ---------------------------------------------------------------- runs

  /** Starts a run, or returns the real run already going for this partner. */
  async startAssetRun(
    partnerId: number,
    trigger: RunTrigger,
    o: { dryRun: boolean; by?: string },
  ): Promise<SyncRun> {
    if (!o.dryRun) {
      // Two requests at once must not both create a run: serialise the check-then-create per partner.
      const pending = this.#starting.get(partnerId);
      if (pending) return pending;
      const p = (async () => {
        const active = await this.runs.active(partnerId, "assets");
        if (active) return active;
        const run = await this.runs.create(partnerId, "assets", trigger, false);
        this.#launch(partnerId, run.id, { dryRun: false, approved: false });
        return run;
      })().finally(() => this.#starting.delete(partnerId));
      this.#starting.set(partnerId, p);
      return p;
    }
    const run = await this.runs.create(partnerId, "assets", trigger, true);
    this.#launch(partnerId, run.id, { dryRun: true, approved: false });
    return run;
  }

  #launch(partnerId: number, runId: number, o: { dryRun: boolean; approved: boolean }): void {
    const p = this.#execute(partnerId, runId, o)
      .catch(async (e: unknown) => {
        const message = isDbOutage(e)
          ? "the database became unavailable during the run"
          : (e as Error).message;
        this.#o.logger.error({ err: e, runId }, "asset sync failed");
        await this.runs.line(runId, `Synchronization error: ${message}`, "error").catch(() => {});
        await this.runs.update(runId, { status: "failed", error: message, finished: true }).catch(() => {
          // The database is away: close the run (and start it again) once it answers.
          this.#unfinished.set(runId, { partnerId, dryRun: o.dryRun, message });
        });
        if (isDbOutage(e) && !o.dryRun && !this.#unfinished.has(runId)) this.#missed.add(partnerId);
      })
      .finally(() => this.#inflight.delete(runId));
    this.#inflight.set(runId, p);
  }

  async #execute(partnerId: number, runId: number, o: { dryRun: boolean; approved: boolean }): Promise<void> {
    const { portal } = this.#o;
    const line = (text: string, level: "info" | "warn" | "error" = "info") =>
      this.runs.line(runId, text, level);
    const { view, secret } = await portal.integrationForSync(partnerId);
    const api = this.#api(partnerId, view.ticketing, secret);
    const callsAtStart = api?.stats().requests ?? 0;
    const calls = () => (api ? api.stats().requests - callsAtStart : 0);

    await line(
      o.dryRun
        ? "Validating configuration... (dry run: nothing will be written)"
        : "Validating configuration...",
    );
    const validation = await this.#validate(partnerId, "assets", api);
    if (!validation.ok || !api) {
      const failed = validation.checks.filter((c) => !c.ok);
      for (const c of failed)
        await line(`Synchronization error: ${c.message}${c.fix ? ` ${c.fix}` : ""}`, "error");
      await this.runs.update(runId, {
        status: "failed",
        error: `configuration validation failed: ${failed.map((c) => c.name).join(", ")}`,
        apiCalls: calls(),
        finished: true,
      });
      return;
    }
    await line("Configuration validation success.");
    const settings = {
      productId: view.devices.productId as number,
      configurationItemTypeId: view.devices.configurationItemTypeId as number,
      advanced: view.devices.advanced,
    };
    const links = await this.links.all(partnerId, "device");
    const clients = (await portal.clientsForSync(partnerId)).filter((c) => c.deviceCount > 0);
    const withDevices = [];
    for (const client of clients)
      withDevices.push({ client, devices: await portal.devicesForSync(client.id) });
    const existing = await portal.existingDeviceIds(partnerId, [...links.keys()]);
    const orphans = [...links.values()].filter((l) => !existing.has(l.portalId));

    const counter = this.runs.counter(runId);
    const sync = new AssetSync({
      api: api as AutotaskApi,
      settings,
      links,
      concurrency: this.#o.concurrency ?? 3,
      saveLink: (deviceId, ciId, desired) =>
        this.links.upsert(
          partnerId,
          "device",
          deviceId,
          ciId,
          fingerprint(desired),
          desired as unknown as Record<string, unknown>,
        ),
      log: (text, level) => line(text, level),
      progress: (done, total) => this.runs.progress(runId, done, total),
      counted: (counts) => counter.push(counts),
    });
    const plan = await sync.plan(withDevices, orphans);
    const summary = summarise(plan);

    if (o.dryRun) {
      await line(
        `Dry run: would create ${summary.create}, update ${summary.update}, deactivate ${summary.deactivate}; ${summary.unchanged} unchanged, ${summary.conflict} conflicts.`,
      );
      await line("Integration completed. (dry run: nothing was written)");
      await this.runs.update(runId, { status: "succeeded", plan, apiCalls: calls(), finished: true });
      return;
    }
    const guard = this.#o.guard ?? { share: 0.2, minimum: 3 };
    const verdict = AssetSync.guard(plan, guard.share, guard.minimum);
    if (verdict.held && !o.approved) {
      for (const r of verdict.reasons) await line(`Mass-change guard: ${r}.`, "warn");
      await line("Nothing was written. Approve the run to carry out the plan, or cancel it.", "warn");
      await this.runs.update(runId, { status: "awaiting-approval", plan, apiCalls: calls() });
      return;
    }
    const counts = await sync.execute(plan).finally(() => counter.flush());
    await line(sync.halted ? "Integration stopped before completion." : "Integration completed.");
    await this.runs.update(runId, {
      status: counts.failed > 0 || sync.halted ? "partial" : "succeeded",
      ...(sync.halted ? { error: sync.halted } : {}),
      counts,
      plan: null,
      apiCalls: calls(),
      finished: true,
    });
  }

  async #validate(
    partnerId: number,
    scope: "assets" | "all",
    given?: AutotaskApi | null,
  ): Promise<ValidationResult> {
    const { portal } = this.#o;
    const { view, secret } = await portal.integrationForSync(partnerId);
    const api = given === undefined ? this.#api(partnerId, view.ticketing, secret) : given;
    const clients = await portal.clientsForSync(partnerId);
    const [fwd, rev, pri] = await Promise.all([
      portal.getMappings(SYSTEM_ACTOR, partnerId, "status-forward"),
      portal.getMappings(SYSTEM_ACTOR, partnerId, "status-reverse"),
      portal.getMappings(SYSTEM_ACTOR, partnerId, "priority"),
    ]);
    return validateConfiguration({
      api,
      settings: view,
      hasSecret: secret !== null,
      clients: clients.map((c) => ({
        code: c.code,
        name: c.name,
        psaCompanyId: c.psaCompanyId,
        deviceCount: c.deviceCount,
      })),
      mappings: {
        statuses: [
          ...fwd.map((m) => ({ table: "forward", psaId: m.psaId, psaLabel: m.psaLabel })),
          ...rev.map((m) => ({ table: "reverse", psaId: m.psaId, psaLabel: m.psaLabel })),
        ],
        priorities: pri.map((m) => ({ psaId: m.psaId, psaLabel: m.psaLabel })),
        coverage: {
          forwardPortalIds: fwd.map((m) => m.portalId),
          reversePsaIds: rev.map((m) => m.psaId),
          priorityPsaIds: pri.map((m) => m.psaId),
        },
      },
      scope,
      refusals: await this.#openTicketErrors(partnerId),
    });
  }

  /** Errors of tickets still parked or waiting (a create Autotask refused names the field it wants). */
  async #openTicketErrors(partnerId: number): Promise<string[]> {
    const rows = await this.#o.db.kysely
      .selectFrom("sync_errors")
      .select("error")
      .where("partner_id", "=", partnerId)
      .where("resolved_at", "is", null)
      .execute();
    return rows.map((r) => r.error);
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

  // ---------------------------------------------------------------- schedules

  /** (Re)creates the partner's asset schedule from its settings, in the partner's time zone. */
  async reschedule(partnerId: number): Promise<void> {
    this.#crons.get(partnerId)?.stop();
    this.#crons.delete(partnerId);
    if (!this.#background) return;
    const { view, timeZone } = await this.#o.portal.integrationForSync(partnerId);
    if (!view.devices.enabled) return;
    // A schedule saved before the once-an-hour rule existed falls back to the default.
    const problem = scheduleProblem(view.devices.schedule);
    if (problem) this.#o.logger.warn({ partnerId, problem }, "asset schedule refused; using the default");
    const pattern = problem ? DEFAULT_ASSET_SCHEDULE : view.devices.schedule;
    const cron = new Cron(pattern, { timezone: timeZone, protect: true }, () => {
      this.startAssetRun(partnerId, "schedule", { dryRun: false }).catch((e: unknown) => {
        if (isDbOutage(e))
          this.#missed.add(partnerId); // runs when the database is back
        else this.#o.logger.error({ err: e, partnerId }, "scheduled sync did not start");
      });
    });
    this.#crons.set(partnerId, cron);
  }
}

/** The next times a schedule fires after `from`, in the partner's time zone (pure; used by tests and the UI). */
export function nextRuns(expression: string, timeZone: string, from: Date, count = 1): Date[] {
  const cron = new Cron(expression, { timezone: timeZone, paused: true });
  return cron.nextRuns(count, from);
}

function summarise(plan: {
  clients: Array<{ items: Array<{ action: string }> }>;
  orphans: Array<{ action: string }>;
}) {
  const s = { create: 0, update: 0, deactivate: 0, unchanged: 0, conflict: 0 };
  for (const i of [...plan.clients.flatMap((c) => c.items), ...plan.orphans]) s[i.action as keyof typeof s]++;
  return s;
}
