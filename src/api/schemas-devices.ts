import { type TSchema, Type } from "@sinclair/typebox";
import { DEVICE_STATES } from "../portal/catalog.js";

/**
 * Schemas of the partner-wide device list (GET /api/partners/:partnerId/devices) and the device page
 * (GET /api/devices/:deviceId/overview). The UI takes its types from here (type-only), so this file
 * imports only plain constants.
 */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const StringEnum = <T extends readonly string[]>(values: T, description?: string) =>
  Type.Unsafe<T[number]>({ type: "string", enum: [...values], ...(description ? { description } : {}) });
const Time = Type.String({ format: "date-time" });
const IdInt = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });

/** The columns the list sorts by (kept equal to the portal's list by the contract check). */
export const DEVICE_SORTS = ["hostname", "client", "state", "type", "serial", "warranty", "synced"] as const;

export const DeviceListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 })),
    clientId: Type.Optional(IdInt),
    state: Type.Optional(StringEnum(DEVICE_STATES)),
    search: Type.Optional(
      Type.String({ maxLength: 200, description: "Part of the hostname, serial number or IP address" }),
    ),
    sort: Type.Optional(
      StringEnum(
        DEVICE_SORTS,
        "warranty: warranty end date; synced: when the asset sync last wrote or checked the PSA asset",
      ),
    ),
    order: Type.Optional(StringEnum(["asc", "desc"] as const)),
  },
  { additionalProperties: false },
);

export const DeviceClient = Type.Object({
  id: Type.Integer(),
  code: Type.String(),
  name: Type.String(),
  psaCompanyId: Nullable(Type.Integer()),
  psaCompanyName: Nullable(Type.String()),
});

export const DeviceListItem = Type.Object({
  id: Type.Integer(),
  partnerId: Type.Integer(),
  clientId: Type.Integer(),
  state: StringEnum(DEVICE_STATES),
  hostname: Type.String(),
  deviceType: Type.String(),
  ipAddress: Type.String(),
  gateway: Type.String(),
  make: Type.String(),
  model: Type.String(),
  operatingSystem: Type.String(),
  ram: Type.String(),
  biosName: Type.String(),
  biosVersion: Type.String(),
  driveInfo: Type.String(),
  lastLoggedUser: Type.String(),
  serialNumber: Type.String(),
  warrantyEndDate: Nullable(Type.String({ format: "date" })),
  createdAt: Time,
  updatedAt: Time,
  client: DeviceClient,
  psaCiId: Nullable(Type.Integer()),
  lastSyncedAt: Nullable(Time),
});

export const DeviceListPage = Type.Object({
  items: Type.Array(DeviceListItem),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

export const DeviceAlert = Type.Object({
  id: Type.Integer(),
  ticketId: Type.Integer(),
  ticketTitle: Type.String(),
  message: Type.String(),
  createdAt: Time,
});

/** The PSA side of a ticket (its number where linked), as the ticket list shows it. */
export const DeviceTicketPsa = Type.Object(
  {
    ticketId: Nullable(Type.Integer()),
    ticketNumber: Nullable(Type.String()),
    state: Type.String(),
  },
  { additionalProperties: true },
);

export const DeviceTicket = Type.Object({
  id: Type.Integer(),
  title: Type.String(),
  status: Type.String(),
  priority: Type.String(),
  createdAt: Time,
  updatedAt: Time,
  /** The ticket's own device is this one (else one of its alerts names it). */
  primary: Type.Boolean(),
  psa: Type.Optional(DeviceTicketPsa),
});

export const DeviceCi = Type.Object({
  psaId: Type.Integer(),
  syncedAt: Nullable(Time),
  live: StringEnum(["found", "gone", "unavailable"] as const),
  name: Nullable(Type.String()),
  active: Nullable(Type.Boolean()),
  serialNumber: Nullable(Type.String()),
  companyId: Nullable(Type.Integer()),
  companyName: Nullable(Type.String()),
  problem: Nullable(Type.String()),
  /** The asset's custom (user-defined) fields as the PSA holds them (advanced mode writes them). */
  customFields: Type.Array(Type.Object({ name: Type.String(), value: Nullable(Type.String()) })),
});

export const DeviceOverview = Type.Object({
  device: DeviceListItem,
  alerts: Type.Array(DeviceAlert),
  alertsTotal: Type.Integer(),
  tickets: Type.Array(DeviceTicket),
  ticketsTotal: Type.Integer(),
  /** The linked PSA asset, read live; null when the device has no asset (not synced). */
  ci: Nullable(DeviceCi),
});
