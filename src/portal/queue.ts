import { type Expression, type SqlBool, sql } from "kysely";
import { escapeLike } from "../store/like.js";
import type { Actor } from "./access.js";
import { PORTAL_STATUSES } from "./catalog.js";
import { checkPriority, checkStatus } from "./checks.js";
import type { Clients } from "./clients.js";
import type { PageQuery, PortalContext } from "./context.js";
import { toTicket } from "./convert.js";
import { invalid } from "./errors.js";
import type { Page, Ticket } from "./types.js";

/** The sync states a ticket can be in (the sync engine's, as its `psa` block names them). */
export const QUEUE_SYNC_STATES = ["synced", "pending", "error", "out-of-queue", "not-synced"] as const;
export type QueueSyncState = (typeof QUEUE_SYNC_STATES)[number];

/** A ticket row as the conditions below see it: its id and its partner's (both columns of `tickets`). */
export interface QueueTicketRef {
  id: Expression<number>;
  partnerId: Expression<number>;
}

/**
 * The sync engine's part of the queue: SQL conditions on a ticket over the engine's own tables, so the
 * queue filters and pages in the database without the portal knowing those tables. The engine
 * implements it (sync/tickets/queue-state.ts); without an engine every ticket is "not-synced" and has
 * no PSA ticket number.
 */
export interface QueueSyncFilter {
  /** True for the tickets in this sync state. */
  state(t: QueueTicketRef, state: QueueSyncState): Expression<SqlBool>;
  /** True for the tickets whose PSA ticket number matches a lower-case LIKE pattern (escaped with `!`). */
  numberLike(t: QueueTicketRef, pattern: string): Expression<SqlBool>;
}

export interface QueueFilter {
  partnerId?: number;
  clientId?: number;
  statusId?: number;
  priorityId?: number;
  syncState?: QueueSyncState;
  /** Matched in the title, the client's code and name and the PSA ticket number (case-insensitive). */
  search?: string;
}

/** A queue row: the ticket with the names of its partner and client. */
export interface QueueItem extends Ticket {
  partnerName: string;
  /** The partner's PSA system ("autotask", "connectwise"), null when it has none set up. */
  psaSystem: string | null;
  clientCode: string;
  clientName: string;
}

/** How many tickets each portal status holds under the queue's other filters. */
export interface QueueCounts {
  /** Every ticket the other filters match (the status filter is not applied). */
  total: number;
  statuses: Array<{ statusId: number; status: string; count: number }>;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;
const always = sql<SqlBool>`1 = 1`;
const never = sql<SqlBool>`1 = 0`;

/**
 * The ticket queue across every partner the actor sees (all of them for NOC-wide users, its own for a
 * partner's user): filters, search, paging, newest change first; and the count per status for the
 * same filters, so a technician sees how much waits where.
 */
export class TicketQueue {
  readonly #ctx: PortalContext;
  readonly #clients: Clients;

  constructor(ctx: PortalContext, clients: Clients) {
    this.#ctx = ctx;
    this.#clients = clients;
  }

  async list(
    actor: Actor,
    filter: QueueFilter & PageQuery,
    sync?: QueueSyncFilter,
  ): Promise<Page<QueueItem>> {
    const q = await this.#base(actor, filter, sync);
    const where = filter.statusId !== undefined ? q.where("t.status_id", "=", filter.statusId) : q;
    const select = where
      .selectAll("t")
      .leftJoin("partner_integrations as pi", "pi.partner_id", "t.partner_id")
      .select([
        "p.name as partner_name",
        "pi.system as psa_system",
        "c.code as client_code",
        "c.name as client_name",
      ])
      .orderBy("t.updated_at", "desc")
      .orderBy("t.id", "desc");
    const limit = Math.min(Math.max(filter.limit ?? DEFAULT_LIMIT, 1), MAX_LIMIT);
    const offset = Math.max(filter.offset ?? 0, 0);
    const [rows, count] = await Promise.all([
      select.limit(limit).offset(offset).execute(),
      where.select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow(),
    ]);
    const items = rows.map((r) => ({
      ...toTicket(r),
      partnerName: r.partner_name,
      psaSystem: r.psa_system ?? null,
      clientCode: r.client_code,
      clientName: r.client_name,
    }));
    return { items, total: Number(count.n), limit, offset };
  }

  async counts(actor: Actor, filter: QueueFilter, sync?: QueueSyncFilter): Promise<QueueCounts> {
    const q = await this.#base(actor, filter, sync);
    const rows = await q
      .select((eb) => ["t.status_id", eb.fn.countAll().as("n")])
      .groupBy("t.status_id")
      .execute();
    const by = new Map(rows.map((r) => [r.status_id, Number(r.n)]));
    return {
      total: rows.reduce((s, r) => s + Number(r.n), 0),
      statuses: PORTAL_STATUSES.map((s) => ({ statusId: s.id, status: s.name, count: by.get(s.id) ?? 0 })),
    };
  }

  /** The filtered tickets with their partner and client, before the status filter, select and order. */
  async #base(actor: Actor, f: QueueFilter, sync: QueueSyncFilter | undefined) {
    await this.#check(actor, f);
    let q = this.#ctx.k
      .selectFrom("tickets as t")
      .innerJoin("partners as p", "p.id", "t.partner_id")
      .innerJoin("clients as c", "c.id", "t.client_id");
    // A partner's user only ever sees its partner's tickets, whatever the filters say.
    if (actor.partnerId !== null) q = q.where("t.partner_id", "=", actor.partnerId);
    if (f.partnerId !== undefined) q = q.where("t.partner_id", "=", f.partnerId);
    if (f.clientId !== undefined) q = q.where("t.client_id", "=", f.clientId);
    if (f.priorityId !== undefined) q = q.where("t.priority_id", "=", f.priorityId);
    const ref: QueueTicketRef = { id: sql.ref<number>("t.id"), partnerId: sql.ref<number>("t.partner_id") };
    if (f.syncState !== undefined) {
      const state = f.syncState;
      q = q.where(() => (sync ? sync.state(ref, state) : state === "not-synced" ? always : never));
    }
    const text = f.search?.trim();
    if (text) {
      // Matched literally: the text's % and _ are escaped (ESCAPE works alike on both stores).
      const s = `%${escapeLike(text.toLowerCase())}%`;
      q = q.where((eb) =>
        eb.or([
          sql<SqlBool>`lower(t.title) like ${s} escape '!'`,
          sql<SqlBool>`lower(c.code) like ${s} escape '!'`,
          sql<SqlBool>`lower(c.name) like ${s} escape '!'`,
          ...(sync ? [sync.numberLike(ref, s)] : []),
        ]),
      );
    }
    return q;
  }

  /** Filters naming a status, priority, partner or client: a 400 naming the field unless the actor sees it. */
  async #check(actor: Actor, f: QueueFilter): Promise<void> {
    if (f.statusId !== undefined) checkStatus("statusId", f.statusId);
    if (f.priorityId !== undefined) checkPriority("priorityId", f.priorityId);
    if (f.partnerId !== undefined) {
      const seen = actor.partnerId === null || actor.partnerId === f.partnerId;
      const row = seen
        ? await this.#ctx.k
            .selectFrom("partners")
            .select("id")
            .where("id", "=", f.partnerId)
            .executeTakeFirst()
        : undefined;
      if (!row) throw invalid("partnerId", `partner ${f.partnerId} not found`);
    }
    if (f.clientId !== undefined) await this.#clients.row(actor, f.clientId, "clientId");
  }
}
