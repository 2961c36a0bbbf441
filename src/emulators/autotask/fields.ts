/**
 * `E/entityInformation`, `E/entityInformation/fields` and `E/entityInformation/userDefinedFields`
 * (docs/autotask.md, Field information and UDFs): built from the entity definitions and the tenant's
 * picklists and UDFs, so what a client reads here is exactly what the write checks enforce.
 */
import { ENTITIES, type EntityDef, type FieldDef } from "./entities.js";
import type { PicklistValue, Tenant, UdfDefinition } from "./store.js";

/** One FieldInfo, with every key of the contract (docs/autotask.md, Field information and UDFs table). */
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
  picklistValues: PicklistValueInfo[] | null;
  picklistParentValueField: string;
  isSupportedWebhookField: boolean;
}

/**
 * Picklist values are strings on this endpoint even for integer fields (docs/autotask.md, Field information
 * and UDFs).
 */
export interface PicklistValueInfo {
  value: string;
  label: string;
  isDefaultValue: boolean;
  sortOrder: number;
  parentValue: string;
  isActive: boolean;
  isSystem: boolean;
}

/**
 * `{"info": {...}}`; userAccessFor* wire values are unconfirmed (docs/autotask.md, Field information and
 * UDFs): "All" or "None".
 */
export function entityInformation(def: EntityDef) {
  const access = (allowed: boolean) => (allowed ? "All" : "None");
  const canCreate = def.verbs.create;
  return {
    info: {
      name: def.singular,
      canCreate,
      canDelete: def.verbs.delete,
      canQuery: def.verbs.query,
      canUpdate: def.verbs.update,
      userAccessForCreate: access(canCreate),
      userAccessForDelete: access(def.verbs.delete),
      userAccessForQuery: access(def.verbs.query),
      userAccessForUpdate: access(def.verbs.update),
      hasUserDefinedFields: def.hasUserDefinedFields,
      supportsWebhookCallouts: def.supportsWebhookCallouts,
    },
  };
}

function pickInfo(p: PicklistValue): PicklistValueInfo {
  return {
    value: String(p.value),
    label: p.label,
    isDefaultValue: p.isDefaultValue,
    sortOrder: p.sortOrder,
    parentValue: p.parentValue === null ? "" : String(p.parentValue),
    isActive: p.isActive,
    isSystem: p.isSystem,
  };
}

/**
 * Labels of the `fieldID` picklist of {X}WebhookFields. They are not the REST field names: public
 * set-up guides show PascalCase names and "TicketCreateDate" for the ticket's createDate; the
 * others below are our choice of how far a label may drift (docs/emulator.md, "Webhook permissions,
 * limits, field labels and HTTPS"), so that clients match labels robustly.
 */
const WEBHOOK_FIELD_LABELS: Record<string, Record<string, string>> = {
  Ticket: {
    createDate: "TicketCreateDate",
    queueID: "Queue",
    configurationItemID: "Configuration Item",
  },
  TicketNote: { ticketID: "Ticket" },
};

export function webhookFieldLabel(entityType: string, name: string): string {
  return WEBHOOK_FIELD_LABELS[entityType]?.[name] ?? name.charAt(0).toUpperCase() + name.slice(1);
}

/** The values a picklist field offers in a tenant right now. */
export function picklistValues(tenant: Tenant, def: EntityDef, fd: FieldDef): PicklistValue[] {
  const src = fd.picklist;
  if (!src) return [];
  switch (src.kind) {
    case "tenant":
      return tenant.picklist(def.name, fd.name);
    case "entity": {
      const table = tenant.table(src.entity);
      return table.ids.map((id, i) => {
        const row = table.get(id) as Record<string, unknown>;
        return {
          value: id,
          label: String(row[src.labelField] ?? ""),
          isActive: row["isActive"] !== false,
          isSystem: false,
          isDefaultValue: src.defaultField !== undefined && row[src.defaultField] === true,
          sortOrder: i,
          parentValue: null,
        };
      });
    }
    case "webhookFields": {
      const target = ENTITIES.find((e) => e.webhookEntityType === src.entityType);
      return (target?.fields ?? [])
        .filter((f) => f.webhookFieldId !== null)
        .map((f, i) => ({
          value: f.webhookFieldId as number,
          label: webhookFieldLabel(src.entityType, f.name),
          isActive: true,
          isSystem: true,
          isDefaultValue: false,
          sortOrder: i,
          parentValue: null,
        }));
    }
    case "udfs":
      return tenant.udfDefs(src.entity).map((u) => ({
        value: u.id,
        label: u.name,
        isActive: u.isActive,
        isSystem: false,
        isDefaultValue: false,
        sortOrder: u.sortOrder,
        parentValue: null,
      }));
  }
}

export function fieldInfo(tenant: Tenant, def: EntityDef, fd: FieldDef): FieldInfo {
  const isPickList = fd.picklist !== null;
  return {
    name: fd.name,
    dataType: fd.dataType,
    length: fd.length,
    isRequired: fd.isRequired,
    isReadOnly: fd.isReadOnly || (!def.verbs.create && !def.verbs.update),
    isQueryable: fd.isQueryable,
    isReference: fd.referenceEntityType !== "",
    referenceEntityType: fd.referenceEntityType,
    isPickList,
    picklistValues: isPickList ? picklistValues(tenant, def, fd).map(pickInfo) : null,
    // The contract's example names the parent in PascalCase: subIssueType → "IssueType" (docs/autotask.md,
    // Field information and UDFs).
    picklistParentValueField: fd.picklistParentValueField
      ? fd.picklistParentValueField.charAt(0).toUpperCase() + fd.picklistParentValueField.slice(1)
      : "",
    isSupportedWebhookField: fd.webhookFieldId !== null,
  };
}

/** `{"fields": [FieldInfo…]}` */
export function entityFields(tenant: Tenant, def: EntityDef) {
  return { fields: def.fields.map((fd) => fieldInfo(tenant, def, fd)) };
}

export function udfInfo(def: EntityDef, u: UdfDefinition): FieldInfo {
  return {
    name: u.name,
    dataType: u.dataType,
    length: u.dataType === "string" ? u.length : 0,
    isRequired: u.isRequired,
    isReadOnly: false,
    isQueryable: true,
    isReference: false,
    referenceEntityType: "",
    isPickList: false,
    picklistValues: null,
    picklistParentValueField: "",
    // UDFs of webhook entities can be subscribed through {X}WebhookUdfFields (docs/autotask.md,
    // Registration).
    isSupportedWebhookField: def.supportsWebhookCallouts,
  };
}

/**
 * `{"fields": [...]}` with the UDF's display name as `name` (docs/autotask.md, Field information and UDFs).
 * Inactive UDFs are left out.
 */
export function userDefinedFields(tenant: Tenant, def: EntityDef) {
  if (!def.hasUserDefinedFields) return { fields: [] };
  return {
    fields: tenant
      .udfDefs(def.name)
      .filter((u) => u.isActive)
      .map((u) => udfInfo(def, u)),
  };
}
