import { type TSchema, Type } from "@sinclair/typebox";

/**
 * Schemas of the reconciliation view (portal devices against the PSA's configuration items) and its
 * actions. The path and the item kinds are fixed: tools outside nocbridge read them.
 */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const ReconciliationKind = Type.Union(
  [
    Type.Literal("orphan-ci"),
    Type.Literal("wrong-company"),
    Type.Literal("duplicate-serial"),
    Type.Literal("changed-in-psa"),
  ],
  { description: "orphan-ci | wrong-company | duplicate-serial | changed-in-psa" },
);

export const ReconciliationActionName = Type.Union(
  [
    Type.Literal("link"),
    Type.Literal("move"),
    Type.Literal("deactivate"),
    Type.Literal("resync"),
    Type.Literal("ignore"),
    Type.Literal("unignore"),
  ],
  { description: "link | move | deactivate | resync | ignore | unignore" },
);

export const ReconDevice = Type.Object({
  id: Type.Integer(),
  hostname: Type.String(),
  serialNumber: Type.String(),
  clientId: Type.Integer(),
  clientCode: Type.String(),
  clientName: Type.String(),
});

export const ReconCi = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  serialNumber: Nullable(Type.String()),
  companyId: Type.Integer(),
  companyName: Type.String(),
  active: Type.Boolean(),
  linkedDeviceId: Nullable(Type.Integer()),
  linkedHostname: Nullable(Type.String()),
});

export const ReconciliationItem = Type.Object({
  kind: ReconciliationKind,
  key: Type.String({ description: "Stable while the finding stays the same; ignore and un-ignore name it" }),
  summary: Type.String(),
  device: Nullable(ReconDevice),
  ci: Nullable(ReconCi),
  serialNumber: Type.Optional(Type.String()),
  devices: Type.Optional(Type.Array(ReconDevice)),
  cis: Type.Optional(Type.Array(ReconCi)),
  expectedCompany: Type.Optional(Type.Object({ id: Type.Integer(), name: Type.String() })),
  changes: Type.Optional(
    Type.Array(Type.Object({ field: Type.String(), written: Type.Unknown(), now: Type.Unknown() })),
  ),
  gone: Type.Optional(Type.Boolean()),
  candidates: Type.Optional(Type.Array(ReconDevice)),
  actions: Type.Array(ReconciliationActionName),
});

export const IgnoredReconciliationItem = Type.Intersect([
  ReconciliationItem,
  Type.Object({ ignoredBy: Type.String(), ignoredAt: Type.String() }),
]);

export const ReconciliationView = Type.Object({
  items: Type.Array(ReconciliationItem),
  ignored: Type.Array(IgnoredReconciliationItem),
  counts: Type.Object({
    "orphan-ci": Type.Integer(),
    "wrong-company": Type.Integer(),
    "duplicate-serial": Type.Integer(),
    "changed-in-psa": Type.Integer(),
  }),
  ignoredCount: Type.Integer(),
  companies: Type.Object({
    read: Type.Integer(),
    skipped: Type.Array(Type.Object({ id: Type.Integer(), name: Type.String() })),
  }),
  apiCalls: Type.Integer({ description: "PSA requests this view made (0: all from the short-lived cache)" }),
  checkedAt: Type.String(),
});

export const ReconciliationQuery = Type.Object({
  refresh: Type.Optional(
    Type.Boolean({ description: "Read the PSA afresh instead of reusing CI lists read in the last minute" }),
  ),
});

const PsaId = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });

export const ReconciliationActionInput = Type.Object(
  {
    action: ReconciliationActionName,
    ciId: Type.Optional({ ...PsaId, description: "link, deactivate: the configuration item" }),
    deviceId: Type.Optional({ ...PsaId, description: "link, move, resync: the portal device" }),
    key: Type.Optional(
      Type.String({ minLength: 1, maxLength: 500, description: "ignore, unignore: the item's key" }),
    ),
  },
  { additionalProperties: false },
);

export const ReconciliationActionResult = Type.Object({
  action: ReconciliationActionName,
  message: Type.String(),
  lines: Type.Array(Type.String()),
});
