import type {
  NewTicket,
  PsaNote,
  PsaTicket,
  SessionContext,
  TicketFields,
  TicketPort,
} from "../connector.js";
import { fitText } from "../text.js";
import { type AutotaskApi, queryAll } from "./api.js";
import { type PeopleCache, resourceNames, standIn } from "./people.js";
import type { AutotaskSettings } from "./settings.js";
import { createDefaults, publishedFrom, publishOf } from "./ticket-defaults.js";
import type { QueryCondition, Ticket, TicketNote } from "./types.js";

/** The title of the notes nocbridge writes without an author; a note with it shows its description only. */
export const NOTE_TITLE = "NOC note";
/** The title of a portal author's note ("Note from Nina Tech (NOC)"): shown like NOTE_TITLE. */
const AUTHOR_TITLE = /^Note from .+ \(NOC\)$|^Note from the NOC$/;
/**
 * Longest Tickets.description Autotask accepts: 8,000 characters (the entity's field information and
 * Autotask's "Character limits of text fields" page, docs/autotask.md, Ticket description).
 */
export const DESCRIPTION_MAX = 8000;
/** Longest TicketNotes.title: 250 characters (same sources). */
export const NOTE_TITLE_MAX = 250;

/** Ticket ids per note listing of `notesAddedSince` (an `in` condition of Autotask's query stays short). */
const NOTE_QUERY_IDS = 200;

/** The description as Autotask keeps it: cut to its limit with a marker. */
export const descriptionAsStored = (text: string) => fitText(text, DESCRIPTION_MAX);

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
  if (f.description !== undefined) body["description"] = descriptionAsStored(f.description);
  if (f.status !== undefined) body["status"] = f.status;
  if (f.priority !== undefined) body["priority"] = f.priority;
  if (f.assetId !== undefined) body["configurationItemID"] = f.assetId;
  return body;
}

/** A note's text as the portal shows it: its title (unless it is ours) and its description. */
function noteText(n: TicketNote): string {
  const ours = n.title === NOTE_TITLE || AUTHOR_TITLE.test(String(n.title ?? ""));
  return [n.title && !ours ? String(n.title) : "", String(n.description ?? "")].filter(Boolean).join("\n");
}

/**
 * Tickets and ticket notes in Autotask (docs/autotask.md, Entities and fields used): the NOC queue
 * is the partner's queue; creates carry the queue, the allocation (billing code), the ticket
 * defaults and the portal ticket id as externalID, by which a create whose answer was lost is found
 * again.
 */
export function autotaskTickets(
  api: AutotaskApi,
  s: AutotaskSettings,
  ctx: SessionContext,
  people: PeopleCache = new Map(),
): TicketPort {
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
      // Whole rows, at no extra request: a ticket only our own write touched since its last sync is
      // recognised from them without a read of its own.
      const rows = await queryAll<Ticket>(api, "Tickets", {
        filter: [{ op: "gte", field: "lastActivityDate", value: since.toISOString() }, scope],
      });
      return rows.map((r) => {
        const ticket = toPsaTicket(r, s.queueId);
        return { id: ticket.id, lastActivity: ticket.lastActivity, ticket };
      });
    },

    async notesAddedSince(since, ticketIds) {
      const found: Array<{ id: number; ticketId: number }> = [];
      const ids = [...new Set(ticketIds)];
      for (let i = 0; i < ids.length; i += NOTE_QUERY_IDS) {
        const rows = await queryAll<TicketNote>(api, "TicketNotes", {
          filter: [
            { op: "gte", field: "createDateTime", value: since.toISOString() },
            { op: "in", field: "ticketID", value: ids.slice(i, i + NOTE_QUERY_IDS) },
          ],
          includeFields: ["id", "ticketID"],
        });
        for (const r of rows) found.push({ id: r.id, ticketId: r.ticketID });
      }
      return found;
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
        description: descriptionAsStored(t.description),
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
      // Its answer is the id alone: a poll's listing carries whole tickets instead (changedSince).
      await api.update("Tickets", { id, ...ticketBody(fields) });
      return undefined;
    },

    descriptionAsStored,

    async notes(ticketId) {
      const rows = await queryAll<TicketNote>(api, "TicketNotes", {
        filter: [{ op: "eq", field: "ticketID", value: ticketId }],
      });
      const creators = rows.map((n) => n.creatorResourceID).filter((x): x is number => typeof x === "number");
      const names = creators.length > 0 ? await resourceNames(api, people, ctx, creators) : new Map();
      return rows.map(
        (n): PsaNote => ({
          id: n.id,
          ticketId: n.ticketID,
          text: noteText(n),
          published: publishedFrom(n.publish),
          author: authorOf(n, names),
        }),
      );
    },

    async addNote(ticketId, note, known) {
      const body = {
        ticketID: ticketId,
        title: note.title ? fitText(note.title, NOTE_TITLE_MAX, "…") : NOTE_TITLE,
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

/** A note's author by name: its creating resource's, else a stand-in naming the id. */
function authorOf(n: TicketNote, names: ReadonlyMap<number, string>): string {
  const id = n.creatorResourceID;
  if (typeof id === "number") return names.get(id) ?? standIn(id);
  const contact = (n as Record<string, unknown>)["createdByContactID"];
  if (typeof contact === "number") return `Autotask contact ${contact}`;
  return "Autotask";
}
