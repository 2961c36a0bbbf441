/**
 * The ticket defaults of a partner's integration settings: checked and merged on a PUT (an omitted
 * key keeps the stored value), turned into columns and back.
 */
import type { PartnerIntegrationRow } from "../store/schema.js";
import { invalid } from "./errors.js";
import {
  INTERNAL_NOTE_PUBLISH,
  type IntegrationInput,
  type InternalNotePublish,
  type TicketingSettings,
} from "./types.js";

type Defaults = Pick<
  TicketingSettings,
  | "ticketCategoryId"
  | "ticketTypeId"
  | "issueTypeId"
  | "subIssueTypeId"
  | "sourceId"
  | "dueDateOffsetHours"
  | "internalNotePublish"
>;

type Columns = Pick<
  PartnerIntegrationRow,
  | "ticket_category_id"
  | "ticket_type_id"
  | "issue_type_id"
  | "sub_issue_type_id"
  | "source_id"
  | "due_date_offset_hours"
  | "internal_note_publish"
>;

/** Longest due-date offset accepted: one year. */
export const MAX_DUE_DATE_OFFSET_HOURS = 8760;

export function ticketDefaultsView(r: PartnerIntegrationRow): Defaults {
  return {
    ticketCategoryId: r.ticket_category_id,
    ticketTypeId: r.ticket_type_id,
    issueTypeId: r.issue_type_id,
    subIssueTypeId: r.sub_issue_type_id,
    sourceId: r.source_id,
    dueDateOffsetHours: r.due_date_offset_hours,
    internalNotePublish: (r.internal_note_publish === 4 ? 4 : 2) as InternalNotePublish,
  };
}

/** The stored defaults with the PUT's values over them; 400 naming the field for a bad one. */
export function ticketDefaults(current: PartnerIntegrationRow, t: IntegrationInput["ticketing"]): Columns {
  const v = { ...ticketDefaultsView(current) };
  for (const k of Object.keys(v) as (keyof Defaults)[]) {
    const given = t[k];
    if (given !== undefined) (v as Record<string, unknown>)[k] = given;
  }
  if (!INTERNAL_NOTE_PUBLISH.includes(v.internalNotePublish))
    throw invalid(
      "ticketing.internalNotePublish",
      "must be 2 (Internal Project Team) or 4 (Internal & Co-Managed)",
    );
  if (
    v.dueDateOffsetHours !== null &&
    (!Number.isInteger(v.dueDateOffsetHours) ||
      v.dueDateOffsetHours < 0 ||
      v.dueDateOffsetHours > MAX_DUE_DATE_OFFSET_HOURS)
  )
    throw invalid(
      "ticketing.dueDateOffsetHours",
      `must be a whole number of hours from 0 to ${MAX_DUE_DATE_OFFSET_HOURS}, or null`,
    );
  if (v.subIssueTypeId !== null && v.issueTypeId === null)
    throw invalid(
      "ticketing.subIssueTypeId",
      "a sub-issue type needs its issue type (ticketing.issueTypeId)",
    );
  return {
    ticket_category_id: v.ticketCategoryId,
    ticket_type_id: v.ticketTypeId,
    issue_type_id: v.issueTypeId,
    sub_issue_type_id: v.subIssueTypeId,
    source_id: v.sourceId,
    due_date_offset_hours: v.dueDateOffsetHours,
    internal_note_publish: v.internalNotePublish,
  };
}
