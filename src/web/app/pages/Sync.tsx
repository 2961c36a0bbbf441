import { useCallback, useEffect, useRef, useState } from "react";
import { usePartner } from "../App";
import { api, get, messageOf } from "../api";
import { Badge, Banner, Loading, PageHeader, runTone, Section } from "../components";
import { formatDateTime, RUN_STATUS_TEXT } from "../format";
import { useResource, useTitle } from "../hooks";
import { usePsa } from "../psa";
import { Link } from "../router";
import { can, useMe } from "../session";
import type { Page, PsaOptions, RunStatus, SyncRun, SyncRunDetail, SyncStatus, Validation } from "../types";
import { WebhookStatus } from "../webhooks";
import { History } from "./sync/History";
import { LogWindow } from "./sync/LogWindow";
import { HeldRun, PlanView } from "./sync/Plan";
import { useRunStream } from "./sync/useRunStream";
import { Checklist, Summary } from "./sync/Validation";
import { EffortReportSection } from "./TimeEntries";

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
  /** The live log and progress: brought into view when a run starts from this page. */
  const liveRef = useRef<HTMLDivElement>(null);
  const reveal = () =>
    window.requestAnimationFrame(() =>
      liveRef.current?.scrollIntoView({ behavior: "smooth", block: "start" }),
    );

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
      reveal();
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
      if (action === "approve") {
        stream.follow(run.id, false);
        reveal();
      } else {
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
  // A run the page does not follow (a dry run in another tab) still shows live counts: re-read the
  // history while one of its rows runs.
  const anyRunning = history.data?.items.some((r) => r.status === "running" && r.id !== stream.live?.runId);
  // biome-ignore lint/correctness/useExhaustiveDependencies: each new reading schedules the next
  useEffect(() => {
    if (!anyRunning) return;
    const t = window.setTimeout(() => void history.reload(true), 3000);
    return () => window.clearTimeout(t);
  }, [anyRunning, history.data, history.reload]);
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
        {s?.pausedUntil ? (
          <Banner kind="info">
            Paused at the hourly API limit; resuming at {formatDateTime(s.pausedUntil, partner.timeZone)}.
            Ticket sync keeps the rest of the budget meanwhile.
          </Banner>
        ) : null}
        {notice ? <Banner kind="info">{notice}</Banner> : null}
        {held ? <HeldRun run={held} psa={psa} writable={writable} onDecide={decide} /> : null}
        <LogWindow live={stream.live} label={label} anchor={liveRef} />
        {plan?.plan ? (
          <PlanView run={plan} asset={psa?.asset ?? "asset"} label={label} onClose={() => setPlan(null)} />
        ) : null}
      </Section>

      <Section
        title="Sync history"
        description={`Asset sync runs, newest first, with their counts and ${label} API calls.`}
      >
        {history.error ? <Banner kind="error">{history.error}</Banner> : null}
        {!history.data ? (
          <Loading />
        ) : (
          <History
            runs={history.data.items}
            timeZone={partner.timeZone}
            live={stream.live ? { runId: stream.live.runId, progress: stream.live.progress } : null}
          />
        )}
      </Section>

      <EffortReportSection />
    </>
  );
}
