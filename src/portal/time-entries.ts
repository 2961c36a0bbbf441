import type { Kysely, SelectQueryBuilder } from "kysely";
import type { Database } from "../store/schema.js";
import { type Actor, requirePartnerRow, requirePermission, requireVisible } from "./access.js";
import type { PageQuery, PortalContext, Q } from "./context.js";
import { forbidden, invalid } from "./errors.js";
import type { Tickets } from "./tickets.js";
import type { Effort, Page, TimeEntry } from "./types.js";

export const SUMMARY_MAX = 2000;
export const INTERNAL_NOTE_MAX = 8000;
/** Longest single entry: a day. A longer span is almost always a mistyped date. */
export const ENTRY_MAX_MINUTES = 24 * 60;

/** What a time entry is made of: start and end, or start and a duration in minutes. */
export interface TimeEntryInput {
  startedAt: string;
  endedAt?: string;
  durationMinutes?: number;
  summary: string;
  internalNote?: string;
  billable?: boolean;
  workTypeId?: number | null;
}

export type TimeEntryPatch = Partial<TimeEntryInput>;

/** One client's effort in one month (the effort report). */
export interface EffortLine {
  clientId: number;
  clientCode: string;
  clientName: string;
  /** YYYY-MM, in UTC. */
  month: string;
  entries: number;
  minutes: number;
  billableMinutes: number;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** An ISO-8601 time with an offset, as UTC ISO text; a 400 naming the field otherwise. */
function isoTime(field: string, value: unknown): string {
  const m = typeof value === "string" ? ISO_TIME.exec(value) : null;
  const d = m ? new Date(value as string) : null;
  // Date would roll 2026-02-30 over into March: the calendar day must exist as written.
  const [y, mo, day] = m ? (value as string).slice(0, 10).split("-").map(Number) : [];
  const real =
    y !== undefined &&
    mo !== undefined &&
    day !== undefined &&
    day <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (!d || Number.isNaN(d.getTime()) || !real)
    throw invalid(field, "must be an ISO-8601 date-time with an offset, e.g. 2026-03-01T09:30:00Z");
  return d.toISOString();
}

export const minutesBetween = (startedAt: string, endedAt: string): number =>
  Math.round((Date.parse(endedAt) - Date.parse(startedAt)) / 60_000);

interface Row {
  id: number;
  partner_id: number;
  ticket_id: number;
  user_id: number | null;
  user_name: string | null;
  started_at: string;
  ended_at: string;
  summary: string;
  internal_note: string;
  billable: number;
  work_type_id: number | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

const toTimeEntry = (r: Row): TimeEntry => ({
  id: r.id,
  partnerId: r.partner_id,
  ticketId: r.ticket_id,
  userId: r.user_id,
  userName: r.user_name ?? (r.user_id === null ? "system" : ""),
  startedAt: r.started_at,
  endedAt: r.ended_at,
  minutes: minutesBetween(r.started_at, r.ended_at),
  summary: r.summary,
  internalNote: r.internal_note,
  billable: r.billable === 1,
  workTypeId: r.work_type_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  deletedAt: r.deleted_at,
});

/** Entry rows with their user's name. */
const withUser = (base: SelectQueryBuilder<Database, "time_entries", object>) =>
  base
    .leftJoin("users", "users.id", "time_entries.user_id")
    .selectAll("time_entries")
    .select("users.name as user_name");

/** Every entry of a ticket, deleted ones included, in id order (the sync engine's read). */
export async function ticketTimeEntries(k: Kysely<Database>, ticketId: number): Promise<TimeEntry[]> {
  const rows = await withUser(k.selectFrom("time_entries").where("time_entries.ticket_id", "=", ticketId))
    .orderBy("time_entries.id")
    .execute();
  return rows.map(toTimeEntry);
}

/** The checked, normalised columns of an entry; every field is checked before anything is written. */
function checked(input: TimeEntryPatch, current?: { started_at: string; ended_at: string }) {
  const out: {
    started_at?: string;
    ended_at?: string;
    summary?: string;
    internal_note?: string;
    billable?: number;
    work_type_id?: number | null;
  } = {};
  if (input.startedAt !== undefined || !current) out.started_at = isoTime("startedAt", input.startedAt);
  if (input.endedAt !== undefined && input.durationMinutes !== undefined)
    throw invalid("durationMinutes", "give endedAt or durationMinutes, not both");
  const start = out.started_at ?? current?.started_at ?? "";
  if (input.endedAt !== undefined) out.ended_at = isoTime("endedAt", input.endedAt);
  else if (input.durationMinutes !== undefined) {
    const m = input.durationMinutes;
    if (typeof m !== "number" || !Number.isInteger(m) || m < 1 || m > ENTRY_MAX_MINUTES)
      throw invalid("durationMinutes", `must be a whole number of minutes from 1 to ${ENTRY_MAX_MINUTES}`);
    out.ended_at = new Date(Date.parse(start) + m * 60_000).toISOString();
  } else if (!current) throw invalid("endedAt", "is required (or durationMinutes)");
  const end = out.ended_at ?? current?.ended_at ?? "";
  if (out.started_at !== undefined || out.ended_at !== undefined) {
    // The field named is the one given (a patch of the start alone names startedAt).
    const field = out.ended_at === undefined ? "startedAt" : "endedAt";
    if (Date.parse(end) <= Date.parse(start))
      throw invalid(field, field === "endedAt" ? "must be after startedAt" : "must be before endedAt");
    if (minutesBetween(start, end) > ENTRY_MAX_MINUTES)
      throw invalid(field, `an entry spans at most ${ENTRY_MAX_MINUTES / 60} hours`);
  }
  if (input.summary !== undefined || !current) {
    if (typeof input.summary !== "string" || input.summary.trim() === "")
      throw invalid("summary", "must not be empty");
    if (input.summary.length > SUMMARY_MAX) throw invalid("summary", `at most ${SUMMARY_MAX} characters`);
    out.summary = input.summary.trim();
  }
  if (input.internalNote !== undefined) {
    if (typeof input.internalNote !== "string") throw invalid("internalNote", "must be text");
    if (input.internalNote.length > INTERNAL_NOTE_MAX)
      throw invalid("internalNote", `at most ${INTERNAL_NOTE_MAX} characters`);
    out.internal_note = input.internalNote;
  }
  if (input.billable !== undefined) {
    if (typeof input.billable !== "boolean") throw invalid("billable", "must be true or false");
    out.billable = input.billable ? 1 : 0;
  }
  if (input.workTypeId !== undefined) {
    const w = input.workTypeId;
    if (w !== null && (typeof w !== "number" || !Number.isInteger(w) || w < 1 || w > 2_147_483_647))
      throw invalid("workTypeId", "must be a positive whole number, or null for the partner's default");
    out.work_type_id = w;
  }
  return out;
}

/**
 * Time logged on tickets. Anyone who may change the ticket logs time (as themselves); technicians
 * change and delete only their own entries, partner admins and NOC admins any of their partners'.
 * Every change writes its audit row and a ticket_outbox row of kind "time-entry" in one transaction,
 * then wakes the sync engine. A deleted entry keeps its row (deleted_at) so the deletion can reach
 * the PSA; lists and sums leave it out.
 */
export class TimeEntries {
  readonly #ctx: PortalContext;
  readonly #tickets: Tickets;

  constructor(ctx: PortalContext, tickets: Tickets) {
    this.#ctx = ctx;
    this.#tickets = tickets;
  }

  async create(actor: Actor, ticketId: number, input: TimeEntryInput): Promise<TimeEntry> {
    const ticket = await this.#tickets.row(actor, ticketId);
    requirePermission(actor, "data:write");
    const cols = checked(input);
    const id = await this.#ctx.k.transaction().execute(async (trx) => {
      const now = this.#ctx.now();
      const row = await trx
        .insertInto("time_entries")
        .values({
          partner_id: ticket.partner_id,
          ticket_id: ticketId,
          user_id: actor.userId,
          started_at: cols.started_at ?? "",
          ended_at: cols.ended_at ?? "",
          summary: cols.summary ?? "",
          internal_note: cols.internal_note ?? "",
          billable: cols.billable ?? 1,
          work_type_id: cols.work_type_id ?? null,
          created_at: now,
          updated_at: now,
          deleted_at: null,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      await this.#changed(trx, actor, ticket.partner_id, ticketId, row.id, "create", {
        startedAt: cols.started_at,
        endedAt: cols.ended_at,
      });
      return row.id;
    });
    this.#ctx.wake("outbox", ticket.partner_id);
    return this.get(actor, id);
  }

  async list(actor: Actor, ticketId: number, page: PageQuery = {}): Promise<Page<TimeEntry>> {
    await this.#tickets.row(actor, ticketId);
    const base = this.#ctx.k
      .selectFrom("time_entries")
      .where("time_entries.ticket_id", "=", ticketId)
      .where("time_entries.deleted_at", "is", null);
    return this.#ctx.page(
      this.#select(base).orderBy("time_entries.started_at").orderBy("time_entries.id"),
      base,
      page,
      toTimeEntry,
    );
  }

  async get(actor: Actor, timeEntryId: number): Promise<TimeEntry> {
    return toTimeEntry(await this.#row(actor, timeEntryId));
  }

  async update(actor: Actor, timeEntryId: number, patch: TimeEntryPatch): Promise<TimeEntry> {
    const current = await this.#row(actor, timeEntryId);
    this.#mayChange(actor, current);
    const cols = checked(patch, current);
    await this.#ctx.k.transaction().execute(async (trx) => {
      await trx
        .updateTable("time_entries")
        .set({ ...cols, updated_at: this.#ctx.now() })
        .where("id", "=", timeEntryId)
        .execute();
      await this.#changed(trx, actor, current.partner_id, current.ticket_id, timeEntryId, "update", {
        fields: Object.keys(patch),
      });
    });
    this.#ctx.wake("outbox", current.partner_id);
    return this.get(actor, timeEntryId);
  }

  async delete(actor: Actor, timeEntryId: number): Promise<void> {
    const current = await this.#row(actor, timeEntryId);
    this.#mayChange(actor, current);
    await this.#ctx.k.transaction().execute(async (trx) => {
      const now = this.#ctx.now();
      await trx
        .updateTable("time_entries")
        .set({ deleted_at: now, updated_at: now })
        .where("id", "=", timeEntryId)
        .execute();
      await this.#changed(trx, actor, current.partner_id, current.ticket_id, timeEntryId, "delete", {});
    });
    this.#ctx.wake("outbox", current.partner_id);
  }

  /** The ticket's effort: its entries that are not deleted, summed. */
  async effort(actor: Actor, ticketId: number): Promise<Effort> {
    await this.#tickets.row(actor, ticketId);
    const rows = await this.#ctx.k
      .selectFrom("time_entries")
      .select(["started_at", "ended_at", "billable"])
      .where("ticket_id", "=", ticketId)
      .where("deleted_at", "is", null)
      .execute();
    const effort: Effort = { minutes: 0, billableMinutes: 0, entries: rows.length };
    for (const r of rows) {
      const m = minutesBetween(r.started_at, r.ended_at);
      effort.minutes += m;
      if (r.billable === 1) effort.billableMinutes += m;
    }
    return effort;
  }

  /**
   * Effort per client and month (UTC) of entries started in [from, to) (ISO days; either open), not
   * deleted. Sums are made here from the same rows the entries list shows, so they match it.
   */
  async report(
    actor: Actor,
    partnerId: number,
    range: { from?: string; to?: string },
  ): Promise<EffortLine[]> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId, "read");
    for (const f of ["from", "to"] as const) {
      const v = range[f];
      if (v !== undefined && (!ISO_DAY.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))))
        throw invalid(f, "must be a day, YYYY-MM-DD");
    }
    if (range.from && range.to && range.to <= range.from) throw invalid("to", "must be after from");
    let q = this.#ctx.k
      .selectFrom("time_entries")
      .innerJoin("tickets", "tickets.id", "time_entries.ticket_id")
      .innerJoin("clients", "clients.id", "tickets.client_id")
      .select([
        "clients.id as client_id",
        "clients.code",
        "clients.name",
        "time_entries.started_at",
        "time_entries.ended_at",
        "time_entries.billable",
      ])
      .where("time_entries.partner_id", "=", partnerId)
      .where("time_entries.deleted_at", "is", null);
    if (range.from) q = q.where("time_entries.started_at", ">=", `${range.from}T00:00:00.000Z`);
    if (range.to) q = q.where("time_entries.started_at", "<", `${range.to}T00:00:00.000Z`);
    const lines = new Map<string, EffortLine>();
    for (const r of await q.execute()) {
      const month = r.started_at.slice(0, 7);
      const key = `${r.client_id}|${month}`;
      let line = lines.get(key);
      if (!line) {
        line = {
          clientId: r.client_id,
          clientCode: r.code,
          clientName: r.name,
          month,
          entries: 0,
          minutes: 0,
          billableMinutes: 0,
        };
        lines.set(key, line);
      }
      const m = minutesBetween(r.started_at, r.ended_at);
      line.entries += 1;
      line.minutes += m;
      if (r.billable === 1) line.billableMinutes += m;
    }
    return [...lines.values()].sort(
      (a, b) => a.clientCode.localeCompare(b.clientCode) || a.month.localeCompare(b.month),
    );
  }

  #select(base: SelectQueryBuilder<Database, "time_entries", object>) {
    return withUser(base);
  }

  /** An entry that is not deleted, as the actor may see it (another partner's is 404). */
  async #row(actor: Actor, timeEntryId: number): Promise<Row> {
    const row = await this.#select(
      this.#ctx.k
        .selectFrom("time_entries")
        .where("time_entries.id", "=", timeEntryId)
        .where("time_entries.deleted_at", "is", null),
    ).executeTakeFirst();
    return requireVisible(actor, row, "time entry");
  }

  /** Technicians change their own entries only; partner admins and NOC admins any they see. */
  #mayChange(actor: Actor, row: Row): void {
    requirePermission(actor, "data:write");
    if (actor.role === "noc-admin" || actor.role === "partner-admin") return;
    if (actor.userId === null || row.user_id !== actor.userId)
      throw forbidden("change another user's time entries");
  }

  async #changed(
    trx: Q,
    actor: Actor,
    partnerId: number,
    ticketId: number,
    timeEntryId: number,
    verb: "create" | "update" | "delete",
    detail: object,
  ): Promise<void> {
    await this.#ctx.audit(trx, actor, partnerId, `time-entry.${verb}`, `time-entry:${timeEntryId}`, {
      ticketId,
      ...detail,
    });
    await trx
      .insertInto("ticket_outbox")
      .values({ partner_id: partnerId, ticket_id: ticketId, kind: "time-entry", created_at: this.#ctx.now() })
      .execute();
  }
}
