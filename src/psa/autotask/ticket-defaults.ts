/**
 * What every Autotask ticket create carries beyond the ticket's own fields: the partner's ticket
 * defaults (category, ticket type, issue and sub-issue type, source, a due date some hours ahead),
 * and how note visibility maps between the portal and Autotask's `publish` picklist.
 */
import type { AutotaskSettings } from "./settings.js";

/** Autotask `publish` "All Autotask Users": the only value that means a published note. */
export const PUBLISH_ALL = 1;

type Defaults = Pick<
  AutotaskSettings,
  "ticketCategoryId" | "ticketTypeId" | "issueTypeId" | "subIssueTypeId" | "sourceId" | "dueDateOffsetHours"
>;

/** The create fields of the partner's ticket defaults; a default left unset is not sent. */
export function createDefaults(t: Defaults, now: Date): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (t.ticketCategoryId !== null) body["ticketCategory"] = t.ticketCategoryId;
  if (t.ticketTypeId !== null) body["ticketType"] = t.ticketTypeId;
  if (t.issueTypeId !== null) body["issueType"] = t.issueTypeId;
  if (t.subIssueTypeId !== null) body["subIssueType"] = t.subIssueTypeId;
  if (t.sourceId !== null) body["source"] = t.sourceId;
  if (t.dueDateOffsetHours !== null)
    body["dueDateTime"] = new Date(now.getTime() + t.dueDateOffsetHours * 3_600_000).toISOString();
  return body;
}

/** Portal note → Autotask `publish`: published → All Autotask Users; internal → the partner's choice. */
export function publishOf(published: boolean, t: Pick<AutotaskSettings, "internalNotePublish">): number {
  return published ? PUBLISH_ALL : t.internalNotePublish;
}

/** Autotask `publish` → portal: All Autotask Users is published; any other value is internal. */
export function publishedFrom(publish: unknown): boolean {
  return Number(publish) === PUBLISH_ALL;
}
