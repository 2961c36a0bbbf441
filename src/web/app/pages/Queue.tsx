import { useEffect, useRef, useState } from "react";
import { get, qs } from "../api";
import { loadCatalog } from "../catalog";
import {
  Badge,
  Banner,
  Field,
  Loading,
  NamedOptions,
  PageHeader,
  Pager,
  Section,
  SYNC_STATE_TEXT,
  syncTone,
} from "../components";
import { ago } from "../format";
import { useInterval, useResource, useTitle } from "../hooks";
import { ticketRefOf } from "../psa";
import { Link, navigate, useLocation } from "../router";
import { useMe } from "../session";
import type { Client, Page, Partner, QueueCounts, QueueItem, QueueSyncState } from "../types";
import "./queue.css";

const LIMIT = 25;
const SYNC_STATES: QueueSyncState[] = ["synced", "pending", "error", "out-of-queue", "not-synced"];
/** How long the search box waits after the last key before it searches, ms. */
const SEARCH_DELAY_MS = 300;
const FILTER_KEYS = ["partnerId", "clientId", "statusId", "priorityId", "syncState", "search"] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

/**
 * The ticket queue: every ticket the user works, across all the partners it sees (a partner's user:
 * its partner's), newest change first, with counts per status (a count is a filter), filters and a
 * search; each row names the partner, the client, the PSA ticket number and the sync state.
 */
export function Queue() {
  const { me } = useMe();
  const nocWide = me.partnerId === null;
  useTitle("Ticket queue");
  const { search } = useLocation();
  const filters = Object.fromEntries(FILTER_KEYS.map((k) => [k, search.get(k) ?? ""])) as Record<
    FilterKey,
    string
  >;
  const offset = Number(search.get("offset") ?? 0) || 0;
  const setFilters = (next: Partial<Record<FilterKey, string>> & { offset?: number }) => {
    const merged = { ...filters, offset: 0, ...next };
    navigate(`/queue${qs({ ...merged, offset: merged.offset || undefined })}`, { replace: true });
  };
  // The client list belongs to one partner: the chosen one, or the user's own.
  const clientPartner = nocWide ? filters.partnerId : String(me.partnerId);

  const catalog = useResource(loadCatalog, []);
  const partners = useResource(
    () => (nocWide ? get<Page<Partner>>("/api/partners?limit=500") : Promise.resolve(null)),
    [nocWide],
  );
  const own = useResource(
    () => (nocWide ? Promise.resolve(null) : get<Partner>(`/api/partners/${me.partnerId}`)),
    [nocWide, me.partnerId],
  );
  const clients = useResource(
    () =>
      clientPartner
        ? get<Page<Client>>(`/api/partners/${clientPartner}/clients?limit=500`)
        : Promise.resolve(null),
    [clientPartner],
  );
  const key = JSON.stringify(filters);
  const { statusId: _status, ...others } = filters;
  const othersKey = JSON.stringify(others);
  const tickets = useResource(
    () =>
      get<Page<QueueItem>>(`/api/tickets${qs({ ...filters, limit: LIMIT, offset: offset || undefined })}`),
    [key, offset],
  );
  const counts = useResource(() => get<QueueCounts>(`/api/tickets/counts${qs(others)}`), [othersKey]);
  useInterval(() => {
    void tickets.reload(true);
    void counts.reload(true);
  }, 10_000);

  return (
    <>
      <PageHeader title="Ticket queue">
        <span className="muted">
          {nocWide
            ? (partners.data?.items.find((p) => String(p.id) === filters.partnerId)?.name ??
              "Every partner's tickets")
            : (own.data?.name ?? "")}
        </span>
      </PageHeader>
      <StatusCounts
        counts={counts.data}
        statusId={filters.statusId}
        onPick={(statusId) => setFilters({ statusId })}
      />
      <Section title="Filter">
        <div className="filters">
          {nocWide ? (
            <Field label="Partner">
              {(a) => (
                <select
                  {...a}
                  value={filters.partnerId}
                  onChange={(e) => setFilters({ partnerId: e.target.value, clientId: "" })}
                >
                  <option value="">All partners</option>
                  <NamedOptions items={partners.data?.items} />
                </select>
              )}
            </Field>
          ) : null}
          <Field label="Client" hint={clientPartner ? undefined : "Choose a partner first."}>
            {(a) => (
              <select
                {...a}
                value={filters.clientId}
                disabled={!clientPartner}
                onChange={(e) => setFilters({ clientId: e.target.value })}
              >
                <option value="">All clients</option>
                {clients.data?.items.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.code} — {c.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Status">
            {(a) => (
              <select
                {...a}
                value={filters.statusId}
                onChange={(e) => setFilters({ statusId: e.target.value })}
              >
                <option value="">Any status</option>
                <NamedOptions items={catalog.data?.statuses} />
              </select>
            )}
          </Field>
          <Field label="Priority">
            {(a) => (
              <select
                {...a}
                value={filters.priorityId}
                onChange={(e) => setFilters({ priorityId: e.target.value })}
              >
                <option value="">Any priority</option>
                <NamedOptions items={catalog.data?.priorities} />
              </select>
            )}
          </Field>
          <Field label="Sync state">
            {(a) => (
              <select
                {...a}
                value={filters.syncState}
                onChange={(e) => setFilters({ syncState: e.target.value })}
              >
                <option value="">Any sync state</option>
                {SYNC_STATES.map((st) => (
                  <option key={st} value={st}>
                    {SYNC_STATE_TEXT[st]}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <SearchBox value={filters.search} onSearch={(s) => setFilters({ search: s })} />
        </div>
      </Section>
      {tickets.error ? <Banner kind="error">{tickets.error}</Banner> : null}
      {!tickets.data ? (
        <Loading />
      ) : tickets.data.items.length === 0 ? (
        <p className="muted">No ticket matches.</p>
      ) : (
        <div className="table-wrap card">
          <table className="tickets queue">
            <thead>
              <tr>
                <th scope="col">PSA ticket</th>
                <th scope="col">Title</th>
                {nocWide ? <th scope="col">Partner</th> : null}
                <th scope="col">Client</th>
                <th scope="col">Status</th>
                <th scope="col">Priority</th>
                <th scope="col">Sync</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {tickets.data.items.map((t) => (
                <QueueRow key={t.id} t={t} showPartner={nocWide} />
              ))}
            </tbody>
          </table>
          <Pager
            total={tickets.data.total}
            limit={LIMIT}
            offset={offset}
            onOffset={(o) => setFilters({ offset: o })}
          />
        </div>
      )}
    </>
  );
}

function QueueRow({ t, showPartner }: { t: QueueItem; showPartner: boolean }) {
  const ref = ticketRefOf(t.psaSystem, t.psa);
  const state = t.psa?.state ?? "not-synced";
  return (
    <tr>
      <td data-label="PSA ticket" className="ticket-ref">
        {ref ?? <span className="muted">not in the PSA</span>}
      </td>
      <td data-label="Title">
        <Link to={`/p/${t.partnerId}/tickets/${t.id}`}>{t.title}</Link>
      </td>
      {showPartner ? <td data-label="Partner">{t.partnerName}</td> : null}
      <td data-label="Client">
        <span>
          {t.clientCode} <span className="muted small">{t.clientName}</span>
        </span>
      </td>
      <td data-label="Status">{t.status}</td>
      <td data-label="Priority">{t.priority}</td>
      <td data-label="Sync">
        <Badge tone={syncTone(state)}>{SYNC_STATE_TEXT[state] ?? state}</Badge>
      </td>
      <td data-label="Updated">{ago(t.updatedAt)}</td>
    </tr>
  );
}

/** The count per status under the other filters; choosing one filters the list by it (again: all). */
function StatusCounts({
  counts,
  statusId,
  onPick,
}: {
  counts: QueueCounts | undefined;
  statusId: string;
  onPick(statusId: string): void;
}) {
  if (!counts) return null;
  const shown = counts.statuses.filter((s) => s.count > 0 || String(s.statusId) === statusId);
  return (
    <nav className="status-counts" aria-label="Tickets per status">
      <button type="button" aria-pressed={statusId === ""} onClick={() => onPick("")}>
        All <span className="count">{counts.total}</span>
      </button>
      {shown.map((s) => {
        const on = String(s.statusId) === statusId;
        return (
          <button
            key={s.statusId}
            type="button"
            aria-pressed={on}
            onClick={() => onPick(on ? "" : String(s.statusId))}
          >
            {s.status} <span className="count">{s.count}</span>
          </button>
        );
      })}
    </nav>
  );
}

/** Searches as you type (after a short pause), and at once on Enter. */
function SearchBox({ value, onSearch }: { value: string; onSearch(s: string): void }) {
  const [text, setText] = useState(value);
  const search = useRef(onSearch);
  search.current = onSearch;
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    if (text.trim() === value.trim()) return;
    const id = window.setTimeout(() => search.current(text.trim()), SEARCH_DELAY_MS);
    return () => window.clearTimeout(id);
  }, [text, value]);
  return (
    <Field label="Search" hint="Title, client or PSA ticket number">
      {(a) => (
        <input
          {...a}
          type="search"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") onSearch(text.trim());
          }}
        />
      )}
    </Field>
  );
}
