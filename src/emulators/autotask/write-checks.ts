/**
 * Checks of a row before it is stored: required fields, picklist values, references, entity rules and
 * required UDFs (docs/autotask.md, Writes).
 */
import { invalid } from "./api-error.js";
import { ENTITIES, type EntityDef, type FieldDef, referencedEntity } from "./entities.js";
import type { Row, WebhookEntityType } from "./hooks.js";
import type { Tenant } from "./tenant.js";
import { checkWorkType } from "./ticket-rules.js";
import { checkTimeEntry } from "./time-entry-rules.js";
import { isSet } from "./write-values.js";

export function validate(
  tenant: Tenant,
  def: EntityDef,
  row: Row,
  supplied: Set<string>,
  before: Row | null,
): void {
  for (const fd of def.fields) {
    if (fd.isRequired && !fd.isReadOnly && fd.name !== "id" && !isSet(row[fd.name])) {
      throw invalid(`Missing Required Field: ${fd.name}.`);
    }
  }
  for (const name of supplied) {
    const fd = def.byLowerName.get(name.toLowerCase()) as FieldDef;
    const v = row[name];
    if (!isSet(v) || (before && before[name] === v)) continue;
    checkPicklist(tenant, def, fd, v as number, row);
    checkReference(tenant, fd, v as number);
  }
  const rule = def.validate?.(row);
  if (rule) throw invalid(rule);
  if (def.name === "Tickets") checkWorkType(tenant, row, before);
  if (def.name === "TimeEntries") checkTimeEntry(tenant, row, before);
}

function checkPicklist(tenant: Tenant, def: EntityDef, fd: FieldDef, v: number, row: Row): void {
  const src = fd.picklist;
  if (!src) return;
  let ok = false;
  if (src.kind === "tenant") {
    const pv = tenant.picklist(def.name, fd.name).find((p) => p.value === v && p.isActive);
    ok = pv !== undefined;
    if (pv && fd.picklistParentValueField) {
      const parent = row[fd.picklistParentValueField];
      if (pv.parentValue !== null && parent !== pv.parentValue) {
        throw invalid(
          `Value ${v} of ${fd.name} does not belong to ${fd.picklistParentValueField} ${String(parent)}.`,
        );
      }
    }
  } else if (src.kind === "entity") {
    const r = tenant.table(src.entity).get(v);
    ok = r !== undefined && r["isActive"] !== false;
  } else if (src.kind === "webhookFields") {
    ok = entityFieldByWebhookId(src.entityType, v) !== undefined;
  } else {
    ok = tenant.udfDefs(src.entity).some((u) => u.id === v);
  }
  // The real API's wording for a value outside a picklist (docs/autotask-errors.md).
  if (!ok) throw invalid(`Value does not reference an existing entity for ${fd.name}.`);
}

function checkReference(tenant: Tenant, fd: FieldDef, v: number): void {
  const target = referencedEntity(fd);
  if (!target || target.singleton) return;
  const row = tenant.table(target.name).get(v);
  if (!row) {
    throw invalid(`Value does not reference an existing entity for ${fd.name}.`);
  }
  // A reference to a record that exists but is inactive (docs/autotask-errors.md).
  if (row["isActive"] === false) {
    throw invalid(`Reference value on field: ${fd.name} does not exist or is invalid.`);
  }
}

export function validateUdfs(tenant: Tenant, def: EntityDef, row: Row, supplied: Set<string>): void {
  if (!def.hasUserDefinedFields) return;
  const values = row["userDefinedFields"] as { name: string; value: string | null }[];
  for (const u of tenant.udfDefs(def.name)) {
    if (u.isRequired && u.isActive && values.find((p) => p.name === u.name)?.value == null) {
      if (supplied.has(u.name) || row["id"] === null) throw invalid(`Missing Required Field: ${u.name}.`);
    }
  }
}

function entityFieldByWebhookId(type: WebhookEntityType, fieldId: number): FieldDef | undefined {
  const def = ENTITIES.find((e) => e.webhookEntityType === type);
  return def?.fields.find((fd) => fd.webhookFieldId === fieldId);
}
