import type { Clock } from "../../lib/clock.js";
import type { SecretBox } from "../../lib/crypto.js";
import type { Logger } from "../../lib/logger.js";
import { asTicketTraffic } from "../../psa/budget.js";
import type { Check, PsaSession } from "../../psa/connector.js";
import type { ConnectorRegistry } from "../../psa/registry.js";
import type { Db } from "../../store/db.js";
import type { Failpoint } from "../failpoint.js";
import type { SyncPortal } from "../portal-port.js";
import type { PsaSessions } from "../sessions.js";
import { EffortSync } from "./effort.js";
import { type SyncErrorView, TicketErrors } from "./errors.js";
import { type DriftFinding, type ReceiveResult, TicketFeed } from "./feed.js";
import { DEFAULT_FILE_CHECK_MINUTES, FileCheck } from "./file-check.js";
import { FileSync } from "./files.js";
import { TicketLinks } from "./links.js";
import { FieldMap } from "./mapping.js";
import { ticketName } from "./names.js";
import { NoteSync } from "./notes.js";
import { pushedOpenTickets } from "./open-tickets.js";
import { Reconciler } from "./reconcile.js";
import { type PsaTicketView, TicketViews } from "./views.js";
import { WebhookRegistrations, type WebhookState } from "./webhooks.js";
import { type InboxEvent, TicketWorker } from "./worker.js";

export interface TicketEngineOptions {
  db: Db;
  portal: SyncPortal;
  sessions: PsaSessions;
  registry: ConnectorRegistry;
  box: SecretBox;
  clock: Clock;
  logger: Logger;
  /** Base URL the PSA calls for webhooks (NOCBRIDGE_PUBLIC_URL, else the server's address once listening). */
  publicUrl(): string | undefined;
  /** NOCBRIDGE_ALLOW_HTTP_WEBHOOKS: register webhooks at a URL the PSA's rule would refuse. */
  allowHttpWebhooks?: boolean | undefined;
  /** Ticket poll interval per partner, ms (default 5 minutes). */
  pollIntervalMs?: number | undefined;
  /** Retry tuning of failing tickets (tests shorten it). */
  retry?: { maxAttempts?: number | undefined; baseMs?: number | undefined } | undefined;
  /** Testing only (NOCBRIDGE_FAILPOINT): where a ticket create stops the process. */
  failpoint?: Failpoint | undefined;
  /** The periodic file check's period, ms (default NOCBRIDGE_FILE_CHECK_MINUTES' default): ./file-check.ts. */
  fileCheckPeriodMs?: number | undefined;
  /**
   * Shared mode: a wake-up becomes a drain job in the partner's serial lane (any worker process takes
   * it) instead of a drain in this process.
   */
  enqueueDrain?: ((partnerId: number, runAt?: Date) => Promise<void>) | undefined;
}

/**
 * The ticket side of the engine: two-way ticket sync for the partners whose ticketing module is on.
 * It wires the worker (lanes of outbox and inbox events), the reconcile step, notes, failure
 * parking, the PSA feed (webhooks and polls) and the webhook registrations, and answers for them.
 */
export class TicketEngine {
  readonly #o: TicketEngineOptions;
  readonly #worker: TicketWorker;
  readonly #errors: TicketErrors;
  readonly #views: TicketViews;
  readonly #feed: TicketFeed;
  readonly #webhooks: WebhookRegistrations;
  readonly #fileCheck: FileCheck;
  readonly #lastPoll = new Map<number, number>();

  constructor(o: TicketEngineOptions) {
    this.#o = o;
    const { db, clock, logger, portal } = o;
    const links = new TicketLinks(db, clock);
    this.#errors = new TicketErrors({
      db,
      clock,
      logger,
      portal,
      ...(o.retry?.maxAttempts ? { maxAttempts: o.retry.maxAttempts } : {}),
      ...(o.retry?.baseMs !== undefined ? { retryBaseMs: o.retry.baseMs } : {}),
    });
    const reconciler = new Reconciler({
      portal,
      links,
      map: new FieldMap(db, portal),
      notes: new NoteSync(db, portal),
      effort: new EffortSync(db, portal),
      files: new FileSync(db, portal),
      failpoint: o.failpoint,
    });
    this.#worker = new TicketWorker({
      db,
      clock,
      logger,
      portal,
      sessions: o.sessions,
      reconciler,
      errors: this.#errors,
    });
    this.#views = new TicketViews(db, portal);
    this.#webhooks = new WebhookRegistrations({
      db,
      box: o.box,
      clock,
      logger,
      publicUrl: () => o.publicUrl(),
      allowHttp: o.allowHttpWebhooks === true,
      pollIntervalMinutes: Math.max(1, Math.round((o.pollIntervalMs ?? 5 * 60_000) / 60_000)),
    });
    this.#feed = new TicketFeed({
      db,
      clock,
      logger,
      portal,
      registry: o.registry,
      sessions: o.sessions,
      registrations: this.#webhooks,
      links,
      worker: this.#worker,
    });
    this.#fileCheck = new FileCheck({
      db,
      clock,
      portal,
      periodMs: o.fileCheckPeriodMs ?? DEFAULT_FILE_CHECK_MINUTES * 60_000,
      pollIntervalMs: o.pollIntervalMs ?? 5 * 60_000,
      enqueue: (partnerId, e) => this.#worker.enqueue(partnerId, e),
    });
  }

  // ---------------------------------------------------------------- the worker

  /**
   * Wakes the partner's worker; returns when the drain it started (or joined) is done — in shared
   * mode, once the drain job is queued. Never rejects.
   */
  notify(partnerId: number): Promise<void> {
    const enqueue = this.#o.enqueueDrain;
    if (!enqueue) return this.#worker.notify(partnerId);
    return enqueue(partnerId).catch((e: unknown) =>
      this.#o.logger.warn(
        { err: e, partnerId },
        "ticket drain could not be queued; the next sweep queues it",
      ),
    );
  }

  /**
   * The drain job's handler (shared mode): the partner's waiting events are processed here, then a
   * drain is queued for when the earliest waiting retry is due.
   */
  async drainJob(partnerId: number): Promise<void> {
    await this.#worker.notify(partnerId);
    const next = await this.#errors.nextRetryAt(partnerId);
    if (next !== null && this.#o.enqueueDrain) {
      const wait = Math.max(0, Date.parse(next) - this.#o.clock.now().getTime());
      await this.#o.enqueueDrain(partnerId, new Date(Date.now() + wait));
    }
  }
  /** Holds the partner's worker (events keep arriving in the outbox and inbox) until `resume`. */
  pause(partnerId: number): void {
    this.#worker.pause(partnerId);
  }
  resume(partnerId: number): Promise<void> {
    return this.#worker.resume(partnerId);
  }
  /** Resolves when the partner's worker has nothing running. */
  idle(partnerId: number): Promise<void> {
    return this.#worker.idle(partnerId);
  }
  /** Stores a PSA event in the inbox; false when it was already there (a duplicate delivery). */
  enqueue(partnerId: number, e: InboxEvent): Promise<boolean> {
    return this.#worker.enqueue(partnerId, e);
  }

  // ---------------------------------------------------------------- errors and views

  /** Open errors of a partner (or all, with `all`), newest first. */
  errors(partnerId: number, all = false): Promise<SyncErrorView[]> {
    return this.#errors.list(partnerId, all);
  }
  error(errorId: number): Promise<SyncErrorView | null> {
    return this.#errors.get(errorId);
  }

  /** A parked ticket's retry: the lane is unblocked and its waiting events are processed again. */
  async retry(errorId: number): Promise<SyncErrorView | null> {
    const row = await this.#errors.resolveOne(errorId);
    if (!row) return null;
    // The lane's events may all have been consumed (e.g. a webhook hint): re-announce the ticket.
    if (row.ticket_id !== null) await this.#worker.announce(row.partner_id, row.ticket_id, "retry");
    else if (row.psa_ticket_id !== null)
      await this.#worker.enqueue(row.partner_id, {
        source: "retry",
        dedupKey: `retry:${errorId}:${this.#o.clock.now().toISOString()}`,
        entityType: "Ticket",
        psaId: row.psa_ticket_id,
        psaTicketId: row.psa_ticket_id,
      });
    await this.notify(row.partner_id);
    const after = await this.#errors.get(errorId);
    this.#o.logger.info(
      { partnerId: row.partner_id, ticketId: row.ticket_id, psaTicketId: row.psa_ticket_id, errorId },
      `ticket sync retried ${ticketName(after?.ticketTitle, after?.ticketNumber)} by hand`,
    );
    return after;
  }

  /** The `psa` block of a portal ticket: PSA id and number, sync state, last sync, last error. */
  view(ticketId: number): Promise<PsaTicketView> {
    return this.#views.view(ticketId);
  }
  views(ticketIds: number[]): Promise<Map<number, PsaTicketView>> {
    return this.#views.views(ticketIds);
  }
  deviceReport(partnerId: number): Promise<unknown[]> {
    return this.#views.deviceReport(partnerId);
  }

  // ---------------------------------------------------------------- the feed

  /** A webhook delivery; a stored event wakes the worker (the answer does not wait for it). */
  async receive(
    system: string,
    partnerId: number,
    raw: Buffer,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<ReceiveResult> {
    const r = await this.#feed.receive(system, partnerId, raw, headers);
    // Fire and forget: notify never rejects; the worker re-reads the ticket from the PSA.
    if (r.status === 200) void this.notify(partnerId);
    return r;
  }
  webhookDeactivated(system: string, partnerId: number): Promise<void> {
    return this.#feed.deactivated(system, partnerId);
  }
  /** Mapped statuses and priorities the PSA renamed, deactivated or removed (found by the last poll). */
  drift(partnerId: number): Promise<Array<DriftFinding & { detectedAt: string }>> {
    return this.#feed.drift(partnerId);
  }

  /** One poll cycle: mapping drift, then NOC-queue tickets into the inbox, then a drain. */
  pollTickets(partnerId: number): Promise<number> {
    return asTicketTraffic(() => this.#pollTickets(partnerId));
  }

  async #pollTickets(partnerId: number): Promise<number> {
    this.#lastPoll.set(partnerId, this.#o.clock.now().getTime());
    const { view, session } = await this.#o.sessions.forPartner(partnerId);
    if (!session || !view.ticketing.enabled) return 0;
    await this.#feed
      .checkDrift(partnerId, session)
      .catch((e: unknown) => this.#o.logger.warn({ err: e, partnerId }, "mapping drift check failed"));
    const n = await this.#feed.poll(partnerId, session);
    // The slower half of the safety net: files added alone in the PSA (./file-check.ts).
    if (session.attachments) await this.#fileCheck.queueDue(partnerId);
    await this.notify(partnerId);
    return n;
  }

  /** Every few seconds: partners due for a poll are polled; every ticketing partner's worker is woken for retries. */
  async tick(): Promise<void> {
    const k = this.#o.db.kysely;
    const every = this.#o.pollIntervalMs ?? 5 * 60_000;
    const rows = (await this.#o.portal.partnersWith("ticketing")).map((partner_id) => ({ partner_id }));
    const now = this.#o.clock.now().getTime();
    for (const { partner_id: id } of rows) {
      if (now - (this.#lastPoll.get(id) ?? 0) >= every)
        await this.pollTickets(id).catch((e: unknown) =>
          this.#o.logger.warn({ err: e, partnerId: id }, "ticket poll failed"),
        );
      // Fire and forget: notify never rejects (its worker logs a failed drain and carries on).
      else void this.notify(id);
    }
    // Partners without ticketing still get their outbox consumed (nothing crosses), so it does not pile up.
    const idle = await k
      .selectFrom("ticket_outbox")
      .select("partner_id")
      .distinct()
      .where("processed_at", "is", null)
      .execute();
    const enabled = new Set(rows.map((r) => r.partner_id));
    // Fire and forget, as above: notify never rejects.
    for (const { partner_id: id } of idle) if (!enabled.has(id)) void this.notify(id);
  }

  // ---------------------------------------------------------------- settings and webhooks

  /**
   * Webhook registration follows the ticketing switch; then the first push of open tickets, a poll
   * and a drain. The push never depends on the webhooks: a partner whose registration the PSA
   * refused is polled, and its open tickets still go across. `firstPoll: false` (shared mode): the
   * caller queues the poll as a job of the partner's ticket lane instead, and the push is drained
   * there.
   */
  async ticketingChanged(partnerId: number, o: { firstPoll?: boolean } = {}): Promise<void> {
    const { db, clock } = this.#o;
    const { view, connector, session } = await this.#o.sessions.forPartner(partnerId);
    if (!session || !view.ticketing.enabled) {
      await this.#webhooks.unregister(partnerId, connector.system, session);
      await pushedOpenTickets(db, this.#o.portal, partnerId, clock, false);
      return;
    }
    await this.#webhooks.register(partnerId, session);
    if (view.ticketing.nocMayEnterTickets)
      await pushedOpenTickets(db, this.#o.portal, partnerId, clock, true);
    if (o.firstPoll === false) await this.notify(partnerId);
    else await this.pollTickets(partnerId);
  }

  /** The partner's webhook state: registered, or polling only and why (Setup and Sync pages). */
  async webhookState(partnerId: number): Promise<WebhookState> {
    const { view } = await this.#o.portal.integration(partnerId);
    return this.#webhooks.state(partnerId, view.ticketing.system, view.ticketing.enabled);
  }

  /** The webhooks the PSA holds for the partner, as recorded. */
  registered(partnerId: number): Promise<Array<{ entity: string; psaWebhookId: number }>> {
    return this.#webhooks.registered(partnerId);
  }

  /**
   * The ticket items of the Validate checklist, after `prior` (the connector's own checks): mapping
   * drift (a mapped status or priority renamed, deactivated or removed — unless a prior check already
   * names it), then the webhook items. None when ticketing is off, when the first prior check (the
   * credentials) failed, or when the hourly budget is spent (they would spend more of it).
   */
  async validationChecks(
    partnerId: number,
    session: PsaSession,
    prior: readonly Check[] = [],
  ): Promise<Check[]> {
    if (prior.length > 0 && !prior[0]?.ok) return [];
    if (prior.some((c) => c.name === "budget")) return [];
    const { view } = await this.#o.portal.integration(partnerId);
    if (!view.ticketing.enabled) return [];
    const checks: Check[] = [];
    const named = new Set(prior.filter((c) => !c.ok).map((c) => c.name));
    for (const d of await this.#feed.checkDrift(partnerId, session)) {
      if (named.has(`${d.kind === "priority" ? "priority" : "status"}:${d.psaId}`)) continue;
      checks.push({
        name: `drift:${d.kind}:${d.psaId}`,
        ok: false,
        message: d.message,
        fix: `Update the ${d.kind} mapping row to the value ${session.label} has now.`,
      });
    }
    const state = await this.#webhooks.state(partnerId, session.system, true);
    checks.push(...(await session.webhooks.checks(state, this.#webhooks.urlProblem(session))));
    return checks;
  }
}
