import type { Clock } from "../../lib/clock.js";
import type { Logger } from "../../lib/logger.js";
import { asTicketTraffic } from "../../psa/budget.js";
import type { Db } from "../../store/db.js";
import { pool } from "../assets.js";
import type { SyncPortal } from "../portal-port.js";
import type { PsaSessions } from "../sessions.js";
import type { TicketErrors } from "./errors.js";
import { FILE_CHECK_SOURCE } from "./file-check.js";
import { type Ctx, ticketContext } from "./mapping.js";
import type { Reconciler } from "./reconcile.js";

/** One ticket's waiting events: its outbox (portal) and inbox (PSA) rows, reconciled as one. */
type Lane = {
  key: string;
  ticketId: number | null;
  psaTicketId: number | null;
  outbox: number[];
  inbox: number[];
  pullNotes: boolean;
  /** A periodic file check is among the events: the PSA's files are listed (./file-check.ts). */
  pullFiles: boolean;
  /** The lane holds file checks only: the PSA's files are listed, the ticket is not reconciled. */
  filesOnly: boolean;
};

/** A PSA change as the inbox stores it: "look at this ticket (or note)". */
export interface InboxEvent {
  source: string;
  dedupKey: string;
  entityType: string;
  psaId: number;
  psaTicketId: number | null;
}

/**
 * The per-partner ticket worker. Portal changes arrive through the outbox, PSA changes through the
 * inbox (webhooks, polls); a drain groups them into lanes, one per ticket, and reconciles the lanes
 * side by side, each in order. A failing lane is retried with backoff and then parked; the others
 * keep flowing.
 */
export class TicketWorker {
  readonly #running = new Map<number, Promise<void>>();
  readonly #again = new Set<number>();
  readonly #paused = new Set<number>();

  constructor(
    private readonly o: {
      db: Db;
      clock: Clock;
      logger: Logger;
      portal: SyncPortal;
      sessions: PsaSessions;
      reconciler: Reconciler;
      errors: TicketErrors;
      /** Tickets reconciled side by side per partner (default 3, Autotask's threads per endpoint). */
      concurrency?: number | undefined;
    },
  ) {}

  get #k() {
    return this.o.db.kysely;
  }
  #now(): string {
    return this.o.clock.now().toISOString();
  }

  /** Holds the partner's worker (events keep arriving in the outbox and inbox) until `resume`. */
  pause(partnerId: number): void {
    this.#paused.add(partnerId);
  }

  resume(partnerId: number): Promise<void> {
    this.#paused.delete(partnerId);
    return this.notify(partnerId);
  }

  /** Wakes the partner's worker; returns when the drain it started (or joined) is done. Never rejects. */
  notify(partnerId: number): Promise<void> {
    if (this.#paused.has(partnerId)) return Promise.resolve();
    const running = this.#running.get(partnerId);
    if (running) {
      this.#again.add(partnerId);
      return running;
    }
    const p = (async () => {
      do {
        this.#again.delete(partnerId);
        try {
          // Ticket traffic may use the share of the hourly budget kept for it.
          await asTicketTraffic(() => this.drain(partnerId));
        } catch (e) {
          this.o.logger.error({ err: e, partnerId }, "ticket sync drain failed");
        }
      } while (this.#again.has(partnerId));
    })().finally(() => this.#running.delete(partnerId));
    this.#running.set(partnerId, p);
    return p;
  }

  /** Resolves when the partner's worker has nothing running. */
  async idle(partnerId: number): Promise<void> {
    while (this.#running.has(partnerId)) await this.#running.get(partnerId);
  }

  /** Processes every ready outbox and inbox event of the partner, lane by lane. */
  async drain(partnerId: number): Promise<void> {
    const { view, session, connector } = await this.o.sessions.forPartner(partnerId);
    const ctx =
      session && view.ticketing.enabled
        ? await ticketContext(this.o.portal, partnerId, session, view, connector.manifest)
        : null;
    for (let round = 0; round < 1000; round++) {
      if (ctx) await this.#resolveNoteTickets(ctx);
      const lanes = await this.#lanes(partnerId, connector.webhooks.notesInTicketEvents === true);
      if (lanes.length === 0) return;
      const blocked = await this.o.errors.blockedLanes(partnerId);
      const ready = lanes.filter((l) => !blocked.has(l.key));
      if (ready.length === 0) return;
      // Different tickets run side by side (as many as Autotask's 3 threads per endpoint); one
      // ticket's events are one lane, so a ticket is never reconciled twice at once.
      const run = async (lane: Lane) => {
        if (!ctx) {
          // Ticketing is off: nothing crosses; the events are consumed so they do not pile up.
          await this.#done(lane);
          return;
        }
        try {
          if (lane.filesOnly) await this.o.reconciler.checkFiles(ctx, lane);
          else await this.o.reconciler.reconcile(ctx, lane);
          await this.#done(lane);
          await this.o.errors.resolve(partnerId, lane.key);
        } catch (e) {
          await this.o.errors.failed(partnerId, lane, e, ctx.session.label);
        }
      };
      // A PSA ticket with no link yet may be one of ours whose create went out but whose link was
      // not saved (the process died in between, or the create failed after it was applied): its
      // lane ("psa:…") and the portal ticket's lane ("ticket:…") are then the same ticket. Run side by
      // side, both linked it (a unique-constraint failure and a retry; had the portal lane linked it
      // between the PSA lane's checks, a copy of it as a new portal ticket). So the tickets the
      // portal knows go first, and PSA tickets without a link after them, when the links exist.
      // Found by test/sync/tickets-crash.test.ts (after-send).
      for (const known of [true, false])
        await pool(
          ready.filter((l) => (l.ticketId !== null) === known),
          this.o.concurrency ?? 3,
          run,
        );
    }
  }

  /** A note event that did not name its ticket: ask the PSA which ticket the note belongs to. */
  async #resolveNoteTickets(ctx: Ctx): Promise<void> {
    const rows = await this.#k
      .selectFrom("ticket_inbox")
      .select(["id", "psa_id"])
      .where("partner_id", "=", ctx.partnerId)
      .where("processed_at", "is", null)
      .where("psa_ticket_id", "is", null)
      .execute();
    for (const r of rows) {
      const ticketId = await ctx.session.tickets.noteTicket(r.psa_id);
      await this.#k
        .updateTable("ticket_inbox")
        .set(ticketId !== null ? { psa_ticket_id: ticketId } : { processed_at: this.#now() })
        .where("id", "=", r.id)
        .execute();
    }
  }

  /** `notesInTicketEvents`: the PSA's ticket events also stand for its notes' changes (the connector's). */
  async #lanes(partnerId: number, notesInTicketEvents: boolean): Promise<Lane[]> {
    const [out, inb] = await Promise.all([
      this.#k
        .selectFrom("ticket_outbox")
        .select(["id", "ticket_id"])
        .where("partner_id", "=", partnerId)
        .where("processed_at", "is", null)
        .orderBy("id")
        .limit(1000)
        .execute(),
      this.#k
        .selectFrom("ticket_inbox")
        .select(["id", "psa_ticket_id", "psa_id", "entity_type", "source"])
        .where("partner_id", "=", partnerId)
        .where("processed_at", "is", null)
        .orderBy("id")
        .limit(1000)
        .execute(),
    ]);
    if (out.length === 0 && inb.length === 0) return [];
    const psaIds = [...new Set(inb.map((e) => e.psa_ticket_id).filter((x): x is number => x !== null))];
    const linked = new Map<number, number>();
    for (let i = 0; i < psaIds.length; i += 500) {
      const rows = await this.#k
        .selectFrom("ticket_links")
        .select(["ticket_id", "psa_ticket_id"])
        .where("partner_id", "=", partnerId)
        .where("psa_ticket_id", "in", psaIds.slice(i, i + 500))
        .execute();
      for (const r of rows) linked.set(r.psa_ticket_id, r.ticket_id);
    }
    const lanes = new Map<string, Lane & { first: number; pollOnly: boolean }>();
    const lane = (ticketId: number | null, psaTicketId: number | null, order: number) => {
      const key = ticketId !== null ? `ticket:${ticketId}` : `psa:${psaTicketId}`;
      let l = lanes.get(key);
      if (!l) {
        l = {
          key,
          ticketId,
          psaTicketId,
          outbox: [],
          inbox: [],
          pullNotes: false,
          pullFiles: false,
          filesOnly: true,
          first: order,
          pollOnly: true,
        };
        lanes.set(key, l);
      }
      if (psaTicketId !== null) l.psaTicketId = psaTicketId;
      return l;
    };
    for (const e of out) {
      const l = lane(e.ticket_id, null, e.id);
      l.outbox.push(e.id);
      l.pollOnly = false;
      l.filesOnly = false;
    }
    for (const e of inb) {
      if (e.psa_ticket_id === null) continue; // resolved first by #resolveNoteTickets
      const l = lane(linked.get(e.psa_ticket_id) ?? null, e.psa_ticket_id, e.id);
      l.inbox.push(e.id);
      if (e.source === FILE_CHECK_SOURCE) {
        // The safety net's slower half: it waits behind everything else, like a poll.
        l.pullFiles = true;
        continue;
      }
      l.filesOnly = false;
      // A ticket webhook carries no note changes: notes are read for note events, polls and retries —
      // and for every ticket event of a PSA that has no note events.
      if (e.entity_type === "TicketNote" || e.source !== "webhook" || notesInTicketEvents) l.pullNotes = true;
      if (e.source !== "poll") l.pollOnly = false;
    }
    // Portal changes and webhook events go before tickets that only a poll brought up (the safety net
    // must not delay the fast path).
    return [...lanes.values()].sort((a, b) => Number(a.pollOnly) - Number(b.pollOnly) || a.first - b.first);
  }

  async #done(lane: Lane): Promise<void> {
    const now = this.#now();
    if (lane.outbox.length > 0)
      await this.#k
        .updateTable("ticket_outbox")
        .set({ processed_at: now })
        .where("id", "in", lane.outbox)
        .execute();
    if (lane.inbox.length > 0)
      await this.#k
        .updateTable("ticket_inbox")
        .set({ processed_at: now })
        .where("id", "in", lane.inbox)
        .execute();
  }

  /** Stores a PSA event in the inbox; false when it was already there (a duplicate delivery). */
  async enqueue(partnerId: number, e: InboxEvent): Promise<boolean> {
    const r = await this.#k
      .insertInto("ticket_inbox")
      .values({
        partner_id: partnerId,
        dedup_key: e.dedupKey,
        source: e.source,
        entity_type: e.entityType,
        psa_id: e.psaId,
        psa_ticket_id: e.psaTicketId,
        received_at: this.#now(),
      })
      .onConflict((oc) => oc.columns(["partner_id", "dedup_key"]).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Re-announces a portal ticket (a retry whose events were all consumed). */
  async announce(partnerId: number, ticketId: number, kind: string): Promise<void> {
    await this.#k
      .insertInto("ticket_outbox")
      .values({ partner_id: partnerId, ticket_id: ticketId, kind, created_at: this.#now() })
      .execute();
  }
}
