import type { Selectable } from "kysely";
import type {
  AuditRow,
  ClientRow,
  DeviceRow,
  MappingRow,
  PartnerRow,
  TicketAlertRow,
  TicketNoteRow,
  TicketRow,
  UserRow,
} from "../store/schema.js";
import type { DeviceState, MappingKind, Role } from "./catalog.js";
import { portalPriorityName, portalStatusName } from "./catalog.js";
import type {
  Alert,
  AuditEntry,
  Client,
  Device,
  MappingEntry,
  Note,
  Partner,
  Ticket,
  User,
} from "./types.js";

/** Row (snake_case) ↔ domain (camelCase) converters. The only place that knows both shapes. */

export const toPartner = (r: Selectable<PartnerRow>): Partner => ({
  id: r.id,
  name: r.name,
  timeZone: r.time_zone,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toClient = (r: Selectable<ClientRow>): Client => ({
  id: r.id,
  partnerId: r.partner_id,
  code: r.code,
  name: r.name,
  psaCompanyId: r.psa_company_id,
  psaCompanyName: r.psa_company_name,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toDevice = (r: Selectable<DeviceRow>): Device => ({
  id: r.id,
  partnerId: r.partner_id,
  clientId: r.client_id,
  state: r.state as DeviceState,
  hostname: r.hostname,
  deviceType: r.device_type,
  ipAddress: r.ip_address,
  gateway: r.gateway,
  make: r.make,
  model: r.model,
  operatingSystem: r.operating_system,
  ram: r.ram,
  biosName: r.bios_name,
  biosVersion: r.bios_version,
  driveInfo: r.drive_info,
  lastLoggedUser: r.last_logged_user,
  serialNumber: r.serial_number,
  warrantyEndDate: r.warranty_end_date,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Domain device attribute name → column name. */
export const DEVICE_COLUMNS = {
  state: "state",
  hostname: "hostname",
  deviceType: "device_type",
  ipAddress: "ip_address",
  gateway: "gateway",
  make: "make",
  model: "model",
  operatingSystem: "operating_system",
  ram: "ram",
  biosName: "bios_name",
  biosVersion: "bios_version",
  driveInfo: "drive_info",
  lastLoggedUser: "last_logged_user",
  serialNumber: "serial_number",
  warrantyEndDate: "warranty_end_date",
} as const satisfies Record<string, keyof DeviceRow>;

export const toTicket = (r: Selectable<TicketRow>): Ticket => ({
  id: r.id,
  partnerId: r.partner_id,
  clientId: r.client_id,
  deviceId: r.device_id,
  title: r.title,
  description: r.description,
  statusId: r.status_id,
  status: portalStatusName(r.status_id) ?? `#${r.status_id}`,
  priorityId: r.priority_id,
  priority: portalPriorityName(r.priority_id) ?? `#${r.priority_id}`,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toAlert = (r: Selectable<TicketAlertRow>): Alert => ({
  id: r.id,
  deviceId: r.device_id,
  message: r.message,
  createdAt: r.created_at,
});

export const toNote = (r: Selectable<TicketNoteRow>): Note => ({
  id: r.id,
  ticketId: r.ticket_id,
  text: r.text,
  published: r.published === 1,
  author: r.author,
  createdAt: r.created_at,
});

export const toMapping = (r: Selectable<MappingRow>): MappingEntry => {
  const kind = r.kind as MappingKind;
  const portalName =
    (kind === "priority" ? portalPriorityName(r.portal_id) : portalStatusName(r.portal_id)) ?? "";
  return {
    id: r.id,
    kind,
    portalId: r.portal_id,
    portalName,
    psaId: r.psa_id,
    psaLabel: r.psa_label,
    scope: r.scope,
  };
};

export const toUser = (r: Selectable<UserRow>): User => ({
  id: r.id,
  name: r.name,
  role: r.role as Role,
  partnerId: r.partner_id,
  createdAt: r.created_at,
  username: r.username,
  hasPassword: r.password_hash !== null,
  disabled: r.disabled !== 0,
  tokenExpiresAt: r.token_expires_at,
  reserved: r.system_role !== null,
});

export const toAudit = (r: Selectable<AuditRow>): AuditEntry => ({
  id: r.id,
  partnerId: r.partner_id,
  actorUserId: r.actor_user_id,
  actorName: r.actor_name,
  action: r.action,
  target: r.target,
  detail: JSON.parse(r.detail) as Record<string, unknown>,
  createdAt: r.created_at,
});

export const bool = (b: boolean): number => (b ? 1 : 0);
