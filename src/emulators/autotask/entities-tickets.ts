/** Entity definitions: tickets, their notes and attachments, ticket categories (entities.ts). */
import { validateAttachment } from "./attachments.js";
import { entity, f, id, isSet, TENANT } from "./entity-model.js";

export const tickets = entity(
  "Tickets",
  [
    id(),
    f("ticketNumber", "string", { len: 50, ro: true, wh: 101 }),
    f("title", "string", { len: 255, req: true, wh: 102 }),
    f("description", "string", { len: 8000, wh: 103 }),
    f("status", "integer", { req: true, pick: TENANT, wh: 104 }),
    f("priority", "integer", { req: true, pick: TENANT, wh: 105 }),
    f("queueID", "integer", { pick: TENANT, wh: 106 }),
    f("companyID", "integer", { req: true, ref: "Company", wh: 107 }),
    f("companyLocationID", "integer", { ref: "CompanyLocation" }),
    f("contactID", "integer", { ref: "Contact", wh: 108 }),
    f("configurationItemID", "integer", { ref: "ConfigurationItem", wh: 109 }),
    f("assignedResourceID", "integer", { ref: "Resource", wh: 110 }),
    f("assignedResourceRoleID", "integer", { ref: "Role", wh: 111 }),
    f("billingCodeID", "integer", { ref: "BillingCode", wh: 112 }),
    f("contractID", "integer", { ref: "Contract" }),
    f("issueType", "integer", { pick: TENANT, wh: 113 }),
    f("subIssueType", "integer", { pick: TENANT, parent: "issueType", wh: 114 }),
    f("ticketType", "integer", { pick: TENANT, wh: 115, defaultFromPicklist: true }),
    // Values are the TicketCategories rows; the global default category is the picklist default.
    f("ticketCategory", "integer", {
      pick: {
        kind: "entity",
        entity: "TicketCategories",
        labelField: "name",
        defaultField: "isGlobalDefault",
      },
      defaultFromPicklist: true,
    }),
    f("source", "integer", { pick: TENANT, wh: 116 }),
    f("serviceLevelAgreementID", "integer", { pick: TENANT }),
    f("dueDateTime", "datetime", { wh: 117 }),
    f("createDate", "datetime", { ro: true, wh: 122 }),
    f("creatorResourceID", "integer", { ro: true, ref: "Resource" }),
    // Not queryable per the Tickets help page (docs/autotask.md, Queries).
    f("creatorType", "integer", { ro: true, noQuery: true, pick: TENANT }),
    f("lastActivityDate", "datetime", { ro: true, wh: 118 }),
    f("lastActivityResourceID", "integer", { ro: true, ref: "Resource" }),
    f("lastActivityPersonType", "integer", { ro: true, noQuery: true, pick: TENANT }),
    f("completedDate", "datetime", { ro: true, wh: 119 }),
    f("completedByResourceID", "integer", { ro: true, ref: "Resource" }),
    f("resolvedDateTime", "datetime"),
    f("firstResponseDateTime", "datetime"),
    f("estimatedHours", "double"),
    f("hoursToBeScheduled", "double"),
    f("externalID", "string", { len: 50, wh: 120 }),
    f("purchaseOrderNumber", "string", { len: 50 }),
    f("resolution", "string", { len: 32000, wh: 121 }),
    f("monitorID", "integer"),
    f("monitorTypeID", "integer"),
    f("rmmAlertID", "string", { len: 50 }),
    f("problemTicketId", "integer", { ref: "Ticket" }),
    f("projectID", "integer", { ref: "Project" }),
    f("opportunityID", "integer", { ref: "Opportunity" }),
    f("organizationalLevelAssociationID", "integer"),
    f("apiVendorID", "integer", { ro: true }),
    f("lastTrackedModificationDateTime", "datetime", { ro: true }),
    f("impersonatorCreatorResourceID", "integer", { ro: true, ref: "Resource" }),
  ],
  {
    singular: "Ticket",
    verbs: { create: true, update: true },
    udfs: true,
    webhookEntityType: "Ticket",
    idBase: 7000,
    // Tickets need a queue or a resource+role pair (docs/autotask.md, Entities and fields used —
    // unconfirmed); the message is the one the real API gives for a resource without a role
    // (docs/autotask-errors.md).
    validate: (row) => {
      if (isSet(row["assignedResourceID"]) !== isSet(row["assignedResourceRoleID"])) {
        return "When assigning a Resource, you must assign both a assignedResourceID and assignedResourceRoleID.";
      }
      if (!isSet(row["queueID"]) && !isSet(row["assignedResourceID"])) {
        return "Missing Required Field: queueID. A ticket needs a queueID or an assignedResourceID and assignedResourceRoleID.";
      }
      return null;
    },
  },
);

export const ticketNotes = entity(
  "TicketNotes",
  [
    id(),
    f("ticketID", "integer", { req: true, ref: "Ticket", wh: 201 }),
    f("title", "string", { len: 250, req: true, wh: 202 }),
    f("description", "string", { len: 32000, req: true, wh: 203 }),
    f("noteType", "integer", { req: true, pick: TENANT, wh: 204 }),
    f("publish", "integer", { req: true, pick: TENANT, wh: 205 }),
    f("createDateTime", "datetime", { ro: true, wh: 206 }),
    f("lastActivityDate", "datetime", { ro: true, wh: 207 }),
    f("creatorResourceID", "integer", { ro: true, ref: "Resource", wh: 208 }),
    f("createdByContactID", "integer", { ro: true, ref: "Contact" }),
    f("impersonatorCreatorResourceID", "integer", { ro: true, ref: "Resource" }),
    f("impersonatorUpdaterResourceID", "integer", { ro: true, ref: "Resource" }),
  ],
  {
    singular: "TicketNote",
    verbs: { create: true, update: true },
    parent: { entity: "Tickets", segment: "Notes", field: "ticketID" },
    webhookEntityType: "TicketNote",
    idBase: 30000,
  },
);

// ---------------------------------------------------------------- ticket attachments
// TicketAttachments (docs/emulator.md, TicketAttachments): a child of Tickets created at
// Tickets/{id}/Attachments; `data` (base64) and `fileSize` cannot be queried and a query answers
// without the bytes; GET TicketAttachments/{id} answers them. Checks in attachments.ts.
export const ticketAttachments = entity(
  "TicketAttachments",
  [
    id(),
    f("parentID", "integer", { req: true, ref: "Ticket" }),
    f("parentType", "integer", { ro: true }),
    f("ticketID", "integer", { ro: true, ref: "Ticket" }),
    f("ticketNoteID", "integer", { ro: true, ref: "TicketNote" }),
    f("timeEntryID", "integer", { ro: true, ref: "TimeEntry" }),
    f("parentAttachmentID", "integer", { ro: true }),
    f("attachmentType", "string", { len: 20, req: true }),
    f("fullPath", "string", { len: 255, req: true }),
    f("title", "string", { len: 255, req: true }),
    f("publish", "integer", { req: true }),
    f("data", "string", { len: 0, noQuery: true }),
    f("contentType", "string", { len: 100, ro: true }),
    f("fileSize", "long", { ro: true, noQuery: true }),
    f("attachDate", "datetime", { ro: true }),
    f("attachedByResourceID", "integer", { ro: true, ref: "Resource" }),
    f("attachedByContactID", "integer", { ro: true, ref: "Contact" }),
    f("creatorType", "integer", { ro: true, noQuery: true }),
    f("impersonatorCreatorResourceID", "integer", { ro: true, ref: "Resource" }),
  ],
  {
    singular: "TicketAttachment",
    verbs: { create: true, delete: true },
    parent: { entity: "Tickets", segment: "Attachments", field: "parentID" },
    idBase: 50000,
    validate: validateAttachment,
  },
);

// Ticket categories and their field defaults are read-only through REST (the PowerShell module's
// Get-AtwsTicketCategory / Get-AtwsTicketCategoryFieldDefaults offer no New-/Set- counterparts).
export const ticketCategories = entity(
  "TicketCategories",
  [
    id(),
    f("name", "string", { len: 30, ro: true }),
    f("nickname", "string", { len: 3, ro: true }),
    f("isActive", "boolean", { ro: true }),
    f("isGlobalDefault", "boolean", { ro: true }),
    f("isApiOnly", "boolean", { ro: true }),
    f("displayColorRGB", "integer", { ro: true }),
  ],
  { singular: "TicketCategory", verbs: {}, idBase: 100 },
);

export const ticketCategoryFieldDefaults = entity(
  "TicketCategoryFieldDefaults",
  [
    id(),
    f("ticketCategoryID", "integer", { ro: true, ref: "TicketCategory" }),
    f("issueTypeID", "integer", { ro: true }),
    f("subIssueTypeID", "integer", { ro: true }),
    f("queueID", "integer", { ro: true }),
    f("sourceID", "integer", { ro: true }),
    f("ticketTypeID", "integer", { ro: true }),
    f("status", "integer", { ro: true }),
    f("priority", "integer", { ro: true }),
    f("serviceLevelAgreementID", "integer", { ro: true }),
    f("workTypeID", "integer", { ro: true, ref: "BillingCode" }),
    f("estimatedHours", "decimal", { ro: true }),
    f("purchaseOrderNumber", "string", { len: 50, ro: true }),
    f("title", "string", { len: 255, ro: true }),
    f("description", "string", { len: 8000, ro: true }),
    f("resolution", "string", { len: 32000, ro: true }),
  ],
  { singular: "TicketCategoryFieldDefault", verbs: {}, idBase: 1 },
);
