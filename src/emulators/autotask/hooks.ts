/**
 * The seam between the emulator's core (HTTP server, tenant store, entities, queries: server.ts,
 * store.ts, …) and its behaviours (thresholds, faults, webhook delivery: limits.ts, faults.ts,
 * webhooks.ts). The core calls a RequestGate around every Autotask API request and tells a
 * ChangeListener about every create/update/delete of a webhook-capable entity; the behaviours read
 * webhook registrations through WebhookRegistryView. Neither side imports the other's internals.
 */

/** One entity row as the API shows it (camelCase keys, `userDefinedFields` as [{name, value}]). */
export type Row = Record<string, unknown>;

/** What the gate knows about a request before it runs. */
export interface RequestInfo {
  /** The tenant (Autotask database) the API user belongs to. */
  tenantId: string;
  /** The ApiIntegrationCode header value (the "API tracking identifier" of the thread limit). */
  integrationCode: string;
  /** The UserName header value. */
  username: string;
  /** Upper-case HTTP method. */
  method: string;
  /**
   * Canonical entity name: the first path segment after V1.0/ with the contract's spelling
   * ("Tickets", "ConfigurationItems", "TicketWebhooks", "ThresholdInformation", …). Child URLs count
   * against their parent (`TicketWebhooks/12/Fields` → "TicketWebhooks"), as docs/autotask.md, Thresholds and
   * limits says.
   */
  entity: string;
  /** `${method} ${entity}`, the key used by /_emulator/stats byEndpoint. */
  endpointKey: string;
  /** True for POST (create or query? no: query is a read) — true only for create/update/delete. */
  isWrite: boolean;
}

/** Why a request was refused, for /_emulator/stats `rejected`. */
export type RejectReason = "threshold" | "thread" | "fault";

/** An answer that replaces running the request. Nothing is applied. */
export interface Rejection {
  reason: RejectReason;
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A fault that strikes after the handler ran, i.e. after the write (if any) was applied. */
export type AfterApplyFault =
  /** The client never gets an answer: the server holds the response, then destroys the socket. */
  | { kind: "timeout"; afterMs: number }
  /** The client gets a 500 although the write was applied. */
  | { kind: "error500" };

export interface Admission {
  /** When set, the core answers this and does not run the request. */
  reject?: Rejection;
  /** When set (and not rejected), the core runs the request, then applies this fault. */
  afterApply?: AfterApplyFault;
  /** Must be called exactly once when the request is finished (it frees the thread slot). */
  release(): void;
}

/**
 * Thresholds and faults. `admit` may wait (usage-based latency, injected latency) before it resolves.
 * ZoneInformation/VersionInformation and /_emulator/* never pass through the gate.
 */
export interface RequestGate {
  admit(req: RequestInfo): Promise<Admission>;
  /** What ThresholdInformation reports for a tenant right now. */
  thresholdInformation(tenantId: string): {
    externalRequestThreshold: number;
    requestThresholdTimeframe: number;
    currentTimeframeRequestCount: number;
  };
}

/** Entity types that can have webhooks, as the delivery payload's EntityType names them. */
export type WebhookEntityType = "Ticket" | "TicketNote" | "ConfigurationItem";

/** One create/update/delete, as the core saw it. */
export interface EntityChange {
  tenantId: string;
  entityType: WebhookEntityType;
  action: "Create" | "Update" | "Delete";
  id: number;
  /** Full row before the change (null on Create), including userDefinedFields. */
  before: Row | null;
  /** Full row after the change (null on Delete), including userDefinedFields. */
  after: Row | null;
  /** Standard field names (camelCase, as in the row) whose value changed; all non-null ones on Create. */
  changedFields: string[];
  /** UDF names whose value changed (ConfigurationItem, Ticket). */
  changedUdfs: string[];
  /** The acting resource (the API user's resource, or ImpersonationResourceId). */
  personId: number;
  at: Date;
}

export interface ChangeListener {
  /** Called synchronously after the change is committed; must not throw and must not block. */
  onChange(change: EntityChange): void;
}

/** A webhook registration with its children, as the core stores them. */
export interface WebhookRegistration {
  entityType: WebhookEntityType;
  /** The webhook row (id, name, webhookUrl, deactivationUrl, secretKey, isActive, isReady, webhookGUID, …). */
  webhook: Row;
  /** Rows of {Entity}Webhooks/{id}/Fields: {id, webhookID, fieldID, isSubscribedField, isDisplayAlwaysField}. */
  fields: Row[];
  /** Rows of {Entity}Webhooks/{id}/UdfFields: {id, webhookID, udfFieldID, isSubscribedField, isDisplayAlwaysField}. */
  udfFields: Row[];
  /** Rows of {Entity}Webhooks/{id}/ExcludedResources: {id, webhookID, resourceID}. */
  excludedResources: Row[];
}

/** What the webhook engine may read and write in the core's store. */
export interface WebhookRegistryView {
  /** All webhooks of the tenant for one entity type (active or not). */
  list(tenantId: string, entityType: WebhookEntityType): WebhookRegistration[];
  /** Field name for a webhook field id (the `fieldID` picklist of {Entity}WebhookFields). */
  fieldName(entityType: WebhookEntityType, fieldId: number): string | undefined;
  /** UDF name for a udfFieldID. */
  udfName(tenantId: string, entityType: WebhookEntityType, udfFieldId: number): string | undefined;
  /** Set isActive=false (after 25 consecutive failed events). */
  deactivate(tenantId: string, entityType: WebhookEntityType, webhookId: number): void;
  /** Append a WebhookEventErrorLogs row (id and createDateTime are filled by the store). */
  addErrorLog(tenantId: string, entry: Row): void;
}
