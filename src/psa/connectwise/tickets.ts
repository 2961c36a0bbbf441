/**
 * Service tickets behind the TicketPort (docs/connectwise.md, Tickets and notes). The NOC queue is
 * the partner's service board; the portal ticket id lives in `externalXRef` as "nocbridge:<id>"; the
 * ticket's device is its first configuration link; its description is the text of its first
 * discussion note (ConnectWise's "initial description": `initialDescription` is write-only, and the
 * API keeps it as that note); its last change is `_info.lastUpdated`, and `_info.updatedBy` says
 * whether it was ours (the writer our own writes are answered with).
 */
import type {
  NewNote,
  NewTicket,
  PsaNote,
  PsaTicket,
  SessionContext,
  TicketFields,
  TicketPort,
  TicketWritten,
} from "../connector.js";
import { isPsaError, PsaError } from "../errors.js";
import { fitText } from "../text.js";
import type { ConnectWiseApi } from "./api.js";
import type { ConnectWiseCache } from "./cache.js";
import { and, chunks, date, inList, int, or, str } from "./query.js";
import type { ConnectWiseSettings } from "./settings.js";
import type { CwNote, CwRef, CwTicket, PatchOp } from "./types.js";

/** Prefix of the portal ticket id in `externalXRef` (other integrations write that field too). */
export const EXTERNAL_REF_PREFIX = "nocbridge:";
/** The description note of a ticket created without a description (ConnectWise needs some text). */
export const EMPTY_DESCRIPTION = "(no description)";
const EMPTY_NOTE = "(empty note)";
/**
 * Longest description nocbridge writes. ConnectWise's API reference gives the initial description
 * (and a note's text) no maximum length (docs/connectwise.md, Ticket description); this bound keeps
 * one request reasonable and matches the portal's own longest note.
 */
export const DESCRIPTION_MAX = 32000;
/** The cut marker, on the same line: the API keeps line breaks as spaces. */
const CUT_MARK = " [… cut to fit; the whole text is on the NOC portal ticket]";
const SUMMARY_MAX = 100;
const TICKET_FIELDS = [
  "summary",
  "board/id",
  "status/id",
  "priority/id",
  "company/id",
  "externalXRef",
  "_info/lastUpdated",
  "_info/updatedBy",
];
const NOTE_FIELDS = [
  "ticketId",
  "text",
  "detailDescriptionFlag",
  "internalAnalysisFlag",
  "resolutionFlag",
  "member",
  "contact",
  "createdBy",
];
/** Ids per `id in (…)` query: short enough for one URL in most cases (longer ones go to /search). */
const IDS_PER_QUERY = 200;

/** The API stores \r and \n as spaces and drops \b and \f: texts are compared the way it keeps them. */
export const normText = (s: string) =>
  s
    .replace(/\r\n|\r|\n/g, " ")
    .replace(/[\b\f]/g, "")
    .trim();

/** How the API keeps a text: \r and \n as spaces, \b and \f dropped. */
const asKept = (s: string) => s.replace(/\r\n|\r|\n/g, " ").replace(/[\b\f]/g, "");

/** A description as ConnectWise keeps it ("" for none: the connector writes a placeholder then). */
export function descriptionAsStored(text: string): string {
  if (text.trim() === "") return "";
  return fitText(asKept(text), DESCRIPTION_MAX, CUT_MARK);
}

const refId = (r: CwRef | null | undefined): number | null => (typeof r?.id === "number" ? r.id : null);

export function externalRefOf(xref: string | null | undefined): string | null {
  if (typeof xref !== "string" || !xref.startsWith(EXTERNAL_REF_PREFIX)) return null;
  const ref = xref.slice(EXTERNAL_REF_PREFIX.length);
  return ref === "" ? null : ref;
}

function summaryOf(title: string): string {
  const t = title.trim() === "" ? "(no title)" : title;
  return t.length > SUMMARY_MAX ? `${t.slice(0, SUMMARY_MAX - 1)}…` : t;
}

/** Which of a ticket's notes is its description: the first discussion note (lowest id). */
function descriptionNoteOf(notes: CwNote[]): CwNote | undefined {
  return notes.filter((n) => n.detailDescriptionFlag === true).sort((a, b) => a.id - b.id)[0];
}

export function connectwiseTickets(
  api: ConnectWiseApi,
  s: ConnectWiseSettings,
  ctx: SessionContext,
  cache: ConnectWiseCache,
): TicketPort {
  const ticketPath = (id: number) => `service/tickets/${int(id)}`;

  const descriptionNote = async (ticketId: number): Promise<CwNote | null> => {
    const [n] = await api.all<CwNote>(`${ticketPath(ticketId)}/notes`, {
      conditions: "detailDescriptionFlag = true",
      orderBy: "id asc",
      fields: ["text", "detailDescriptionFlag"],
      pageSize: 1,
      limit: 1,
    });
    if (n) cache.descriptionNote.set(ticketId, n.id);
    return n ?? null;
  };

  const links = async (ticketId: number): Promise<number[]> =>
    (await api.all<CwRef>(`${ticketPath(ticketId)}/configurations`, { fields: ["id"] })).map((c) => c.id);

  /** Whether ConnectWise names us as the ticket's last writer (unknown before our first write: no). */
  const ours = (t: CwTicket): boolean => {
    const by = t._info?.updatedBy;
    return typeof by === "string" && by !== "" && by === cache.ourUpdater;
  };

  /** Learns who our writes are answered with (the record was just written by us). */
  const learnUpdater = (rec: { _info?: CwTicket["_info"] } | null | undefined): void => {
    const by = rec?._info?.updatedBy;
    if (typeof by === "string" && by !== "") cache.ourUpdater = by;
  };

  const toPsa = (t: CwTicket, description: CwNote | null, assets: number[], notes?: PsaNote[]): PsaTicket => {
    const text = description?.text ?? "";
    return {
      id: t.id,
      number: String(t.id),
      title: t.summary ?? "",
      description: text === EMPTY_DESCRIPTION ? "" : text,
      status: refId(t.status) ?? 0,
      priority: refId(t.priority) ?? 0,
      assetId: assets[0] ?? null,
      companyId: refId(t.company),
      inNocQueue: s.boardId !== null && refId(t.board) === s.boardId,
      externalRef: externalRefOf(t.externalXRef),
      lastActivity: t._info?.lastUpdated ?? "",
      lastChangeOurs: ours(t),
      ...(notes ? { notes } : {}),
    };
  };

  // The ticket first, then its notes and configuration links: whatever changed after the ticket was
  // read is either in these lists or carries a newer stamp. The description is the first discussion
  // note, so one listing of all notes gives both the description and the notes.
  const get = async (id: number): Promise<PsaTicket | null> => {
    const t = await api.get<CwTicket>(ticketPath(id), TICKET_FIELDS);
    if (!t) return null;
    try {
      const [all, assets] = await Promise.all([listNotes(id), links(id)]);
      return toPsa(t, descriptionNoteOf(all) ?? null, assets, notesOf(id, all));
    } catch (e) {
      // Deleted between the reads.
      if (isPsaError(e) && e.code === "NOT_FOUND") return null;
      throw e;
    }
  };

  const idByRef = async (ref: string): Promise<number | null> => {
    const [t] = await api.all<CwTicket>("service/tickets", {
      conditions: `externalXRef = ${str(`${EXTERNAL_REF_PREFIX}${ref}`)}`,
      orderBy: "id asc",
      fields: ["externalXRef"],
      pageSize: 1,
      limit: 1,
    });
    return t && externalRefOf(t.externalXRef) === ref ? t.id : null;
  };

  /** Links the ticket to exactly `assetId` (or to none). */
  const setAsset = async (ticketId: number, assetId: number | null, known?: number[]): Promise<void> => {
    const have = known ?? (await links(ticketId));
    for (const c of have)
      if (c !== assetId) await api.delete(`${ticketPath(ticketId)}/configurations/${int(c)}`);
    if (assetId === null || have.includes(assetId)) return;
    await api.createIdempotent(`${ticketPath(ticketId)}/configurations`, { id: assetId }, async () =>
      (await links(ticketId)).includes(assetId) ? { id: assetId } : null,
    );
  };

  const setDescription = async (ticketId: number, text: string): Promise<void> => {
    const value = text.trim() === "" ? EMPTY_DESCRIPTION : descriptionAsStored(text);
    const cached = cache.descriptionNote.get(ticketId);
    const noteId = cached ?? (await descriptionNote(ticketId))?.id;
    if (noteId !== undefined) {
      try {
        await api.patch(`${ticketPath(ticketId)}/notes/${int(noteId)}`, [
          { op: "replace", path: "text", value },
        ]);
        return;
      } catch (e) {
        // A cached note that was deleted: look again once.
        if (!(cached !== undefined && isPsaError(e) && e.code === "NOT_FOUND")) throw e;
        cache.descriptionNote.delete(ticketId);
        return setDescription(ticketId, text);
      }
    }
    const created = await api.create<CwNote>(`${ticketPath(ticketId)}/notes`, {
      text: value,
      detailDescriptionFlag: true,
    });
    cache.descriptionNote.set(ticketId, created.id);
  };

  const toNote = (ticketId: number, n: CwNote): PsaNote => {
    const internal = n.internalAnalysisFlag === true;
    return {
      id: n.id,
      ticketId,
      text: n.text ?? "",
      published: !internal && (n.detailDescriptionFlag === true || n.resolutionFlag === true),
      author: n.member?.name || n.member?.identifier || n.createdBy || n.contact?.name || "ConnectWise",
    };
  };

  /** All of a ticket's notes, the description note among them (remembered, as is each note's ticket). */
  const listNotes = async (ticketId: number): Promise<CwNote[]> => {
    const all = await api.all<CwNote>(`${ticketPath(ticketId)}/notes`, { fields: NOTE_FIELDS });
    const description = descriptionNoteOf(all);
    if (description) cache.descriptionNote.set(ticketId, description.id);
    for (const n of all) cache.noteTicket.set(n.id, ticketId);
    return all;
  };

  /** The notes as the engine sees them: all but the description note, oldest first. */
  const notesOf = (ticketId: number, all: CwNote[]): PsaNote[] => {
    const description = descriptionNoteOf(all);
    return all
      .filter((n) => n.id !== description?.id)
      .sort((a, b) => a.id - b.id)
      .map((n) => toNote(ticketId, n));
  };

  const notes = async (ticketId: number): Promise<PsaNote[]> => notesOf(ticketId, await listNotes(ticketId));

  return {
    get,

    async changedSince(
      since: Date,
      alsoIds: number[],
    ): Promise<Array<{ id: number; lastActivity: string; lastChangeOurs: boolean }>> {
      const changed = `lastUpdated >= ${date(since)}`;
      const board = s.boardId === null ? undefined : `board/id = ${int(s.boardId)}`;
      const extra = chunks([...new Set(alsoIds)], IDS_PER_QUERY);
      const scopes = [
        or(board, extra[0] ? inList("id", extra[0]) : undefined),
        ...extra.slice(1).map((c) => inList("id", c)),
      ];
      const found = new Map<number, { lastActivity: string; lastChangeOurs: boolean }>();
      for (const scope of scopes) {
        if (scope === "") continue;
        for (const t of await api.all<CwTicket>("service/tickets", {
          conditions: and(changed, scope),
          fields: ["_info/lastUpdated", "_info/updatedBy"],
        })) {
          found.set(t.id, { lastActivity: t._info?.lastUpdated ?? "", lastChangeOurs: ours(t) });
        }
      }
      return [...found].map(([id, r]) => ({ id, ...r }));
    },

    async findByExternalRef(ref: string): Promise<PsaTicket | null> {
      const id = await idByRef(ref);
      return id === null ? null : get(id);
    },

    async create(t: NewTicket): Promise<number> {
      if (s.boardId === null) {
        throw new PsaError({
          code: "INVALID_REQUEST",
          retryable: false,
          message: "expected a service board in the ConnectWise settings, got none",
        });
      }
      for (const [field, ok] of [
        ["title", typeof t.title === "string"],
        ["description", typeof t.description === "string"],
        ["externalRef", typeof t.externalRef === "string" && t.externalRef !== ""],
        ["companyId", Number.isSafeInteger(t.companyId)],
      ] as const) {
        if (!ok)
          throw new PsaError({
            code: "INVALID_REQUEST",
            retryable: false,
            message: `expected the new ticket's ${field}, got none`,
          });
      }
      const status = t.status > 0 ? t.status : s.defaultStatusId;
      const ref = (id: number | null) => (id === null ? {} : { id });
      const body: Record<string, unknown> = {
        summary: summaryOf(t.title),
        board: { id: s.boardId },
        company: { id: t.companyId },
        ...(status ? { status: { id: status } } : {}),
        ...(t.priority > 0 ? { priority: { id: t.priority } } : {}),
        ...(s.typeId ? { type: ref(s.typeId) } : {}),
        ...(s.subTypeId ? { subType: ref(s.subTypeId) } : {}),
        ...(s.itemId ? { item: ref(s.itemId) } : {}),
        ...(s.sourceId ? { source: ref(s.sourceId) } : {}),
        ...(s.serviceLocationId ? { serviceLocation: ref(s.serviceLocationId) } : {}),
        externalXRef: `${EXTERNAL_REF_PREFIX}${t.externalRef}`,
        initialDescription:
          t.description.trim() === "" ? EMPTY_DESCRIPTION : descriptionAsStored(t.description),
      };
      // Never a blind second create: after an ambiguous failure the ticket is looked up by its ref.
      const created = await api.createIdempotent<{ id: number; _info?: CwTicket["_info"] }>(
        "service/tickets",
        body,
        async () => {
          const id = await idByRef(t.externalRef);
          return id === null ? null : { id };
        },
      );
      learnUpdater(created);
      if (t.assetId !== null) {
        try {
          await setAsset(created.id, t.assetId, []);
        } catch (e) {
          // The ticket exists: its id must reach the caller. The link is repaired by a later update.
          ctx.logger.warn(
            { partnerId: ctx.partnerId, ticketId: created.id, err: isPsaError(e) ? e.message : String(e) },
            "ConnectWise: the new ticket's configuration link failed",
          );
        }
      }
      return created.id;
    },

    async update(id: number, fields: Partial<TicketFields>): Promise<TicketWritten | undefined> {
      const ops: PatchOp[] = [];
      if (fields.title !== undefined)
        ops.push({ op: "replace", path: "summary", value: summaryOf(fields.title) });
      if (fields.status !== undefined)
        ops.push({ op: "replace", path: "status", value: { id: fields.status } });
      if (fields.priority !== undefined)
        ops.push({ op: "replace", path: "priority", value: { id: fields.priority } });
      const after = ops.length > 0 ? await api.patch<CwTicket | null>(ticketPath(id), ops) : null;
      learnUpdater(after);
      if (fields.description !== undefined) await setDescription(id, fields.description);
      if (fields.assetId !== undefined) await setAsset(id, fields.assetId);
      // The PATCH's answer is the ticket as written; a later note or link write may stamp it again.
      const stamp = after?._info?.lastUpdated;
      if (!after || !stamp || fields.description !== undefined || fields.assetId !== undefined)
        return undefined;
      return {
        lastActivity: stamp,
        fields: {
          title: after.summary ?? "",
          status: refId(after.status) ?? 0,
          priority: refId(after.priority) ?? 0,
        },
      };
    },

    descriptionAsStored,

    notes,

    async addNote(ticketId: number, note: NewNote, known: ReadonlySet<number>): Promise<number> {
      const body0 = note.text.trim() === "" ? EMPTY_NOTE : note.text;
      // A note has no title here: the author's heading leads its text.
      const text = note.title ? `${note.title}: ${body0}` : body0;
      const body = { text, detailDescriptionFlag: note.published, internalAnalysisFlag: !note.published };
      const want = normText(text);
      const created = await api.createIdempotent<{ id: number }>(
        `${ticketPath(ticketId)}/notes`,
        body,
        async () => {
          const same = (await notes(ticketId)).find(
            (n) => !known.has(n.id) && n.published === note.published && normText(n.text) === want,
          );
          return same ? { id: same.id } : null;
        },
      );
      cache.noteTicket.set(created.id, ticketId);
      return created.id;
    },

    async noteTicket(noteId: number): Promise<number | null> {
      // ConnectWise reads notes only under their ticket, and its callbacks always name the ticket:
      // a note id is known here from the notes read or written through this connection.
      return cache.noteTicket.get(noteId) ?? null;
    },
  };
}
