/**
 * The portal's fixed lists, with the ids the seed document gives (Figures 10–12), and the default
 * mapping tables a new partner starts with.
 */

export const PORTAL_STATUSES = [
  { id: 1, name: "New" },
  { id: 18, name: "Open" },
  { id: 11, name: "Reviewed" },
  { id: 7, name: "Work In Progress" },
  { id: 2, name: "On Hold" },
  { id: 12, name: "Under Observation" },
  { id: 16, name: "Scheduled" },
  { id: 9, name: "Handed Over to MSP" },
  { id: 19, name: "Response due" },
  { id: 3, name: "Closed" },
] as const;

export const PORTAL_PRIORITIES = [
  { id: 8, name: "P0" },
  { id: 9, name: "P1" },
  { id: 10, name: "P2" },
  { id: 11, name: "P3" },
] as const;

/** The most devices one import request may carry; a larger feed is split across requests. */
export const IMPORT_MAX_ROWS = 5_000;

export const DEVICE_STATES = ["discovered", "managed", "unmanaged"] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

export const ROLES = ["noc-admin", "partner-admin", "technician", "read-only"] as const;
export type Role = (typeof ROLES)[number];

export const MAPPING_KINDS = ["status-forward", "status-reverse", "priority"] as const;
export type MappingKind = (typeof MAPPING_KINDS)[number];

export const PORTAL_STATUS_IDS: ReadonlySet<number> = new Set(PORTAL_STATUSES.map((s) => s.id));
export const PORTAL_PRIORITY_IDS: ReadonlySet<number> = new Set(PORTAL_PRIORITIES.map((p) => p.id));

export function portalStatusName(id: number): string | undefined {
  return PORTAL_STATUSES.find((s) => s.id === id)?.name;
}
export function portalPriorityName(id: number): string | undefined {
  return PORTAL_PRIORITIES.find((p) => p.id === id)?.name;
}

/** A default mapping row: portal id, PSA id, PSA label. */
export type DefaultRow = readonly [portalId: number, psaId: number, psaLabel: string];

/**
 * Figure 10: portal → Autotask, plus Closed → Complete (not in the seed's figure: without it a ticket
 * the NOC closes never completes in Autotask). "Response due" has no row: a ticket in it keeps its
 * Autotask status (see sync/tickets/status-gap.ts).
 */
const FORWARD: DefaultRow[] = [
  [1, 29, "Information"],
  [18, 29, "Information"],
  [11, 29, "Information"],
  [7, 29, "Information"],
  [2, 29, "Information"],
  [12, 29, "Information"],
  [16, 29, "Information"],
  [9, 28, "Action Required"],
  [3, 5, "Complete"],
];

/** Figure 11: Autotask → portal. */
const REVERSE: DefaultRow[] = [
  [19, 30, "Assigned to NOC"],
  [3, 5, "Complete"],
  [9, 28, "Action Required"],
  [19, 29, "Information"],
];

/** Figure 12: Autotask priority ↔ portal priority (read right to left for portal → Autotask). */
const PRIORITY: DefaultRow[] = [
  [8, 4, "Critical"],
  [9, 1, "High"],
  [10, 2, "Medium"],
  [11, 7, "Low"],
  [11, 8, "Project"],
];

export const DEFAULT_MAPPINGS: Record<MappingKind, DefaultRow[]> = {
  "status-forward": FORWARD,
  "status-reverse": REVERSE,
  priority: PRIORITY,
};

/** The seed's asset schedule: 10th and 25th of each month, 02:00 in the partner's time zone. */
export const DEFAULT_ASSET_SCHEDULE = "0 2 10,25 * *";
