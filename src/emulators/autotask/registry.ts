/**
 * The WebhookRegistryView (hooks.ts) over the core's store: how the webhook engine reads webhook
 * registrations and writes the two things it may change (deactivation, error-log rows).
 */
import { entityDef, entityForWebhookType, webhookEntityFor, webhookFieldName } from "./entities.js";
import type { Row, WebhookEntityType, WebhookRegistryView } from "./hooks.js";
import { type EmulatorStore, timestamp, webhookRows } from "./store.js";

export function createRegistryView(store: EmulatorStore): WebhookRegistryView {
  return {
    list(tenantId, entityType) {
      const tenant = store.tenant(tenantId);
      return tenant ? webhookRows(tenant, entityType) : [];
    },
    fieldName: (entityType, fieldId) => webhookFieldName(entityType, fieldId),
    udfName(tenantId, entityType, udfFieldId) {
      const entity = entityForWebhookType(entityType).name;
      return store
        .tenant(tenantId)
        ?.udfDefs(entity)
        .find((u) => u.id === udfFieldId)?.name;
    },
    deactivate(tenantId: string, entityType: WebhookEntityType, webhookId: number) {
      const tenant = store.tenant(tenantId);
      const table = tenant?.table(webhookEntityFor(entityType).name);
      const row = table?.get(webhookId);
      if (!table || !row || row["isActive"] === false) return;
      // The engine deactivates after 25 failed events and calls deactivationUrl itself (docs/autotask.md,
      // Retries and deactivation), so this write does not go through the store's "deactivated through the
      // API" path.
      table.put({ ...row, isActive: false });
      store.commit();
    },
    addErrorLog(tenantId: string, entry: Row) {
      const tenant = store.tenant(tenantId);
      if (!tenant) return;
      const def = entityDef("WebhookEventErrorLogs");
      const row = tenant.complete(def, {});
      for (const fd of def.fields) if (entry[fd.name] !== undefined) row[fd.name] = entry[fd.name];
      row["id"] = tenant.nextId(def.name);
      row["createDateTime"] = timestamp(store.clock());
      tenant.table(def.name).put(row);
      store.commit();
    },
  };
}
