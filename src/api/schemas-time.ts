import { type TSchema, Type } from "@sinclair/typebox";

/**
 * Schemas of time entries on tickets and the effort report (re-exported by schemas.ts). Times are
 * ISO-8601 with an offset; the portal checks them (and that the end follows the start) and answers a
 * bad one with a 400 naming the field.
 */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const IsoTime = (description: string) => Type.String({ minLength: 1, maxLength: 64, description });
const WorkTypeId = Nullable(
  Type.Integer({
    minimum: 1,
    maximum: 2_147_483_647,
    description: "The PSA work type (Autotask billing code); null = the partner's default from Setup",
  }),
);

const fields = {
  startedAt: IsoTime("Start, ISO-8601 with an offset (e.g. 2026-03-01T09:30:00Z)"),
  endedAt: Type.Optional(IsoTime("End, after the start; or give durationMinutes instead")),
  durationMinutes: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 1440, description: "Instead of endedAt: minutes from the start" }),
  ),
  summary: Type.String({ minLength: 1, maxLength: 2000 }),
  internalNote: Type.Optional(Type.String({ maxLength: 8000 })),
  billable: Type.Optional(Type.Boolean({ description: "Default true (on create)" })),
  workTypeId: Type.Optional(WorkTypeId),
};

export const TimeEntryCreate = Type.Object(fields, { additionalProperties: false });
export const TimeEntryPatch = Type.Partial(TimeEntryCreate, { additionalProperties: false });

export const TimeEntry = Type.Object({
  id: Type.Integer(),
  partnerId: Type.Integer(),
  ticketId: Type.Integer(),
  userId: Nullable(Type.Integer()),
  userName: Type.String(),
  startedAt: Type.String(),
  endedAt: Type.String(),
  minutes: Type.Integer(),
  summary: Type.String(),
  internalNote: Type.String(),
  billable: Type.Boolean(),
  workTypeId: Nullable(Type.Integer()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  deletedAt: Nullable(Type.String()),
  /** How the entry stands with the PSA; absent until the sync considered it. */
  psa: Type.Optional(
    Type.Object({
      state: Type.String({
        description:
          "creating, synced, deleted, corrected, gone; kept back: unmapped (no PSA resource), refused (by the PSA)",
      }),
      message: Nullable(Type.String()),
      psaId: Nullable(Type.Integer()),
    }),
  ),
});

/** A ticket's effort (on GET /api/tickets/:ticketId). */
export const Effort = Type.Object({
  minutes: Type.Integer(),
  billableMinutes: Type.Integer(),
  entries: Type.Integer(),
});

export const EffortQuery = Type.Object({
  from: Type.Optional(Type.String({ description: "First day, YYYY-MM-DD (entries started on or after it)" })),
  to: Type.Optional(
    Type.String({ description: "Day after the last, YYYY-MM-DD (entries started before it)" }),
  ),
  format: Type.Optional(Type.Unsafe<"json" | "csv">({ type: "string", enum: ["json", "csv"] })),
});

export const EffortLine = Type.Object({
  clientId: Type.Integer(),
  clientCode: Type.String(),
  clientName: Type.String(),
  month: Type.String({ description: "YYYY-MM (UTC)" }),
  entries: Type.Integer(),
  minutes: Type.Integer(),
  billableMinutes: Type.Integer(),
});

export const EffortReport = Type.Object({
  partnerId: Type.Integer(),
  from: Nullable(Type.String()),
  to: Nullable(Type.String()),
  lines: Type.Array(EffortLine),
  total: Type.Object({ entries: Type.Integer(), minutes: Type.Integer(), billableMinutes: Type.Integer() }),
});

const PsaId = Nullable(Type.Integer({ minimum: 0, maximum: 2_147_483_647 }));
const UserId = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });

/** One portal user's line of the resource map: stored, or suggested from the e-mail address or name. */
export const ResourceMapLine = Type.Object({
  userId: UserId,
  userName: Type.String(),
  psaResourceId: PsaId,
  psaRoleId: PsaId,
  psaLabel: Type.String(),
  suggested: Type.Boolean(),
});

/** A PSA resource (Autotask resource, ConnectWise member) a user's time entries can be booked to. */
export const PsaResource = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  email: Type.String(),
  active: Type.Boolean(),
  defaultRoleId: Type.Union([Type.Integer(), Type.Null()]),
});

export const ResourceMapInput = Type.Object(
  { userId: UserId, psaResourceId: PsaId, psaRoleId: PsaId },
  { additionalProperties: false },
);
