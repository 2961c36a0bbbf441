/**
 * The REST API's shapes as the UI uses them (see README "REST API" and GET /openapi.json). Each shape
 * the API declares comes from its schema (src/api/schemas.ts, imported for its types only, so nothing
 * of the server lands in the bundle); where a schema leaves an answer open to further properties, the
 * ones the UI reads are added here. Shapes the API does not declare (yet) are written out.
 */

import type { Static } from "@sinclair/typebox";
import type * as S from "../../api/schemas.js";
import type * as SC from "../../api/schemas-companies.js";
import type * as SD from "../../api/schemas-devices.js";
import type * as Q from "../../api/schemas-queue.js";
import type * as R from "../../api/schemas-reconciliation.js";

export type Role = Static<typeof S.Role>;

export interface Me {
  userId: number | null;
  name: string;
  role: Role;
  partnerId: number | null;
}

/** A user (`reserved`: the environment's NOC admin, not editable). */
export type User = Static<typeof S.User>;

/** A new or re-issued API token, shown once. */
export type UserCreated = Static<typeof S.UserCreated>;

export type Page<T> = Omit<Static<ReturnType<typeof S.PageOf>>, "items"> & { items: T[] };

export type Partner = Static<typeof S.Partner>;

export type Integration = Static<typeof S.Integration>;
/** Ticketing settings (`internalNotePublish`: 2 Internal Project Team, 4 Internal & Co-Managed). */
export type Ticketing = Integration["ticketing"];
export type DeviceIntegration = Integration["devices"];

export interface PsaOption {
  id: number;
  label: string;
  isActive: boolean;
  /** For dependent lists: the parent's value this one belongs to (null: any). */
  parentId?: number | null;
  /** For scoped values: what the value belongs to (a ConnectWise status's board; null: no scope). */
  scope?: number | null;
}

/** Live pick-lists of the partner's PSA, by the names the settings fields refer to (`options`). */
export type PsaOptions = Record<string, PsaOption[]> & {
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
};

/** The portal-user ↔ PSA-resource map of time entries (GET/PUT /api/partners/:id/resource-map). */
export type ResourceMapLine = Static<typeof S.ResourceMapLine>;
export type PsaResource = Static<typeof S.PsaResource>;
export type ResourceMapInput = Static<typeof S.ResourceMapInput>;

/** A PSA system a partner may choose, with its settings fields (GET /api/psa/systems). */
export type PsaSystem = Static<typeof S.PsaSystem>;
/** One settings field of a PSA connector, as its manifest describes it. */
export type PsaField = Static<typeof S.PsaField>;

export interface Named {
  id: number;
  name: string;
}

export interface Catalog {
  statuses: Named[];
  priorities: Named[];
  deviceStates: DeviceState[];
}

export type MappingKind = Static<typeof S.MappingKind>;

/** A mapping row as the API returns it; the field names depend on the table. */
export type MappingRow = Static<typeof S.MappingRowOut> & {
  portalStatusId?: number;
  portalStatusName?: string;
  psaStatusId?: number;
  psaStatusName?: string;
  portalPriorityId?: number;
  portalPriorityName?: string;
  psaPriorityId?: number;
  psaPriorityName?: string;
  /** What the PSA value belongs to (a ConnectWise status's board); null where the PSA has none. */
  scope?: number | null;
};

export interface DriftItem {
  kind: string;
  psaId: number;
  message: string;
  detectedAt: string;
}

/** One configuration check (`warning`: passed, but worth acting on, e.g. a status no mapping row covers). */
export type Check = Static<typeof S.Check>;

export type Validation = Static<typeof S.Validation>;

export type RunStatus = "running" | "succeeded" | "partial" | "failed" | "awaiting-approval";

export type RunCounts = Static<typeof S.RunCounts>;

/** A sync run; the schema declares `status` as text, the UI knows its values. */
export type SyncRun = Omit<Static<typeof S.Run>, "status"> & {
  status: RunStatus;
  error: string | null;
  approvedBy: string | null;
};

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
    /** The client's name (plans made before it was recorded have none). */
    name?: string;
    companyId: number;
    /** The PSA company's name; null (or absent) when not known: show the id. */
    companyName?: string | null;
    linkedCount: number;
    items: PlanItem[];
  }>;
  orphans: PlanItem[];
}

export type SyncRunDetail = SyncRun & {
  log: string[];
  plan: AssetPlan | null;
};

export interface SyncStatus {
  lastSyncAt: string | null;
  lastSyncStatus: RunStatus | null;
  nextRunAt: string | null;
  schedule: string | null;
  running: number | null;
  /** The running run is paused at the hourly API budget and goes on by itself at this time. */
  pausedUntil: string | null;
}

export type Client = Static<typeof S.Client>;

export type DeviceState = Static<typeof S.DeviceState>;

export type Device = Static<typeof S.Device> & {
  partnerId: number;
  deviceType: string;
  ipAddress: string;
  operatingSystem: string;
  serialNumber: string;
  psaCiId: number | null;
  updatedAt: string;
};

export type Ticket = Static<typeof S.Ticket> & {
  deviceId: number | null;
  description: string;
  status: string;
  priority: string;
  createdAt: string;
  updatedAt: string;
  /** The PSA side (list and detail answers, when the sync engine runs). */
  psa?: PsaTicket;
};

export type Note = Static<typeof S.Note>;

/** Time logged on a ticket, and a ticket's effort (on the ticket's answer as `effort`). */
export type TimeEntry = Static<typeof S.TimeEntry>;
export type TimeEntryCreate = Static<typeof S.TimeEntryCreate>;
export type Effort = Static<typeof S.Effort>;
/** Effort per client and month (GET /api/partners/:id/reports/effort). */
export type EffortReport = Static<typeof S.EffortReport>;

export interface PsaTicket {
  ticketId: number | null;
  ticketNumber: string | null;
  /** synced | pending | error | out-of-queue | not-synced */
  state: string;
  lastSyncedAt: string | null;
  lastError: string | null;
  /** A condition that does not stop the sync (a portal status with no forward row). */
  warning: string | null;
  /** The device whose configuration item the PSA ticket references (its own, else the first alert device with one). */
  ciDeviceId?: number | null;
  /** No device of the ticket has a configuration item: the PSA ticket references none. */
  ciMissing?: boolean;
}

export type TicketDetail = Ticket & {
  alerts: Array<{ id: number; deviceId: number; message: string; createdAt: string }>;
  notes: Note[];
  devices: Array<{ id: number; hostname: string; state: DeviceState; primary: boolean }>;
};

export type SyncError = Static<typeof S.SyncErrorView> & {
  partnerId: number;
  nextAttemptAt: string | null;
  firstAt: string;
  lastAt: string;
  resolvedAt: string | null;
};

/** GET /api/partners/:id/webhooks: the PSA's webhooks (callbacks) registered, or polling only and why. */
export type WebhookState = Static<typeof S.WebhookState>;

/** The ticket queue across partners (GET /api/tickets) and its counts per status (GET /api/tickets/counts). */
export type QueueItem = Static<typeof Q.QueueItem>;
export type QueueCounts = Static<typeof Q.QueueCounts>;
export type QueueSyncState = (typeof Q.QUEUE_SYNC_STATES)[number];
/** GET /api/partners/:id/devices: a device across the partner's clients, with its client and PSA link. */
export type DeviceListItem = Static<typeof SD.DeviceListItem>;
export type DeviceSort = (typeof SD.DEVICE_SORTS)[number];
/** GET /api/devices/:id/overview: the device page (alerts, tickets, the PSA asset read live). */
export type DeviceOverview = Static<typeof SD.DeviceOverview>;
export type DeviceCi = Static<typeof SD.DeviceCi>;
// ---------------------------------------------------------------- reconciliation
/** GET /api/partners/:id/reconciliation: portal devices against the PSA's configuration items. */
export type ReconciliationView = Static<typeof R.ReconciliationView>;
export type ReconciliationItem = Static<typeof R.ReconciliationItem>;
export type ReconciliationActionInput = Static<typeof R.ReconciliationActionInput>;
export type ReconciliationActionResult = Static<typeof R.ReconciliationActionResult>;
/** A company of the partner's PSA (GET /api/partners/:id/psa-companies). */
export type PsaCompany = Static<typeof SC.PsaCompany>;
export type PsaCompanyList = Static<typeof SC.PsaCompanyList>;
/** Auto-match proposals by name (POST /api/partners/:id/clients/auto-match); nothing saved. */
export type AutoMatchResult = Static<typeof SC.AutoMatchResult>;
