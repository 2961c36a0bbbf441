import type { Selectable } from "kysely";
import type { Clock } from "../../lib/clock.js";
import type { TicketDetail } from "../../portal/types.js";
import type { PsaTicket } from "../../psa/connector.js";
import type { Db } from "../../store/db.js";
import type { TicketLinkRow } from "../../store/schema.js";
import { type PortalSide, portalSide, psaSide, type Shadow } from "./shadow.js";

export type TicketLink = Selectable<TicketLinkRow>;

/**
 * Portal ticket ↔ PSA ticket links, with their shadow. Before a create is sent, a pending-create
 * marker (state "creating", the PSA id minus the portal id) holds the place of the link.
 */
export class TicketLinks {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  get #k() {
    return this.db.kysely;
  }
  #now(): string {
    return this.clock.now().toISOString();
  }

  /** The link of a portal ticket; a pending-create marker is not a link. */
  async byTicket(partnerId: number, ticketId: number): Promise<TicketLink | null> {
    return (
      (await this.#k
        .selectFrom("ticket_links")
        .selectAll()
        .where("partner_id", "=", partnerId)
        .where("ticket_id", "=", ticketId)
        .where("state", "!=", "creating")
        .executeTakeFirst()) ?? null
    );
  }

  async byPsa(partnerId: number, psaTicketId: number): Promise<TicketLink | null> {
    return (
      (await this.#k
        .selectFrom("ticket_links")
        .selectAll()
        .where("partner_id", "=", partnerId)
        .where("psa_ticket_id", "=", psaTicketId)
        .executeTakeFirst()) ?? null
    );
  }

  /** Whether a create of this portal ticket was started (it may have reached the PSA). */
  async creating(partnerId: number, ticketId: number): Promise<boolean> {
    const marker = await this.#k
      .selectFrom("ticket_links")
      .select("id")
      .where("partner_id", "=", partnerId)
      .where("ticket_id", "=", ticketId)
      .where("state", "=", "creating")
      .executeTakeFirst();
    return marker !== undefined;
  }

  /** The pending-create marker, written before the first send (docs/reliability.md, Idempotent creates). */
  async markCreating(partnerId: number, ticketId: number): Promise<void> {
    await this.#k
      .insertInto("ticket_links")
      .values({
        partner_id: partnerId,
        ticket_id: ticketId,
        psa_ticket_id: -ticketId,
        ticket_number: "",
        state: "creating",
        shadow: "{}",
        synced_at: this.#now(),
      })
      .execute();
  }

  /** The link of a pair just made (or found again), replacing its pending-create marker. */
  async saveNew(
    partnerId: number,
    ticket: TicketDetail,
    pt: PsaTicket,
    gap?: { statusId: number; warning: string },
    /** The portal side as sent (the description with its alerts block); default: the ticket's own. */
    side: PortalSide = portalSide(ticket),
    /** The PSA stamp this sync saw everything behind (see `synced`); null: none. */
    seenAt: string | null = null,
  ): Promise<void> {
    const shadow: Shadow = {
      portal: gap ? { ...side, statusId: gap.statusId } : side,
      psa: psaSide(pt),
      portalAt: ticket.updatedAt,
      psaAt: pt.lastActivity,
    };
    await this.#k
      .deleteFrom("ticket_links")
      .where("partner_id", "=", partnerId)
      .where("ticket_id", "=", ticket.id)
      .where("state", "=", "creating")
      .execute();
    await this.#k
      .insertInto("ticket_links")
      .values({
        partner_id: partnerId,
        ticket_id: ticket.id,
        psa_ticket_id: pt.id,
        ticket_number: pt.number,
        state: "linked",
        shadow: JSON.stringify(shadow),
        synced_at: this.#now(),
        warning: gap?.warning ?? null,
        // The files are brought in step right after a link is made (the periodic check can wait).
        files_checked_at: this.#now(),
        psa_seen_at: seenAt,
      })
      .execute();
  }

  async setState(id: number, state: "linked" | "out-of-queue", stamp: boolean): Promise<void> {
    await this.#k
      .updateTable("ticket_links")
      .set({ state, ...(stamp ? { synced_at: this.#now() } : {}) })
      .where("id", "=", id)
      .execute();
  }

  /**
   * A reconcile done: the new shadow, no error, the warning (or none), and the PSA's last-change
   * stamp if the reconcile saw everything behind it (null: a poll reads the ticket again).
   */
  async synced(id: number, shadow: Shadow, warning: string | null, seenAt: string | null): Promise<void> {
    await this.#k
      .updateTable("ticket_links")
      .set({
        shadow: JSON.stringify(shadow),
        synced_at: this.#now(),
        last_error: null,
        state: "linked",
        warning,
        psa_seen_at: seenAt,
      })
      .where("id", "=", id)
      .execute();
  }

  /** The PSA ticket's files were just listed (the periodic file check, ./file-check.ts). */
  async filesChecked(id: number): Promise<void> {
    await this.#k
      .updateTable("ticket_links")
      .set({ files_checked_at: this.#now() })
      .where("id", "=", id)
      .execute();
  }

  /** The time now, by the links' clock (when a PSA read was made, for `seenStamp`). */
  now(): Date {
    return this.clock.now();
  }

  /**
   * What a poll compares a listed ticket with, by PSA ticket id: the stamp the last sync saw
   * everything behind (or null) and the shadow it left. Linked tickets only: one out of the queue is
   * read to see it come back.
   */
  async seenStates(
    partnerId: number,
    psaTicketIds: number[],
  ): Promise<Map<number, { id: number; seenAt: string | null; shadow: string }>> {
    const seen = new Map<number, { id: number; seenAt: string | null; shadow: string }>();
    const ids = [...new Set(psaTicketIds)];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.#k
        .selectFrom("ticket_links")
        .select(["id", "psa_ticket_id", "psa_seen_at", "shadow"])
        .where("partner_id", "=", partnerId)
        .where("state", "=", "linked")
        .where("psa_ticket_id", "in", ids.slice(i, i + 500))
        .execute();
      for (const r of rows) seen.set(r.psa_ticket_id, { id: r.id, seenAt: r.psa_seen_at, shadow: r.shadow });
    }
    return seen;
  }

  /**
   * A poll found the ticket exactly as its last sync left it at a newer stamp: that stamp is seen.
   * Only while the shadow is still the one compared (a sync in between has the last word).
   */
  async seen(id: number, shadow: string, seenAt: string): Promise<void> {
    await this.#k
      .updateTable("ticket_links")
      .set({ psa_seen_at: seenAt })
      .where("id", "=", id)
      .where("shadow", "=", shadow)
      .execute();
  }

  /** A write of ours followed the read whose stamp was stored as seen: the next poll reads the ticket. */
  async unseen(partnerId: number, ticketId: number): Promise<void> {
    await this.#k
      .updateTable("ticket_links")
      .set({ psa_seen_at: null })
      .where("partner_id", "=", partnerId)
      .where("ticket_id", "=", ticketId)
      .execute();
  }

  /** The PSA tickets of the partner's links, most recently synced first (a poll looks at them too). */
  async recentPsaIds(partnerId: number, limit: number): Promise<number[]> {
    const rows = await this.#k
      .selectFrom("ticket_links")
      .select("psa_ticket_id")
      .where("partner_id", "=", partnerId)
      .where("state", "!=", "creating")
      .orderBy("synced_at", "desc")
      .limit(limit)
      .execute();
    return rows.map((r) => r.psa_ticket_id);
  }
}
