import type {
  NewTicket,
  PsaNote,
  PsaTicket,
  SessionContext,
  TicketFields,
  TicketPort,
} from "../connector.js";
import { type AutotaskApi, queryAll } from "./api.js";
import type { AutotaskSettings } from "./settings.js";
import { createDefaults, publishedFrom, publishOf } from "./ticket-defaults.js";
import type { QueryCondition, Ticket, TicketNote } from "./types.js";

/** The title of the notes nocbridge writes; a note with it shows its description only. */
export const NOTE_TITLE = "NOC note";

/** An Autotask ticket as the engine sees it; `queueId` is the partner's NOC queue. */
export function toPsaTicket(row: Ticket, queueId: number | null): PsaTicket {
  return {
    id: row.id,
    number: String(row.ticketNumber ?? ""),
    title: String(row.title ?? ""),
    description: String(row.description ?? ""),
    status: Number(row.status),
    priority: Number(row.priority),
    assetId: row.configurationItemID ?? null,
    companyId: typeof row.companyID === "number" ? row.companyID : null,
    inNocQueue: row.queueID === queueId,
    externalRef: row.externalID === undefined || row.externalID === null ? null : String(row.externalID),
    lastActivity: String(row.lastActivityDate ?? ""),
  };
}

/** The engine's ticket fields under Autotask's names (only those given). */
function ticketBody(f: Partial<TicketFields>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (f.title !== undefined) body["title"] = f.title;
  if (f.description !== undefined) body["description"] = f.description;
  if (f.status !== undefined) body["status"] = f.status;
  if (f.priority !== undefined) body["priority"] = f.priority;
  if (f.assetId !== undefined) body["configurationItemID"] = f.assetId;
  return body;
}

/** A note's text as the portal shows it: its title (unless it is ours) and its description. */
function noteText(n: TicketNote): string {
  return [n.title && n.title !== NOTE_TITLE ? String(n.title) : "", String(n.description ?? "")]
    .filter(Boolean)
    .join("\n");
}

/**
 * Tickets and ticket notes in Autotask (docs/autotask.md, Entities and fields used): the NOC queue
 * is the partner's queue; creates carry the queue, the allocation (billing code), the ticket
 * defaults and the portal ticket id as externalID, by which a create whose answer was lost is found
 * again.
 */
export function autotaskTickets(api: AutotaskApi, s: AutotaskSettings, ctx: SessionContext): TicketPort {
  const byExternalId = async (ref: string): Promise<Ticket | null> => {
    const found = await queryAll<Ticket>(api, "Tickets", {
      filter: [{ op: "eq", field: "externalID", value: ref }],
    });
    return found[0] ?? null;
  };
  return {
    async get(id) {
      const row = await api.get<Ticket>("Tickets", id);
      return row ? toPsaTicket(row, s.queueId) : null;
    },

    async changedSince(since, alsoIds) {
      const queue: QueryCondition = { op: "eq", field: "queueID", value: s.queueId };
      const scope: QueryCondition =
        alsoIds.length > 0 ? { op: "or", items: [queue, { op: "in", field: "id", value: alsoIds }] } : queue;
      const rows = await queryAll<Ticket>(api, "Tickets", {
        filter: [{ op: "gte", field: "lastActivityDate", value: since.toISOString() }, scope],
        includeFields: ["id", "lastActivityDate"],
      });
      return rows.map((r) => ({ id: r.id, lastActivity: String(r.lastActivityDate ?? "") }));
    },

    async findByExternalRef(ref) {
      const row = await byExternalId(ref);
      return row ? toPsaTicket(row, s.queueId) : null;
    },

    async create(t: NewTicket) {
      const body: Record<string, unknown> = {
        ...createDefaults(s, ctx.clock.now()),
        companyID: t.companyId,
        queueID: s.queueId,
        billingCodeID: s.billingCodeId,
        title: t.title,
        description: t.description,
        externalID: t.externalRef,
        status: t.status,
        priority: t.priority,
        configurationItemID: t.assetId,
      };
      if (body["configurationItemID"] === null) delete body["configurationItemID"];
      // Never a blind retry: after an ambiguous failure the ticket is looked up by externalID first.
      return api.createIdempotent(
        "Tickets",
        body,
        async () => (await byExternalId(t.externalRef))?.id ?? null,
      );
    },

    async update(id, fields) {
      await api.update("Tickets", { id, ...ticketBody(fields) });
    },

    async notes(ticketId) {
      const rows = await queryAll<TicketNote>(api, "TicketNotes", {
        filter: [{ op: "eq", field: "ticketID", value: ticketId }],
      });
      return rows.map(
        (n): PsaNote => ({
          id: n.id,
          ticketId: n.ticketID,
          text: noteText(n),
          published: publishedFrom(n.publish),
          author: `Autotask resource ${n.creatorResourceID ?? "?"}`,
        }),
      );
    },

    async addNote(ticketId, note, known) {
      const body = {
        ticketID: ticketId,
        title: NOTE_TITLE,
        description: note.text,
        noteType: 1,
        publish: publishOf(note.published, s),
      };
      // After an ambiguous failure, a note of this ticket with the same text that is not one we know
      // is the one sent.
      return api.createChildIdempotent("Tickets", ticketId, "Notes", body, async () => {
        const found = await queryAll<TicketNote>(api, "TicketNotes", {
          filter: [
            { op: "eq", field: "ticketID", value: ticketId },
            { op: "eq", field: "description", value: note.text },
          ],
        });
        return found.find((f) => !known.has(f.id))?.id ?? null;
      });
    },

    async noteTicket(noteId) {
      const [note] = await queryAll<TicketNote>(api, "TicketNotes", {
        filter: [{ op: "eq", field: "id", value: noteId }],
      });
      return note && typeof note.ticketID === "number" ? note.ticketID : null;
    },
  };
}
