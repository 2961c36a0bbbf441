/** Changes as the ChangeListener sees them (hooks.ts). */
import type { EntityChange, Row, WebhookEntityType } from "./hooks.js";
import type { WriteContext } from "./tenant-data.js";

/** The change as the ChangeListener sees it: which standard fields and UDFs differ (hooks.ts). */
export function changeOf(
  tenantId: string,
  entityType: WebhookEntityType,
  before: Row | null,
  after: Row | null,
  ctx: WriteContext,
): EntityChange {
  const changedFields: string[] = [];
  const changedUdfs: string[] = [];
  const ref = (after ?? before) as Row;
  for (const k of Object.keys(ref)) {
    if (k === "userDefinedFields") continue;
    const a = after?.[k] ?? null;
    const b = before?.[k] ?? null;
    if (after && before ? a !== b : a !== null) changedFields.push(k);
  }
  if (after) {
    const old = new Map(
      ((before?.["userDefinedFields"] as { name: string; value: unknown }[] | undefined) ?? []).map((p) => [
        p.name,
        p.value,
      ]),
    );
    for (const p of after["userDefinedFields"] as { name: string; value: unknown }[]) {
      if (before ? (old.get(p.name) ?? null) !== p.value : p.value !== null) changedUdfs.push(p.name);
    }
  }
  return {
    tenantId,
    entityType,
    action: !before ? "Create" : !after ? "Delete" : "Update",
    id: ref["id"] as number,
    before,
    after,
    changedFields,
    changedUdfs,
    personId: ctx.personId,
    at: ctx.now,
  };
}
