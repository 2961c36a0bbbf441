import type { DeviceState, MappingKind, Role } from "./catalog.js";

/** Domain objects (camelCase), as the API returns them. */

export interface Partner {
  id: number;
  name: string;
  timeZone: string;
  createdAt: string;
  updatedAt: string;
}

export interface TicketingSettings {
  enabled: boolean;
  nocMayEnterTickets: boolean;
  system: "autotask";
  /** Empty = Autotask's public zone discovery; set to point at an emulator or a fixed zone. */
  apiUrl: string;
  username: string;
  integrationCode: string;
  queueId: number | null;
  queueName: string;
  billingCodeId: number | null;
  billingCodeName: string;
  /** Defaults every Autotask ticket create carries (null = not sent: Autotask's own default applies). */
  ticketCategoryId: number | null;
  ticketTypeId: number | null;
  issueTypeId: number | null;
  subIssueTypeId: number | null;
  sourceId: number | null;
  /** dueDateTime = the create time plus this many hours; null = not sent. */
  dueDateOffsetHours: number | null;
  /** Autotask `publish` of internal notes: 2 Internal Project Team, 4 Internal & Co-Managed. */
  internalNotePublish: InternalNotePublish;
}

export const INTERNAL_NOTE_PUBLISH = [2, 4] as const;
export type InternalNotePublish = (typeof INTERNAL_NOTE_PUBLISH)[number];

/** The ticket defaults of the settings; in a PUT each one omitted keeps the stored value. */
export const TICKET_DEFAULT_KEYS = [
  "ticketCategoryId",
  "ticketTypeId",
  "issueTypeId",
  "subIssueTypeId",
  "sourceId",
  "dueDateOffsetHours",
  "internalNotePublish",
] as const;
export type TicketDefaultKey = (typeof TICKET_DEFAULT_KEYS)[number];

export interface DeviceSettings {
  enabled: boolean;
  productId: number | null;
  configurationItemTypeId: number | null;
  advanced: boolean;
  /** Cron expression (5 fields) in the partner's time zone. */
  schedule: string;
}

/** Integration settings as shown: the secret is never included, only whether one is stored. */
export interface IntegrationView {
  ticketing: TicketingSettings & { secret: "********" | "" };
  devices: DeviceSettings;
  updatedAt: string | null;
}

/** What a PUT carries: `secret` omitted or "********" keeps the stored one; null or "" clears it. */
export interface IntegrationInput {
  ticketing: Omit<TicketingSettings, "system" | TicketDefaultKey> &
    Partial<Pick<TicketingSettings, TicketDefaultKey>> & { system?: "autotask"; secret?: string | null };
  devices: Omit<DeviceSettings, "schedule"> & { schedule?: string | null };
}

export interface Client {
  id: number;
  partnerId: number;
  code: string;
  name: string;
  psaCompanyId: number | null;
  createdAt: string;
  updatedAt: string;
}

export const DEVICE_ATTRIBUTES = [
  "hostname",
  "deviceType",
  "ipAddress",
  "gateway",
  "make",
  "model",
  "operatingSystem",
  "ram",
  "biosName",
  "biosVersion",
  "driveInfo",
  "lastLoggedUser",
  "serialNumber",
] as const;
export type DeviceAttribute = (typeof DEVICE_ATTRIBUTES)[number];

export type DeviceAttributes = Record<DeviceAttribute, string> & { warrantyEndDate: string | null };

export interface Device extends DeviceAttributes {
  id: number;
  partnerId: number;
  clientId: number;
  state: DeviceState;
  createdAt: string;
  updatedAt: string;
}

export interface Alert {
  id: number;
  deviceId: number;
  message: string;
  createdAt: string;
}

export interface Note {
  id: number;
  ticketId: number;
  text: string;
  published: boolean;
  author: string;
  createdAt: string;
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
}

export interface TicketDetail extends Ticket {
  alerts: Alert[];
  notes: Note[];
}

export interface MappingEntry {
  id: number;
  kind: MappingKind;
  portalId: number;
  portalName: string;
  psaId: number;
  psaLabel: string;
}

export interface User {
  id: number;
  name: string;
  role: Role;
  partnerId: number | null;
  createdAt: string;
  /** Sign-in name for the web UI, or null when the user has only an API token. */
  username: string | null;
  /** Whether a password is set (the hash itself is never shown). */
  hasPassword: boolean;
  disabled: boolean;
  /** When the API token stops working; null = never. */
  tokenExpiresAt: string | null;
  /** The environment's NOC admin (NOCBRIDGE_ADMIN_TOKEN): cannot be edited, disabled or deleted. */
  reserved: boolean;
}

export interface AuditEntry {
  id: number;
  partnerId: number | null;
  actorUserId: number | null;
  actorName: string;
  action: string;
  target: string;
  detail: Record<string, unknown>;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}
