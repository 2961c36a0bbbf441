import { NamedOptions } from "../components";
import { optionsWith, optionText } from "../pick";
import type { Psa } from "../psa";
import type { Named, PsaOption } from "../types";
import type { DraftRow } from "./mapping-spec";

/** What the cells of one table share. */
export interface CellContext {
  /** The table's kind, for element ids ("status-forward"). */
  kind: string;
  /** "status" or "priority". */
  what: string;
  psa: Psa;
  writable: boolean;
  busy: boolean;
  /** The PSA values' scope (a ConnectWise board) rows of this table are edited in; null: none. */
  scope: number | null;
}

/** "of row 3" / "of the new row" (the cells' accessible names). */
const rowName = (i: number | null) => (i !== null ? ` of row ${i + 1}` : " of the new row");

/** The portal side of a row: a pick-list of the portal's statuses or priorities (`list`). */
export function PortalCell(p: {
  c: CellContext;
  d: DraftRow;
  i: number | null;
  list: Named[];
  onChange(value: string): void;
}) {
  const { c, d, i } = p;
  const id = `${c.kind}-portal-${i ?? "new"}`;
  if (!c.writable) return <span>{p.list.find((x) => String(x.id) === d.portal)?.name ?? d.portal}</span>;
  return (
    <>
      <label className="sr-only" htmlFor={id}>
        Portal {c.what}
        {rowName(i)}
      </label>
      <select id={id} value={d.portal} disabled={c.busy} onChange={(e) => p.onChange(e.target.value)}>
        {i === null ? <option value="">— portal {c.what} —</option> : null}
        <NamedOptions items={p.list} />
      </select>
    </>
  );
}

/**
 * The PSA side of a row: a pick-list of the PSA's live values (`list`), or an id and a name field
 * when there is none (no credentials yet). A row of another scope (board) is shown, not edited.
 */
export function PsaCell(p: {
  c: CellContext;
  d: DraftRow;
  i: number | null;
  list: PsaOption[] | undefined;
  onChange(patch: Partial<DraftRow>): void;
}) {
  const { c, d, i } = p;
  const P = c.psa.label;
  const id = `${c.kind}-psa-${i ?? "new"}`;
  const scope = c.psa.statusScope;
  const other =
    d.scope !== null && d.scope !== c.scope && scope ? ` (${scope.label.toLowerCase()} ${d.scope})` : "";
  if (!c.writable || other)
    return (
      <span>
        {d.label || d.psa}
        {other ? <span className="muted small">{other}</span> : null}
      </span>
    );
  if (!p.list)
    return (
      <span className="pair">
        <label className="sr-only" htmlFor={id}>
          {P} {c.what} id{rowName(i)}
        </label>
        <input
          id={id}
          className="narrow"
          inputMode="numeric"
          placeholder="id"
          value={d.psa}
          disabled={c.busy}
          onChange={(e) => p.onChange({ psa: e.target.value })}
        />
        <label className="sr-only" htmlFor={`${id}-name`}>
          {P} {c.what} name{rowName(i)}
        </label>
        <input
          id={`${id}-name`}
          placeholder="name"
          value={d.label}
          disabled={c.busy}
          onChange={(e) => p.onChange({ label: e.target.value })}
        />
      </span>
    );
  const list = p.list;
  const chosen = /^\d+$/.test(d.psa) ? Number(d.psa) : null;
  // A stored value the PSA no longer offers stays choosable on its row.
  const options = optionsWith(list, i === null ? null : chosen, P);
  return (
    <>
      <label className="sr-only" htmlFor={id}>
        {P} {c.what}
        {rowName(i)}
      </label>
      <select
        id={id}
        value={d.psa}
        disabled={c.busy}
        onChange={(e) => {
          const o = list.find((x) => String(x.id) === e.target.value);
          p.onChange({ psa: e.target.value, label: o?.label ?? "" });
        }}
      >
        {i === null || chosen === null ? (
          <option value="">
            — {P} {c.what} —
          </option>
        ) : null}
        {options.map((o) => (
          <option key={o.id} value={o.id}>
            {optionText(o)}
          </option>
        ))}
      </select>
    </>
  );
}
