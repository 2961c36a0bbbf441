/** Entity definitions: time entries and the billing codes (work types) they use (entities.ts). */
import { entity, f, id, isSet, TENANT } from "./entity-model.js";

export const billingCodes = entity(
  "BillingCodes",
  [
    id(),
    f("name", "string", { len: 200, ro: true }),
    f("description", "string", { len: 500, ro: true }),
    f("billingCodeType", "integer", { ro: true, pick: TENANT }),
    f("useType", "integer", { ro: true, pick: TENANT }),
    f("isActive", "boolean", { ro: true }),
    f("unitCost", "decimal", { ro: true }),
    f("unitPrice", "decimal", { ro: true }),
    f("markupRate", "decimal", { ro: true }),
    f("department", "integer", { ro: true }),
    f("externalNumber", "string", { len: 100, ro: true }),
    f("generalLedgerAccount", "integer", { ro: true }),
    f("taxCategoryID", "integer", { ro: true }),
    f("afterHoursWorkType", "integer", { ro: true }),
    f("isExcludedFromNewContracts", "boolean", { ro: true }),
  ],
  // Read-only through REST: query/get only (docs/autotask.md, Entities and URLs).
  { singular: "BillingCode", verbs: {}, idBase: 29682800 },
);

export const timeEntries = entity(
  "TimeEntries",
  [
    id(),
    f("ticketID", "integer", { ref: "Ticket" }),
    f("taskID", "integer", { ref: "Task" }),
    f("resourceID", "integer", { req: true, ref: "Resource" }),
    f("roleID", "integer", { req: true, ref: "Role" }),
    f("billingCodeID", "integer", { ref: "BillingCode" }),
    f("internalBillingCodeID", "integer", { ref: "BillingCode" }),
    f("contractID", "integer", { ref: "Contract" }),
    f("dateWorked", "datetime"),
    f("startDateTime", "datetime"),
    f("endDateTime", "datetime"),
    f("hoursWorked", "decimal"),
    f("hoursToBill", "decimal"),
    f("offsetHours", "decimal"),
    f("summaryNotes", "string", { len: 8000, req: true }),
    f("internalNotes", "string", { len: 8000 }),
    f("timeEntryType", "integer", { pick: TENANT }),
    f("isNonBillable", "boolean"),
    f("showOnInvoice", "boolean"),
    f("createDateTime", "datetime", { ro: true }),
    f("creatorUserID", "integer", { ro: true, ref: "Resource" }),
    f("lastModifiedDateTime", "datetime", { ro: true }),
    f("lastModifiedUserID", "integer", { ro: true, ref: "Resource" }),
    f("billingApprovalLevelMostRecent", "integer", { ro: true }),
  ],
  {
    singular: "TimeEntry",
    verbs: { create: true, update: true, delete: true },
    idBase: 4000,
    // One of ticketID/taskID, and either a start/end pair or dateWorked+hoursWorked (docs/autotask.md,
    // Entities and fields used — unconfirmed).
    validate: (row) => {
      if (isSet(row["ticketID"]) === isSet(row["taskID"])) {
        return "A time entry needs exactly one of ticketID or taskID.";
      }
      const span = isSet(row["startDateTime"]) && isSet(row["endDateTime"]);
      if (!span && !(isSet(row["dateWorked"]) && isSet(row["hoursWorked"]))) {
        return "Missing Required Field: hoursWorked. Give startDateTime and endDateTime, or dateWorked and hoursWorked.";
      }
      return null;
    },
  },
);
