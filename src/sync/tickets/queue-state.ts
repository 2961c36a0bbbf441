import { type Expression, type SqlBool, sql } from "kysely";
import type { QueueSyncFilter, QueueSyncState, QueueTicketRef } from "../../portal/queue.js";

/**
 * The ticket queue's sync-state and ticket-number conditions, over the engine's tables. They decide a
 * ticket's state exactly as TicketViews (views.ts) does, in the same order: a parked error, then out of
 * the queue, then a portal change not yet sent, then a link; otherwise not synced.
 */
const parked = (t: QueueTicketRef) => sql<SqlBool>`exists (
  select 1 from sync_errors se
  where se.partner_id = ${t.partnerId} and se.resolved_at is null and se.parked = 1
    and se.lane = ${"ticket:"} || cast(${t.id} as text))`;

const outOfQueue = (t: QueueTicketRef) => sql<SqlBool>`exists (
  select 1 from ticket_links tl
  where tl.partner_id = ${t.partnerId} and tl.ticket_id = ${t.id} and tl.state = ${"out-of-queue"})`;

const waiting = (t: QueueTicketRef) => sql<SqlBool>`exists (
  select 1 from ticket_outbox ob
  where ob.partner_id = ${t.partnerId} and ob.ticket_id = ${t.id} and ob.processed_at is null)`;

const linked = (t: QueueTicketRef) => sql<SqlBool>`exists (
  select 1 from ticket_links tl
  where tl.partner_id = ${t.partnerId} and tl.ticket_id = ${t.id} and tl.state <> ${"creating"})`;

const not = (e: Expression<SqlBool>) => sql<SqlBool>`not ${e}`;
const all = (...es: Array<Expression<SqlBool>>) => sql<SqlBool>`(${sql.join(es, sql` and `)})`;

export const ticketQueueFilter: QueueSyncFilter = {
  state(t: QueueTicketRef, state: QueueSyncState): Expression<SqlBool> {
    const ahead = [parked(t), outOfQueue(t), waiting(t), linked(t)];
    // Each state is its own condition and none of the ones checked before it.
    const order: Record<QueueSyncState, number> = {
      error: 0,
      "out-of-queue": 1,
      pending: 2,
      synced: 3,
      "not-synced": 4,
    };
    const i = order[state];
    const before = ahead.slice(0, i).map(not);
    return all(...before, ...(i < ahead.length ? [ahead[i] as Expression<SqlBool>] : []));
  },
  numberLike(t: QueueTicketRef, pattern: string): Expression<SqlBool> {
    return sql<SqlBool>`exists (
      select 1 from ticket_links tl
      where tl.partner_id = ${t.partnerId} and tl.ticket_id = ${t.id} and tl.state <> ${"creating"}
        and lower(tl.ticket_number) like ${pattern} escape '!')`;
  },
};
