import type { ConnectorFields, ConnectorFieldsIn, PsaSystem } from "../psa/manifests.js";
import type { DeviceState, MappingKind, Role } from "./catalog.js";

/** Domain objects (camelCase), as the API returns them. */

export interface Partner {
  id: number;
  name: string;
  timeZone: string;
  createdAt: string;
  updatedAt: string;
}

/** The switches every partner's integration has, whatever its PSA: the `ticketing` part. */
export interface TicketingCommon {
  enabled: boolean;
  nocMayEnterTickets: boolean;
}

/** The switches every partner's integration has, whatever its PSA: the `devices` part. */
export interface DeviceCommon {
  enabled: boolean;
  advanced: boolean;
  /** Cron expression (5 fields) in the partner's time zone. */
  schedule: string;
}

type Flat<T> = { [K in keyof T]: T[K] } & {};

/**
 * A partner's integration settings for one PSA system, as shown: the common switches and, inside the
 * same two objects, the connector's own fields as its manifest describes them (psa/manifests.ts).
 * The secret is never included, only whether one is stored.
 */
export interface IntegrationViewOf<S extends PsaSystem> {
  ticketing: Flat<
    TicketingCommon & { system: S } & ConnectorFields<S, "ticketing"> & { secret: "********" | "" }
  >;
  devices: Flat<
    Pick<DeviceCommon, "enabled"> & ConnectorFields<S, "devices"> & Omit<DeviceCommon, "enabled">
  >;
  updatedAt: string | null;
}

/** Integration settings as shown, for any of the built-in systems. */
export type IntegrationView = { [S in PsaSystem]: IntegrationViewOf<S> }[PsaSystem];
/** The `ticketing` part without the secret (the settings the engine reads). */
export type TicketingSettings = IntegrationView["ticketing"] extends infer T
  ? T extends unknown
    ? Flat<Omit<T, "secret">>
    : never
  : never;
export type DeviceSettings = IntegrationView["devices"];

/**
 * What a PUT carries, for one system: `system` omitted keeps the stored one; `secret` omitted or
 * "********" keeps the stored one, null or "" clears it; a connector field the manifest marks
 * Optional may be left out (psa/connector.ts ManifestField.keepWhenOmitted says what that means).
 */
export interface IntegrationInputOf<S extends PsaSystem> {
  ticketing: Flat<
    TicketingCommon & { system?: S; secret?: string | null } & ConnectorFieldsIn<S, "ticketing">
  >;
  devices: Flat<
    Pick<DeviceCommon, "enabled" | "advanced"> & { schedule?: string | null } & ConnectorFieldsIn<
        S,
        "devices"
      >
  >;
}

export type IntegrationInput = { [S in PsaSystem]: IntegrationInputOf<S> }[PsaSystem];

export interface Client {
  id: number;
  partnerId: number;
  code: string;
  name: string;
  psaCompanyId: number | null;
  /** The PSA company's name as last read from the PSA; null when not known. */
  psaCompanyName: string | null;
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

/** Time a user logged on a ticket. */
export interface TimeEntry {
  id: number;
  partnerId: number;
  ticketId: number;
  /** The technician; null for the system (CLI) or a user since removed. */
  userId: number | null;
  userName: string;
  startedAt: string;
  endedAt: string;
  /** Whole minutes between start and end (rounded). */
  minutes: number;
  summary: string;
  internalNote: string;
  billable: boolean;
  /** The PSA work type (billing code); null = the partner's default. */
  workTypeId: number | null;
  createdAt: string;
  updatedAt: string;
  /** Set when deleted (the row stays so the deletion can reach the PSA). */
  deletedAt: string | null;
}

/** A ticket's effort: the sum of its (not deleted) time entries. */
export interface Effort {
  minutes: number;
  billableMinutes: number;
  entries: number;
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
  /** What the PSA value belongs to (a ConnectWise status's board); null when the PSA has no scope. */
  scope: number | null;
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
