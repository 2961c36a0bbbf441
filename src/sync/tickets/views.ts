import type { Db } from "../../store/db.js";
import type { SyncPortal } from "../portal-port.js";

export interface PsaTicketView {
  ticketId: number | null;
  ticketNumber: string | null;
  /** synced | pending | error | out-of-queue | not-synced */
  state: string;
  lastSyncedAt: string | null;
  lastError: string | null;
  /** A condition that does not stop the sync (a portal status with no forward row). */
  warning: string | null;
}

/** What the UI shows of the ticket sync: each ticket's PSA side, and the devices report. */
export class TicketViews {
  constructor(
    private readonly db: Db,
    private readonly portal: SyncPortal,
  ) {}

  get #k() {
    return this.db.kysely;
  }

  /** The `psa` block of a portal ticket: PSA id and number, sync state, last sync, last error. */
  async view(ticketId: number): Promise<PsaTicketView> {
    return (await this.views([ticketId])).get(ticketId) as PsaTicketView;
  }

  /** `view` for many tickets in three queries (the ticket list shows every row's sync state). */
  async views(ticketIds: number[]): Promise<Map<number, PsaTicketView>> {
    const out = new Map<number, PsaTicketView>();
    if (ticketIds.length === 0) return out;
    const [links, open, pending] = await Promise.all([
      this.#k
        .selectFrom("ticket_links")
        .selectAll()
        .where("ticket_id", "in", ticketIds)
        .where("state", "!=", "creating")
        .execute(),
      this.#k
        .selectFrom("sync_errors")
        .select(["lane", "error", "parked"])
        .where(
          "lane",
          "in",
          ticketIds.map((id) => `ticket:${id}`),
        )
        .where("resolved_at", "is", null)
        .execute(),
      this.#k
        .selectFrom("ticket_outbox")
        .select("ticket_id")
        .distinct()
        .where("ticket_id", "in", ticketIds)
        .where("processed_at", "is", null)
        .execute(),
    ]);
    const linkOf = new Map(links.map((l) => [l.ticket_id, l]));
    const errorOf = new Map(open.map((e) => [Number(e.lane.slice("ticket:".length)), e]));
    const waiting = new Set(pending.map((p) => p.ticket_id));
    for (const id of ticketIds) {
      const link = linkOf.get(id);
      const err = errorOf.get(id);
      const state =
        err?.parked === 1
          ? "error"
          : link?.state === "out-of-queue"
            ? "out-of-queue"
            : waiting.has(id)
              ? "pending"
              : link
                ? "synced"
                : "not-synced";
      out.set(id, {
        ticketId: link?.psa_ticket_id ?? null,
        ticketNumber: link?.ticket_number || null,
        state,
        lastSyncedAt: link?.synced_at ?? null,
        lastError: err?.error ?? link?.last_error ?? null,
        warning: link?.warning ?? null,
      });
    }
    return out;
  }

  /** Per ticket, the devices and alerts associated with it, with each device's configuration item. */
  async deviceReport(partnerId: number): Promise<unknown[]> {
    const tickets = await this.portal.ticketDevices(partnerId);
    const cis = await this.#k
      .selectFrom("links")
      .select(["portal_id", "psa_id"])
      .where("partner_id", "=", partnerId)
      .where("entity", "=", "device")
      .execute();
    const ci = new Map(cis.map((c) => [c.portal_id, c.psa_id]));
    return tickets.map((t) => ({
      ...t,
      devices: t.devices.map((d) => ({
        id: d.id,
        hostname: d.hostname,
        psaCiId: ci.get(d.id) ?? null,
        primary: d.primary,
      })),
    }));
  }
}
