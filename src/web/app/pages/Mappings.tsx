import { type FormEvent, useState } from "react";
import { usePartner } from "../App";
import { ApiError, api, get, messageOf } from "../api";
import { loadCatalog } from "../catalog";
import { Banner, Loading, NamedOptions, PageHeader, Section } from "../components";
import { useResource, useTitle } from "../hooks";
import { fieldMessage, optionsWith, optionText } from "../pick";
import { type Psa, usePsa } from "../psa";
import { Link } from "../router";
import { can, useMe } from "../session";
import type { Catalog, DriftItem, MappingKind, MappingRow, Named, PsaOption, PsaOptions } from "../types";
import { ResourceMapSection } from "./ResourceMap";

/** How each table names its columns and which lists its two sides come from. */
interface KindSpec {
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
}

/** The tables, in the words of the partner's PSA (`psa`: "Autotask", "ConnectWise"). */
const specsFor = (psa: string): KindSpec[] => [
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
  },
];

/** The three mapping tables (the seed's Figures 10–12) and the time entries' resource map. */
export function Mappings() {
  const { partner } = usePartner();
  const { me } = useMe();
  useTitle(`Mappings — ${partner.name}`);
  const writable = can(me, "mapping:write");
  const catalog = useResource(loadCatalog, []);
  const { psa, error: psaError } = usePsa();
  const creds = psa?.hasCredentials ?? false;
  // Live pick-lists are read only by roles that may change settings (they spend the partner's API budget).
  const live = creds && can(me, "integration:write");
  const options = useResource(
    () => (live ? get<PsaOptions>(`/api/partners/${partner.id}/psa/options`) : Promise.resolve(undefined)),
    [partner.id, live],
  );
  const drift = useResource(
    () => get<{ items: DriftItem[] }>(`/api/partners/${partner.id}/mappings/drift`),
    [partner.id],
  );

  return (
    <>
      <PageHeader title="Ticket status and priority mapping">
        <span className="muted">{partner.name}</span>
      </PageHeader>
      {catalog.error ? <Banner kind="error">{catalog.error}</Banner> : null}
      {psaError ? <Banner kind="error">{psaError}</Banner> : null}
      {psa && !creds ? (
        <Banner kind="info">
          {psa.label}'s statuses and priorities are offered as pick-lists once the API credentials are saved
          in <Link to={`/p/${partner.id}/setup`}>Setup</Link>. Until then, type the {psa.label} ids and names.
        </Banner>
      ) : null}
      {psa?.statusScope ? (
        <Banner kind="info">
          {psa.label}'s statuses belong to a {psa.statusScope.label.toLowerCase()}: the status tables offer
          those of{" "}
          {psa.statusScope.id === null
            ? `the ${psa.statusScope.label.toLowerCase()} chosen in Setup (none yet)`
            : `"${psa.statusScope.name || psa.statusScope.id}" (${psa.statusScope.id}), chosen in Setup`}
          , and their rows keep it.
        </Banner>
      ) : null}
      {options.error && psa ? (
        <Banner kind="warning" title={`${psa.label}'s pick-lists could not be read`}>
          {options.error}
        </Banner>
      ) : null}
      {!catalog.data || !psa ? (
        psaError ? null : (
          <Loading />
        )
      ) : (
        <>
          {specsFor(psa.label).map((spec) => (
            <MappingTable
              key={spec.kind}
              spec={spec}
              psa={psa}
              catalog={catalog.data as Catalog}
              options={options.data}
              drift={(drift.data?.items ?? []).filter((d) => d.kind === spec.kind)}
              writable={writable}
              onChanged={() => void drift.reload(true)}
            />
          ))}
          <ResourceMapSection psa={psa} options={options.data} writable={writable} />
        </>
      )}
    </>
  );
}

interface DraftRow {
  portal: string;
  psa: string;
  label: string;
  /** What the PSA value belongs to (a ConnectWise board); null: no scope. */
  scope: number | null;
}

const rowDraft = (spec: KindSpec, r: MappingRow): DraftRow => ({
  portal: String(r[spec.portalField] ?? ""),
  psa: String(r[spec.psaField] ?? ""),
  label: r[spec.labelField] ?? "",
  scope: r.scope ?? null,
});

const num = (s: string): number | string => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : s);

function bodyRow(spec: KindSpec, d: DraftRow) {
  return {
    [spec.portalField]: num(d.portal),
    [spec.psaField]: num(d.psa),
    ...(d.label !== "" ? { [spec.labelField]: d.label } : {}),
    ...(d.scope !== null ? { scope: d.scope } : {}),
  };
}

function MappingTable({
  spec,
  psa,
  catalog,
  options,
  drift,
  writable,
  onChanged,
}: {
  spec: KindSpec;
  psa: Psa;
  catalog: Catalog;
  options: PsaOptions | undefined;
  drift: DriftItem[];
  writable: boolean;
  onChanged(): void;
}) {
  const { partner } = usePartner();
  const base = `/api/partners/${partner.id}/mappings/${spec.kind}`;
  const table = useResource(() => get<{ rows: MappingRow[] }>(base), [base]);
  const [draft, setDraft] = useState<DraftRow[] | null>(null);
  const [err, setErr] = useState<{ index: number | null; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string>();
  // Status rows of a PSA whose statuses belong to a board carry the board chosen in Setup.
  const scope = spec.kind !== "priority" && psa.statusScope ? psa.statusScope.id : null;
  const empty: DraftRow = { portal: "", psa: "", label: "", scope };
  const [adding, setAdding] = useState<DraftRow>(empty);
  const inScope = (r: DraftRow) => r.scope === null || r.scope === scope;

  const portalList: Named[] = spec.kind === "priority" ? catalog.priorities : catalog.statuses;
  const psaList: PsaOption[] | undefined = options
    ? spec.kind === "priority"
      ? options.priorities
      : options.statuses.filter((o) => o.scope === null || o.scope === undefined || o.scope === scope)
    : undefined;
  const what = spec.kind === "priority" ? "priority" : "status";
  const P = psa.label;
  const article = /^[aeiou]/i.test(P) ? "an" : "a";
  const rows = table.data?.rows ?? [];
  const shown: DraftRow[] = draft ?? rows.map((r) => rowDraft(spec, r));
  const dirty = draft !== null;

  const fail = (x: unknown, addIndex: number | null) => {
    if (x instanceof ApiError && x.field) {
      const m = /^rows\[(\d+)\]/.exec(x.field);
      const index = m ? Number(m[1]) : addIndex;
      setErr({ index, message: fieldMessage(x.message, x.field) });
    } else setErr({ index: null, message: messageOf(x) });
  };

  const apply = async (fn: () => Promise<{ rows: MappingRow[] }>, addIndex: number | null, done: string) => {
    setBusy(true);
    setErr(null);
    setSaved(undefined);
    try {
      const t = await fn();
      table.setData(t);
      setDraft(null);
      setSaved(done);
      onChanged();
      return true;
    } catch (x) {
      fail(x, addIndex);
      return false;
    } finally {
      setBusy(false);
    }
  };

  const edit = (i: number, patch: Partial<DraftRow>) => {
    setSaved(undefined);
    setDraft(shown.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  };

  const save = () =>
    apply(
      () =>
        api("PUT", base, {
          rows: shown.map((d) => bodyRow(spec, d)),
        }),
      null,
      "Table saved.",
    );

  const add = async (e: FormEvent) => {
    e.preventDefault();
    const ok = await apply(() => api("POST", base, bodyRow(spec, adding)), rows.length, "Mapping added.");
    if (ok) setAdding(empty);
  };

  const remove = (r: MappingRow) => apply(() => api("DELETE", `${base}/${r.id}`), null, "Mapping removed.");

  // Warnings: what no row covers, and mapped PSA values that drifted (rows of another board aside).
  const warnings: string[] = [];
  const current = shown.filter(inScope);
  const portalIds = new Set(current.map((r) => Number(r.portal)));
  const psaIds = new Set(current.map((r) => Number(r.psa)));
  if (spec.kind !== "status-reverse")
    for (const p of portalList)
      if (!portalIds.has(p.id))
        warnings.push(
          spec.kind === "status-forward"
            ? `No row for the portal status "${p.name}" (${p.id}): a portal ticket in this status keeps its ${P} status (the ticket shows a warning).`
            : `No row for the portal ${what} "${p.name}" (${p.id}): a portal ticket with this ${what} cannot be sent to ${P}.`,
        );
  if (spec.kind !== "status-forward" && psaList)
    for (const o of psaList)
      if (o.isActive && !psaIds.has(o.id))
        warnings.push(
          `No row for the ${P} ${what} "${o.label}" (${o.id}): ${article} ${P} ticket with this ${what} cannot be brought to the portal.`,
        );
  const driftIds = new Set(drift.map((d) => d.psaId));
  for (const d of drift) warnings.push(d.message);
  if (psaList)
    for (const r of current) {
      const id = Number(r.psa);
      if (r.psa === "" || driftIds.has(id)) continue;
      const o = psaList.find((x) => x.id === id);
      if (!o)
        warnings.push(`The ${P} ${what} ${id}${r.label ? ` "${r.label}"` : ""} does not exist in ${P}.`);
      else if (!o.isActive) warnings.push(`The ${P} ${what} "${o.label}" (${id}) is inactive in ${P}.`);
      else if (r.label && o.label !== r.label)
        warnings.push(
          `The ${P} ${what} ${id} is now called "${o.label}" in ${P} (the row says "${r.label}").`,
        );
    }

  const portalCell = (d: DraftRow, i: number | null, onChange: (v: string) => void) => {
    const id = `${spec.kind}-portal-${i ?? "new"}`;
    const name = portalList.find((p) => String(p.id) === d.portal)?.name ?? d.portal;
    if (!writable) return <span>{name}</span>;
    return (
      <>
        <label className="sr-only" htmlFor={id}>
          Portal {what}
          {i !== null ? ` of row ${i + 1}` : " of the new row"}
        </label>
        <select id={id} value={d.portal} disabled={busy} onChange={(e) => onChange(e.target.value)}>
          {i === null ? <option value="">— portal {what} —</option> : null}
          <NamedOptions items={portalList} />
        </select>
      </>
    );
  };

  const psaCell = (d: DraftRow, i: number | null, onChange: (patch: Partial<DraftRow>) => void) => {
    const id = `${spec.kind}-psa-${i ?? "new"}`;
    const rowName = i !== null ? ` of row ${i + 1}` : " of the new row";
    const other =
      !inScope(d) && psa.statusScope ? ` (${psa.statusScope.label.toLowerCase()} ${d.scope})` : "";
    if (!writable || other)
      return (
        <span>
          {d.label || d.psa}
          {other ? <span className="muted small">{other}</span> : null}
        </span>
      );
    if (!psaList)
      return (
        <span className="pair">
          <label className="sr-only" htmlFor={id}>
            {P} {what} id{rowName}
          </label>
          <input
            id={id}
            className="narrow"
            inputMode="numeric"
            placeholder="id"
            value={d.psa}
            disabled={busy}
            onChange={(e) => onChange({ psa: e.target.value })}
          />
          <label className="sr-only" htmlFor={`${id}-name`}>
            {P} {what} name{rowName}
          </label>
          <input
            id={`${id}-name`}
            placeholder="name"
            value={d.label}
            disabled={busy}
            onChange={(e) => onChange({ label: e.target.value })}
          />
        </span>
      );
    const chosen = /^\d+$/.test(d.psa) ? Number(d.psa) : null;
    const list = optionsWith(psaList, chosen, P);
    return (
      <>
        <label className="sr-only" htmlFor={id}>
          {P} {what}
          {rowName}
        </label>
        <select
          id={id}
          value={d.psa}
          disabled={busy}
          onChange={(e) => {
            const o = psaList.find((x) => String(x.id) === e.target.value);
            onChange({ psa: e.target.value, label: o?.label ?? "" });
          }}
        >
          {i === null || chosen === null ? (
            <option value="">
              — {P} {what} —
            </option>
          ) : null}
          {list.map((o) => (
            <option key={o.id} value={o.id}>
              {optionText(o)}
            </option>
          ))}
        </select>
      </>
    );
  };

  const psaHead = (
    <>
      <th scope="col">
        {P} {spec.psaNoun}
      </th>
      <th scope="col" className="num">
        Id
      </th>
    </>
  );
  const portalHead = (
    <>
      <th scope="col">Portal {spec.portalNoun}</th>
      <th scope="col" className="num">
        Id
      </th>
    </>
  );
  const cells = (d: DraftRow, i: number | null, change: (p: Partial<DraftRow>) => void) => {
    const portal = (
      <>
        <td data-label={`Portal ${what}`}>{portalCell(d, i, (v) => change({ portal: v }))}</td>
        <td className={writable ? "num hide-phone" : "num"} data-label="Id">
          {d.portal}
        </td>
      </>
    );
    const psa = (
      <>
        <td data-label={`${P} ${what}`}>{psaCell(d, i, change)}</td>
        <td className={writable ? "num hide-phone" : "num"} data-label="Id">
          {d.psa}
        </td>
      </>
    );
    return spec.psaFirst ? (
      <>
        {psa}
        {portal}
      </>
    ) : (
      <>
        {portal}
        {psa}
      </>
    );
  };

  return (
    <Section
      title={spec.title}
      description={spec.description}
      id={spec.kind}
      actions={
        writable && dirty ? (
          <>
            <button type="button" className="primary" disabled={busy} onClick={() => void save()}>
              Save table
            </button>
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                setDraft(null);
                setErr(null);
              }}
            >
              Discard
            </button>
          </>
        ) : null
      }
    >
      {table.error ? <Banner kind="error">{table.error}</Banner> : null}
      {saved ? <Banner kind="success">{saved}</Banner> : null}
      {err && err.index === null ? (
        <Banner kind="error" title="Nothing was saved">
          {err.message}
        </Banner>
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
                {spec.psaFirst ? psaHead : portalHead}
                {spec.psaFirst ? portalHead : psaHead}
                {writable ? (
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {shown.map((d, i) => {
                const row = rows[i];
                const rowErr = err && err.index === i ? err.message : null;
                return (
                  // biome-ignore lint/suspicious/noArrayIndexKey: rows are positions in the table; ids change on every write
                  <tr key={i} className={rowErr ? "row-invalid" : undefined}>
                    {cells(d, i, (p) => edit(i, p))}
                    {writable ? (
                      <td className="actions">
                        <button
                          type="button"
                          className="link danger"
                          disabled={busy || dirty || !row}
                          title={dirty ? "Save or discard your changes first" : undefined}
                          aria-label={`Remove row ${i + 1}`}
                          onClick={() => row && void remove(row)}
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
          {spec.psaFirst ? (
            <>
              {psaCell(adding, null, (p) => setAdding((a) => ({ ...a, ...p })))}
              <span aria-hidden="true">→</span>
              {portalCell(adding, null, (v) => setAdding((a) => ({ ...a, portal: v })))}
            </>
          ) : (
            <>
              {portalCell(adding, null, (v) => setAdding((a) => ({ ...a, portal: v })))}
              <span aria-hidden="true">→</span>
              {psaCell(adding, null, (p) => setAdding((a) => ({ ...a, ...p })))}
            </>
          )}
          <button
            type="submit"
            disabled={busy || dirty || adding.portal === "" || adding.psa === ""}
            title={dirty ? "Save or discard your changes first" : undefined}
          >
            add mapping
          </button>
          {err && err.index !== null && err.index >= shown.length ? (
            <div className="field-error" role="alert">
              {err.message}
            </div>
          ) : null}
        </form>
      ) : null}
    </Section>
  );
}
