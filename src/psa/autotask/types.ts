/**
 * Wire types of the Autotask REST API (ATServicesRest/V1.0) that nocbridge reads and writes. Field
 * names are the camelCase wire forms of docs/autotask.md, Entities and fields used; only the fields the sync
 * uses are spelled out, the index signature keeps the rest. Nullable where Autotask returns null for an unset
 * value.
 */

/** Entities the client addresses by name (the first path segment after V1.0/). */
export type EntityName =
  | "Companies"
  | "ConfigurationItems"
  | "ConfigurationItemTypes"
  | "ConfigurationItemNotes"
  | "Products"
  | "Tickets"
  | "TicketNotes"
  | "BillingCodes"
  | "Resources"
  | "TimeEntries"
  | "ConfigurationItemWebhooks"
  | "TicketWebhooks"
  | "TicketNoteWebhooks"
  | (string & {});

/**
 * A UDF value on a record: name = the UDF's display name, value a string or null (docs/autotask.md, Field
 * information and UDFs).
 */
export interface UserDefinedField {
  name: string;
  value: string | null;
}

/** Any Autotask record: an id plus fields. */
export interface AutotaskEntity {
  id: number;
  [field: string]: unknown;
}

export interface Company extends AutotaskEntity {
  companyName: string;
  companyNumber?: string | null;
  companyType: number;
  isActive: boolean;
  phone?: string | null;
  ownerResourceID?: number | null;
  parentCompanyID?: number | null;
  userDefinedFields?: UserDefinedField[];
}

/**
 * UI: Device / Asset / Configuration Item; SOAP: InstalledProduct (docs/autotask.md, Entities and fields
 * used; SOAP-era names).
 */
export interface ConfigurationItem extends AutotaskEntity {
  /** Cannot be changed after create (docs/autotask.md, Entities and fields used). */
  companyID: number;
  productID: number;
  isActive: boolean;
  /** Refers to ConfigurationItemTypes. */
  configurationItemType?: number | null;
  configurationItemCategoryID?: number | null;
  referenceTitle?: string | null;
  referenceNumber?: string | null;
  serialNumber?: string | null;
  installDate?: string | null;
  warrantyExpirationDate?: string | null;
  companyLocationID?: number | null;
  contactID?: number | null;
  location?: string | null;
  notes?: string | null;
  createDate?: string;
  lastModifiedTime?: string;
  userDefinedFields: UserDefinedField[];
}

export interface ConfigurationItemType extends AutotaskEntity {
  name: string;
  isActive: boolean;
}

export interface Product extends AutotaskEntity {
  name: string;
  description?: string | null;
  isActive: boolean;
  productCategory?: number | null;
  productBillingCodeID?: number | null;
  isSerialized?: boolean | null;
}

export interface Ticket extends AutotaskEntity {
  ticketNumber?: string;
  title: string;
  description?: string | null;
  status: number;
  priority: number;
  queueID?: number | null;
  companyID: number;
  contactID?: number | null;
  configurationItemID?: number | null;
  assignedResourceID?: number | null;
  assignedResourceRoleID?: number | null;
  /** REST name of the SOAP AllocationCodeID / work type (docs/autotask.md, Entities and fields used). */
  billingCodeID?: number | null;
  issueType?: number | null;
  subIssueType?: number | null;
  ticketType?: number | null;
  source?: number | null;
  dueDateTime?: string | null;
  /** Searchable: the natural place for our own id, to find a ticket after an ambiguous create. */
  externalID?: string | null;
  createDate?: string;
  lastActivityDate?: string;
  completedDate?: string | null;
  resolution?: string | null;
  userDefinedFields?: UserDefinedField[];
}

export interface TicketNote extends AutotaskEntity {
  ticketID: number;
  title: string;
  description: string;
  noteType: number;
  /** 1 = all users, 2 = internal only (values unconfirmed; docs/autotask.md, Entities and fields used). */
  publish: number;
  createDateTime?: string;
  lastActivityDate?: string;
  creatorResourceID?: number | null;
}

/** SOAP: AllocationCode. Read-only through REST (docs/autotask.md, Entities and URLs). */
export interface BillingCode extends AutotaskEntity {
  name: string;
  description?: string | null;
  billingCodeType?: number | null;
  useType?: number | null;
  isActive: boolean;
}

export interface Resource extends AutotaskEntity {
  firstName: string;
  lastName: string;
  email?: string | null;
  userName?: string | null;
  isActive: boolean;
}

// ---- entityInformation (docs/autotask.md, Field information and UDFs) -------------------------------------

export interface EntityInformation {
  name: string;
  canCreate: boolean;
  canDelete: boolean;
  canQuery: boolean;
  canUpdate: boolean;
  userAccessForCreate?: string;
  userAccessForDelete?: string;
  userAccessForQuery?: string;
  userAccessForUpdate?: string;
  hasUserDefinedFields: boolean;
  supportsWebhookCallouts: boolean;
}

/**
 * A picklist value: `value` is a string on this endpoint even for integer fields (docs/autotask.md, Field
 * information and UDFs).
 */
export interface PicklistValue {
  value: string;
  label: string;
  isDefaultValue: boolean;
  sortOrder: number;
  /** The parent picklist's value, or "" (some fixtures show null). */
  parentValue: string | null;
  isActive: boolean;
  isSystem: boolean;
}

export interface FieldInfo {
  name: string;
  dataType: string;
  length: number;
  isRequired: boolean;
  isReadOnly: boolean;
  isQueryable: boolean;
  isReference: boolean;
  referenceEntityType: string;
  isPickList: boolean;
  picklistValues: PicklistValue[] | null;
  picklistParentValueField: string;
  isSupportedWebhookField: boolean;
}

/** `entityInformation/userDefinedFields` uses the FieldInfo shape with the UDF's display name. */
export type UdfInfo = FieldInfo;

export interface ThresholdInformation {
  externalRequestThreshold: number;
  /** Minutes (docs/autotask.md, Entities and fields used). */
  requestThresholdTimeframe: number;
  currentTimeframeRequestCount: number;
}

export interface ZoneInformation {
  zoneName?: string;
  /** REST base of the zone, with /ATServicesRest/ and a trailing slash. */
  url: string;
  webUrl?: string;
  ci?: number;
}

// ---- queries (docs/autotask.md, Queries) ------------------------------------------------------------------

export type FilterOperator =
  | "eq"
  | "noteq"
  | "gt"
  | "gte"
  | "lt"
  | "lte"
  | "beginsWith"
  | "endsWith"
  | "contains"
  | "exist"
  | "notExist"
  | "in"
  | "notIn";

export type FilterValue = string | number | boolean | null | ReadonlyArray<string | number | boolean>;

export interface FieldCondition {
  op: FilterOperator;
  field: string;
  /** Omitted for exist/notExist; an array for in/notIn. */
  value?: FilterValue;
  /** True when `field` is a UDF's display name (one UDF condition per query). */
  udf?: boolean;
}

export interface GroupCondition {
  op: "and" | "or";
  items: QueryCondition[];
}

export type QueryCondition = FieldCondition | GroupCondition;

/** Top-level conditions are AND-ed. */
export type QueryFilter = QueryCondition[];

export interface QueryOptions {
  /** Default: every record (`id gte 0`, the idiom of docs/autotask.md, Queries — a query needs a filter). */
  filter?: QueryFilter;
  /** Only these fields are returned; `id` is added when missing (required once a result has >1 page). */
  includeFields?: readonly string[];
  /** Autotask's MaxRecords: the page size, 1–500 (default 500). */
  maxRecords?: number;
}

/** `{"op":"gte","field":"id","value":0}`: all records. */
export const ALL_RECORDS: QueryFilter = [{ op: "gte", field: "id", value: 0 }];
