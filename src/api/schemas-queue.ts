import { type TSchema, Type } from "@sinclair/typebox";

/**
 * Schemas of the ticket queue (`GET /api/tickets`, `GET /api/tickets/counts`): the tickets of every
 * partner the caller sees, with filters, search and paging, and the count per status. Like schemas.ts,
 * this file imports only plain constants (the web UI's type-check reads it).
 */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Id = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });
const Time = Type.String({ format: "date-time" });

/** The sync states of a ticket, as the sync engine names them. */
export const QUEUE_SYNC_STATES = ["synced", "pending", "error", "out-of-queue", "not-synced"] as const;

/** The filters both queue routes take. */
const filters = {
  partnerId: Type.Optional({ ...Id, description: "Only this partner's tickets (NOC-wide callers)" }),
  clientId: Type.Optional({ ...Id, description: "Only this client's tickets" }),
  statusId: Type.Optional({ ...Id, description: "Portal status id (GET /api/catalog)" }),
  priorityId: Type.Optional({ ...Id, description: "Portal priority id (GET /api/catalog)" }),
  syncState: Type.Optional(
    Type.Unsafe<(typeof QUEUE_SYNC_STATES)[number]>({
      type: "string",
      enum: [...QUEUE_SYNC_STATES],
      description: "The ticket's sync state with the partner's PSA",
    }),
  ),
  search: Type.Optional(
    Type.String({
      maxLength: 200,
      description: "Text in the title, the client's code or name, or the PSA ticket number",
    }),
  ),
};

export const QueueCountsQuery = Type.Object(filters, { additionalProperties: false });

export const QueueQuery = Type.Object(
  {
    ...filters,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 })),
  },
  { additionalProperties: false },
);

/** The ticket's PSA side: its PSA id and number, sync state, last sync, last error, warning. */
export const QueuePsa = Type.Object({
  ticketId: Nullable(Type.Integer()),
  ticketNumber: Nullable(Type.String()),
  state: Type.String(),
  lastSyncedAt: Nullable(Type.String()),
  lastError: Nullable(Type.String()),
  warning: Nullable(Type.String()),
  /** The device whose configuration item the PSA ticket references; null when none has one. */
  ciDeviceId: Nullable(Type.Integer()),
  /** No device of the ticket has a configuration item. */
  ciMissing: Type.Boolean(),
});

export const QueueItem = Type.Object({
  id: Type.Integer(),
  partnerId: Type.Integer(),
  partnerName: Type.String(),
  /** The partner's PSA system ("autotask", "connectwise"); null when none is set up. */
  psaSystem: Nullable(Type.String()),
  clientId: Type.Integer(),
  clientCode: Type.String(),
  clientName: Type.String(),
  deviceId: Nullable(Type.Integer()),
  title: Type.String(),
  description: Type.String(),
  statusId: Type.Integer(),
  status: Type.String(),
  priorityId: Type.Integer(),
  priority: Type.String(),
  createdAt: Time,
  updatedAt: Time,
  /** Present when the sync engine runs. */
  psa: Type.Optional(QueuePsa),
});

export const QueuePage = Type.Object({
  items: Type.Array(QueueItem),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

export const QueueCounts = Type.Object({
  total: Type.Integer({ description: "Tickets the filters match, the status filter left out" }),
  statuses: Type.Array(
    Type.Object({ statusId: Type.Integer(), status: Type.String(), count: Type.Integer() }),
    {
      description:
        "Every portal status with its count under the other filters (the status filter is not applied)",
    },
  ),
});
