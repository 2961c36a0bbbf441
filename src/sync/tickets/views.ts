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
  /**
   * The device whose configuration item the PSA ticket references: the ticket's own device, else the
   * first alert device that has one; null when none has.
   */
  ciDeviceId: number | null;
  /** No device of the ticket has a configuration item: the PSA ticket references none. */
  ciMissing: boolean;
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
    const [links, open, pending, refs] = await Promise.all([
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
      this.portal.ticketRefs(ticketIds),
    ]);
    const deviceIds = [...new Set([...refs.values()].flatMap((r) => r.deviceIds))];
    const withCi = new Set<number>();
    for (let i = 0; i < deviceIds.length; i += 500) {
      const rows = await this.#k
        .selectFrom("links")
        .select("portal_id")
        .where("entity", "=", "device")
        .where("portal_id", "in", deviceIds.slice(i, i + 500))
        .execute();
      for (const r of rows) withCi.add(r.portal_id);
    }
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
        ...ciOf(refs.get(id)?.deviceIds ?? [], withCi),
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

/** Which device gives the ticket its configuration item (the engine's choice, mapping.ts). */
function ciOf(deviceIds: readonly number[], withCi: ReadonlySet<number>) {
  const ciDeviceId = deviceIds.find((d) => withCi.has(d)) ?? null;
  return { ciDeviceId, ciMissing: ciDeviceId === null };
}
