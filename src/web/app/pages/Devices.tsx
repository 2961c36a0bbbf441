import { useEffect, useRef, useState } from "react";
import { usePartner } from "../App";
import { get, qs } from "../api";
import { Badge, Banner, Field, Loading, PageHeader, Pager, Section } from "../components";
import { ago } from "../format";
import { useResource, useTitle } from "../hooks";
import { usePsa } from "../psa";
import { Link, navigate, useLocation } from "../router";
import type { Client, DeviceListItem, DeviceSort, DeviceState, Page } from "../types";
import { CompanyName, syncStateOf, useKeptResource, Warranty } from "./device-parts";

const LIMIT = 50;
const STATES: DeviceState[] = ["managed", "discovered", "unmanaged"];
/** How long typing pauses before the list follows the search box. */
const SEARCH_DEBOUNCE_MS = 300;
/** The sortable columns, as their headers name them. */
const SORT_LABELS: Record<DeviceSort, string> = {
  hostname: "Hostname",
  client: "Client",
  state: "State",
  type: "Type",
  serial: "Serial number",
  warranty: "Warranty end",
  synced: "Last synced",
};
const SORTS = Object.keys(SORT_LABELS) as DeviceSort[];

/**
 * The partner's devices across its clients (or one client's): search as you type, sort by column,
 * with the warranty end, the serial number and the PSA asset (Autotask CI, ConnectWise configuration)
 * and sync state. Searching, sorting and paging happen in the database (lists can be long).
 */
export function Devices() {
  const { partner } = usePartner();
  useTitle(`Devices — ${partner.name}`);
  const { search } = useLocation();
  const clients = useResource(
    () => get<Page<Client>>(`/api/partners/${partner.id}/clients?limit=500`),
    [partner.id],
  );
  const list = clients.data?.items ?? [];
  const clientId = search.get("clientId") ?? "";
  const state = search.get("state") ?? "";
  const q = search.get("search") ?? "";
  const sortParam = search.get("sort") as DeviceSort | null;
  const sort: DeviceSort = sortParam && SORTS.includes(sortParam) ? sortParam : "hostname";
  const order = search.get("order") === "desc" ? "desc" : "asc";
  const offset = Number(search.get("offset") ?? 0) || 0;
  const go = (p: Record<string, string | number>) => {
    const next = { clientId, state, search: q, sort, order, offset: 0, ...p };
    navigate(
      `/p/${partner.id}/devices${qs({
        ...next,
        sort: next.sort === "hostname" ? undefined : next.sort,
        order: next.order === "asc" ? undefined : next.order,
        offset: next.offset || undefined,
      })}`,
      { replace: true },
    );
  };

  // Search as you type: the box is the page's own state; the list (and the URL) follow after a pause.
  const [text, setText] = useState(q);
  const goLatest = useRef(go);
  goLatest.current = go;
  // biome-ignore lint/correctness/useExhaustiveDependencies: only the typed text starts the pause
  useEffect(() => {
    if (text === q) return;
    const timer = window.setTimeout(() => goLatest.current({ search: text }), SEARCH_DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [text]);

  const devices = useKeptResource(
    () =>
      get<Page<DeviceListItem>>(
        `/api/partners/${partner.id}/devices${qs({
          clientId,
          state,
          search: q,
          sort,
          order,
          limit: LIMIT,
          offset: offset || undefined,
        })}`,
      ),
    [partner.id, clientId, state, q, sort, order, offset],
  );
  const { psa } = usePsa();
  const label = psa?.label ?? "PSA";
  const asset = psa?.asset ?? "asset";
  const Asset = `${asset.charAt(0).toUpperCase()}${asset.slice(1)}`;
  const client = list.find((c) => String(c.id) === clientId);
  const page = devices.data;

  /** A column header that sorts by it (again: the other way). */
  const sortHeader = (by: DeviceSort) => {
    const active = sort === by;
    return (
      <th
        key={by}
        scope="col"
        aria-sort={active ? (order === "asc" ? "ascending" : "descending") : undefined}
      >
        <button
          type="button"
          className="sort-button"
          onClick={() => go({ sort: by, order: active && order === "asc" ? "desc" : "asc" })}
        >
          {SORT_LABELS[by]}
          <span aria-hidden="true" className={active ? "sort-mark" : "sort-mark muted"}>
            {active ? (order === "asc" ? " ▲" : " ▼") : " ↕"}
          </span>
        </button>
      </th>
    );
  };

  return (
    <>
      <PageHeader title="Devices">
        <span className="muted">{partner.name}</span>
      </PageHeader>
      {clients.error ? <Banner kind="error">{clients.error}</Banner> : null}
      <Section title="Filter">
        <form className="filters" onSubmit={(e) => e.preventDefault()}>
          <Field label="Client">
            {(a) => (
              <select {...a} value={clientId} onChange={(e) => go({ clientId: e.target.value })}>
                <option value="">All clients</option>
                {list.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.code} — {c.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="State">
            {(a) => (
              <select {...a} value={state} onChange={(e) => go({ state: e.target.value })}>
                <option value="">Any state</option>
                {STATES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Search">
            {(a) => (
              <input
                {...a}
                type="search"
                placeholder="hostname, serial, IP…"
                value={text}
                onChange={(e) => setText(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === "Enter") go({ search: text });
                }}
              />
            )}
          </Field>
          {/* On a phone the table has no header row: sorting is chosen here instead. */}
          <Field label="Sort by" className="sort-phone">
            {(a) => (
              <select
                {...a}
                value={`${sort}:${order}`}
                onChange={(e) => {
                  const [by, o] = e.target.value.split(":");
                  go({ sort: by ?? "hostname", order: o ?? "asc" });
                }}
              >
                {SORTS.flatMap((by) => [
                  <option key={`${by}:asc`} value={`${by}:asc`}>
                    {SORT_LABELS[by]} ↑
                  </option>,
                  <option key={`${by}:desc`} value={`${by}:desc`}>
                    {SORT_LABELS[by]} ↓
                  </option>,
                ])}
              </select>
            )}
          </Field>
        </form>
        {client ? (
          <p className="muted small" data-testid="client-company">
            {label} company: <CompanyName id={client.psaCompanyId} name={client.psaCompanyName} />
          </p>
        ) : null}
      </Section>
      {devices.error ? <Banner kind="error">{devices.error}</Banner> : null}
      {!clients.data ? (
        <Loading />
      ) : list.length === 0 ? (
        <p className="muted">This partner has no clients yet.</p>
      ) : !page ? (
        <Loading />
      ) : (
        <div className="table-wrap card">
          <p className="muted small table-count" aria-live="polite" data-testid="device-count">
            {page.total === 0
              ? "No device matches."
              : `${page.total.toLocaleString()} device${page.total === 1 ? "" : "s"}`}
            {devices.loading ? " · updating…" : ""}
          </p>
          {page.items.length === 0 ? null : (
            <table className="devices">
              <thead>
                <tr>
                  {sortHeader("hostname")}
                  {sortHeader("client")}
                  {sortHeader("state")}
                  {sortHeader("type")}
                  <th scope="col">IP address</th>
                  {sortHeader("serial")}
                  {sortHeader("warranty")}
                  <th scope="col">
                    {label} {asset}
                  </th>
                  {sortHeader("synced")}
                </tr>
              </thead>
              <tbody>
                {page.items.map((d) => {
                  const s = syncStateOf(d, asset);
                  const href = d.psaCiId !== null ? (psa?.assetUrl(d.psaCiId) ?? null) : null;
                  return (
                    <tr key={d.id}>
                      <td data-label="Hostname">
                        <Link to={`/p/${partner.id}/devices/${d.id}`}>{d.hostname}</Link>
                      </td>
                      <td data-label="Client">
                        {d.client.name} <span className="muted small">{d.client.code}</span>
                      </td>
                      <td data-label="State">{d.state}</td>
                      <td data-label="Type">{d.deviceType || "—"}</td>
                      <td data-label="IP address">{d.ipAddress || "—"}</td>
                      <td data-label="Serial number">{d.serialNumber || "—"}</td>
                      <td data-label="Warranty end">
                        <Warranty date={d.warrantyEndDate} />
                      </td>
                      <td data-label={`${label} ${asset}`}>
                        {/* The sync names the CI after the device's hostname; its id is secondary. */}
                        {d.psaCiId === null ? (
                          "—"
                        ) : (
                          <>
                            {href ? (
                              <a href={href} target="_blank" rel="noreferrer" title={`${Asset} ${d.psaCiId}`}>
                                {d.hostname}
                              </a>
                            ) : (
                              d.hostname
                            )}{" "}
                            <span className="muted small">#{d.psaCiId}</span>
                          </>
                        )}
                      </td>
                      <td data-label="Last synced">
                        <Badge tone={s.tone}>{s.text}</Badge>
                        {d.lastSyncedAt ? <span className="muted small"> {ago(d.lastSyncedAt)}</span> : null}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
          <Pager total={page.total} limit={LIMIT} offset={offset} onOffset={(o) => go({ offset: o })} />
        </div>
      )}
    </>
  );
}
