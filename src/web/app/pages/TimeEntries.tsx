import { type FormEvent, useEffect, useState } from "react";
import { ApiError, api, get, messageOf } from "../api";
import { Banner, Check, Field, Loading, Section } from "../components";
import { formatDateTime } from "../format";
import { useResource } from "../hooks";
import { useMe } from "../session";
import type { Effort, Page, TicketDetail, TimeEntry, TimeEntryCreate } from "../types";

/** "1 h 30 min", "45 min". */
export function formatMinutes(m: number): string {
  const h = Math.floor(m / 60);
  const rest = m % 60;
  return h === 0 ? `${rest} min` : rest === 0 ? `${h} h` : `${h} h ${rest} min`;
}

/** An ISO time as a `datetime-local` value in the browser's time zone. */
function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` value (browser time zone) as ISO UTC, or "" when empty or unreadable. */
function fromLocalInput(v: string): string {
  const d = new Date(v);
  return v && !Number.isNaN(d.getTime()) ? d.toISOString() : "";
}

const timerKey = (ticketId: number) => `nocbridge.timer.${ticketId}`;

interface Draft {
  startedAt: string;
  endedAt: string;
  /** "end": start and end; "duration": start and minutes. */
  mode: "end" | "duration";
  minutes: string;
  summary: string;
  internalNote: string;
  billable: boolean;
  workTypeId: string;
}

const emptyDraft = (): Draft => ({
  startedAt: "",
  endedAt: "",
  mode: "end",
  minutes: "",
  summary: "",
  internalNote: "",
  billable: true,
  workTypeId: "",
});

const draftOf = (e: TimeEntry): Draft => ({
  startedAt: toLocalInput(e.startedAt),
  endedAt: toLocalInput(e.endedAt),
  mode: "end",
  minutes: "",
  summary: e.summary,
  internalNote: e.internalNote,
  billable: e.billable,
  workTypeId: e.workTypeId === null ? "" : String(e.workTypeId),
});

/** The ticket's time entries, its total, manual entry, a running timer, and edit/delete of one's own. */
export function TimeEntriesSection({
  ticket,
  writable,
  onChanged,
}: {
  ticket: TicketDetail;
  writable: boolean;
  onChanged(): void;
}) {
  const { me } = useMe();
  const entries = useResource(
    () => get<Page<TimeEntry>>(`/api/tickets/${ticket.id}/time-entries?limit=500`),
    [ticket.id],
  );
  const [editing, setEditing] = useState<number | "new" | null>(null);
  const [prefill, setPrefill] = useState<Draft>(emptyDraft);
  const [timerStart, setTimerStart] = useState<string | null>(() =>
    localStorage.getItem(timerKey(ticket.id)),
  );
  const [now, setNow] = useState(Date.now());
  const [msg, setMsg] = useState<string>();
  useEffect(() => {
    if (!timerStart) return;
    const h = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(h);
  }, [timerStart]);
  const effort: Effort = ticket.effort ?? { minutes: 0, billableMinutes: 0, entries: 0 };
  const admin = me.role === "noc-admin" || me.role === "partner-admin";
  const mayChange = (e: TimeEntry) => writable && (admin || (me.userId !== null && e.userId === me.userId));
  const changed = () => {
    setEditing(null);
    void entries.reload(true);
    onChanged();
  };
  const startTimer = () => {
    const at = new Date().toISOString();
    localStorage.setItem(timerKey(ticket.id), at);
    setTimerStart(at);
    setNow(Date.now());
  };
  const stopTimer = () => {
    if (!timerStart) return;
    localStorage.removeItem(timerKey(ticket.id));
    // At least a minute, so a short timer still gives a valid entry.
    const end = new Date(Math.max(Date.now(), Date.parse(timerStart) + 60_000)).toISOString();
    setPrefill({ ...emptyDraft(), startedAt: toLocalInput(timerStart), endedAt: toLocalInput(end) });
    setTimerStart(null);
    setEditing("new");
  };
  const remove = async (e: TimeEntry) => {
    if (!window.confirm(`Delete the time entry "${e.summary}"?`)) return;
    setMsg(undefined);
    try {
      await api("DELETE", `/api/time-entries/${e.id}`);
      changed();
    } catch (x) {
      setMsg(messageOf(x));
    }
  };
  const running = timerStart ? Math.max(0, Math.floor((now - Date.parse(timerStart)) / 1000)) : 0;
  const clock = `${Math.floor(running / 3600)}:${String(Math.floor((running % 3600) / 60)).padStart(2, "0")}:${String(running % 60).padStart(2, "0")}`;

  return (
    <Section
      title={`Time (${effort.entries})`}
      description="Effort the NOC logged on this ticket; it is sent to the PSA as time entries."
    >
      <p data-testid="effort-total">
        Total <strong>{formatMinutes(effort.minutes)}</strong>{" "}
        <span className="muted">({formatMinutes(effort.billableMinutes)} billable)</span>
      </p>
      {entries.error ? <Banner kind="error">{entries.error}</Banner> : null}
      {!entries.data ? (
        <Loading />
      ) : entries.data.items.length === 0 ? (
        <p className="muted">No time logged yet.</p>
      ) : (
        <ol className="time-entries" aria-label="Time entries">
          {entries.data.items.map((e) =>
            editing === e.id ? (
              <li key={e.id}>
                <EntryForm
                  ticketId={ticket.id}
                  entry={e}
                  initial={draftOf(e)}
                  onDone={changed}
                  onCancel={() => setEditing(null)}
                />
              </li>
            ) : (
              <li key={e.id} data-testid="time-entry">
                <div className="note-head">
                  <strong>{formatMinutes(e.minutes)}</strong>
                  <span>{e.userName}</span>
                  {/* The browser's time zone, as the entry form's "your local time" (named in each time). */}
                  <span className="muted small">
                    {formatDateTime(e.startedAt)} – {formatDateTime(e.endedAt)}
                  </span>
                  <span className="muted small">
                    {e.billable ? "billable" : "not billable"}
                    {e.workTypeId !== null ? `, work type ${e.workTypeId}` : ""}
                  </span>
                </div>
                <p className="note-text">{e.summary}</p>
                <KeptBack entry={e} />
                {e.internalNote ? <p className="muted small">Internal: {e.internalNote}</p> : null}
                {mayChange(e) ? (
                  <div className="form-actions">
                    <button type="button" onClick={() => setEditing(e.id)}>
                      Edit
                    </button>
                    <button type="button" onClick={() => void remove(e)}>
                      Delete
                    </button>
                  </div>
                ) : null}
              </li>
            ),
          )}
        </ol>
      )}
      {msg ? <Banner kind="error">{msg}</Banner> : null}
      {writable ? (
        <>
          <div className="form-actions">
            {timerStart ? (
              <button type="button" className="primary" onClick={stopTimer}>
                Stop timer <span data-testid="timer">{clock}</span>
              </button>
            ) : (
              <button type="button" onClick={startTimer}>
                Start timer
              </button>
            )}
            {editing !== "new" ? (
              <button
                type="button"
                onClick={() => {
                  setPrefill(emptyDraft());
                  setEditing("new");
                }}
              >
                Log time
              </button>
            ) : null}
          </div>
          {editing === "new" ? (
            <EntryForm
              key={prefill.startedAt}
              ticketId={ticket.id}
              initial={prefill}
              onDone={changed}
              onCancel={() => setEditing(null)}
            />
          ) : null}
        </>
      ) : null}
    </Section>
  );
}

/** Why an entry is not in the PSA: kept back by the sync (no resource for its technician, or refused). */
function KeptBack({ entry }: { entry: TimeEntry }) {
  const psa = entry.psa;
  if (!psa || (psa.state !== "unmapped" && psa.state !== "refused")) return null;
  const what =
    psa.state === "unmapped"
      ? "Not sent to the PSA: no PSA resource for this technician. Map the user (Resource map) or choose a default NOC resource in Setup; it is sent then."
      : "Not sent to the PSA: the PSA refused it. Fix the cause and edit the entry to send it again.";
  return (
    <p className="small" data-testid="time-entry-kept-back" role="status">
      <span className="badge badge-warn">
        {psa.state === "unmapped" ? "waiting for a resource" : "refused"}
      </span>{" "}
      {what}
      {psa.message ? <span className="muted"> ({psa.message})</span> : null}
    </p>
  );
}

/** A new entry (POST) or a change to one (PATCH); an error names the field it is about. */
function EntryForm({
  ticketId,
  entry,
  initial,
  onDone,
  onCancel,
}: {
  ticketId: number;
  entry?: TimeEntry;
  initial: Draft;
  onDone(): void;
  onCancel(): void;
}) {
  const [d, setD] = useState<Draft>(initial);
  const [err, setErr] = useState<{ field: string; message: string }>();
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<Draft>) => setD((x) => ({ ...x, ...patch }));
  const errorOf = (f: string) => (err?.field === f ? err.message : undefined);
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setErr(undefined);
    const body: TimeEntryCreate = {
      startedAt: fromLocalInput(d.startedAt),
      summary: d.summary,
      internalNote: d.internalNote,
      billable: d.billable,
      workTypeId: d.workTypeId.trim() === "" ? null : Number(d.workTypeId),
      ...(d.mode === "end" ? { endedAt: fromLocalInput(d.endedAt) } : { durationMinutes: Number(d.minutes) }),
    };
    try {
      if (entry) await api("PATCH", `/api/time-entries/${entry.id}`, body);
      else await api("POST", `/api/tickets/${ticketId}/time-entries`, body);
      onDone();
    } catch (x) {
      setErr(
        x instanceof ApiError && x.field
          ? { field: x.field, message: x.message }
          : { field: "", message: messageOf(x) },
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} noValidate aria-label={entry ? "Change time entry" : "Log time"}>
      <Field label="Start (your local time)" error={errorOf("startedAt")} required>
        {(a) => (
          <input
            {...a}
            type="datetime-local"
            value={d.startedAt}
            onChange={(e) => set({ startedAt: e.target.value })}
          />
        )}
      </Field>
      <fieldset className="plain">
        <legend className="sr-only">End or duration</legend>
        <label>
          <input type="radio" checked={d.mode === "end"} onChange={() => set({ mode: "end" })} /> End time
        </label>{" "}
        <label>
          <input type="radio" checked={d.mode === "duration"} onChange={() => set({ mode: "duration" })} />{" "}
          Duration
        </label>
      </fieldset>
      {d.mode === "end" ? (
        <Field label="End (your local time)" error={errorOf("endedAt")} required>
          {(a) => (
            <input
              {...a}
              type="datetime-local"
              value={d.endedAt}
              onChange={(e) => set({ endedAt: e.target.value })}
            />
          )}
        </Field>
      ) : (
        <Field label="Duration (minutes)" error={errorOf("durationMinutes") ?? errorOf("endedAt")} required>
          {(a) => (
            <input
              {...a}
              type="number"
              min={1}
              max={1440}
              value={d.minutes}
              onChange={(e) => set({ minutes: e.target.value })}
            />
          )}
        </Field>
      )}
      <Field label="Summary" error={errorOf("summary")} required hint="Sent to the PSA as the entry's notes.">
        {(a) => (
          <textarea
            {...a}
            rows={2}
            maxLength={2000}
            value={d.summary}
            onChange={(e) => set({ summary: e.target.value })}
          />
        )}
      </Field>
      <Field label="Internal note" error={errorOf("internalNote")}>
        {(a) => (
          <textarea
            {...a}
            rows={2}
            value={d.internalNote}
            onChange={(e) => set({ internalNote: e.target.value })}
          />
        )}
      </Field>
      <Check label="Billable" checked={d.billable} onChange={(v) => set({ billable: v })} />
      <Field
        label="Work type id"
        error={errorOf("workTypeId")}
        hint="The PSA work type (Autotask billing code); empty = the partner's default from Setup."
      >
        {(a) => (
          <input
            {...a}
            inputMode="numeric"
            value={d.workTypeId}
            onChange={(e) => set({ workTypeId: e.target.value })}
          />
        )}
      </Field>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          {entry ? "Save" : "Add time entry"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {err &&
      !["startedAt", "endedAt", "durationMinutes", "summary", "internalNote", "workTypeId"].includes(
        err.field,
      ) ? (
        <Banner kind="error">{err.message}</Banner>
      ) : null}
    </form>
  );
}

// The effort report lives in its own module; Sync.tsx imports it from here.
export { EffortReportSection } from "./EffortReport";
