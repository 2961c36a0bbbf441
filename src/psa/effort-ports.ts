/**
 * The seam's optional ports for effort and files on tickets: time entries (the PSA's record of NOC
 * effort) and attachments. A connector whose PSA has neither leaves them out of its session.
 */

// ---------------------------------------------------------------- time entries (effort)

/** One portal time entry as the PSA should record it. Times are ISO 8601 UTC. */
export interface TimeEntryInput {
  /** The PSA resource (person) the time is booked for. */
  resourceId: number;
  /** The resource's role for the entry (Autotask: one of the resource's service-desk roles). */
  roleId: number;
  /** The work type (Autotask billing code of the work-type kind); null: the PSA's default. */
  workTypeId: number | null;
  startedAt: string;
  endedAt: string;
  hours: number;
  summary: string;
  internalNote: string;
  billable: boolean;
}

/** A PSA resource, for the portal-user ↔ resource map. */
export interface PsaResource {
  id: number;
  name: string;
  email: string;
  active: boolean;
  /** The role a time entry takes when the map names none; null when the resource has none. */
  defaultRoleId: number | null;
}

export interface TimeEntryPort {
  /**
   * The Setup defaults: the resource that unmapped users' entries go to, its role (null: the
   * resource's default role) and the work type of entries that name none.
   */
  readonly defaults: { resourceId: number | null; roleId: number | null; workTypeId: number | null };
  /**
   * Creates the entry on a ticket. With `maybeSent` (an earlier attempt's outcome is unknown) and after
   * an ambiguous failure, it first looks for an entry of the same ticket, resource and start time and
   * returns that one: never a blind second create.
   */
  create(psaTicketId: number, entry: TimeEntryInput, o?: { maybeSent?: boolean }): Promise<number>;
  /** The entry of this ticket with the entry's resource and start time, if there is one. */
  find(psaTicketId: number, entry: TimeEntryInput): Promise<number | null>;
  update(id: number, entry: TimeEntryInput): Promise<void>;
  /**
   * Removes the entry. "corrected" when the PSA refuses deletes: the entry is then set to zero hours
   * with a note that it was deleted in the portal. "gone" when it no longer exists.
   */
  delete(id: number, entry: TimeEntryInput): Promise<"deleted" | "corrected" | "gone">;
  /** The active and inactive resources. */
  resources(): Promise<PsaResource[]>;
}

// ---------------------------------------------------------------- attachments

/** A file on a PSA ticket, without its bytes. */
export interface PsaAttachment {
  id: number;
  ticketId: number;
  name: string;
  /** Bytes; null when the PSA's listing does not say. */
  size: number | null;
  contentType: string;
}

/** A file to put on a PSA ticket. */
export interface NewAttachment {
  name: string;
  contentType: string;
  data: Buffer;
}

/** Files on PSA tickets. */
export interface AttachmentPort {
  /** The ticket's files (not those of its notes or time entries), oldest first. */
  list(psaTicketId: number): Promise<PsaAttachment[]>;
  /** One file with its bytes, or null when it is gone. */
  get(id: number): Promise<{ name: string; contentType: string; data: Buffer } | null>;
  /**
   * Adds a file; after an ambiguous failure a file of the ticket with the same name and size that is
   * not in `known` is taken as the one sent.
   */
  add(psaTicketId: number, file: NewAttachment, known: ReadonlySet<number>): Promise<number>;
  /**
   * The files added at or after `since` to any of these tickets, by id, in one listing rather than a
   * list per ticket: a poll asks it for the tickets it would leave alone, so that a file added in the
   * PSA behind a stamp already seen is still fetched. Absent: such a file waits for the periodic check.
   */
  addedSince?(since: Date, ticketIds: number[]): Promise<Array<{ id: number; ticketId: number }>>;
}
