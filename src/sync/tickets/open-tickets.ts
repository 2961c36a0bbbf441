import type { Clock } from "../../lib/clock.js";
import type { Db } from "../../store/db.js";
import type { SyncPortal } from "../portal-port.js";

/** sync_cursors stream that records that a partner's open tickets were pushed when ticketing came on. */
const STREAM = "tickets:open-pushed";

/**
 * Switching ticketing on (with "NOC may enter tickets"): the partner's open portal tickets (not
 * Closed, not yet linked) go across too, not only the ones created from now on — once, whatever
 * happened to the webhooks. `on: false` (ticketing switched off) forgets it, so switching on again
 * pushes again. The marker and the outbox rows are one transaction.
 */
export async function pushedOpenTickets(
  db: Db,
  portal: SyncPortal,
  partnerId: number,
  clock: Clock,
  on: boolean,
): Promise<void> {
  const k = db.kysely;
  if (!on) {
    await k
      .deleteFrom("sync_cursors")
      .where("partner_id", "=", partnerId)
      .where("stream", "=", STREAM)
      .execute();
    return;
  }
  const at = clock.now().toISOString();
  const candidates = await portal.openTicketIds(partnerId);
  await k.transaction().execute(async (trx) => {
    const marked = await trx
      .insertInto("sync_cursors")
      .values({ partner_id: partnerId, stream: STREAM, value: at, version: 1, updated_at: at })
      .onConflict((oc) => oc.columns(["partner_id", "stream"]).doNothing())
      .executeTakeFirst();
    if (Number(marked.numInsertedOrUpdatedRows ?? 0n) === 0) return;
    const linked = new Set(
      (
        await trx.selectFrom("ticket_links").select("ticket_id").where("partner_id", "=", partnerId).execute()
      ).map((l) => l.ticket_id),
    );
    const open = candidates.filter((id) => !linked.has(id));
    if (open.length > 0)
      await trx
        .insertInto("ticket_outbox")
        .values(open.map((id) => ({ partner_id: partnerId, ticket_id: id, kind: "ticket", created_at: at })))
        .execute();
  });
}
