import { type Actor, requirePermission } from "./access.js";
import { checkText } from "./checks.js";
import type { PageQuery, PortalContext } from "./context.js";
import { bool, toNote } from "./convert.js";
import type { ChangeOrigin, Tickets } from "./tickets.js";
import type { Note, Page } from "./types.js";

/** A ticket's notes, published (the customer sees them) or internal. */
export class Notes {
  readonly #ctx: PortalContext;
  readonly #tickets: Tickets;

  constructor(ctx: PortalContext, tickets: Tickets) {
    this.#ctx = ctx;
    this.#tickets = tickets;
  }

  async add(
    actor: Actor,
    ticketId: number,
    input: { text: string; published: boolean },
    o: ChangeOrigin = {},
  ): Promise<Note> {
    const ticket = await this.#tickets.row(actor, ticketId);
    requirePermission(actor, "data:write");
    checkText("text", input.text);
    const note = await this.#ctx.k.transaction().execute(async (trx) => {
      const now = this.#ctx.now();
      const row = await trx
        .insertInto("ticket_notes")
        .values({
          ticket_id: ticketId,
          text: input.text,
          published: bool(input.published),
          author: o.author ?? actor.name,
          created_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      // A note is not an edit of the ticket's fields: updated_at (the field-conflict timestamp) stays.
      if (o.origin !== "psa") await this.#tickets.announce(trx, ticket.partner_id, ticketId, "note");
      return toNote(row);
    });
    if (o.origin !== "psa") this.#ctx.wake("outbox", ticket.partner_id);
    return note;
  }

  async list(
    actor: Actor,
    ticketId: number,
    filter: PageQuery & { published?: boolean } = {},
  ): Promise<Page<Note>> {
    await this.#tickets.row(actor, ticketId);
    let q = this.#ctx.k.selectFrom("ticket_notes").where("ticket_id", "=", ticketId);
    if (filter.published !== undefined) q = q.where("published", "=", bool(filter.published));
    return this.#ctx.page(q.selectAll().orderBy("id"), q, filter, toNote);
  }
}
