import type { PsaNote } from "../../psa/connector.js";
import type { Db } from "../../store/db.js";
import type { SyncPortal } from "../portal-port.js";
import type { TicketLink } from "./links.js";
import type { Ctx } from "./mapping.js";

/** Notes follow both ways; a note is created once per side and never overwritten (merged, not replaced). */
export class NoteSync {
  constructor(
    private readonly db: Db,
    private readonly portal: SyncPortal,
  ) {}

  get #k() {
    return this.db.kysely;
  }

  async #link(partnerId: number, noteId: number, psaNoteId: number, psaTicketId: number): Promise<void> {
    await this.#k
      .insertInto("note_links")
      .values({ partner_id: partnerId, note_id: noteId, psa_note_id: psaNoteId, psa_ticket_id: psaTicketId })
      .execute();
  }

  /**
   * Portal notes not yet in the PSA go there; with `pull`, PSA notes not yet in the portal come here
   * (those given as `read` when the ticket's read listed them, else listed now). Returns whether a
   * note was written to the PSA.
   */
  async sync(
    ctx: Ctx,
    ticketId: number,
    psaTicketId: number,
    pull: boolean,
    read?: readonly PsaNote[],
  ): Promise<boolean> {
    const links = await this.#k
      .selectFrom("note_links")
      .select(["note_id", "psa_note_id"])
      .where("partner_id", "=", ctx.partnerId)
      .where("psa_ticket_id", "=", psaTicketId)
      .execute();
    const linkedPortal = new Set(links.map((l) => l.note_id));
    const linkedPsa = new Set(links.map((l) => l.psa_note_id));
    let wrote = false;
    for (const n of await this.portal.notes(ticketId)) {
      if (linkedPortal.has(n.id)) continue;
      const psaNoteId = await ctx.session.tickets.addNote(
        psaTicketId,
        { text: n.text, published: n.published, title: noteTitle(n.author) },
        linkedPsa,
      );
      linkedPsa.add(psaNoteId);
      wrote = true;
      await this.#link(ctx.partnerId, n.id, psaNoteId, psaTicketId);
    }
    if (!pull) return wrote;
    const psaNotes = read ? [...read] : await ctx.session.tickets.notes(psaTicketId);
    for (const pn of psaNotes.sort((a, b) => a.id - b.id)) {
      if (linkedPsa.has(pn.id)) continue;
      const note = await this.portal.addNote(
        ticketId,
        { text: pn.text || "(empty note)", published: pn.published },
        pn.author,
      );
      await this.#link(ctx.partnerId, note.id, pn.id, psaTicketId);
    }
    return wrote;
  }

  /**
   * An internal note of nocbridge's own on the portal ticket (a conflict resolved, the NOC queue left
   * or re-entered). It is linked to a placeholder PSA note id (minus its own id, as the
   * pending-create marker does for tickets) so that `sync` never copies it to the PSA as if a
   * portal user had written it: that copy was a second PSA write for one edit (PATCH + log note
   * when the portal won a conflict), found by test/sync/tickets-property.test.ts.
   */
  async systemNote(ctx: Ctx, link: TicketLink, text: string): Promise<void> {
    const note = await this.portal.addNote(link.ticket_id, { text, published: false }, "nocbridge");
    await this.#link(ctx.partnerId, note.id, -note.id, link.psa_ticket_id);
  }
}

/** The heading of a portal note in the PSA: who wrote it, and that it comes from the NOC. */
export function noteTitle(author: string): string {
  const name = author.trim();
  return name ? `Note from ${name} (NOC)` : "Note from the NOC";
}
