import type { MappingKind, MappingRow } from "../types";

/** How each table names its columns and which lists its two sides come from. */
export interface KindSpec {
  kind: MappingKind;
  title: string;
  description: string;
  portalField: "portalStatusId" | "portalPriorityId";
  psaField: "psaStatusId" | "psaPriorityId";
  labelField: "psaStatusName" | "psaPriorityName";
  portalNoun: string;
  psaNoun: string;
  /** Autotask side first (reverse and priority tables, as in the seed's Figures 11 and 12). */
  psaFirst: boolean;
  /** The column each value may appear in once (forward: the portal status; the others: the PSA value). */
  key: "portal" | "psa";
}

/** The tables, in the words of the partner's PSA (`psa`: "Autotask", "ConnectWise"). */
export const specsFor = (psa: string): KindSpec[] => [
  {
    kind: "status-forward",
    title: `Ticket status mapping: portal → ${psa}`,
    description: `Forward table (Figure 10): used when a ticket is created or updated in the portal and sent to ${psa}. Each portal status appears once.`,
    portalField: "portalStatusId",
    psaField: "psaStatusId",
    labelField: "psaStatusName",
    portalNoun: "Status",
    psaNoun: "Status",
    psaFirst: false,
    key: "portal",
  },
  {
    kind: "status-reverse",
    title: `Ticket status mapping: ${psa} → portal`,
    description: `Reverse table (Figure 11): used when a ticket is created or updated in ${psa} and brought to the portal. Each ${psa} status appears once.`,
    portalField: "portalStatusId",
    psaField: "psaStatusId",
    labelField: "psaStatusName",
    portalNoun: "Status",
    psaNoun: "Status",
    psaFirst: true,
    key: "psa",
  },
  {
    kind: "priority",
    title: "Priority mapping",
    description: `Figure 12: each ${psa} priority appears once; several may share a portal priority. Portal → ${psa} takes the first row with that portal priority.`,
    portalField: "portalPriorityId",
    psaField: "psaPriorityId",
    labelField: "psaPriorityName",
    portalNoun: "Priority",
    psaNoun: "Priority",
    psaFirst: true,
    key: "psa",
  },
];

/** A row as the table edits it: the pick-lists' values ("" = none chosen). */
export interface DraftRow {
  /** The stored row this one edits; null: added since the last save. */
  id: number | null;
  portal: string;
  psa: string;
  label: string;
  /** What the PSA value belongs to (a ConnectWise board); null: no scope. */
  scope: number | null;
}

export const rowDraft = (spec: KindSpec, r: MappingRow): DraftRow => ({
  id: r.id,
  portal: String(r[spec.portalField] ?? ""),
  psa: String(r[spec.psaField] ?? ""),
  label: r[spec.labelField] ?? "",
  scope: r.scope ?? null,
});

const num = (s: string): number | string => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : s);

/** A row of the PUT that saves the whole table. */
export function bodyRow(spec: KindSpec, d: DraftRow) {
  return {
    [spec.portalField]: num(d.portal),
    [spec.psaField]: num(d.psa),
    ...(d.label !== "" ? { [spec.labelField]: d.label } : {}),
    ...(d.scope !== null ? { scope: d.scope } : {}),
  };
}

/** The value a row may hold once per table (and scope): forward, the portal status; else the PSA value. */
export const keyOf = (spec: KindSpec, d: DraftRow): string =>
  (spec.key === "portal" ? d.portal : d.psa).trim();

/** What the edits change against the stored table. */
export interface Changes {
  added: number;
  changed: Set<number>;
  removed: number;
}

export function changesOf(stored: DraftRow[], draft: DraftRow[]): Changes {
  const byId = new Map(stored.map((r) => [r.id, r]));
  const kept = new Set<number>();
  const changed = new Set<number>();
  let added = 0;
  for (const d of draft) {
    const s = d.id === null ? undefined : byId.get(d.id);
    if (!s || d.id === null) {
      added++;
      continue;
    }
    kept.add(d.id);
    if (s.portal !== d.portal || s.psa !== d.psa || s.label !== d.label || s.scope !== d.scope)
      changed.add(d.id);
  }
  return { added, changed, removed: stored.filter((s) => s.id !== null && !kept.has(s.id)).length };
}

export const pendingCount = (c: Changes) => c.added + c.changed.size + c.removed;

/** "1 row added, 2 rows changed, 1 row removed". */
export function changesText(c: Changes): string {
  const rows = (n: number, what: string) => (n ? `${n} row${n === 1 ? "" : "s"} ${what}` : "");
  return [rows(c.added, "added"), rows(c.changed.size, "changed"), rows(c.removed, "removed")]
    .filter(Boolean)
    .join(", ");
}

/**
 * The section of the Mappings page a mapping error is about, from its message ("… has no row in the
 * reverse status mapping table", "… in the resource map"): the link from Sync errors lands there.
 */
export function mappingSectionOf(message: string): MappingKind | "resource-map" | null {
  if (/resource map/i.test(message)) return "resource-map";
  if (/reverse/i.test(message)) return "status-reverse";
  if (/priorit/i.test(message)) return "priority";
  if (/forward|status/i.test(message)) return "status-forward";
  return null;
}
