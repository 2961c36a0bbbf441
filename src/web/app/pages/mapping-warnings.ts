import type { DriftItem, Named, PsaOption } from "../types";
import type { DraftRow, KindSpec } from "./mapping-spec";

/**
 * What a table's rows (as edited) leave uncovered, and mapped PSA values that drifted (missing,
 * inactive or renamed in the PSA). `rows` are those of the current scope (rows of another board aside).
 */
export function mappingWarnings(o: {
  spec: KindSpec;
  psa: string;
  rows: DraftRow[];
  portalList: Named[];
  psaList: PsaOption[] | undefined;
  drift: DriftItem[];
}): string[] {
  const { spec, psa: P, rows, portalList, psaList, drift } = o;
  const what = spec.kind === "priority" ? "priority" : "status";
  const article = /^[aeiou]/i.test(P) ? "an" : "a";
  const warnings: string[] = [];
  const portalIds = new Set(rows.map((r) => Number(r.portal)));
  const psaIds = new Set(rows.map((r) => Number(r.psa)));
  if (spec.kind !== "status-reverse")
    for (const p of portalList)
      if (!portalIds.has(p.id))
        warnings.push(
          spec.kind === "status-forward"
            ? `No row for the portal status "${p.name}" (${p.id}): a portal ticket in this status keeps its ${P} status (the ticket shows a warning).`
            : `No row for the portal ${what} "${p.name}" (${p.id}): a portal ticket with this ${what} cannot be sent to ${P}.`,
        );
  if (spec.kind !== "status-forward" && psaList)
    for (const p of psaList)
      if (p.isActive && !psaIds.has(p.id))
        warnings.push(
          `No row for the ${P} ${what} "${p.label}" (${p.id}): ${article} ${P} ticket with this ${what} cannot be brought to the portal.`,
        );
  const driftIds = new Set(drift.map((d) => d.psaId));
  for (const d of drift) warnings.push(d.message);
  if (psaList)
    for (const r of rows) {
      const id = Number(r.psa);
      if (r.psa === "" || driftIds.has(id)) continue;
      const p = psaList.find((x) => x.id === id);
      if (!p)
        warnings.push(`The ${P} ${what} ${id}${r.label ? ` "${r.label}"` : ""} does not exist in ${P}.`);
      else if (!p.isActive) warnings.push(`The ${P} ${what} "${p.label}" (${id}) is inactive in ${P}.`);
      else if (r.label && p.label !== r.label)
        warnings.push(
          `The ${P} ${what} ${id} is now called "${p.label}" in ${P} (the row says "${r.label}").`,
        );
    }
  return warnings;
}
