/**
 * The shape of an entity definition (fields, verbs, parent link) and the helpers the entity tables
 * are written with (entities.ts).
 */
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

export function f(name: string, dataType: DataType, o: FieldOpts = {}): FieldDef {
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

export const TENANT: PicklistSource = { kind: "tenant" };
export const id = () => f("id", "long", { ro: true });

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

export function entity(name: string, fields: FieldDef[], o: EntityOpts): EntityDef {
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

export const isSet = (v: unknown) => v !== null && v !== undefined;
