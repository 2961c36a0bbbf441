import { useCallback, useEffect, useRef, useState } from "react";
import { usePartner } from "../App";
import { api, get, messageOf } from "../api";
import { Badge, Banner, Loading, PageHeader, runTone, Section } from "../components";
import { duration, formatDateTime, RUN_STATUS_TEXT } from "../format";
import { useResource, useTitle } from "../hooks";
import { type Psa, usePsa } from "../psa";
import { Link } from "../router";
import { can, useMe } from "../session";
import type {
  AssetPlan,
  Integration,
  Page,
  PlanItem,
  PsaField,
  PsaOptions,
  RunStatus,
  SyncRun,
  SyncRunDetail,
  SyncStatus,
  Validation,
} from "../types";
import { WebhookStatus } from "../webhooks";
import { EffortReportSection } from "./TimeEntries";

interface Live {
  runId: number;
  dryRun: boolean;
  lines: string[];
  progress: { done: number; total: number } | null;
  status: RunStatus;
}

/**
 * Follows a run's log as it is written: server-sent events from GET /api/sync-runs/:id/events.
 * EventSource cannot send headers, and a token in a URL would be logged, so a single-use stream
 * ticket is asked for first and only that goes in the URL. When the stream breaks (or no ticket can
 * be had), the run is read until it finishes.
 */
function useRunStream(onFinished: (runId: number, status: RunStatus) => void) {
  const [live, setLive] = useState<Live | null>(null);
  const es = useRef<EventSource | null>(null);
  const poll = useRef<number | null>(null);
  /** Bumped by every follow and stop, so a ticket that arrives late opens nothing. */
  const generation = useRef(0);
  const done = useRef(onFinished);
  done.current = onFinished;

  const stop = useCallback(() => {
    generation.current += 1;
    es.current?.close();
    es.current = null;
    if (poll.current !== null) window.clearTimeout(poll.current);
    poll.current = null;
  }, []);

  const follow = useCallback(
    (runId: number, dryRun: boolean) => {
      stop();
      const mine = generation.current;
      setLive({ runId, dryRun, lines: [], progress: null, status: "running" });
      // Reads the run until it has finished (the stream broke: server restart, proxy).
      const readUntilDone = () => {
        const tick = async () => {
          if (generation.current !== mine) return;
          try {
            const run = await get<SyncRunDetail>(`/api/sync-runs/${runId}`);
            setLive((l) => (l && l.runId === runId ? { ...l, lines: run.log, status: run.status } : l));
            if (run.status !== "running") {
              done.current(runId, run.status);
              return;
            }
          } catch {
            /* try again */
          }
          if (generation.current === mine) poll.current = window.setTimeout(() => void tick(), 2000);
        };
        void tick();
      };
      const open = async () => {
        let ticket: string;
        try {
          ticket = (await api<{ ticket: string }>("POST", `/api/sync-runs/${runId}/stream-ticket`)).ticket;
        } catch {
          readUntilDone();
          return;
        }
        if (generation.current !== mine) return;
        const source = new EventSource(`/api/sync-runs/${runId}/events?ticket=${encodeURIComponent(ticket)}`);
        es.current = source;
        let finished = false;
        source.addEventListener("line", (e) => {
          const { text } = JSON.parse((e as MessageEvent<string>).data) as { text: string };
          setLive((l) => (l && l.runId === runId ? { ...l, lines: [...l.lines, text] } : l));
        });
        source.addEventListener("progress", (e) => {
          const p = JSON.parse((e as MessageEvent<string>).data) as { done: number; total: number };
          setLive((l) => (l && l.runId === runId ? { ...l, progress: p } : l));
        });
        source.addEventListener("status", (e) => {
          const { status } = JSON.parse((e as MessageEvent<string>).data) as { status: RunStatus };
          finished = true;
          source.close();
          if (es.current === source) es.current = null;
          setLive((l) => (l && l.runId === runId ? { ...l, status } : l));
          done.current(runId, status);
        });
        source.onerror = () => {
          if (finished) return;
          // A ticket is good once: rather than let EventSource reconnect with it, read the run.
          source.close();
          if (es.current === source) es.current = null;
          readUntilDone();
        };
      };
      void open();
    },
    [stop],
  );

  /** Shows a run's stored log and status in the log window when it is the one there (after a cancel). */
  const show = useCallback((run: SyncRunDetail) => {
    setLive((l) => (l && l.runId === run.id ? { ...l, lines: run.log, status: run.status } : l));
  }, []);

  useEffect(() => stop, [stop]);
  return { live, follow, show, clear: () => setLive(null) };
}

/** Validate and Sync devices (the seed's Figure 13). */
export function SyncPage() {
  const { partner } = usePartner();
  const { me } = useMe();
  useTitle(`Validate & sync — ${partner.name}`);
  const writable = can(me, "integration:write");
  const pid = partner.id;
  const { integration: i, psa, error: psaError } = usePsa();
  const status = useResource(() => get<SyncStatus>(`/api/partners/${pid}/sync/assets/status`), [pid]);
  const history = useResource(() => get<Page<SyncRun>>(`/api/partners/${pid}/sync-runs?limit=20`), [pid]);
  const creds = psa?.hasCredentials ?? false;
  const label = psa?.label ?? "the PSA";
  const options = useResource(
    () =>
      creds && writable ? get<PsaOptions>(`/api/partners/${pid}/psa/options`) : Promise.resolve(undefined),
    [pid, creds, writable],
  );
  const [validation, setValidation] = useState<Validation | null>(null);
  const [validating, setValidating] = useState(false);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [held, setHeld] = useState<SyncRunDetail | null>(null);
  const [plan, setPlan] = useState<SyncRunDetail | null>(null);
  const [starting, setStarting] = useState(false);

  const refresh = useCallback(() => {
    void status.reload(true);
    void history.reload(true);
  }, [status.reload, history.reload]);

  const stream = useRunStream(
    useCallback(
      async (runId: number, st: RunStatus) => {
        refresh();
        if (st === "awaiting-approval" || st === "succeeded" || st === "partial") {
          try {
            const run = await get<SyncRunDetail>(`/api/sync-runs/${runId}`);
            if (st === "awaiting-approval") setHeld(run);
            else if (run.dryRun) setPlan(run);
          } catch (e) {
            setError(messageOf(e));
          }
        }
      },
      [refresh],
    ),
  );

  // A run already going (another tab, the schedule, onboarding): follow it.
  const attached = useRef(false);
  useEffect(() => {
    if (attached.current || !status.data) return;
    attached.current = true;
    if (status.data.running !== null) stream.follow(status.data.running, false);
  }, [status.data, stream.follow]);
  // A run held by the mass-change guard waits for a decision.
  useEffect(() => {
    const h = history.data?.items.find((r) => r.status === "awaiting-approval");
    if (!h) {
      setHeld(null);
      return;
    }
    if (held?.id === h.id) return;
    // The history may be older than a decision just taken (approve/cancel): only a run still held shows.
    get<SyncRunDetail>(`/api/sync-runs/${h.id}`)
      .then((run) => {
        if (run.status === "awaiting-approval") setHeld(run);
      })
      .catch(() => {});
  }, [history.data, held?.id]);

  const validate = async () => {
    setValidating(true);
    setError(undefined);
    try {
      setValidation(await api<Validation>("POST", `/api/partners/${pid}/validate`));
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setValidating(false);
    }
  };

  const sync = async (dryRun: boolean) => {
    setStarting(true);
    setError(undefined);
    setNotice(undefined);
    setPlan(null);
    try {
      const r = await api<{ runId: number }>(
        "POST",
        `/api/partners/${pid}/sync/assets${dryRun ? "?dryRun=true" : ""}`,
      );
      stream.follow(r.runId, dryRun);
      refresh();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setStarting(false);
    }
  };

  const decide = async (run: SyncRunDetail, action: "approve" | "cancel") => {
    setError(undefined);
    setNotice(undefined);
    try {
      await api("POST", `/api/sync-runs/${run.id}/${action}`);
      setHeld(null);
      if (action === "approve") stream.follow(run.id, false);
      else {
        setNotice(`Run #${run.id} was cancelled; nothing was written.`);
        // The log window may still show the held run: bring it up to date (status, the cancel line).
        get<SyncRunDetail>(`/api/sync-runs/${run.id}`)
          .then(stream.show)
          .catch(() => {});
      }
      refresh();
    } catch (e) {
      setError(messageOf(e));
    }
  };

  const running = stream.live?.status === "running";
  const s = status.data;

  return (
    <>
      <PageHeader title="Validate the Ticket System and Asset Integration">
        <span className="muted">{partner.name}</span>
      </PageHeader>
      {error ? <Banner kind="error">{error}</Banner> : null}
      {psaError ? <Banner kind="error">{psaError}</Banner> : null}
      <WebhookStatus partnerId={pid} />
      <div className="two-col">
        {i && psa ? <Summary integration={i} psa={psa} options={options.data} /> : <Loading />}
        <Section
          title="Validate"
          description={`Checks the settings against your live ${label}: ${psa?.validates ?? "credentials and settings"}.`}
          actions={
            writable ? (
              <button type="button" className="primary" disabled={validating} onClick={() => void validate()}>
                {validating ? "Validating…" : "Validate"}
              </button>
            ) : null
          }
        >
          {validation ? (
            <Checklist validation={validation} label={label} />
          ) : (
            <p className="muted">Not validated yet.</p>
          )}
        </Section>
      </div>

      <Section
        title="Sync devices"
        id="sync-devices"
        actions={
          writable ? (
            <>
              <button
                type="button"
                className="primary"
                disabled={running || starting || !i?.devices.enabled}
                onClick={() => void sync(false)}
              >
                {running && !stream.live?.dryRun ? "Syncing…" : "Sync"}
              </button>
              <button type="button" disabled={running || starting || !creds} onClick={() => void sync(true)}>
                Dry run
              </button>
            </>
          ) : null
        }
      >
        {i && !i.devices.enabled ? (
          <Banner kind="info">
            Device integration is off. Enable it in <Link to={`/p/${pid}/setup`}>Setup</Link> to sync devices;
            a dry run shows what a sync would do.
          </Banner>
        ) : null}
        <dl className="facts">
          <div>
            <dt>Last Sync Date</dt>
            <dd data-testid="last-sync-date">{formatDateTime(s?.lastSyncAt, partner.timeZone)}</dd>
          </div>
          <div>
            <dt>Last Sync Status</dt>
            <dd data-testid="last-sync-status">
              {s?.lastSyncStatus ? (
                <Badge tone={runTone(s.lastSyncStatus)}>
                  {RUN_STATUS_TEXT[s.lastSyncStatus] ?? s.lastSyncStatus}
                </Badge>
              ) : (
                "—"
              )}
            </dd>
          </div>
          <div>
            <dt>Next scheduled run</dt>
            <dd>
              {s?.nextRunAt ? formatDateTime(s.nextRunAt, partner.timeZone) : "—"}
              {s?.schedule ? <span className="muted small"> ({s.schedule})</span> : null}
            </dd>
          </div>
        </dl>
        {notice ? <Banner kind="info">{notice}</Banner> : null}
        {held ? <HeldRun run={held} psa={psa} writable={writable} onDecide={decide} /> : null}
        <LogWindow live={stream.live} />
        {plan?.plan ? (
          <PlanView run={plan} asset={psa?.asset ?? "asset"} onClose={() => setPlan(null)} />
        ) : null}
      </Section>

      <Section
        title="Sync history"
        description={`Asset sync runs, newest first, with their counts and ${label} API calls.`}
      >
        {history.error ? <Banner kind="error">{history.error}</Banner> : null}
        {!history.data ? <Loading /> : <History runs={history.data.items} timeZone={partner.timeZone} />}
      </Section>

      <EffortReportSection />
    </>
  );
}

function nameOf(list: ReadonlyArray<{ id: number; label: string }> | undefined, id: number | null): string {
  if (id === null) return "—";
  const o = list?.find((x) => x.id === id);
  return o ? `${o.label} (${id})` : String(id);
}

/** A stored setting as the summary shows it: a pick-list's chosen option by name, the secret masked. */
function shown(f: PsaField, psa: Psa, i: Integration, options: PsaOptions | undefined): string {
  if (f.kind === "secret") return i.ticketing.secret ? "stored (view it in Setup)" : "—";
  const v = psa.setting(f.key);
  if (v === null || v === undefined || v === "") return f.kind === "url" ? "(not set)" : "—";
  if (f.kind === "boolean") return v === true ? "Yes" : "No";
  if (f.kind !== "picklist" || typeof v !== "number") return String(v);
  const name = f.labelKey ? psa.setting(f.labelKey) : undefined;
  if (typeof name === "string" && name !== "") return `${name} (${v})`;
  const list = f.choices ?? (f.options ? options?.[f.options] : undefined);
  return nameOf(list, v);
}

/** The saved settings at a glance: the connector's main fields (the manifest's ungrouped ones). */
function Summary({
  integration: i,
  psa,
  options,
}: {
  integration: Integration;
  psa: Psa;
  options: PsaOptions | undefined;
}) {
  const { partner } = usePartner();
  const named = new Set(psa.fields.flatMap((f) => (f.labelKey ? [f.labelKey] : [])));
  const rows = (section: "ticketing" | "devices") =>
    psa.fields
      .filter((f) => f.section === section && f.group === undefined && !named.has(f.key))
      .map((f) => (
        <div key={f.key}>
          <dt>{f.label}</dt>
          <dd className="break">{shown(f, psa, i, options)}</dd>
        </div>
      ));
  return (
    <Section title="Ticketing System Details" actions={<Link to={`/p/${partner.id}/setup`}>Edit</Link>}>
      <dl className="facts facts-rows">
        <div>
          <dt>Ticketing Module Enabled</dt>
          <dd>{i.ticketing.enabled ? "Yes" : "No"}</dd>
        </div>
        <div>
          <dt>Ticketing System Type</dt>
          <dd>{psa.label}</dd>
        </div>
        {rows("ticketing")}
      </dl>
      <h3>Device Integration Details</h3>
      <dl className="facts facts-rows">
        <div>
          <dt>Device Integration</dt>
          <dd>{i.devices.enabled ? "Enabled" : "Off"}</dd>
        </div>
        {rows("devices")}
        <div>
          <dt>Advanced Device Integration</dt>
          <dd>{i.devices.advanced ? "Yes" : "No"}</dd>
        </div>
      </dl>
    </Section>
  );
}

function CheckItem({ c }: { c: Validation["checks"][number] }) {
  return (
    <li className={c.ok ? (c.warning ? "warn" : "ok") : "bad"}>
      <span className="mark" aria-hidden="true">
        {c.ok ? (c.warning ? "!" : "✓") : "✗"}
      </span>
      <div>
        <span className="sr-only">{c.ok ? (c.warning ? "Warning: " : "Passed: ") : "Failed: "}</span>
        <span className="check-msg">{c.message}</span>
        {(!c.ok || c.warning) && c.fix ? (
          <div className="fix">
            <strong>How to fix:</strong> {c.fix}
          </div>
        ) : null}
      </div>
    </li>
  );
}

/** The checklist: failed checks with their fix first; the passed ones folded. */
function Checklist({ validation, label }: { validation: Validation; label: string }) {
  const failed = validation.checks.filter((c) => !c.ok);
  const warned = validation.checks.filter((c) => c.ok && c.warning);
  const passed = validation.checks.filter((c) => c.ok && !c.warning);
  // A spent hourly API budget is the cause, not something to create in the PSA.
  const budget = failed.find((c) => c.name === "budget");
  return (
    <div aria-live="polite">
      {validation.ok ? (
        <Banner kind="success">Configuration validation success: every check passed.</Banner>
      ) : budget ? (
        <Banner kind="error">{budget.message}</Banner>
      ) : (
        <Banner kind="error">
          {failed.length} check{failed.length === 1 ? "" : "s"} failed. Fix{" "}
          {failed.length === 1 ? "it" : "them"} in {label} (or in Setup) and validate again.
        </Banner>
      )}
      {failed.length > 0 ? (
        <ul className="checklist" aria-label="Failed checks">
          {failed.map((c) => (
            <CheckItem key={c.name} c={c} />
          ))}
        </ul>
      ) : null}
      {warned.length > 0 ? (
        <ul className="checklist" aria-label="Warnings">
          {warned.map((c) => (
            <CheckItem key={c.name} c={c} />
          ))}
        </ul>
      ) : null}
      {passed.length > 0 ? (
        <details className="passed-checks">
          <summary>
            {passed.length} check{passed.length === 1 ? "" : "s"} passed
          </summary>
          <ul className="checklist" aria-label="Passed checks">
            {passed.map((c) => (
              <CheckItem key={c.name} c={c} />
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  );
}

function LogWindow({ live }: { live: Live | null }) {
  const ref = useRef<HTMLOListElement>(null);
  const count = live?.lines.length ?? 0;
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll when a line arrives
  useEffect(() => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [count]);
  const p = live?.progress;
  return (
    <div className="log">
      <div className="log-head">
        <h3 id="log-title">Log{live ? ` — run #${live.runId}${live.dryRun ? " (dry run)" : ""}` : ""}</h3>
        {live ? (
          <Badge tone={runTone(live.status)}>{RUN_STATUS_TEXT[live.status] ?? live.status}</Badge>
        ) : null}
      </div>
      {p && p.total > 0 && live?.status === "running" ? (
        <progress max={p.total} value={p.done} aria-label="Devices processed">
          {p.done} of {p.total}
        </progress>
      ) : null}
      <ol
        ref={ref}
        className="log-lines"
        aria-labelledby="log-title"
        aria-live="polite"
        data-testid="sync-log"
      >
        {live ? (
          live.lines.map((l, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: log lines are append-only
            <li key={i}>{l}</li>
          ))
        ) : (
          <li className="muted">
            Press Sync to run the asset integration; its log appears here as it happens.
          </li>
        )}
      </ol>
    </div>
  );
}

const ACTIONS: PlanItem["action"][] = ["create", "update", "deactivate", "unchanged", "conflict"];

function countActions(items: PlanItem[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const it of items) c[it.action] = (c[it.action] ?? 0) + 1;
  return c;
}

function show(v: unknown): string {
  if (v === null || v === undefined || v === "") return "∅";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** The plan's rows; `asset`: how the PSA calls the record of a device ("CI", "configuration"). */
function PlanTable({ plan, asset }: { plan: AssetPlan; asset: string }) {
  const Asset = `${asset.charAt(0).toUpperCase()}${asset.slice(1)}`;
  const groups = [
    ...plan.clients.map((c) => ({
      key: `c${c.clientId}`,
      title: `Client ${c.code} → company ${c.companyId}`,
      items: c.items,
    })),
    ...(plan.orphans.length > 0
      ? [{ key: "orphans", title: `${Asset}s whose portal device is gone`, items: plan.orphans }]
      : []),
  ];
  return (
    <div className="plan">
      {groups.map((g) => {
        const counts = countActions(g.items);
        const changes = g.items.filter((it) => it.action !== "unchanged");
        return (
          <div key={g.key} className="plan-group">
            <h4>{g.title}</h4>
            <p className="plan-counts">
              {ACTIONS.filter((a) => counts[a]).map((a) => (
                <span key={a} className={`pill pill-${a}`}>
                  {counts[a]} {a}
                </span>
              ))}
              {g.items.length === 0 ? <span className="muted">no devices</span> : null}
            </p>
            {changes.length > 0 ? (
              <div className="table-wrap">
                <table className="compact">
                  <thead>
                    <tr>
                      <th scope="col">Device</th>
                      <th scope="col">Action</th>
                      <th scope="col">{Asset}</th>
                      <th scope="col">Changes</th>
                    </tr>
                  </thead>
                  <tbody>
                    {changes.slice(0, 200).map((it) => (
                      <tr key={`${it.deviceId}-${it.ciId ?? ""}`}>
                        <td data-label="Device">{it.hostname}</td>
                        <td data-label="Action">{it.action}</td>
                        <td data-label={Asset}>{it.ciId ?? "new"}</td>
                        <td data-label="Changes" className="small">
                          {it.reason ? <div>{it.reason}</div> : null}
                          {it.changes
                            ? Object.entries(it.changes).map(([f, ch]) => {
                                const c = ch as { from?: unknown; to?: unknown };
                                return (
                                  <div key={f}>
                                    {f}: {show(c.from)} → {show(c.to)}
                                  </div>
                                );
                              })
                            : null}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                {changes.length > 200 ? (
                  <p className="muted small">…and {changes.length - 200} more.</p>
                ) : null}
              </div>
            ) : null}
          </div>
        );
      })}
    </div>
  );
}

function PlanView({ run, asset, onClose }: { run: SyncRunDetail; asset: string; onClose(): void }) {
  return (
    <section className="subcard" aria-label="Dry run plan">
      <div className="card-head">
        <h3>Dry run #{run.id}: what a sync would do (nothing was written)</h3>
        <button type="button" className="ghost" onClick={onClose}>
          Close
        </button>
      </div>
      {run.plan ? <PlanTable plan={run.plan} asset={asset} /> : <p className="muted">No plan.</p>}
    </section>
  );
}

function HeldRun({
  run,
  psa,
  writable,
  onDecide,
}: {
  run: SyncRunDetail;
  psa: Psa | undefined;
  writable: boolean;
  onDecide(run: SyncRunDetail, action: "approve" | "cancel"): void;
}) {
  return (
    <div className="banner banner-warning held" role="status">
      <strong className="banner-title">Run #{run.id} is waiting for approval</strong>
      <p>
        It would deactivate many {psa?.assetLong ?? "asset"}s at once (the mass-change guard). Nothing has
        been written.
        {run.error ? ` ${run.error}` : ""}
      </p>
      <ul className="warnings">
        {run.log
          .filter((l) => l.startsWith("Mass-change guard:"))
          .map((l) => (
            <li key={l}>{l.replace(/^Mass-change guard: /, "")}</li>
          ))}
      </ul>
      {writable ? (
        <div className="form-actions">
          <button type="button" className="primary" onClick={() => onDecide(run, "approve")}>
            Approve and run
          </button>
          <button type="button" onClick={() => onDecide(run, "cancel")}>
            Cancel the run
          </button>
        </div>
      ) : null}
      {run.plan ? (
        <details>
          <summary>The plan</summary>
          <PlanTable plan={run.plan} asset={psa?.asset ?? "asset"} />
        </details>
      ) : null}
    </div>
  );
}

function History({ runs, timeZone }: { runs: SyncRun[]; timeZone: string }) {
  const [open, setOpen] = useState<number | null>(null);
  const detail = useResource(
    () => (open === null ? Promise.resolve(null) : get<SyncRunDetail>(`/api/sync-runs/${open}`)),
    [open],
  );
  if (runs.length === 0) return <p className="muted">No sync has run yet.</p>;
  return (
    <div className="table-wrap">
      <table className="history">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Started</th>
            <th scope="col">Trigger</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Created
            </th>
            <th scope="col" className="num">
              Updated
            </th>
            <th scope="col" className="num">
              Deactivated
            </th>
            <th scope="col" className="num">
              Unchanged
            </th>
            <th scope="col" className="num">
              Failed
            </th>
            <th scope="col" className="num">
              API calls
            </th>
            <th scope="col">Took</th>
            <th scope="col">
              <span className="sr-only">Log</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <HistoryRow
              key={r.id}
              run={r}
              timeZone={timeZone}
              open={open === r.id}
              onToggle={() => setOpen(open === r.id ? null : r.id)}
              log={open === r.id ? (detail.data?.log ?? null) : null}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function HistoryRow({
  run: r,
  timeZone,
  open,
  onToggle,
  log,
}: {
  run: SyncRun;
  timeZone: string;
  open: boolean;
  onToggle(): void;
  log: string[] | null;
}) {
  return (
    <>
      <tr>
        <td data-label="Run">#{r.id}</td>
        <td data-label="Started">{formatDateTime(r.startedAt, timeZone)}</td>
        <td data-label="Trigger">
          {r.trigger}
          {r.dryRun ? " · dry run" : ""}
        </td>
        <td data-label="Status">
          <Badge tone={runTone(r.status)}>{RUN_STATUS_TEXT[r.status] ?? r.status}</Badge>
          {r.error && (r.status === "failed" || r.status === "partial") ? (
            <div className="small muted run-error">{r.error}</div>
          ) : null}
        </td>
        <td className="phone-only" data-label="Counts">
          {r.counts.created} created · {r.counts.updated} updated · {r.counts.deactivated} deactivated ·{" "}
          {r.counts.unchanged} unchanged · {r.counts.failed} failed
        </td>
        <td className="num hide-phone" data-label="Created">
          {r.counts.created}
        </td>
        <td className="num hide-phone" data-label="Updated">
          {r.counts.updated}
        </td>
        <td className="num hide-phone" data-label="Deactivated">
          {r.counts.deactivated}
        </td>
        <td className="num hide-phone" data-label="Unchanged">
          {r.counts.unchanged}
        </td>
        <td className="num hide-phone" data-label="Failed">
          {r.counts.failed}
        </td>
        <td className="num" data-label="API calls">
          {r.apiCalls}
        </td>
        <td className="hide-phone" data-label="Took">
          {duration(r.startedAt, r.finishedAt)}
        </td>
        <td>
          <button type="button" className="link" aria-expanded={open} onClick={onToggle}>
            {open ? "Hide log" : "Log"}
          </button>
        </td>
      </tr>
      {open ? (
        <tr className="log-row">
          <td colSpan={13}>
            {log === null ? (
              <Loading />
            ) : (
              <ol className="log-lines short">
                {log.map((l, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: log lines are append-only
                  <li key={i}>{l}</li>
                ))}
              </ol>
            )}
          </td>
        </tr>
      ) : null}
    </>
  );
}
