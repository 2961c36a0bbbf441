import { type TSchema, Type } from "@sinclair/typebox";
import {
  DEVICE_STATES,
  IMPORT_MAX_ROWS,
  MAPPING_KINDS,
  PORTAL_PRIORITIES,
  PORTAL_STATUSES,
  ROLES,
} from "../portal/catalog.js";
import { RunTiming } from "./schemas-runs.js";
import { Effort } from "./schemas-time.js";

/**
 * JSON schemas of the REST API (TypeBox → JSON Schema → Ajv validation and the OpenAPI document), and
 * the one source of its shapes: routes infer their request types from them, the web UI takes its
 * types from them (type-only, src/web/app/types.ts), and contract-check.ts holds them to the domain
 * types. The UI's type-check reads this file without Node's types, so it imports only plain constants.
 */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
/** Largest integer the stores keep in an integer column (PostgreSQL `integer` is 32-bit). */
export const INT_MAX = 2_147_483_647;
/** A whole number a column can hold: larger ones are a 400 naming the field, never a database error. */
export const Int = (opts: { minimum?: number; description?: string } = {}) =>
  Type.Integer({ minimum: -INT_MAX - 1, maximum: INT_MAX, ...opts });
/** Largest page offset accepted. */
export const OFFSET_MAX = 1_000_000_000;
export const Id = Int({ minimum: 1 });
const Str = (max = 255) => Type.String({ maxLength: max });
const Time = Type.String({ format: "date-time" });
const Open = { additionalProperties: true };

/** A string enum as one `enum` keyword, so a bad value is reported with the allowed values. */
const StringEnum = <T extends readonly string[]>(values: T) =>
  Type.Unsafe<T[number]>({ type: "string", enum: [...values] });

export const IdParams = <K extends string>(name: K) => Type.Object({ [name]: Id } as Record<K, typeof Id>);

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: OFFSET_MAX, default: 0 })),
};

export const PageOf = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    total: Type.Integer(),
    limit: Type.Integer(),
    offset: Type.Integer(),
  });

export const ErrorBody = Type.Object(
  {
    statusCode: Type.Integer(),
    error: Type.String(),
    code: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String()),
  },
  { $id: "Error" },
);

// ---------------------------------------------------------------- users

export const Role = StringEnum(ROLES);
export const UserCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    role: Role,
    partnerId: Type.Optional(Nullable(Id)),
    username: Type.Optional(Type.String({ minLength: 2, maxLength: 100 })),
    password: Type.Optional(Type.String({ minLength: 8, maxLength: 200 })),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);
export const UserPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    role: Type.Optional(Role),
    username: Type.Optional(Type.String({ minLength: 2, maxLength: 100 })),
    password: Type.Optional(Type.String({ minLength: 8, maxLength: 200 })),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export const TokenRotate = Type.Object(
  { expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })) },
  { additionalProperties: false },
);
export const SessionCreate = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 100 }),
    password: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);
export const User = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    role: Role,
    partnerId: Nullable(Type.Integer()),
    createdAt: Time,
    username: Nullable(Type.String()),
    hasPassword: Type.Boolean(),
    disabled: Type.Boolean(),
    tokenExpiresAt: Nullable(Time),
    reserved: Type.Boolean(),
  },
  Open,
);
export const UserCreated = Type.Object({ id: Type.Integer(), token: Type.String(), user: User });

// ---------------------------------------------------------------- partners

export const PartnerCreate = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), timeZone: Type.Optional(Str(64)) },
  { additionalProperties: false },
);
export const PartnerPatch = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), timeZone: Type.Optional(Str(64)) },
  { additionalProperties: false },
);
export const Partner = Type.Object(
  { id: Type.Integer(), name: Type.String(), timeZone: Type.String(), createdAt: Time, updatedAt: Time },
  Open,
);

// The integration settings and the PSA systems' fields: built from the connectors' manifests.
export { Integration, IntegrationPut, mergeObjects, PsaField, PsaSystem } from "./schemas-integration.js";

export const SecretView = Type.Object({ secret: Nullable(Type.String()) });

// ---------------------------------------------------------------- mappings

export const MappingKind = StringEnum(MAPPING_KINDS);
const PsaLabel = Type.Optional(Str(200));
/** What the PSA value belongs to (a ConnectWise status's board); omitted or null where the PSA has none. */
const Scope = Type.Optional(Nullable(Int({ minimum: 0 })));
export const MappingRowIn = {
  "status-forward": Type.Object(
    { portalStatusId: Int(), psaStatusId: Int({ minimum: 0 }), psaStatusName: PsaLabel, scope: Scope },
    { additionalProperties: false },
  ),
  "status-reverse": Type.Object(
    { psaStatusId: Int({ minimum: 0 }), portalStatusId: Int(), psaStatusName: PsaLabel, scope: Scope },
    { additionalProperties: false },
  ),
  priority: Type.Object(
    {
      psaPriorityId: Int({ minimum: 0 }),
      portalPriorityId: Int(),
      psaPriorityName: PsaLabel,
      scope: Scope,
    },
    { additionalProperties: false },
  ),
} as const;
export const MappingRowOut = Type.Object({ id: Type.Integer() }, Open);
export const MappingTable = Type.Object({ kind: MappingKind, rows: Type.Array(MappingRowOut) });

// ---------------------------------------------------------------- clients and devices

export const ClientCreate = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 50 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    psaCompanyId: Type.Optional(Nullable(Int({ minimum: 0 }))),
  },
  { additionalProperties: false },
);
export const ClientPatch = Type.Partial(ClientCreate, { additionalProperties: false });
export const Client = Type.Object(
  {
    id: Type.Integer(),
    partnerId: Type.Integer(),
    code: Type.String(),
    name: Type.String(),
    psaCompanyId: Nullable(Type.Integer()),
    psaCompanyName: Nullable(Type.String()),
    createdAt: Time,
    updatedAt: Time,
  },
  Open,
);

export const DeviceState = StringEnum(DEVICE_STATES);
const DeviceAttrs = {
  deviceType: Type.Optional(Str()),
  ipAddress: Type.Optional(Str(100)),
  gateway: Type.Optional(Str(100)),
  make: Type.Optional(Str()),
  model: Type.Optional(Str()),
  operatingSystem: Type.Optional(Str()),
  ram: Type.Optional(Str(100)),
  biosName: Type.Optional(Str()),
  biosVersion: Type.Optional(Str(100)),
  driveInfo: Type.Optional(Str(1000)),
  lastLoggedUser: Type.Optional(Str()),
  serialNumber: Type.Optional(Str(100)),
  warrantyEndDate: Type.Optional(Nullable(Type.String({ format: "date" }))),
};
export const DeviceCreate = Type.Object(
  { state: DeviceState, hostname: Type.String({ minLength: 1, maxLength: 255 }), ...DeviceAttrs },
  { additionalProperties: false },
);
export const DevicePatch = Type.Partial(DeviceCreate, { additionalProperties: false });
export const DeviceImport = Type.Array(DeviceCreate, { maxItems: IMPORT_MAX_ROWS });
export const Device = Type.Object(
  { id: Type.Integer(), clientId: Type.Integer(), state: DeviceState, hostname: Type.String() },
  Open,
);
export const DeviceImportResult = Type.Object({
  created: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
  items: Type.Array(Type.Object({ index: Type.Integer(), id: Type.Integer(), action: Type.String() })),
});

// ---------------------------------------------------------------- tickets and notes

export const StatusId = Int({
  description: PORTAL_STATUSES.map((s) => `${s.id} ${s.name}`).join(", "),
});
export const PriorityId = Int({
  description: PORTAL_PRIORITIES.map((p) => `${p.id} ${p.name}`).join(", "),
});
export const TicketCreate = Type.Object(
  {
    clientId: Id,
    deviceId: Type.Optional(Nullable(Id)),
    title: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.Optional(Type.String({ maxLength: 8000 })),
    statusId: StatusId,
    priorityId: PriorityId,
    alerts: Type.Optional(
      Type.Array(
        Type.Object(
          { deviceId: Id, message: Type.String({ minLength: 1, maxLength: 2000 }) },
          { additionalProperties: false },
        ),
        { maxItems: 500 },
      ),
    ),
  },
  { additionalProperties: false },
);
export const TicketPatch = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    description: Type.Optional(Type.String({ maxLength: 8000 })),
    statusId: Type.Optional(StatusId),
    priorityId: Type.Optional(PriorityId),
    deviceId: Type.Optional(Nullable(Id)),
  },
  { additionalProperties: false },
);
export const Ticket = Type.Object(
  {
    id: Type.Integer(),
    partnerId: Type.Integer(),
    clientId: Type.Integer(),
    title: Type.String(),
    statusId: Type.Integer(),
    priorityId: Type.Integer(),
    /** The ticket's logged effort (its time entries that are not deleted). */
    effort: Type.Optional(Effort),
  },
  Open,
);
export const NoteCreate = Type.Object(
  { text: Type.String({ minLength: 1, maxLength: 32000 }), published: Type.Boolean() },
  { additionalProperties: false },
);
export const Note = Type.Object(
  {
    id: Type.Integer(),
    ticketId: Type.Integer(),
    text: Type.String(),
    published: Type.Boolean(),
    author: Type.String(),
    createdAt: Time,
  },
  Open,
);
export {
  Effort,
  EffortLine,
  EffortQuery,
  EffortReport,
  PsaResource,
  ResourceMapInput,
  ResourceMapLine,
  TimeEntry,
  TimeEntryCreate,
  TimeEntryPatch,
} from "./schemas-time.js";

export const Audit = Type.Object(
  { id: Type.Integer(), action: Type.String(), actorName: Type.String(), createdAt: Time },
  Open,
);

// ---------------------------------------------------------------- webhook state

/** A partner's PSA webhooks (Autotask webhooks, ConnectWise callbacks): registered, or polling only and why (Setup and Sync pages). */
export const WebhookState = Type.Object({
  mode: StringEnum(["webhooks", "polling", "off"] as const),
  reason: Nullable(Type.String()),
  url: Nullable(Type.String()),
  webhooks: Type.Array(Type.Object({ entity: Type.String(), psaWebhookId: Type.Integer() })),
  unsubscribedFields: Type.Array(Type.String()),
  pollIntervalMinutes: Type.Integer(),
  checkedAt: Nullable(Type.String()),
});

// ---------------------------------------------------------------- sync runs and errors

export const Check = Type.Object({
  name: Type.String(),
  ok: Type.Boolean(),
  message: Type.String(),
  fix: Type.Optional(Type.String()),
  warning: Type.Optional(Type.Boolean()),
});
export const Validation = Type.Object({ ok: Type.Boolean(), checks: Type.Array(Check) });
export const RunCounts = Type.Object({
  created: Type.Integer(),
  updated: Type.Integer(),
  deactivated: Type.Integer(),
  unchanged: Type.Integer(),
  failed: Type.Integer(),
});
export const Run = Type.Object(
  {
    id: Type.Integer(),
    partnerId: Type.Integer(),
    status: Type.String(),
    trigger: Type.String(),
    dryRun: Type.Boolean(),
    counts: RunCounts,
    apiCalls: Type.Integer(),
    startedAt: Type.String(),
    finishedAt: Type.Union([Type.String(), Type.Null()]),
    ...RunTiming,
  },
  { additionalProperties: true },
);

export const SyncErrorView = Type.Object(
  {
    id: Type.Integer(),
    ticketId: Type.Union([Type.Integer(), Type.Null()]),
    psaTicketId: Type.Union([Type.Integer(), Type.Null()]),
    error: Type.String(),
    code: Type.String(),
    /** What `code` means, for people ("Client not mapped to a company in the PSA"). */
    codeText: Type.String(),
    /** The portal ticket's title, when known. */
    ticketTitle: Type.Union([Type.String(), Type.Null()]),
    /** The PSA ticket's number ("T20261128.0009"), when the ticket is linked. */
    ticketNumber: Type.Union([Type.String(), Type.Null()]),
    attempts: Type.Integer(),
    parked: Type.Boolean(),
  },
  { additionalProperties: true },
);
