/** Fields the API maintains itself on every write (docs/autotask.md, Entities and fields used). */
import { randomUUID } from "node:crypto";
import { invalid } from "./api-error.js";
import { maintainAttachment } from "./attachments.js";
import type { EntityDef } from "./entities.js";
import type { Row } from "./hooks.js";
import type { Tenant } from "./tenant.js";
import type { WriteContext } from "./tenant-data.js";
import { isSet, timestamp } from "./write-values.js";

/** The status value Autotask reserves for "Complete" (seed document: Complete 5). */
const STATUS_COMPLETE = 5;
/** Person type 1 = resource (creatorType / lastActivityPersonType). */
const PERSON_RESOURCE = 1;

/** Fields the API maintains itself: creation/activity stamps, ticket numbers, webhook state. */
export function maintain(
  tenant: Tenant,
  def: EntityDef,
  row: Row,
  before: Row | null,
  ctx: WriteContext,
): void {
  const at = timestamp(ctx.now);
  const impersonator = ctx.personId !== ctx.apiResourceId ? ctx.apiResourceId : null;
  switch (def.name) {
    case "Tickets": {
      if (!before) {
        row["ticketNumber"] = ticketNumber(tenant, ctx.now);
        row["createDate"] = at;
        row["creatorResourceID"] = ctx.personId;
        row["creatorType"] = PERSON_RESOURCE;
        row["impersonatorCreatorResourceID"] = impersonator;
      }
      row["lastActivityDate"] = at;
      row["lastActivityResourceID"] = ctx.personId;
      row["lastActivityPersonType"] = PERSON_RESOURCE;
      row["lastTrackedModificationDateTime"] = at;
      const wasComplete = before?.["status"] === STATUS_COMPLETE;
      if (row["status"] === STATUS_COMPLETE && !wasComplete) {
        row["completedDate"] = at;
        row["completedByResourceID"] = ctx.personId;
      } else if (row["status"] !== STATUS_COMPLETE) {
        row["completedDate"] = null;
        row["completedByResourceID"] = null;
      }
      break;
    }
    case "TicketNotes": {
      if (!before) {
        row["createDateTime"] = at;
        row["creatorResourceID"] = ctx.personId;
        row["impersonatorCreatorResourceID"] = impersonator;
      } else row["impersonatorUpdaterResourceID"] = impersonator;
      row["lastActivityDate"] = at;
      // A note is activity on its ticket: the ticket's lastActivityDate moves too, which is what
      // pollers filter on. The ticket itself did not change, so no Ticket webhook event.
      const tickets = tenant.table("Tickets");
      const ticket = tickets.get(row["ticketID"] as number);
      if (ticket) {
        tickets.put({ ...ticket, lastActivityDate: at, lastActivityResourceID: ctx.personId });
      }
      break;
    }
    case "TicketAttachments": {
      if (!before) maintainAttachment(row, at, ctx.personId, impersonator);
      // Activity on its ticket, as a note is, so pollers see it (an assumption, docs/emulator.md).
      const tickets = tenant.table("Tickets");
      const ticket = tickets.get(row["parentID"] as number);
      if (ticket) tickets.put({ ...ticket, lastActivityDate: at, lastActivityResourceID: ctx.personId });
      break;
    }
    case "ConfigurationItems":
      if (!before) {
        row["createDate"] = at;
        row["createdByPersonID"] = ctx.personId;
      }
      row["lastModifiedTime"] = at;
      row["lastActivityPersonID"] = ctx.personId;
      row["lastActivityPersonType"] = PERSON_RESOURCE;
      break;
    case "Companies":
      if (!before) {
        row["createDate"] = at;
        row["createdByResourceID"] = ctx.personId;
      }
      row["lastActivityDate"] = at;
      row["lastTrackedModifiedDateTime"] = at;
      break;
    case "TimeEntries": {
      if (!before) {
        row["createDateTime"] = at;
        row["creatorUserID"] = ctx.personId;
      }
      row["lastModifiedDateTime"] = at;
      row["lastModifiedUserID"] = ctx.personId;
      const start = row["startDateTime"];
      const end = row["endDateTime"];
      if (typeof start === "string" && typeof end === "string") {
        const hours = (Date.parse(end) - Date.parse(start)) / 3_600_000;
        if (hours <= 0) throw invalid("endDateTime must be after startDateTime.");
        if (!isSet(row["hoursWorked"])) row["hoursWorked"] = Math.round(hours * 100) / 100;
        if (!isSet(row["dateWorked"])) row["dateWorked"] = `${start.slice(0, 10)}T00:00:00.000Z`;
      }
      if (!isSet(row["hoursToBill"])) row["hoursToBill"] = row["hoursWorked"];
      break;
    }
    default:
      if (def.name.endsWith("Webhooks")) {
        if (!before) {
          row["ownerResourceID"] = ctx.personId;
          row["webhookGUID"] = randomUUID();
        }
        row["isReady"] = before ? (before["isReady"] ?? false) : false;
      }
  }
}

/**
 * `T{yyyymmdd}.{nnnn}`, numbered per day (docs/autotask.md, Entities and fields used: format
 * `T20120604.0002`).
 */
function ticketNumber(tenant: Tenant, now: Date): string {
  const day = now.toISOString().slice(0, 10).replaceAll("-", "");
  const seq = (tenant.ticketSeq[day] ?? 0) + 1;
  tenant.ticketSeq[day] = seq;
  return `T${day}.${String(seq).padStart(4, "0")}`;
}
