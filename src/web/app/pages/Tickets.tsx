import { type FormEvent, useState } from "react";
import { usePartner } from "../App";
import { ApiError, api, get, messageOf, qs } from "../api";
import { loadCatalog } from "../catalog";
import {
  Badge,
  Banner,
  errorFor,
  Field,
  type FieldError,
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
import { fieldMessage } from "../pick";
import { usePsa } from "../psa";
import { Link, navigate, useLocation } from "../router";
import { can, useMe } from "../session";
import type { Client, Device, Page, Ticket } from "../types";

const LIMIT = 25;
/** The sync-state filter reads the list in pages of this size (the API's maximum)… */
const SCAN_PAGE = 500;
/** …up to this many tickets, newest first. */
const SCAN_MAX = 2000;
const SYNC_STATES = ["synced", "pending", "error", "out-of-queue", "not-synced"];

interface TicketList {
  items: Ticket[];
  total: number;
  /** Set when the sync-state filter looked at only the newest `searched` of `of` tickets. */
  capped: { searched: number; of: number } | null;
}

/** A ticket's sync state; a list without a PSA side (no sync engine) counts as not synced. */
const syncStateOf = (t: Ticket) => t.psa?.state ?? "not-synced";

/**
 * Tickets of the partner, filtered by status, priority, client and sync state, with each ticket's
 * number in the PSA and sync state (the list's `psa` block).
 */
export function Tickets() {
  const { partner } = usePartner();
  const { me } = useMe();
  const { psa: system } = usePsa();
  const label = system?.label ?? "PSA";
  useTitle(`Tickets — ${partner.name}`);
  const { search } = useLocation();
  const filters = {
    statusId: search.get("statusId") ?? "",
    priorityId: search.get("priorityId") ?? "",
    clientId: search.get("clientId") ?? "",
    syncState: search.get("syncState") ?? "",
    offset: Number(search.get("offset") ?? 0) || 0,
  };
  const setFilter = (k: string, v: string | number) => {
    const next = { ...filters, offset: 0, [k]: v };
    navigate(`/p/${partner.id}/tickets${qs({ ...next, offset: next.offset || undefined })}`, {
      replace: true,
    });
  };
  const catalog = useResource(loadCatalog, []);
  const clients = useResource(
    () => get<Page<Client>>(`/api/partners/${partner.id}/clients?limit=500`),
    [partner.id],
  );
  const key = JSON.stringify(filters);
  const tickets = useResource(async (): Promise<TicketList> => {
    const { syncState, offset, ...apiFilters } = filters;
    const list = (q: { limit: number; offset: number }) =>
      get<Page<Ticket>>(
        `/api/partners/${partner.id}/tickets${qs({ ...apiFilters, limit: q.limit, offset: q.offset || undefined })}`,
      );
    if (!syncState) {
      const page = await list({ limit: LIMIT, offset });
      return { items: page.items, total: page.total, capped: null };
    }
    // The API filters by status, priority and client only: the sync state is matched here, over the
    // newest SCAN_MAX tickets that pass the other filters, and the matches are paged on this side.
    const matched = new Map<number, Ticket>(); // by id: a ticket created meanwhile shifts the pages
    let searched = 0;
    let of = 0;
    while (searched < SCAN_MAX) {
      const page = await list({ limit: SCAN_PAGE, offset: searched });
      of = page.total;
      searched += page.items.length;
      for (const t of page.items) if (syncStateOf(t) === syncState) matched.set(t.id, t);
      if (page.items.length < SCAN_PAGE || searched >= page.total) break;
    }
    return {
      items: [...matched.values()].slice(offset, offset + LIMIT),
      total: matched.size,
      capped: searched < of ? { searched, of } : null,
    };
  }, [partner.id, key]);
  useInterval(() => void tickets.reload(true), 10_000);
  const clientName = (id: number) => clients.data?.items.find((c) => c.id === id)?.code ?? `#${id}`;
  const [creating, setCreating] = useState(false);

  return (
    <>
      <PageHeader title="Tickets">
        <span className="muted">{partner.name}</span>
        {can(me, "data:write") && !creating ? (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New ticket
          </button>
        ) : null}
      </PageHeader>
      {creating && clients.data ? (
        <NewTicket clients={clients.data.items} onCancel={() => setCreating(false)} />
      ) : null}
      <Section title="Filter">
        <div className="filters">
          <Field label="Status">
            {(a) => (
              <select {...a} value={filters.statusId} onChange={(e) => setFilter("statusId", e.target.value)}>
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
                onChange={(e) => setFilter("priorityId", e.target.value)}
              >
                <option value="">Any priority</option>
                <NamedOptions items={catalog.data?.priorities} />
              </select>
            )}
          </Field>
          <Field label="Client">
            {(a) => (
              <select {...a} value={filters.clientId} onChange={(e) => setFilter("clientId", e.target.value)}>
                <option value="">Any client</option>
                {clients.data?.items.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.code} — {c.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Sync state">
            {(a) => (
              <select
                {...a}
                value={filters.syncState}
                onChange={(e) => setFilter("syncState", e.target.value)}
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
        </div>
        {tickets.data?.capped ? (
          <p className="muted small">
            The sync state was matched among the newest {tickets.data.capped.searched} of{" "}
            {tickets.data.capped.of} tickets; narrow the other filters to search older ones.
          </p>
        ) : null}
      </Section>
      {tickets.error ? <Banner kind="error">{tickets.error}</Banner> : null}
      {!tickets.data ? (
        <Loading />
      ) : tickets.data.items.length === 0 ? (
        <p className="muted">No ticket matches.</p>
      ) : (
        <div className="table-wrap card">
          <table className="tickets">
            <thead>
              <tr>
                <th scope="col">{label} ticket</th>
                <th scope="col">Title</th>
                <th scope="col">Client</th>
                <th scope="col">Status</th>
                <th scope="col">Priority</th>
                <th scope="col">Sync</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {tickets.data.items.map((t) => {
                const psa = t.psa;
                return (
                  <tr key={t.id}>
                    <td data-label={`${label} ticket`}>
                      {(psa && system?.ticketRef(psa)) ?? <span className="muted">not in {label}</span>}
                    </td>
                    <td data-label="Title">
                      <Link to={`/p/${partner.id}/tickets/${t.id}`}>{t.title}</Link>
                    </td>
                    <td data-label="Client">{clientName(t.clientId)}</td>
                    <td data-label="Status">{t.status}</td>
                    <td data-label="Priority">{t.priority}</td>
                    <td data-label="Sync">
                      {psa ? (
                        <Badge tone={syncTone(psa.state)}>{SYNC_STATE_TEXT[psa.state] ?? psa.state}</Badge>
                      ) : (
                        "—"
                      )}
                    </td>
                    <td data-label="Updated">{ago(t.updatedAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <Pager
            total={tickets.data.total}
            limit={LIMIT}
            offset={filters.offset}
            onOffset={(o) => setFilter("offset", o)}
          />
        </div>
      )}
    </>
  );
}

/** A portal ticket raised by the NOC (it goes to the PSA when the partner lets the NOC enter tickets). */
function NewTicket({ clients, onCancel }: { clients: Client[]; onCancel(): void }) {
  const { partner } = usePartner();
  const catalog = useResource(loadCatalog, []);
  const [clientId, setClientId] = useState(clients[0] ? String(clients[0].id) : "");
  const [deviceId, setDeviceId] = useState("");
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [statusId, setStatusId] = useState("1");
  const [priorityId, setPriorityId] = useState("10");
  const [alert, setAlert] = useState("");
  const [err, setErr] = useState<FieldError | null>(null);
  const [busy, setBusy] = useState(false);
  const devices = useResource(
    () =>
      clientId
        ? get<Page<Device>>(`/api/clients/${clientId}/devices?limit=500`)
        : Promise.resolve({ items: [], total: 0, limit: 0, offset: 0 }),
    [clientId],
  );

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const t = await api<Ticket>("POST", `/api/partners/${partner.id}/tickets`, {
        clientId: Number(clientId),
        ...(deviceId ? { deviceId: Number(deviceId) } : {}),
        title,
        description,
        statusId: Number(statusId),
        priorityId: Number(priorityId),
        ...(deviceId && alert.trim()
          ? { alerts: [{ deviceId: Number(deviceId), message: alert.trim() }] }
          : {}),
      });
      navigate(`/p/${partner.id}/tickets/${t.id}`);
    } catch (x) {
      setErr(
        x instanceof ApiError && x.field
          ? { field: x.field, message: fieldMessage(x.message, x.field) }
          : { field: "", message: messageOf(x) },
      );
      setBusy(false);
    }
  };
  const known = ["clientId", "deviceId", "title", "description", "statusId", "priorityId"];
  const knownField = (f: string) => known.includes(f) || f.startsWith("alerts");

  return (
    <Section title="New ticket">
      {clients.length === 0 ? <Banner kind="info">This partner has no clients yet.</Banner> : null}
      <form className="grid-form" onSubmit={submit} noValidate>
        <Field label="Client" required error={errorFor(err, "clientId")}>
          {(a) => (
            <select
              {...a}
              value={clientId}
              onChange={(e) => {
                setClientId(e.target.value);
                setDeviceId("");
              }}
            >
              {clients.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.code} — {c.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Device" error={errorFor(err, "deviceId")}>
          {(a) => (
            <select {...a} value={deviceId} onChange={(e) => setDeviceId(e.target.value)}>
              <option value="">No device</option>
              {devices.data?.items.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.hostname} ({d.state})
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          label="Alert"
          error={err?.field.startsWith("alerts") ? err.message : undefined}
          hint="The monitoring alert that raised the ticket (needs a device)."
          className="span-2"
        >
          {(a) => (
            <input {...a} value={alert} disabled={!deviceId} onChange={(e) => setAlert(e.target.value)} />
          )}
        </Field>
        <Field label="Title" required error={errorFor(err, "title")} className="span-2">
          {(a) => <input {...a} value={title} onChange={(e) => setTitle(e.target.value)} />}
        </Field>
        <Field label="Description" error={errorFor(err, "description")} className="span-2">
          {(a) => (
            <textarea {...a} rows={3} value={description} onChange={(e) => setDescription(e.target.value)} />
          )}
        </Field>
        <Field label="Status" error={errorFor(err, "statusId")}>
          {(a) => (
            <select {...a} value={statusId} onChange={(e) => setStatusId(e.target.value)}>
              <NamedOptions items={catalog.data?.statuses} />
            </select>
          )}
        </Field>
        <Field label="Priority" error={errorFor(err, "priorityId")}>
          {(a) => (
            <select {...a} value={priorityId} onChange={(e) => setPriorityId(e.target.value)}>
              <NamedOptions items={catalog.data?.priorities} />
            </select>
          )}
        </Field>
        {err && !knownField(err.field) ? <Banner kind="error">{err.message}</Banner> : null}
        <div className="form-actions span-2">
          <button type="submit" className="primary" disabled={busy || !clientId || !title.trim()}>
            {busy ? "Creating…" : "Create ticket"}
          </button>
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </Section>
  );
}
