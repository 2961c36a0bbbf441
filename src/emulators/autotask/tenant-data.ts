/** Shapes of a tenant's saved state: API users, picklists, UDF definitions, rows (store.ts). */
import type { Row } from "./hooks.js";

export interface PicklistValue {
  /**
   * Records carry the integer; FieldInfo shows it as a string (docs/autotask.md, Field information and UDFs).
   */
  value: number;
  label: string;
  isActive: boolean;
  isSystem: boolean;
  isDefaultValue: boolean;
  sortOrder: number;
  /** Value of the parent picklist (subIssueType → issueType), null if none. */
  parentValue: number | null;
}

/** UDF data types as FieldInfo reports them. */
export type UdfDataType = "string" | "integer" | "decimal" | "datetime" | "boolean";

export interface UdfDefinition {
  id: number;
  name: string;
  dataType: UdfDataType;
  length: number;
  isRequired: boolean;
  isActive: boolean;
  isProtected: boolean;
  description: string;
  sortOrder: number;
  defaultValue: string | null;
}

export interface ApiUser {
  /**
   * UserName header (e-mail form); unique across the emulator, as zone lookup needs (docs/autotask.md, Zone
   * discovery).
   */
  username: string;
  secret: string;
  /**
   * The API tracking identifier this user is set up with (ApiIntegrationCode header, docs/autotask.md,
   * Authentication).
   */
  integrationCode: string;
  /** The resource the API user is; writes are attributed to it unless impersonating. */
  resourceId: number;
  /** Security level "Can create WebHooks" (off unless granted; webhook-policy.ts). */
  canCreateWebhooks?: boolean;
  /** The security level's maximum number of webhooks (0 when not set). */
  maxWebhooks?: number;
  /** Webhooks this user ever created (the "lifetime" reading of the maximum). */
  webhooksCreated?: number;
}

export interface ZoneData {
  zoneName: string;
  /** Autotask's `ci` database identifier (docs/autotask.md, Zone discovery). */
  ci: number;
}

/** A tenant as saved in a state file and produced by seeds. */
export interface TenantData {
  id: string;
  zone: ZoneData;
  apiUsers: ApiUser[];
  /** `${entity}.${field}` → values. */
  picklists: Record<string, PicklistValue[]>;
  /** entity name → UDF definitions. */
  udfs: Record<string, UdfDefinition[]>;
  /** entity name → rows (nulls may be omitted). */
  rows: Record<string, Row[]>;
  /** entity name → next id to hand out. */
  nextIds?: Record<string, number>;
  /** `YYYYMMDD` → last ticket number sequence of that day. */
  ticketSeq?: Record<string, number>;
  nextUdfId?: number;
  /** Ticket category id → Tickets fields the category makes required (an admin setting). */
  ticketCategoryRules?: Record<string, string[]>;
}

export interface StateFile {
  version: 1;
  tenants: TenantData[];
}

export interface WriteContext {
  /** The acting resource (ImpersonationResourceId, else the API user's resource). */
  personId: number;
  /** The API user's own resource. */
  apiResourceId: number;
  now: Date;
}
