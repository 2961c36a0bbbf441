import { portalPriorityName, portalStatusName } from "../../portal/catalog.js";
import type { TicketDetail } from "../../portal/types.js";
import type { PsaTicket, TicketFields } from "../../psa/connector.js";

/** The fields that cross, in each system's own values. */
export interface PortalSide {
  title: string;
  description: string;
  statusId: number;
  priorityId: number;
  deviceId: number | null;
}
export type PsaSide = TicketFields;

/**
 * The last synced state of a linked pair (Exalate's "replica", docs/reliability.md, Echo prevention): a side
 * whose value differs from its shadow was edited there since the last sync; a side equal to its shadow is
 * unchanged — which is also how our own writes coming back are recognised and ignored.
 */
export interface Shadow {
  portal: PortalSide;
  psa: PsaSide;
  /** Source timestamps at the last sync: the portal's updatedAt and the PSA's last activity. */
  portalAt: string;
  psaAt: string;
}

/** The five field pairs, portal name ↔ PSA name. */
export const PAIRS = [
  ["title", "title"],
  ["description", "description"],
  ["statusId", "status"],
  ["priorityId", "priority"],
  ["deviceId", "assetId"],
] as const satisfies ReadonlyArray<readonly [keyof PortalSide, keyof PsaSide]>;

export function portalSide(t: TicketDetail): PortalSide {
  return {
    title: t.title,
    description: t.description,
    statusId: t.statusId,
    priorityId: t.priorityId,
    deviceId: t.deviceId,
  };
}

export function psaSide(t: PsaTicket): PsaSide {
  return {
    title: t.title,
    description: t.description,
    status: t.status,
    priority: t.priority,
    assetId: t.assetId,
  };
}

/**
 * A stored shadow. Links saved before the engine spoke PSA-neutral terms keep the asset under the
 * connector's own field name: on the PSA side that is the one key besides the four shared ones.
 */
export function readShadow(json: string): Shadow {
  const s = JSON.parse(json) as Shadow;
  if (s.psa && !("assetId" in s.psa)) {
    const { title, description, status, priority, ...rest } = s.psa as unknown as Record<string, unknown>;
    const [legacy] = Object.values(rest);
    s.psa = {
      title: title as string,
      description: description as string,
      status: status as number,
      priority: priority as number,
      assetId: typeof legacy === "number" ? legacy : null,
    };
  }
  return s;
}

/** A portal value as a person reads it (status and priority by name). */
export function describePortal(field: keyof PortalSide, v: unknown): unknown {
  if (field === "statusId") return portalStatusName(v as number) ?? v;
  if (field === "priorityId") return portalPriorityName(v as number) ?? v;
  return v;
}
