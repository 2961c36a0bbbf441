/** The REST API's shapes as the UI uses them (see README "REST API" and GET /openapi.json). */

export type Role = "noc-admin" | "partner-admin" | "technician" | "read-only";

export interface Me {
  userId: number | null;
  name: string;
  role: Role;
  partnerId: number | null;
}

export interface User {
  id: number;
  name: string;
  role: Role;
  partnerId: number | null;
  createdAt: string;
  username: string | null;
  hasPassword: boolean;
  disabled: boolean;
  tokenExpiresAt: string | null;
  /** The environment's NOC admin: not editable. */
  reserved: boolean;
}

/** A new or re-issued API token, shown once. */
export interface UserCreated {
  id: number;
  token: string;
  user: User;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface Partner {
  id: number;
  name: string;
  timeZone: string;
  createdAt: string;
  updatedAt: string;
}

export interface Ticketing {
  enabled: boolean;
  nocMayEnterTickets: boolean;
  system: "autotask";
  apiUrl: string;
  username: string;
  secret: string;
  integrationCode: string;
  queueId: number | null;
  queueName: string;
  billingCodeId: number | null;
  billingCodeName: string;
  ticketCategoryId: number | null;
  ticketTypeId: number | null;
  issueTypeId: number | null;
  subIssueTypeId: number | null;
  sourceId: number | null;
  dueDateOffsetHours: number | null;
  /** Autotask publish of internal notes: 2 Internal Project Team, 4 Internal & Co-Managed. */
  internalNotePublish: 2 | 4;
}

export interface DeviceIntegration {
  enabled: boolean;
  productId: number | null;
  configurationItemTypeId: number | null;
  advanced: boolean;
  schedule: string;
}

export interface Integration {
  ticketing: Ticketing;
  devices: DeviceIntegration;
  updatedAt: string | null;
}

export interface PsaOption {
  id: number;
  label: string;
  isActive: boolean;
}

export interface PsaOptions {
  queues: PsaOption[];
  billingCodes: PsaOption[];
  products: PsaOption[];
  configurationItemTypes: PsaOption[];
  statuses: PsaOption[];
  priorities: PsaOption[];
  ticketCategories: PsaOption[];
  ticketTypes: PsaOption[];
  issueTypes: PsaOption[];
  /** Each with the issue type it belongs to (null: any). */
  subIssueTypes: Array<PsaOption & { parentId: number | null }>;
  sources: PsaOption[];
}

export interface Named {
  id: number;
  name: string;
}

export interface Catalog {
  statuses: Named[];
  priorities: Named[];
  deviceStates: DeviceState[];
}

export type MappingKind = "status-forward" | "status-reverse" | "priority";

/** A mapping row as the API returns it; the field names depend on the table. */
export interface MappingRow {
  id: number;
  portalStatusId?: number;
  portalStatusName?: string;
  psaStatusId?: number;
  psaStatusName?: string;
  portalPriorityId?: number;
  portalPriorityName?: string;
  psaPriorityId?: number;
  psaPriorityName?: string;
}

export interface DriftItem {
  kind: string;
  psaId: number;
  message: string;
  detectedAt: string;
}

export interface Check {
  name: string;
  ok: boolean;
  message: string;
  fix?: string;
  /** Passed, but worth acting on (a status no mapping row covers). */
  warning?: boolean;
}

export interface Validation {
  ok: boolean;
  checks: Check[];
}

export type RunStatus = "running" | "succeeded" | "partial" | "failed" | "awaiting-approval";

export interface RunCounts {
  created: number;
  updated: number;
  deactivated: number;
  unchanged: number;
  failed: number;
}

export interface SyncRun {
  id: number;
  partnerId: number;
  trigger: string;
  dryRun: boolean;
  status: RunStatus;
  counts: RunCounts;
  apiCalls: number;
  error: string | null;
  approvedBy: string | null;
  startedAt: string;
  finishedAt: string | null;
}

export interface PlanItem {
  deviceId: number;
  hostname: string;
  action: "create" | "update" | "deactivate" | "unchanged" | "conflict";
  ciId?: number;
  matchedBy?: string;
  changes?: Record<string, unknown>;
  overwrites?: string[];
  reason?: string;
}

export interface AssetPlan {
  clients: Array<{
    clientId: number;
    code: string;
    companyId: number;
    linkedCount: number;
    items: PlanItem[];
  }>;
  orphans: PlanItem[];
}

export interface SyncRunDetail extends SyncRun {
  log: string[];
  plan: AssetPlan | null;
}

export interface SyncStatus {
  lastSyncAt: string | null;
  lastSyncStatus: RunStatus | null;
  nextRunAt: string | null;
  schedule: string | null;
  running: number | null;
}

export interface Client {
  id: number;
  partnerId: number;
  code: string;
  name: string;
  psaCompanyId: number | null;
}

export type DeviceState = "discovered" | "managed" | "unmanaged";

export interface Device {
  id: number;
  partnerId: number;
  clientId: number;
  state: DeviceState;
  hostname: string;
  deviceType: string;
  ipAddress: string;
  operatingSystem: string;
  serialNumber: string;
  psaCiId: number | null;
  updatedAt: string;
}

export interface Ticket {
  id: number;
  partnerId: number;
  clientId: number;
  deviceId: number | null;
  title: string;
  description: string;
  statusId: number;
  status: string;
  priorityId: number;
  priority: string;
  createdAt: string;
  updatedAt: string;
  /** The Autotask side (list and detail answers, when the sync engine runs). */
  psa?: PsaTicket;
}

export interface Note {
  id: number;
  ticketId: number;
  text: string;
  published: boolean;
  author: string;
  createdAt: string;
}

export interface PsaTicket {
  ticketId: number | null;
  ticketNumber: string | null;
  /** synced | pending | error | out-of-queue | not-synced */
  state: string;
  lastSyncedAt: string | null;
  lastError: string | null;
  /** A condition that does not stop the sync (a portal status with no forward row). */
  warning: string | null;
}

export interface TicketDetail extends Ticket {
  alerts: Array<{ id: number; deviceId: number; message: string; createdAt: string }>;
  notes: Note[];
  devices: Array<{ id: number; hostname: string; state: DeviceState; primary: boolean }>;
}

export interface SyncError {
  id: number;
  partnerId: number;
  ticketId: number | null;
  psaTicketId: number | null;
  error: string;
  code: string;
  attempts: number;
  parked: boolean;
  nextAttemptAt: string | null;
  firstAt: string;
  lastAt: string;
  resolvedAt: string | null;
}

/** GET /api/partners/:id/webhooks: Autotask webhooks registered, or polling only and why. */
export interface WebhookState {
  mode: "webhooks" | "polling" | "off";
  reason: string | null;
  url: string | null;
  webhooks: Array<{ entity: string; psaWebhookId: number }>;
  unsubscribedFields: string[];
  pollIntervalMinutes: number;
  checkedAt: string | null;
}
