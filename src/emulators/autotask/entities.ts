/**
 * Entity definitions of the emulated Autotask REST API: fields (type, length, required, read-only,
 * queryable, reference, picklist, webhook field id), allowed verbs, child URLs. The server, the
 * store, the query engine and the entityInformation endpoints all read these tables, so a field's
 * flags in `entityInformation/fields` and the checks applied on write are one and the same.
 *
 * Field names are the wire (camelCase) names of the 2020 Swagger models (docs/autotask.md, Entities and
 * fields used); only the fields the integration and its tests need are modelled, plus the ones the payload
 * files show.
 */
import { validateAttachment } from "./attachments.js";
import type { WebhookEntityType } from "./hooks.js";

export type DataType = "integer" | "long" | "string" | "datetime" | "double" | "decimal" | "boolean";

/** Where the values of a picklist field come from. */
export type PicklistSource =
  /** Tenant admin data (statuses, priorities, queues, …), keyed `${entity}.${field}`. */
  | { kind: "tenant" }
  /** Rows of another entity (ConfigurationItems.configurationItemType → ConfigurationItemTypes). */
  | { kind: "entity"; entity: string; labelField: string; defaultField?: string }
  /**
   * The webhook field ids of an entity type ({Entity}WebhookFields.fieldID, docs/autotask.md, Registration).
   */
  | { kind: "webhookFields"; entityType: WebhookEntityType }
  /** The tenant's UDF definitions of an entity ({Entity}WebhookUdfFields.udfFieldID). */
  | { kind: "udfs"; entity: string };

export interface FieldDef {
  name: string;
  dataType: DataType;
  /** Maximum string length (0 for non-strings), as FieldInfo.length reports it. */
  length: number;
  isRequired: boolean;
  /**
   * Read-only fields are maintained by the emulator; values sent by clients are ignored (docs/autotask.md,
   * Writes).
   */
  isReadOnly: boolean;
  isQueryable: boolean;
  /** Singular entity name the field references ("Company"), "" if none. */
  referenceEntityType: string;
  picklist: PicklistSource | null;
  /** Name of the parent picklist field (FieldInfo.picklistParentValueField), "" if none. */
  picklistParentValueField: string;
  /**
   * Internal webhook field id (docs/autotask.md, Registration `fieldID`); non-null ⇔ isSupportedWebhookField.
   */
  webhookFieldId: number | null;
  /**
   * Writable on create, never changed afterwards (ConfigurationItems.companyID, docs/autotask.md, Entities
   * and fields used).
   */
  createOnly: boolean;
  /**
   * On create, an omitted value takes the picklist's default (configurationItemCategoryID, docs/autotask.md,
   * Entities and fields used).
   */
  defaultFromPicklist: boolean;
}

export interface Verbs {
  query: boolean;
  create: boolean;
  update: boolean;
  delete: boolean;
}

export interface ParentLink {
  /** Parent entity name ("Tickets"). */
  entity: string;
  /** URL segment under the parent ("Notes" in Tickets/{id}/Notes). */
  segment: string;
  /** Field of the child that holds the parent id ("ticketID"). */
  field: string;
}

export interface EntityDef {
  /** Plural entity name as it appears in URLs ("Tickets"). */
  name: string;
  /** Singular name (referenceEntityType, webhook EntityType). */
  singular: string;
  fields: FieldDef[];
  byLowerName: Map<string, FieldDef>;
  verbs: Verbs;
  /**
   * Child entities are created and updated only through their parent URL (docs/autotask.md, Entities and
   * URLs).
   */
  parent: ParentLink | null;
  hasUserDefinedFields: boolean;
  supportsWebhookCallouts: boolean;
  /** Set for the entities whose changes webhooks report. */
  webhookEntityType: WebhookEntityType | null;
  /** First id the store hands out for this entity in a fresh tenant. */
  idBase: number;
  /** Cross-field rules run after the per-field checks; returns an error message or null. */
  validate?: (row: Record<string, unknown>) => string | null;
  /** Answers only `GET E` (ThresholdInformation). */
  singleton?: boolean;
}

interface FieldOpts {
  len?: number;
  req?: boolean;
  ro?: boolean;
  noQuery?: boolean;
  ref?: string;
  pick?: PicklistSource;
  parent?: string;
  wh?: number;
  createOnly?: boolean;
  defaultFromPicklist?: boolean;
}

function f(name: string, dataType: DataType, o: FieldOpts = {}): FieldDef {
  return {
    name,
    dataType,
    length: dataType === "string" ? (o.len ?? 100) : 0,
    isRequired: o.req ?? false,
    isReadOnly: o.ro ?? false,
    isQueryable: !(o.noQuery ?? false),
    referenceEntityType: o.ref ?? "",
    picklist: o.pick ?? null,
    picklistParentValueField: o.parent ?? "",
    webhookFieldId: o.wh ?? null,
    createOnly: o.createOnly ?? false,
    defaultFromPicklist: o.defaultFromPicklist ?? false,
  };
}

const TENANT: PicklistSource = { kind: "tenant" };
const id = () => f("id", "long", { ro: true });

interface EntityOpts {
  singular: string;
  verbs: Partial<Verbs>;
  parent?: ParentLink;
  udfs?: boolean;
  webhookEntityType?: WebhookEntityType;
  idBase: number;
  validate?: (row: Record<string, unknown>) => string | null;
  singleton?: boolean;
}

function entity(name: string, fields: FieldDef[], o: EntityOpts): EntityDef {
  const def: EntityDef = {
    name,
    singular: o.singular,
    fields,
    byLowerName: new Map(fields.map((fd) => [fd.name.toLowerCase(), fd])),
    verbs: { query: true, create: false, update: false, delete: false, ...o.verbs },
    parent: o.parent ?? null,
    hasUserDefinedFields: o.udfs ?? false,
    supportsWebhookCallouts: o.webhookEntityType !== undefined,
    webhookEntityType: o.webhookEntityType ?? null,
    idBase: o.idBase,
  };
  if (o.validate) def.validate = o.validate;
  if (o.singleton) def.singleton = true;
  return def;
}

const isSet = (v: unknown) => v !== null && v !== undefined;

const tickets = entity(
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

const ticketNotes = entity(
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
const ticketAttachments = entity(
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

const configurationItems = entity(
  "ConfigurationItems",
  [
    id(),
    f("companyID", "integer", { req: true, ref: "Company", createOnly: true, wh: 301 }),
    f("productID", "integer", { req: true, ref: "Product", wh: 302 }),
    f("isActive", "boolean", { req: true, wh: 303 }),
    f("configurationItemType", "integer", {
      pick: { kind: "entity", entity: "ConfigurationItemTypes", labelField: "name" },
      wh: 304,
    }),
    f("configurationItemCategoryID", "integer", { pick: TENANT, wh: 305, defaultFromPicklist: true }),
    f("referenceTitle", "string", { len: 200, wh: 306 }),
    f("referenceNumber", "string", { len: 50, wh: 307 }),
    f("serialNumber", "string", { len: 100, wh: 308 }),
    f("installDate", "datetime", { wh: 309 }),
    f("warrantyExpirationDate", "datetime", { wh: 310 }),
    f("companyLocationID", "integer", { ref: "CompanyLocation" }),
    f("contactID", "integer", { ref: "Contact", wh: 311 }),
    f("contractID", "integer", { ref: "Contract" }),
    f("location", "string", { len: 100, wh: 312 }),
    f("notes", "string", { len: 5000, wh: 313 }),
    f("parentConfigurationItemID", "integer", { ref: "ConfigurationItem" }),
    f("vendorID", "integer", { ref: "Company" }),
    f("serviceLevelAgreementID", "integer"),
    f("createDate", "datetime", { ro: true }),
    f("createdByPersonID", "integer", { ro: true, ref: "Resource" }),
    f("lastModifiedTime", "datetime", { ro: true, wh: 314 }),
    f("lastActivityPersonID", "integer", { ro: true, ref: "Resource" }),
    f("lastActivityPersonType", "integer", { ro: true, pick: TENANT }),
    f("dailyCost", "decimal"),
    f("hourlyCost", "decimal"),
    f("monthlyCost", "decimal"),
    f("perUseCost", "decimal"),
    f("setupFee", "decimal"),
    f("numberOfUsers", "decimal"),
    f("apiVendorID", "integer", { ro: true }),
    f("rmmDeviceID", "long"),
    f("rmmDeviceUID", "string", { len: 100 }),
    f("rmmOpenAlertCount", "integer", { ro: true }),
  ],
  {
    singular: "ConfigurationItem",
    verbs: { create: true, update: true },
    udfs: true,
    webhookEntityType: "ConfigurationItem",
    idBase: 29684000,
  },
);

const configurationItemTypes = entity(
  "ConfigurationItemTypes",
  [id(), f("name", "string", { len: 100, req: true }), f("isActive", "boolean")],
  { singular: "ConfigurationItemType", verbs: { create: true, update: true, delete: true }, idBase: 10 },
);

const products = entity(
  "Products",
  [
    id(),
    f("name", "string", { len: 100, req: true }),
    f("description", "string", { len: 2000 }),
    f("productCategory", "integer", { pick: TENANT }),
    f("isActive", "boolean", { req: true }),
    f("isSerialized", "boolean"),
    f("productBillingCodeID", "integer", { req: true, ref: "BillingCode" }),
    f("chargeBillingCodeID", "integer", { ref: "BillingCode" }),
    f("billingType", "integer", { pick: TENANT }),
    f("periodType", "integer", { pick: TENANT }),
    f("priceCostMethod", "integer", { pick: TENANT }),
    f("unitCost", "decimal"),
    f("unitPrice", "decimal"),
    f("msrp", "decimal"),
    f("markupRate", "decimal"),
    f("sku", "string", { len: 50 }),
    f("manufacturerName", "string", { len: 100 }),
    f("manufacturerProductName", "string", { len: 50 }),
    f("vendorProductNumber", "string", { len: 50 }),
    f("defaultVendorID", "integer", { ref: "Company" }),
    f("externalProductID", "string", { len: 50 }),
    f("internalProductID", "string", { len: 50 }),
    f("doesNotRequireProcurement", "boolean"),
    f("isEligibleForRma", "boolean"),
    f("link", "string", { len: 500 }),
  ],
  { singular: "Product", verbs: { create: true, update: true }, udfs: true, idBase: 232486900 },
);

const companies = entity(
  "Companies",
  [
    id(),
    f("companyName", "string", { len: 100, req: true }),
    f("companyNumber", "string", { len: 50 }),
    f("companyType", "integer", { req: true, pick: TENANT }),
    f("isActive", "boolean"),
    f("phone", "string", { len: 25, req: true }),
    f("fax", "string", { len: 25 }),
    f("webAddress", "string", { len: 255 }),
    f("address1", "string", { len: 128 }),
    f("address2", "string", { len: 128 }),
    f("city", "string", { len: 50 }),
    f("state", "string", { len: 25 }),
    f("postalCode", "string", { len: 20 }),
    f("countryID", "integer", { ref: "Country" }),
    f("ownerResourceID", "integer", { req: true, ref: "Resource" }),
    f("parentCompanyID", "integer", { ref: "Company" }),
    f("classification", "integer", { pick: TENANT }),
    f("marketSegmentID", "integer"),
    f("territoryID", "integer"),
    f("taxRegionID", "integer"),
    f("taxID", "string", { len: 50 }),
    f("createDate", "datetime", { ro: true }),
    f("createdByResourceID", "integer", { ro: true, ref: "Resource" }),
    f("lastActivityDate", "datetime", { ro: true }),
    f("lastTrackedModifiedDateTime", "datetime", { ro: true }),
    f("currencyID", "integer"),
    f("isClientPortalActive", "boolean"),
    f("isTaskFireActive", "boolean"),
    f("isTaxExempt", "boolean"),
    f("isEnabledForComanaged", "boolean"),
    f("apiVendorID", "integer", { ro: true }),
    f("additionalAddressInformation", "string", { len: 100 }),
  ],
  { singular: "Company", verbs: { create: true, update: true }, udfs: true, idBase: 100 },
);

const resources = entity(
  "Resources",
  [
    id(),
    f("firstName", "string", { len: 50, req: true }),
    f("lastName", "string", { len: 50, req: true }),
    f("middleName", "string", { len: 50 }),
    f("userName", "string", { len: 32, ro: true }),
    f("email", "string", { len: 50, req: true }),
    f("isActive", "boolean"),
    f("licenseType", "integer", { ro: true, pick: TENANT }),
    f("resourceType", "string", { len: 15, ro: true }),
    f("userType", "integer", { ro: true, pick: TENANT }),
    f("title", "string", { len: 50 }),
    f("locationID", "integer"),
    f("defaultServiceDeskRoleID", "integer", { ref: "Role" }),
    f("officePhone", "string", { len: 25 }),
    f("mobilePhone", "string", { len: 25 }),
    f("payrollType", "integer"),
    f("internalCost", "decimal"),
  ],
  // No POST: resources are created in the UI only (docs/autotask.md, Entities and URLs).
  { singular: "Resource", verbs: { update: true }, idBase: 29682900 },
);

const billingCodes = entity(
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

// Ticket categories and their field defaults are read-only through REST (the PowerShell module's
// Get-AtwsTicketCategory / Get-AtwsTicketCategoryFieldDefaults offer no New-/Set- counterparts).
const ticketCategories = entity(
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

const ticketCategoryFieldDefaults = entity(
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

const timeEntries = entity(
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

// Roles and a resource's service-desk roles are admin data: query/get only through REST (the
// TimeEntries help page names the rule "a roleID that is valid for the resourceID",
// https://github.com/WYRE-AI/autotask-mcp/issues/280; listed among the REST entities that
// integrations read, https://github.com/WYRE-AI/autotask-mcp/pull/298).
const roles = entity(
  "Roles",
  [
    id(),
    f("name", "string", { len: 200, ro: true }),
    f("description", "string", { len: 200, ro: true }),
    f("isActive", "boolean", { ro: true }),
    f("hourlyRate", "decimal", { ro: true }),
    f("roleType", "integer", { ro: true }),
  ],
  { singular: "Role", verbs: {}, idBase: 29683400 },
);

const resourceServiceDeskRoles = entity(
  "ResourceServiceDeskRoles",
  [
    id(),
    f("resourceID", "integer", { ro: true, ref: "Resource" }),
    f("roleID", "integer", { ro: true, ref: "Role" }),
    f("isActive", "boolean", { ro: true }),
    f("isDefault", "boolean", { ro: true }),
  ],
  { singular: "ResourceServiceDeskRole", verbs: {}, idBase: 1 },
);

const thresholdInformation = entity(
  "ThresholdInformation",
  [
    f("externalRequestThreshold", "integer", { ro: true }),
    f("requestThresholdTimeframe", "integer", { ro: true }),
    f("currentTimeframeRequestCount", "integer", { ro: true }),
  ],
  { singular: "ThresholdInformation", verbs: { query: false }, idBase: 1, singleton: true },
);

/** The fields of every {X}Webhooks entity (docs/autotask.md, Registration). */
function webhookFields(): FieldDef[] {
  return [
    id(),
    f("name", "string", { len: 50, req: true }),
    f("webhookUrl", "string", { len: 500, req: true }),
    f("deactivationUrl", "string", { len: 500, req: true }),
    f("secretKey", "string", { len: 64 }),
    f("isActive", "boolean"),
    f("isReady", "boolean", { ro: true }),
    f("isSubscribedToCreateEvents", "boolean"),
    f("isSubscribedToUpdateEvents", "boolean"),
    f("isSubscribedToDeleteEvents", "boolean"),
    f("sendThresholdExceededNotification", "boolean"),
    f("notificationEmailAddress", "string", { len: 150 }),
    f("ownerResourceID", "integer", { ro: true, ref: "Resource" }),
    f("webhookGUID", "string", { len: 100, ro: true }),
  ];
}

function webhookEntities(prefix: WebhookEntityType, idBase: number, withUdfs: boolean): EntityDef[] {
  const parent = `${prefix}Webhooks`;
  const out = [
    entity(parent, webhookFields(), {
      singular: `${prefix}Webhook`,
      verbs: { create: true, update: true, delete: true },
      idBase,
    }),
    entity(
      `${prefix}WebhookFields`,
      [
        id(),
        f("webhookID", "integer", { req: true, ref: `${prefix}Webhook` }),
        f("fieldID", "integer", { req: true, pick: { kind: "webhookFields", entityType: prefix } }),
        f("isSubscribedField", "boolean"),
        f("isDisplayAlwaysField", "boolean"),
      ],
      {
        singular: `${prefix}WebhookField`,
        verbs: { create: true, update: true, delete: true },
        parent: { entity: parent, segment: "Fields", field: "webhookID" },
        idBase: 1,
      },
    ),
    entity(
      `${prefix}WebhookExcludedResources`,
      [
        id(),
        f("webhookID", "integer", { req: true, ref: `${prefix}Webhook` }),
        f("resourceID", "integer", { req: true, ref: "Resource" }),
      ],
      {
        singular: `${prefix}WebhookExcludedResource`,
        // No PUT/PATCH on excluded resources (docs/autotask.md, Entities and URLs table).
        verbs: { create: true, delete: true },
        parent: { entity: parent, segment: "ExcludedResources", field: "webhookID" },
        idBase: 1,
      },
    ),
  ];
  if (withUdfs) {
    const udfEntity = prefix === "Ticket" ? "Tickets" : "ConfigurationItems";
    out.push(
      entity(
        `${prefix}WebhookUdfFields`,
        [
          id(),
          f("webhookID", "integer", { req: true, ref: `${prefix}Webhook` }),
          f("udfFieldID", "integer", { req: true, pick: { kind: "udfs", entity: udfEntity } }),
          f("isSubscribedField", "boolean"),
          f("isDisplayAlwaysField", "boolean"),
        ],
        {
          singular: `${prefix}WebhookUdfField`,
          verbs: { create: true, update: true, delete: true },
          parent: { entity: parent, segment: "UdfFields", field: "webhookID" },
          idBase: 1,
        },
      ),
    );
  }
  return out;
}

const webhookEventErrorLogs = entity(
  "WebhookEventErrorLogs",
  [
    id(),
    f("createDateTime", "datetime", { ro: true }),
    f("errorMessage", "string", { len: 8000, ro: true }),
    f("payload", "string", { len: 32000, ro: true }),
    f("sequenceNumber", "long", { ro: true }),
    f("accountWebhookID", "integer", { ro: true }),
    f("contactWebhookID", "integer", { ro: true }),
    f("ticketWebhookID", "integer", { ro: true }),
    f("ticketNoteWebhookID", "integer", { ro: true }),
    f("configurationItemWebhookID", "integer", { ro: true }),
  ],
  // Query, get and delete only (docs/autotask.md, Entities and URLs table).
  { singular: "WebhookEventErrorLog", verbs: { delete: true }, idBase: 1 },
);

/** Every entity the emulator serves. */
export const ENTITIES: readonly EntityDef[] = [
  companies,
  resources,
  billingCodes,
  ticketCategories,
  ticketCategoryFieldDefaults,
  tickets,
  ticketNotes,
  ticketAttachments,
  configurationItems,
  configurationItemTypes,
  products,
  timeEntries,
  roles,
  resourceServiceDeskRoles,
  thresholdInformation,
  ...webhookEntities("Ticket", 1, true),
  // TicketNoteWebhooks have Fields and ExcludedResources but no UdfFields (docs/autotask.md, Entities and
  // URLs).
  ...webhookEntities("TicketNote", 1, false),
  ...webhookEntities("ConfigurationItem", 1, true),
  webhookEventErrorLogs,
];

const byLower = new Map(ENTITIES.map((e) => [e.name.toLowerCase(), e]));

/**
 * Looks an entity up by its URL name, case-insensitively (docs/autotask.md, Zone discovery: clients vary the
 * casing).
 */
export function entityByName(name: string): EntityDef | undefined {
  return byLower.get(name.toLowerCase());
}

/** The entity by its exact canonical name; throws for a programming error. */
export function entityDef(name: string): EntityDef {
  const def = byLower.get(name.toLowerCase());
  if (!def) throw new Error(`unknown entity ${name}`);
  return def;
}

/** The child entity reached at `{parent}/{id}/{segment}`. */
export function childEntity(parent: EntityDef, segment: string): EntityDef | undefined {
  const seg = segment.toLowerCase();
  return ENTITIES.find((e) => e.parent?.entity === parent.name && e.parent.segment.toLowerCase() === seg);
}

/** Children of an entity (for cascading deletes of webhooks). */
export function childrenOf(parent: EntityDef): EntityDef[] {
  return ENTITIES.filter((e) => e.parent?.entity === parent.name);
}

const bySingular = new Map(ENTITIES.map((e) => [e.singular, e]));

/** The entity a reference field points at, when the emulator stores it (Company → Companies). */
export function referencedEntity(field: FieldDef): EntityDef | undefined {
  return field.referenceEntityType ? bySingular.get(field.referenceEntityType) : undefined;
}

/** The entity whose changes a webhook entity type reports. */
export function entityForWebhookType(type: WebhookEntityType): EntityDef {
  const def = ENTITIES.find((e) => e.webhookEntityType === type);
  if (!def) throw new Error(`no entity for webhook type ${type}`);
  return def;
}

/** The {X}Webhooks entity for a webhook entity type. */
export function webhookEntityFor(type: WebhookEntityType): EntityDef {
  return entityDef(`${type}Webhooks`);
}

/**
 * Field name of a webhook field id (docs/autotask.md, Registration: ids come from the `fieldID` picklist).
 */
export function webhookFieldName(type: WebhookEntityType, fieldId: number): string | undefined {
  return entityForWebhookType(type).fields.find((fd) => fd.webhookFieldId === fieldId)?.name;
}
