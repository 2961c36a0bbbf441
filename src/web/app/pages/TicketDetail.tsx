import { type FormEvent, useState } from "react";
import { usePartner } from "../App";
import { ApiError, api, get, messageOf } from "../api";
import { loadCatalog } from "../catalog";
import {
  Badge,
  Banner,
  Check,
  Field,
  Loading,
  NamedOptions,
  PageHeader,
  Section,
  SYNC_STATE_TEXT,
  syncTone,
} from "../components";
import { formatDateTime } from "../format";
import { useInterval, useResource, useTitle } from "../hooks";
import { fieldMessage } from "../pick";
import { type Psa, usePsa } from "../psa";
import { Link } from "../router";
import { can, useMe } from "../session";
import type { Client, SyncError, TicketDetail } from "../types";
import { TicketAttachments } from "./TicketAttachments";
import { TimeEntriesSection } from "./TimeEntries";

/** One ticket: status, priority, devices, alerts, notes, and its PSA side (number, sync state, retry). */
export function TicketDetailPage({ ticketId }: { ticketId: number }) {
  const { partner } = usePartner();
  const { me } = useMe();
  const ticket = useResource(() => get<TicketDetail>(`/api/tickets/${ticketId}`), [ticketId]);
  const t = ticket.data;
  const { psa } = usePsa();
  // Named by its PSA ticket number once it has one; the portal's own id is never shown.
  const ref = t?.psa ? (psa?.ticketRef(t.psa) ?? null) : null;
  useTitle(t ? `${ref ? `${ref} ` : ""}${t.title}` : "Ticket");
  // The PSA's side changes on its own (webhooks, polling): keep the page current.
  useInterval(() => void ticket.reload(true), 3000);
  const client = useResource(
    () => (t ? get<Client>(`/api/clients/${t.clientId}`) : Promise.resolve(null)),
    [t?.clientId],
  );
  const writable = can(me, "data:write");

  if (ticket.error && !t)
    return (
      <Banner kind="error" title="This ticket cannot be shown">
        {ticket.error}
      </Banner>
    );
  if (!t) return <Loading />;

  return (
    <>
      <p className="crumbs">
        <Link to="/queue">← Queue</Link> ·{" "}
        <Link to={`/p/${partner.id}/tickets`}>Tickets of {partner.name}</Link>
      </p>
      <PageHeader
        title={
          <>
            {ref ? <span className="muted">{ref}</span> : null} {t.title}
          </>
        }
      />
      <div className="two-col">
        <div>
          <Section title="Ticket">
            <dl className="facts facts-rows">
              <div>
                <dt>Client</dt>
                <dd>{client.data ? `${client.data.code} — ${client.data.name}` : `#${t.clientId}`}</dd>
              </div>
              <div>
                <dt>Status</dt>
                <dd data-testid="ticket-status">{t.status}</dd>
              </div>
              <div>
                <dt>Priority</dt>
                <dd data-testid="ticket-priority">{t.priority}</dd>
              </div>
              <div>
                <dt>Devices</dt>
                <dd>
                  {t.devices.length === 0
                    ? "—"
                    : t.devices.map((d) => (
                        <div key={d.id}>
                          {d.hostname}{" "}
                          <span className="muted small">
                            ({d.state}
                            {d.primary ? ", ticket's device" : ""})
                          </span>
                        </div>
                      ))}
                </dd>
              </div>
              <div>
                <dt>Created</dt>
                <dd>{formatDateTime(t.createdAt, partner.timeZone)}</dd>
              </div>
              <div>
                <dt>Updated</dt>
                <dd>{formatDateTime(t.updatedAt, partner.timeZone)}</dd>
              </div>
            </dl>
            {t.description ? <p className="description">{t.description}</p> : null}
            {writable ? (
              <EditTicket
                key={`${t.statusId}-${t.priorityId}`}
                ticket={t}
                onSaved={(x) => ticket.setData(x)}
              />
            ) : null}
          </Section>
          <Section title={`Alerts (${t.alerts.length})`}>
            {t.alerts.length === 0 ? (
              <p className="muted">No alerts.</p>
            ) : (
              <ul className="plain-list">
                {t.alerts.map((a) => (
                  <li key={a.id}>
                    <strong>
                      {t.devices.find((d) => d.id === a.deviceId)?.hostname ?? `device #${a.deviceId}`}
                    </strong>
                    : {a.message}{" "}
                    <span className="muted small">{formatDateTime(a.createdAt, partner.timeZone)}</span>
                  </li>
                ))}
              </ul>
            )}
          </Section>
        </div>
        <div>
          <PsaSide ticket={t} psa={psa} writable={writable} onRetried={() => void ticket.reload(true)} />
          <TimeEntriesSection ticket={t} writable={writable} onChanged={() => void ticket.reload(true)} />
          <Notes ticket={t} psa={psa} writable={writable} onAdded={() => void ticket.reload(true)} />
          <TicketAttachments ticketId={t.id} writable={writable} />
        </div>
      </div>
    </>
  );
}

function EditTicket({ ticket, onSaved }: { ticket: TicketDetail; onSaved(t: TicketDetail): void }) {
  const catalog = useResource(loadCatalog, []);
  const [statusId, setStatusId] = useState(String(ticket.statusId));
  const [priorityId, setPriorityId] = useState(String(ticket.priorityId));
  const [err, setErr] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const dirty = statusId !== String(ticket.statusId) || priorityId !== String(ticket.priorityId);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErr(undefined);
    try {
      const body: Record<string, number> = {};
      if (statusId !== String(ticket.statusId)) body.statusId = Number(statusId);
      if (priorityId !== String(ticket.priorityId)) body.priorityId = Number(priorityId);
      const t = await api<TicketDetail>("PATCH", `/api/tickets/${ticket.id}`, body);
      setSaved(true);
      onSaved(t);
    } catch (x) {
      setErr(x instanceof ApiError && x.field ? fieldMessage(x.message, x.field) : messageOf(x));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="inline-edit" onSubmit={submit} noValidate aria-label="Change status or priority">
      <Field label="Change status">
        {(a) => (
          <select
            {...a}
            value={statusId}
            onChange={(e) => {
              setStatusId(e.target.value);
              setSaved(false);
            }}
          >
            <NamedOptions items={catalog.data?.statuses} />
          </select>
        )}
      </Field>
      <Field label="Change priority">
        {(a) => (
          <select
            {...a}
            value={priorityId}
            onChange={(e) => {
              setPriorityId(e.target.value);
              setSaved(false);
            }}
          >
            <NamedOptions items={catalog.data?.priorities} />
          </select>
        )}
      </Field>
      <div className="form-actions">
        <button type="submit" disabled={busy || !dirty}>
          Save
        </button>
        {saved && !dirty ? <span className="ok-text">Saved</span> : null}
      </div>
      {err ? <Banner kind="error">{err}</Banner> : null}
    </form>
  );
}

/** The ticket in the PSA: "Autotask ticket T20261128.0001", "ConnectWise ticket #123", and its sync state. */
function PsaSide({
  ticket,
  psa: system,
  writable,
  onRetried,
}: {
  ticket: TicketDetail;
  psa: Psa | undefined;
  writable: boolean;
  onRetried(): void;
}) {
  const { partner } = usePartner();
  const psa = ticket.psa;
  const label = system?.label ?? "PSA";
  const failing = psa?.state === "error" || Boolean(psa?.lastError);
  const errors = useResource(
    () =>
      failing
        ? get<{ items: SyncError[] }>(`/api/partners/${partner.id}/sync/errors`)
        : Promise.resolve({ items: [] as SyncError[] }),
    [partner.id, failing, psa?.lastError],
  );
  const syncError = errors.data?.items.find((e) => e.ticketId === ticket.id);
  const [msg, setMsg] = useState<{ kind: "success" | "error"; text: string }>();
  const retry = async (e: SyncError) => {
    setMsg(undefined);
    try {
      await api("POST", `/api/sync/errors/${e.id}/retry`);
      setMsg({ kind: "success", text: "Retry started." });
      onRetried();
      void errors.reload(true);
    } catch (x) {
      setMsg({ kind: "error", text: messageOf(x) });
    }
  };
  if (!psa)
    return (
      <Section title={label}>
        <p className="muted">Ticket sync is not running on this server.</p>
      </Section>
    );
  const href = psa.ticketId !== null ? (system?.ticketUrl(psa.ticketId) ?? null) : null;
  const ref = system ? system.ticketRef(psa) : psa.ticketNumber;
  return (
    <Section title={label}>
      <dl className="facts facts-rows">
        <div>
          <dt>{label} ticket</dt>
          <dd data-testid={`${system?.system ?? "psa"}-number`}>
            {ref ? (
              href ? (
                <a href={href} target="_blank" rel="noreferrer">
                  {ref}
                </a>
              ) : (
                ref
              )
            ) : (
              "—"
            )}
          </dd>
        </div>
        <div>
          <dt>Sync state</dt>
          <dd data-testid="sync-state">
            <Badge tone={syncTone(psa.state)}>{SYNC_STATE_TEXT[psa.state] ?? psa.state}</Badge>
          </dd>
        </div>
        <div>
          <dt>Last synced</dt>
          <dd>{formatDateTime(psa.lastSyncedAt, partner.timeZone)}</dd>
        </div>
        {psa.lastError ? (
          <div>
            <dt>Last error</dt>
            <dd className="error-text">{psa.lastError}</dd>
          </div>
        ) : null}
        {psa.warning ? (
          <div>
            <dt>Warning</dt>
            <dd className="warning-text">{psa.warning}</dd>
          </div>
        ) : null}
        <ConfigurationItem ticket={ticket} label={label} />
      </dl>
      {syncError ? (
        <div className="retry">
          <p className="small">
            {syncError.parked ? "Parked" : "Waiting for a retry"} after {syncError.attempts} attempt
            {syncError.attempts === 1 ? "" : "s"}.
          </p>
          {writable ? (
            <button type="button" onClick={() => void retry(syncError)}>
              Retry now
            </button>
          ) : null}
        </div>
      ) : null}
      {msg ? <Banner kind={msg.kind}>{msg.text}</Banner> : null}
    </Section>
  );
}

/** Which device's configuration item the PSA ticket references, or that it references none. */
function ConfigurationItem({ ticket, label }: { ticket: TicketDetail; label: string }) {
  const psa = ticket.psa;
  if (!psa || psa.ciMissing === undefined) return null;
  const device = ticket.devices.find((d) => d.id === psa.ciDeviceId);
  return (
    <div>
      <dt>Configuration item</dt>
      {psa.ciMissing ? (
        <dd className="warning-text" data-testid="ci-missing">
          None: no device of this ticket has a configuration item in {label}, so the {label} ticket references
          none.
        </dd>
      ) : (
        <dd data-testid="ci-device">
          {device?.hostname ?? `device ${psa.ciDeviceId}`}
          {device && !device.primary ? (
            <span className="muted small">
              {" "}
              (the first alert device with one; the ticket's device has none)
            </span>
          ) : null}
        </dd>
      )}
    </div>
  );
}

function Notes({
  ticket,
  psa,
  writable,
  onAdded,
}: {
  ticket: TicketDetail;
  psa: Psa | undefined;
  writable: boolean;
  onAdded(): void;
}) {
  const { partner } = usePartner();
  const [text, setText] = useState("");
  const [published, setPublished] = useState(true);
  const [err, setErr] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErr(undefined);
    try {
      await api("POST", `/api/tickets/${ticket.id}/notes`, { text, published });
      setText("");
      onAdded();
    } catch (x) {
      setErr(x instanceof ApiError && x.field ? fieldMessage(x.message, x.field) : messageOf(x));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title={`Notes (${ticket.notes.length})`}>
      {ticket.notes.length === 0 ? (
        <p className="muted">No notes yet.</p>
      ) : (
        <ol className="notes">
          {ticket.notes.map((n) => (
            <li key={n.id} className={n.published ? "" : "internal"}>
              <div className="note-head">
                <Badge tone={n.published ? "ok" : "neutral"}>{n.published ? "Published" : "Internal"}</Badge>
                <strong>{n.author}</strong>
                <span className="muted small">{formatDateTime(n.createdAt, partner.timeZone)}</span>
              </div>
              <p className="note-text">{n.text}</p>
            </li>
          ))}
        </ol>
      )}
      {writable ? (
        <form onSubmit={submit} noValidate aria-label="Add a note">
          <Field label="Add a note" error={err}>
            {(a) => <textarea {...a} rows={3} value={text} onChange={(e) => setText(e.target.value)} />}
          </Field>
          <Check
            label={`Published (${psa?.published ?? "visible in the PSA; otherwise internal only"})`}
            checked={published}
            onChange={setPublished}
          />
          <div className="form-actions">
            <button type="submit" className="primary" disabled={busy || !text.trim()}>
              Add note
            </button>
          </div>
        </form>
      ) : null}
    </Section>
  );
}
