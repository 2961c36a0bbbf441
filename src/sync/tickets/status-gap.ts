/**
 * A portal status with no row in the partner's forward status table. The PSA's status is left as
 * it is while every other field and note keeps syncing; the ticket carries a warning naming the
 * status until a row is added (or the ticket moves to a mapped status).
 */
import { portalStatusName } from "../../portal/catalog.js";
import type { MappingEntry } from "../../portal/types.js";

/** Portal "New": a new ticket whose status has no forward row is created with New's row. */
export const PORTAL_NEW = 1;

/** The PSA status of a portal status through the forward table, or null when no row covers it. */
export function forwardStatus(rows: readonly MappingEntry[], portalStatusId: number): number | null {
  return rows.find((m) => m.portalId === portalStatusId)?.psaId ?? null;
}

/** `label`: the PSA's name ("Autotask"). */
export function statusGapWarning(portalStatusId: number, label: string): string {
  const name = portalStatusName(portalStatusId) ?? String(portalStatusId);
  return `portal status "${name}" (${portalStatusId}) has no row in the forward status mapping table: the ${label} status was left as it is; add a row to sync it`;
}
