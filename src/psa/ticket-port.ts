/**
 * The ticket side of the PSA interface (./connector.ts re-exports it): tickets and notes as the
 * engine sees them, and the port a connector implements to read and write them.
 */

/** A PSA ticket as the engine sees it. */
export interface PsaTicket {
  id: number;
  /** The number people use ("T20261128.0001"). */
  number: string;
  title: string;
  description: string;
  status: number;
  priority: number;
  /** The configuration item the ticket is about. */
  assetId: number | null;
  companyId: number | null;
  /** Whether the ticket is in the partner's NOC queue (Autotask queue, ConnectWise board). */
  inNocQueue: boolean;
  /** The portal ticket id the ticket was created for, if it was ours. */
  externalRef: string | null;
  /** The PSA's last-change time (ISO 8601): the later edit wins a conflict. */
  lastActivity: string;
  /**
   * Whether that last change was made through this connection's own credentials, where the PSA says
   * who made it (absent where it does not, or before the connector knows who it writes as): a poll
   * may then leave a ticket alone at a stamp that is not yet final (docs/reliability.md, Inbox and dedup).
   */
  lastChangeOurs?: boolean;
  /**
   * The ticket's notes as `notes` returns them, where the read lists them anyway (ConnectWise reads a
   * ticket's description from its notes): listed after the ticket itself, at no extra request.
   */
  notes?: PsaNote[];
}

/** A ticket a poll's listing found: its id and last-change stamp, and the ticket itself where the listing carries it. */
export interface ChangedTicket {
  id: number;
  lastActivity: string;
  /** As `PsaTicket.lastChangeOurs`, where the listing says who made the last change. */
  lastChangeOurs?: boolean;
  ticket?: PsaTicket;
}

/** The fields that cross both ways. */
export type TicketFields = Pick<PsaTicket, "title" | "description" | "status" | "priority" | "assetId">;

/** What the PSA's answer to a ticket write shows (see `TicketPort.update`). */
export interface TicketWritten {
  /** The stamp of our write: its last change is ours. */
  lastActivity: string;
  /** The fields the answer carries (those on the ticket record itself), as stored now. */
  fields: Partial<TicketFields>;
}

export interface NewTicket extends TicketFields {
  companyId: number;
  /** The portal ticket id, kept on the PSA ticket so a lost link can be found again. */
  externalRef: string;
}

export interface PsaNote {
  id: number;
  ticketId: number;
  /** Title and body as one text. */
  text: string;
  published: boolean;
  /**
   * Who wrote it, by name ("Tom Tech"), as the connector resolves it from the PSA's user (cached);
   * when the look-up fails, a clear stand-in such as "Autotask user 29682886".
   */
  author: string;
}

export interface NewNote {
  text: string;
  published: boolean;
  /**
   * The heading that names the portal author ("Note from Nina Tech (NOC)"): the note's title where
   * the PSA has one, else its first words.
   */
  title?: string;
}

export interface TicketPort {
  get(id: number): Promise<PsaTicket | null>;
  /**
   * NOC-queue tickets changed at or after `since`, and any of `alsoIds` changed since (to see them
   * leave), each with its last-change stamp as `get` reports it (`PsaTicket.lastActivity`): a poll
   * compares it with the stamp the last sync read. Where the listing carries whole tickets at no
   * extra request, each comes as `get` would return it (`ticket`): a poll then sees that a ticket
   * holds exactly what its last sync left (only our own write moved its stamp) without reading it.
   */
  changedSince(since: Date, alsoIds: number[]): Promise<ChangedTicket[]>;
  /** The ticket created for a portal ticket (its externalRef), if there is one. */
  findByExternalRef(ref: string): Promise<PsaTicket | null>;
  /**
   * Creates a ticket in the NOC queue with the partner's defaults. After an ambiguous failure it looks
   * the ticket up by its externalRef before it would send again: never a blind second create.
   */
  create(t: NewTicket): Promise<number>;
  /**
   * Writes the fields. Where the PSA answers the write with the ticket, and that write was the last
   * one (no description, device or other write after it), returns what the answer shows: the new
   * stamp (a change of ours) and the ticket's own fields as they are now.
   */
  update(id: number, fields: Partial<TicketFields>): Promise<TicketWritten | undefined>;
  /**
   * A description as the PSA keeps it once written (pure): cut to its length limit with a marker,
   * line breaks as it stores them. `create` and `update` write exactly this; the engine keeps it as
   * the last synced value, so reading it back is not taken for an edit in the PSA.
   */
  descriptionAsStored?(text: string): string;
  notes(ticketId: number): Promise<PsaNote[]>;
  /**
   * For a PSA that reports notes in events of their own (not in its ticket events): the notes created
   * at or after `since` on any of these tickets, by id, in one listing rather than a read per ticket.
   * A poll asks it for the tickets it would leave alone, so that a note whose own event was lost is
   * still found. Absent: a ticket counts as seen only when its notes were read with it.
   */
  notesAddedSince?(since: Date, ticketIds: number[]): Promise<Array<{ id: number; ticketId: number }>>;
  /**
   * Adds a note; after an ambiguous failure a note with the same text that is not in `known` is taken
   * as the one sent.
   */
  addNote(ticketId: number, note: NewNote, known: ReadonlySet<number>): Promise<number>;
  /** The ticket a note belongs to (a note event that did not name it), or null when it is gone. */
  noteTicket(noteId: number): Promise<number | null>;
}
