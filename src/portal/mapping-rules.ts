import { type MappingKind, PORTAL_PRIORITY_IDS, PORTAL_STATUS_IDS, portalStatusName } from "./catalog.js";
import { invalid } from "./errors.js";

/** One row of a mapping table as the API reads and writes it. */
export interface MappingRowInput {
  portalId: number;
  psaId: number;
  psaLabel?: string;
  /** What the PSA value belongs to (a ConnectWise status's board); omitted or null: no scope. */
  scope?: number | null;
}

/** How messages name the partner's PSA ("Autotask") and what its statuses belong to ("service board"). */
export interface PsaNames {
  label: string;
  scope: string | null;
}

export function mappingFieldNames(kind: MappingKind): { portal: string; psa: string; psaLabel: string } {
  return kind === "priority"
    ? { portal: "portalPriorityId", psa: "psaPriorityId", psaLabel: "psaPriorityName" }
    : { portal: "portalStatusId", psa: "psaStatusId", psaLabel: "psaStatusName" };
}

/**
 * The rules of each table: forward maps each portal status once; reverse maps each PSA status once;
 * the priority table maps each PSA priority once (several may share a portal priority — read right to
 * left, the first row wins). Where PSA values belong to a scope (a board), each rule holds per scope.
 * A broken rule names the value (by its name: the portal's own, or the PSA label stored with the row)
 * and the rows (1-based, as the table shows them); the field names the row's index.
 */
export function checkMappingRows(kind: MappingKind, rows: MappingRowInput[], psa: PsaNames): void {
  const names = mappingFieldNames(kind);
  const what = kind === "priority" ? "priority" : "status";
  const firstRow = new Map<string, number>();
  rows.forEach((r, i) => {
    const row = `row ${i + 1}`;
    const portalOk =
      kind === "priority" ? PORTAL_PRIORITY_IDS.has(r.portalId) : PORTAL_STATUS_IDS.has(r.portalId);
    if (!portalOk)
      throw invalid(`rows[${i}].${names.portal}`, `there is no portal ${what} ${r.portalId} (${row})`);
    if (!Number.isInteger(r.psaId) || r.psaId < 0)
      throw invalid(
        `rows[${i}].${names.psa}`,
        `the ${psa.label} ${what} id ${r.psaId} (${row}) must be a non-negative integer`,
      );
    if (r.scope !== undefined && r.scope !== null && (!Number.isInteger(r.scope) || r.scope < 0))
      throw invalid(
        `rows[${i}].scope`,
        `the ${psa.scope ?? "scope"} ${r.scope} (${row}) must be a non-negative integer or null`,
      );
    const id = kind === "status-forward" ? r.portalId : r.psaId;
    const key = `${r.scope ?? ""}:${id}`;
    const first = firstRow.get(key);
    if (first !== undefined) {
      const field = kind === "status-forward" ? names.portal : names.psa;
      const value =
        kind === "status-forward"
          ? `portal status ${portalStatusName(r.portalId)}`
          : psaValueName(psa.label, what, r.psaId, r.psaLabel || rows[first]?.psaLabel);
      const where = r.scope === undefined || r.scope === null ? "" : ` in ${psa.scope ?? "scope"} ${r.scope}`;
      throw invalid(
        `rows[${i}].${field}`,
        `${value} is mapped twice${where} (rows ${first + 1} and ${i + 1}); each may appear in one row only`,
      );
    }
    firstRow.set(key, i);
  });
}

/** "Autotask status Complete (5)", or "Autotask status 5" when the row keeps no name. */
export function psaValueName(label: string, what: string, id: number, name: string | undefined): string {
  return name ? `${label} ${what} ${name} (${id})` : `${label} ${what} ${id}`;
}
