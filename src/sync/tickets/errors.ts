import type { Selectable } from "kysely";
import type { Clock } from "../../lib/clock.js";
import type { Logger } from "../../lib/logger.js";
import { BUDGET_WAIT_MS } from "../../psa/budget.js";
import { isPsaError, type PsaError } from "../../psa/errors.js";
import type { Db } from "../../store/db.js";
import type { SyncErrorRow } from "../../store/schema.js";
import { isDbOutage } from "../outage.js";
import type { SyncPortal } from "../portal-port.js";
import { codeText, ticketName } from "./names.js";

/** An error that retrying cannot fix (a mapping row is missing, a company is not mapped). */
export class TicketSyncError extends Error {
  constructor(
    readonly code: "MAPPING" | "UNMAPPED_COMPANY" | "CLOSE_REFUSED" | "NOT_FOUND",
    message: string,
  ) {
    super(message);
  }
}

export interface SyncErrorView {
  id: number;
  partnerId: number;
  ticketId: number | null;
  psaTicketId: number | null;
  error: string;
  code: string;
  /** What the code means, for people ("Client not mapped to a company in the PSA"); `code` is for machines. */
  codeText: string;
  /** The portal ticket's title, when the failure is about a portal ticket. */
  ticketTitle: string | null;
  /** The PSA ticket's number ("T20261128.0009"), when the ticket is linked. */
  ticketNumber: string | null;
  attempts: number;
  parked: boolean;
  nextAttemptAt: string | null;
  firstAt: string;
  lastAt: string;
  resolvedAt: string | null;
}

/** The lane a failure belongs to: one ticket's events. */
export interface FailedLane {
  key: string;
  ticketId: number | null;
  psaTicketId: number | null;
}

/**
 * Failing tickets: each failure is counted against its lane and retried with backoff, then parked
 * until someone retries it; the other tickets keep flowing.
 */
export class TicketErrors {
  constructor(
    private readonly o: {
      db: Db;
      clock: Clock;
      logger: Logger;
      /** Attempts before a failing ticket is parked (default 5). */
      maxAttempts?: number;
      /** Backoff base for a failing ticket's retries, ms (default 1000; doubles per attempt). */
      retryBaseMs?: number;
      /** Names the tickets in the list and the log (their titles); without it, ids only. */
      portal?: SyncPortal;
    },
  ) {}

  get #k() {
    return this.o.db.kysely;
  }
  #now(): string {
    return this.o.clock.now().toISOString();
  }

  /** Records a lane's failure: counted, with its next attempt, or parked. `label` names the PSA. */
  async failed(partnerId: number, lane: FailedLane, e: unknown, label: string): Promise<void> {
    // The database being away is nobody's fault: no attempt is counted, the next beat retries the lane.
    if (isDbOutage(e)) throw e;
    const message = failureText(e, label);
    const code = e instanceof TicketSyncError ? e.code : isPsaError(e) ? e.code : "ERROR";
    // The hourly API budget spent is a wait, not an error: the lane is tried again when the window
    // has moved on, without using up its attempts.
    const waiting = isPsaError(e) && e.code === "BUDGET_EXHAUSTED";
    // Mapping and data errors do not heal by themselves; a PSA error that is not retryable neither.
    const permanent = !waiting && (e instanceof TicketSyncError || (isPsaError(e) && !e.retryable));
    const now = this.#now();
    const open = await this.#k
      .selectFrom("sync_errors")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .where("lane", "=", lane.key)
      .where("resolved_at", "is", null)
      .executeTakeFirst();
    const attempts = (open?.attempts ?? 0) + (waiting ? 0 : 1);
    const parked = !waiting && (permanent || attempts >= (this.o.maxAttempts ?? 5));
    const delay = waiting
      ? ((e as PsaError).retryAfterMs ?? BUDGET_WAIT_MS)
      : (this.o.retryBaseMs ?? 1000) * 2 ** (attempts - 1);
    const next = parked ? null : new Date(this.o.clock.now().getTime() + delay).toISOString();
    if (open) {
      await this.#k
        .updateTable("sync_errors")
        .set({ error: message, code, attempts, parked: parked ? 1 : 0, next_attempt_at: next, last_at: now })
        .where("id", "=", open.id)
        .execute();
    } else {
      await this.#k
        .insertInto("sync_errors")
        .values({
          partner_id: partnerId,
          lane: lane.key,
          ticket_id: lane.ticketId,
          psa_ticket_id: lane.psaTicketId,
          error: message,
          code,
          attempts,
          parked: parked ? 1 : 0,
          next_attempt_at: next,
          first_at: now,
          last_at: now,
        })
        .execute();
    }
    if (lane.ticketId !== null)
      await this.#k
        .updateTable("ticket_links")
        .set({ last_error: message })
        .where("partner_id", "=", partnerId)
        .where("ticket_id", "=", lane.ticketId)
        .execute();
    const [named] = await this.#named(
      [{ ticketId: lane.ticketId, psaTicketId: lane.psaTicketId }],
      partnerId,
    );
    this.o.logger.warn(
      {
        partnerId,
        lane: lane.key,
        ticketId: lane.ticketId,
        psaTicketId: lane.psaTicketId,
        ticketNumber: named?.ticketNumber ?? null,
        attempts,
        parked,
        code,
      },
      `ticket sync failed for ${ticketName(named?.ticketTitle, named?.ticketNumber)}${parked ? " (parked)" : ""}: ${message}`,
    );
  }

  /** A lane that went through: its open error is resolved. */
  async resolve(partnerId: number, laneKey: string): Promise<void> {
    await this.#k
      .updateTable("sync_errors")
      .set({ resolved_at: this.#now() })
      .where("partner_id", "=", partnerId)
      .where("lane", "=", laneKey)
      .where("resolved_at", "is", null)
      .execute();
  }

  /** Resolves one error by hand (a retry); returns its row as it was, or null. */
  async resolveOne(errorId: number): Promise<Selectable<SyncErrorRow> | null> {
    const row = await this.#k
      .selectFrom("sync_errors")
      .selectAll()
      .where("id", "=", errorId)
      .executeTakeFirst();
    if (!row) return null;
    if (row.resolved_at === null)
      await this.#k
        .updateTable("sync_errors")
        .set({ resolved_at: this.#now() })
        .where("id", "=", errorId)
        .execute();
    return row;
  }

  /** Lanes with an unresolved parked error, or whose retry time has not come. */
  async blockedLanes(partnerId: number): Promise<Set<string>> {
    const rows = await this.#k
      .selectFrom("sync_errors")
      .select(["lane", "parked", "next_attempt_at"])
      .where("partner_id", "=", partnerId)
      .where("resolved_at", "is", null)
      .execute();
    const now = this.#now();
    return new Set(
      rows
        .filter((r) => r.parked === 1 || (r.next_attempt_at !== null && r.next_attempt_at > now))
        .map((r) => r.lane),
    );
  }

  /** When the partner's next waiting retry is due (errors not parked), or null when none waits. */
  async nextRetryAt(partnerId: number): Promise<string | null> {
    const row = await this.#k
      .selectFrom("sync_errors")
      .select((eb) => eb.fn.min("next_attempt_at").as("next"))
      .where("partner_id", "=", partnerId)
      .where("resolved_at", "is", null)
      .where("parked", "=", 0)
      .executeTakeFirst();
    return (row?.next as string | null | undefined) ?? null;
  }

  /** Open errors of a partner (or all, with `all`), newest first. */
  async list(partnerId: number, all = false): Promise<SyncErrorView[]> {
    let q = this.#k.selectFrom("sync_errors").selectAll().where("partner_id", "=", partnerId);
    if (!all) q = q.where("resolved_at", "is", null);
    return this.#views(await q.orderBy("id", "desc").limit(500).execute());
  }

  async get(errorId: number): Promise<SyncErrorView | null> {
    const row = await this.#k
      .selectFrom("sync_errors")
      .selectAll()
      .where("id", "=", errorId)
      .executeTakeFirst();
    return row ? ((await this.#views([row]))[0] ?? null) : null;
  }

  async #views(rows: Array<Selectable<SyncErrorRow>>): Promise<SyncErrorView[]> {
    const byPartner = new Map<number, Array<Selectable<SyncErrorRow>>>();
    for (const r of rows) byPartner.set(r.partner_id, [...(byPartner.get(r.partner_id) ?? []), r]);
    const names = new Map<number, { ticketTitle: string | null; ticketNumber: string | null }>();
    for (const [partnerId, list] of byPartner) {
      const named = await this.#named(
        list.map((r) => ({ ticketId: r.ticket_id, psaTicketId: r.psa_ticket_id })),
        partnerId,
      );
      for (const [i, r] of list.entries())
        names.set(r.id, named[i] ?? { ticketTitle: null, ticketNumber: null });
    }
    return rows.map((r) => ({ ...toErrorView(r), ...names.get(r.id) }) as SyncErrorView);
  }

  /** Each ticket's portal title and PSA number, where known. */
  async #named(
    refs: Array<{ ticketId: number | null; psaTicketId: number | null }>,
    partnerId: number,
  ): Promise<Array<{ ticketTitle: string | null; ticketNumber: string | null }>> {
    const ticketIds = refs.map((r) => r.ticketId).filter((x): x is number => x !== null);
    const psaIds = refs.map((r) => r.psaTicketId).filter((x): x is number => x !== null);
    const titles =
      ticketIds.length > 0 && this.o.portal ? await this.o.portal.ticketRefs(ticketIds) : new Map();
    const byTicket = new Map<number, string>();
    const byPsa = new Map<number, string>();
    if (ticketIds.length > 0 || psaIds.length > 0) {
      let q = this.#k
        .selectFrom("ticket_links")
        .select(["ticket_id", "psa_ticket_id", "ticket_number"])
        .where("partner_id", "=", partnerId)
        .where("state", "!=", "creating");
      q = q.where((eb) =>
        eb.or([
          ...(ticketIds.length > 0 ? [eb("ticket_id", "in", ticketIds)] : []),
          ...(psaIds.length > 0 ? [eb("psa_ticket_id", "in", psaIds)] : []),
        ]),
      );
      for (const l of await q.execute()) {
        if (!l.ticket_number) continue;
        byTicket.set(l.ticket_id, l.ticket_number);
        byPsa.set(l.psa_ticket_id, l.ticket_number);
      }
    }
    return refs.map((r) => ({
      ticketTitle: r.ticketId !== null ? (titles.get(r.ticketId)?.title ?? null) : null,
      ticketNumber:
        (r.ticketId !== null ? byTicket.get(r.ticketId) : undefined) ??
        (r.psaTicketId !== null ? byPsa.get(r.psaTicketId) : undefined) ??
        null,
    }));
  }
}

function toErrorView(r: Selectable<SyncErrorRow>): Omit<SyncErrorView, "ticketTitle" | "ticketNumber"> {
  return {
    id: r.id,
    partnerId: r.partner_id,
    ticketId: r.ticket_id,
    psaTicketId: r.psa_ticket_id,
    error: r.error,
    code: r.code,
    codeText: codeText(r.code),
    attempts: r.attempts,
    parked: r.parked === 1,
    nextAttemptAt: r.next_attempt_at,
    firstAt: r.first_at,
    lastAt: r.last_at,
    resolvedAt: r.resolved_at,
  };
}

/**
 * The text kept with a failed lane. A final refusal by the PSA (its own validation message, already
 * sanitised and truncated by the connector) gets a fix the partner can act on.
 */
function failureText(e: unknown, label: string): string {
  const message = e instanceof Error ? e.message : String(e);
  if (isPsaError(e) && e.code === "INVALID_REQUEST" && e.errors.length > 0) {
    return `${label} refused it: ${e.errors.join(" ")} Fix: correct what ${label} names — in the ticket, in the partner's ticketing settings or mapping tables, or in ${label} (an inactive or missing record) — then retry it from Sync errors.`;
  }
  return message;
}
