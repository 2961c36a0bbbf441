import { type FormEvent, type ReactNode, useEffect, useMemo, useState } from "react";
import { usePartner } from "../App";
import { ApiError, api, get, messageOf } from "../api";
import { Banner, Loading, Section } from "../components";
import { useResource } from "../hooks";
import { fieldMessage } from "../pick";
import type { Psa } from "../psa";
import { Link } from "../router";
import type { Catalog, DriftItem, MappingKind, MappingRow, Named, PsaOption, PsaOptions } from "../types";
import { useUnsavedChanges } from "../unsaved";
import { type CellContext, PortalCell, PsaCell } from "./MappingCells";
import {
  bodyRow,
  changesOf,
  changesText,
  type DraftRow,
  type KindSpec,
  keyOf,
  pendingCount,
  rowDraft,
} from "./mapping-spec";
import { mappingWarnings } from "./mapping-warnings";

/**
 * One mapping table, edited one way: adding, changing and removing rows are edits on the page;
 * "Save table" sends the whole table in one PUT (the server checks it as a whole and writes nothing
 * when a row is bad, naming it); "Discard changes" goes back to what is stored. While edits are
 * pending, leaving the page asks first.
 */
export function MappingTable({
  spec,
  psa,
  catalog,
  options,
  drift,
  writable,
  onSaved,
  onLoaded,
}: {
  spec: KindSpec;
  psa: Psa;
  catalog: Catalog;
  options: PsaOptions | undefined;
  drift: DriftItem[];
  writable: boolean;
  onSaved(): void;
  onLoaded(kind: MappingKind): void;
}) {
  const { partner } = usePartner();
  const base = `/api/partners/${partner.id}/mappings/${spec.kind}`;
  const table = useResource(() => get<{ rows: MappingRow[] }>(base), [base]);
  const [draft, setDraft] = useState<DraftRow[] | null>(null);
  const [err, setErr] = useState<{ index: number | null; message: string } | null>(null);
  const [addErr, setAddErr] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string>();
  // Status rows of a PSA whose statuses belong to a board carry the board chosen in Setup.
  const scope = spec.kind !== "priority" && psa.statusScope ? psa.statusScope.id : null;
  const empty: DraftRow = { id: null, portal: "", psa: "", label: "", scope };
  const [adding, setAdding] = useState<DraftRow>(empty);
  const inScope = (r: DraftRow) => r.scope === null || r.scope === scope;
  const loaded = table.data !== undefined;

  useEffect(() => {
    if (loaded) onLoaded(spec.kind);
  }, [loaded, onLoaded, spec.kind]);

  const what = spec.kind === "priority" ? "priority" : "status";
  const P = psa.label;
  const portalList: Named[] = spec.kind === "priority" ? catalog.priorities : catalog.statuses;
  const psaList: PsaOption[] | undefined = options
    ? spec.kind === "priority"
      ? options.priorities
      : options.statuses.filter((o) => o.scope === null || o.scope === undefined || o.scope === scope)
    : undefined;
  const stored = useMemo(() => (table.data?.rows ?? []).map((r) => rowDraft(spec, r)), [table.data, spec]);
  const shown = draft ?? stored;
  const changes = changesOf(stored, shown);
  const dirty = pendingCount(changes) > 0;
  useUnsavedChanges(
    dirty,
    `"${spec.title}" has changes that are not saved (${changesText(changes)}). Leave without saving them?`,
  );

  // The new row's pick-list of the key column offers only values no row of this table (scope) maps.
  const current = shown.filter(inScope);
  const mappedAt = new Map<string, number>();
  shown.forEach((r, i) => {
    if (inScope(r) && !mappedAt.has(keyOf(spec, r))) mappedAt.set(keyOf(spec, r), i);
  });
  const newPortalList =
    spec.key === "portal" ? portalList.filter((p) => !mappedAt.has(String(p.id))) : portalList;
  const newPsaList =
    spec.key === "psa" && psaList ? psaList.filter((o) => !mappedAt.has(String(o.id))) : psaList;
  const keyName = (d: DraftRow) =>
    spec.key === "portal"
      ? `The portal ${what} "${portalList.find((p) => String(p.id) === d.portal)?.name ?? d.portal}"`
      : `The ${P} ${what} ${d.label ? `"${d.label}" (${d.psa})` : d.psa}`;

  const cell: CellContext = { kind: spec.kind, what, psa, writable, busy, scope };
  const warnings = mappingWarnings({ spec, psa: P, rows: current, portalList, psaList, drift });

  const edit = (next: DraftRow[]) => {
    setSaved(undefined);
    setErr(null);
    setDraft(next);
  };

  const add = (e: FormEvent) => {
    e.preventDefault();
    if (adding.portal === "" || adding.psa.trim() === "") {
      setAddErr(`Choose the portal ${what} and the ${P} ${what} of the new row.`);
      return;
    }
    const at = mappedAt.get(keyOf(spec, adding));
    if (at !== undefined) {
      setAddErr(`${keyName(adding)} already has a row (row ${at + 1}); each may appear in one row only.`);
      return;
    }
    setAddErr(undefined);
    edit([...shown, { ...adding, psa: adding.psa.trim() }]);
    setAdding(empty);
  };

  const save = async () => {
    setBusy(true);
    setErr(null);
    setSaved(undefined);
    try {
      const t = await api<{ rows: MappingRow[] }>("PUT", base, { rows: shown.map((d) => bodyRow(spec, d)) });
      table.setData(t);
      setDraft(null);
      setSaved("Table saved.");
      onSaved();
    } catch (x) {
      const m = x instanceof ApiError && x.field ? /^(?:rows)?\[(\d+)\]/.exec(x.field) : null;
      setErr({
        index: m ? Number(m[1]) : null,
        message: x instanceof ApiError && x.field ? fieldMessage(x.message, x.field) : messageOf(x),
      });
    } finally {
      setBusy(false);
    }
  };

  const discard = () => {
    setDraft(null);
    setErr(null);
    setAddErr(undefined);
    setAdding(empty);
    setSaved(undefined);
  };

  const other = spec.kind === "status-forward" ? "status-reverse" : "status-forward";
  const description: ReactNode =
    spec.kind === "priority" ? (
      spec.description
    ) : (
      <>
        {spec.description}{" "}
        <Link to={`/p/${partner.id}/mappings#${other}`}>
          {spec.kind === "status-forward"
            ? `The reverse table (${P} → portal)`
            : `The forward table (portal → ${P})`}
        </Link>
        .
      </>
    );

  const head = (side: "portal" | "psa") => (
    <>
      <th scope="col">{side === "portal" ? `Portal ${spec.portalNoun}` : `${P} ${spec.psaNoun}`}</th>
      <th scope="col" className="num">
        Id
      </th>
    </>
  );
  const cells = (d: DraftRow, i: number | null, change: (p: Partial<DraftRow>) => void) => {
    const idClass = writable ? "num hide-phone" : "num";
    const portal = (
      <>
        <td data-label={`Portal ${what}`}>
          <PortalCell c={cell} d={d} i={i} list={portalList} onChange={(v) => change({ portal: v })} />
        </td>
        <td className={idClass} data-label="Id">
          {d.portal}
        </td>
      </>
    );
    const psaSide = (
      <>
        <td data-label={`${P} ${what}`}>
          <PsaCell c={cell} d={d} i={i} list={psaList} onChange={change} />
        </td>
        <td className={idClass} data-label="Id">
          {d.psa}
        </td>
      </>
    );
    return spec.psaFirst ? (
      <>
        {psaSide}
        {portal}
      </>
    ) : (
      <>
        {portal}
        {psaSide}
      </>
    );
  };

  const newPortal = (
    <PortalCell
      c={cell}
      d={adding}
      i={null}
      list={newPortalList}
      onChange={(v) => setAdding((a) => ({ ...a, portal: v }))}
    />
  );
  const newPsa = (
    <PsaCell
      c={cell}
      d={adding}
      i={null}
      list={newPsaList}
      onChange={(p) => setAdding((a) => ({ ...a, ...p }))}
    />
  );
  const allMapped = (spec.key === "portal" ? newPortalList : (newPsaList ?? [null])).length === 0;

  return (
    <Section
      title={spec.title}
      description={description}
      id={spec.kind}
      actions={
        writable && dirty ? (
          <>
            <button type="button" className="primary" disabled={busy} onClick={() => void save()}>
              {busy ? "Saving…" : "Save table"}
            </button>
            <button type="button" disabled={busy} onClick={discard}>
              Discard changes
            </button>
          </>
        ) : null
      }
    >
      {table.error ? <Banner kind="error">{table.error}</Banner> : null}
      {saved ? <Banner kind="success">{saved}</Banner> : null}
      {err ? (
        <Banner kind="error" title="Nothing was saved">
          {err.index !== null ? `Row ${err.index + 1}: ` : ""}
          {err.message}
        </Banner>
      ) : null}
      {writable && dirty ? (
        <p className="unsaved" role="status">
          Not saved yet: {changesText(changes)}. "Save table" stores the whole table; "Discard changes" goes
          back to the saved one.
        </p>
      ) : null}
      {warnings.length > 0 ? (
        <div className="banner banner-warning" role="status">
          <strong className="banner-title">
            {warnings.length} warning{warnings.length === 1 ? "" : "s"}
          </strong>
          <ul className="warnings">
            {warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {!table.data ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table className="mapping">
            <thead>
              <tr>
                {head(spec.psaFirst ? "psa" : "portal")}
                {head(spec.psaFirst ? "portal" : "psa")}
                {writable ? (
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {shown.map((d, i) => {
                const rowErr = err && err.index === i ? err.message : null;
                const state = d.id === null ? "new" : changes.changed.has(d.id) ? "changed" : null;
                return (
                  // biome-ignore lint/suspicious/noArrayIndexKey: rows are positions in the table; ids change on every save
                  <tr key={i} className={rowErr ? "row-invalid" : state ? `row-${state}` : undefined}>
                    {cells(d, i, (p) => edit(shown.map((r, j) => (j === i ? { ...r, ...p } : r))))}
                    {writable ? (
                      <td className="actions">
                        {state ? <span className="badge badge-warn">{state}</span> : null}{" "}
                        <button
                          type="button"
                          className="link danger"
                          disabled={busy}
                          aria-label={`Remove row ${i + 1}`}
                          onClick={() => edit(shown.filter((_, j) => j !== i))}
                        >
                          remove
                        </button>
                        {rowErr ? (
                          <div className="field-error" role="alert">
                            {rowErr}
                          </div>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                );
              })}
              {shown.length === 0 ? (
                <tr>
                  <td colSpan={5} className="muted">
                    No rows.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
      )}
      {writable && table.data ? (
        <form className="add-row" onSubmit={add} noValidate aria-label={`Add a row to ${spec.title}`}>
          <span className="add-row-title">New row:</span>
          {spec.psaFirst ? newPsa : newPortal}
          <span aria-hidden="true">→</span>
          {spec.psaFirst ? newPortal : newPsa}
          <button type="submit" disabled={busy || allMapped}>
            Add row
          </button>
          {allMapped ? (
            <span className="muted small">
              Every {spec.key === "portal" ? `portal ${what}` : `${P} ${what}`} has a row.
            </span>
          ) : null}
          {addErr ? (
            <div className="field-error" role="alert">
              {addErr}
            </div>
          ) : null}
        </form>
      ) : null}
    </Section>
  );
}
