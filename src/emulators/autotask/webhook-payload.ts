/** The delivery payload: which fields a callout carries (docs/autotask.md, Delivery payload; webhooks.ts). */
import type {
  EntityChange,
  Row,
  WebhookEntityType,
  WebhookRegistration,
  WebhookRegistryView,
} from "./hooks.js";

/** A delivery body (docs/autotask.md, Delivery payload); key order as in the payload example. */
export interface WebhookPayload {
  Action: "Create" | "Update" | "Delete" | "Deactivated";
  Guid: string;
  EntityType: WebhookEntityType;
  Id: number;
  Fields: Record<string, unknown>;
  EventTime: string;
  SequenceNumber: number;
  PersonID: number;
}

/**
 * Where subscribed UDFs go in `Fields` — docs/autotask.md, Delivery payload leaves it open (unconfirmed):
 * - "array" (default): `Fields.userDefinedFields = [{name, value}]`, the shape of the entity row, so
 *   a UDF named like a standard field cannot collide with it;
 * - "flat": one key per UDF name next to the standard fields.
 */
export type UdfStyle = "array" | "flat";

export const truthy = (v: unknown): boolean => v === true || v === 1 || v === "true" || v === "True";
export const num = (v: unknown): number | undefined => {
  const n = typeof v === "string" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
};
const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

function rowValue(row: Row | null, name: string): { key: string; value: unknown } {
  if (row) {
    if (name in row) return { key: name, value: row[name] };
    for (const k of Object.keys(row)) if (sameName(k, name)) return { key: k, value: row[k] };
  }
  return { key: name, value: null };
}

function udfValue(row: Row | null, name: string): unknown {
  const udfs = row?.["userDefinedFields"];
  if (!Array.isArray(udfs)) return null;
  for (const u of udfs) {
    if (
      u &&
      typeof u === "object" &&
      typeof (u as Row)["name"] === "string" &&
      sameName((u as Row)["name"] as string, name)
    )
      return (u as Row)["value"] ?? null;
  }
  return null;
}

export function subscribedTo(webhook: Row, action: EntityChange["action"]): boolean {
  return truthy(webhook[`isSubscribedTo${action}Events`]);
}

/**
 * Fields of the delivery: subscribed fields that changed, plus display-always fields (docs/autotask.md,
 * Delivery payload). On Create `changedFields` holds every non-null field, on Delete none, so a Delete
 * carries the display-always fields only, read from the row as it was before the delete. Returns null when an
 * Update touched no subscribed field or UDF (no callout).
 */
export function buildFields(
  registry: WebhookRegistryView,
  reg: WebhookRegistration,
  change: EntityChange,
  udfStyle: UdfStyle,
): Record<string, unknown> | null {
  const row = change.after ?? change.before;
  const fields: Record<string, unknown> = {};
  let subscribedChanged = false;

  for (const f of reg.fields) {
    const id = num(f["fieldID"]);
    const name = id === undefined ? undefined : registry.fieldName(reg.entityType, id);
    if (!name) continue;
    const changed = change.changedFields.some((c) => sameName(c, name));
    const subscribed = truthy(f["isSubscribedField"]);
    if (subscribed && changed) subscribedChanged = true;
    if ((subscribed && changed) || truthy(f["isDisplayAlwaysField"])) {
      const { key, value } = rowValue(row, name);
      fields[key] = value ?? null;
    }
  }

  const udfs: { name: string; value: unknown }[] = [];
  for (const u of reg.udfFields) {
    const id = num(u["udfFieldID"]);
    const name = id === undefined ? undefined : registry.udfName(change.tenantId, reg.entityType, id);
    if (!name) continue;
    const changed = change.changedUdfs.some((c) => sameName(c, name));
    const subscribed = truthy(u["isSubscribedField"]);
    if (subscribed && changed) subscribedChanged = true;
    if ((subscribed && changed) || truthy(u["isDisplayAlwaysField"]))
      udfs.push({ name, value: udfValue(row, name) });
  }
  if (udfs.length > 0) {
    if (udfStyle === "array") fields["userDefinedFields"] = udfs;
    else for (const u of udfs) fields[u.name] = u.value;
  }

  if (change.action === "Update" && !subscribedChanged) return null;
  return fields;
}

/** A webhook is ready once it has at least one subscribed field or UDF (docs/autotask.md, Registration). */
export function isReady(reg: WebhookRegistration): boolean {
  return (
    reg.fields.some((f) => truthy(f["isSubscribedField"])) ||
    reg.udfFields.some((u) => truthy(u["isSubscribedField"]))
  );
}
