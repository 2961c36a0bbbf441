import { useState } from "react";
import { usePartner } from "../App";
import { api, get, messageOf } from "../api";
import { Badge, Banner, Loading, PageHeader, Section } from "../components";
import { formatDateTime } from "../format";
import { useResource, useTitle } from "../hooks";
import { usePsa } from "../psa";
import type {
  ReconciliationActionInput,
  ReconciliationActionResult,
  ReconciliationItem,
  ReconciliationView,
} from "../types";
import { type Ask, ItemRows } from "./ReconciliationRows";

type Kind = ReconciliationItem["kind"];
const KINDS: Kind[] = ["orphan-ci", "wrong-company", "duplicate-serial", "changed-in-psa"];

const heading = (kind: Kind, psa: string): { title: string; description: string } =>
  ({
    "orphan-ci": {
      title: "CIs no device claims",
      description: `Active configuration items in the partner's ${psa} companies that no portal device is linked to. Link one to its device (the device's next sync then updates it instead of creating a second CI), or deactivate it.`,
    },
    "wrong-company": {
      title: "Devices whose CI is in another company",
      description: `The device's CI is in another ${psa} company than the one its client is mapped to. Move puts the device's CI into the client's company (found there, or created) and deactivates the old one.`,
    },
    "duplicate-serial": {
      title: "Duplicate serial numbers",
      description:
        "One serial number on more than one portal device, or on more than one active CI. Deactivate the CI that is left over; devices are fixed at their source (the RMM).",
    },
    "changed-in-psa": {
      title: `CIs changed in ${psa}`,
      description: `Linked CIs deactivated, edited or deleted in ${psa} since the last sync wrote them. Re-sync writes the portal's values back now; the next scheduled sync would too.`,
    },
  })[kind];

/**
 * The reconciliation view: a partner's portal devices against the PSA's configuration items, grouped
 * by kind with counts; each row with its actions, confirmed before they run.
 */
export function Reconciliation() {
  const { partner } = usePartner();
  const psa = usePsa().psa?.label ?? "the PSA";
  useTitle(`Reconciliation — ${partner.name}`);
  const [refresh, setRefresh] = useState(0);
  const view = useResource(
    () =>
      get<ReconciliationView>(
        `/api/partners/${partner.id}/reconciliation${refresh > 0 ? "?refresh=true" : ""}`,
      ),
    [partner.id, refresh],
  );
  const [msg, setMsg] = useState<{ kind: "success" | "error"; text: string; lines?: string[] }>();
  const [busy, setBusy] = useState(false);
  const [showIgnored, setShowIgnored] = useState(false);

  const run: Ask = async (input: ReconciliationActionInput) => {
    setBusy(true);
    setMsg(undefined);
    try {
      const r = await api<ReconciliationActionResult>(
        "POST",
        `/api/partners/${partner.id}/reconciliation/actions`,
        input,
      );
      setMsg({ kind: "success", text: r.message, lines: r.lines });
    } catch (e) {
      setMsg({ kind: "error", text: messageOf(e) });
    } finally {
      setBusy(false);
      setRefresh((n) => n + 1);
    }
  };

  const data = view.data;
  return (
    <>
      <PageHeader title="Reconciliation">
        <span className="muted">{partner.name}</span>
      </PageHeader>
      <Section
        title={`Portal devices against ${psa} configuration items`}
        description={`Read live from ${psa}: one request per company (and per 500 CIs). Lists read in the last minute are reused; Refresh reads ${psa} again.`}
        actions={
          <button type="button" disabled={view.loading || busy} onClick={() => setRefresh((n) => n + 1)}>
            Refresh from {psa}
          </button>
        }
      >
        {msg ? (
          <Banner kind={msg.kind} title={msg.kind === "success" ? "Done" : "Not done"}>
            {msg.text}
            {msg.lines && msg.lines.length > 0 ? (
              <ul className="plain-list small">
                {msg.lines.map((l) => (
                  <li key={l}>{l}</li>
                ))}
              </ul>
            ) : null}
          </Banner>
        ) : null}
        {view.error ? <Banner kind="error">{view.error}</Banner> : null}
        {!data ? (
          view.error ? null : (
            <Loading what={`Reading ${psa}…`} />
          )
        ) : (
          <>
            <ul className="recon-counts" aria-label="Counts by kind">
              {KINDS.map((k) => (
                <li key={k}>
                  <a href={`#recon-${k}`}>
                    {heading(k, psa).title}{" "}
                    <Badge tone={data.counts[k] > 0 ? "warn" : "ok"}>{data.counts[k]}</Badge>
                  </a>
                </li>
              ))}
            </ul>
            <p className="muted small">
              Checked {formatDateTime(data.checkedAt, partner.timeZone)} · {data.companies.read}{" "}
              {data.companies.read === 1 ? "company" : "companies"} read · {data.apiCalls} {psa} request
              {data.apiCalls === 1 ? "" : "s"}
              {data.ignoredCount > 0 ? ` · ${data.ignoredCount} ignored` : ""}
            </p>
            {data.companies.skipped.length > 0 ? (
              <Banner kind="warning" title="Not every company was read">
                To bound the {psa} requests of one view, these companies were left out:{" "}
                {data.companies.skipped.map((c) => c.name).join(", ")}.
              </Banner>
            ) : null}
          </>
        )}
      </Section>
      {data
        ? KINDS.map((k) => {
            const items = data.items.filter((i) => i.kind === k);
            const h = heading(k, psa);
            return (
              <Section
                key={k}
                id={`recon-${k}`}
                title={`${h.title} (${items.length})`}
                description={h.description}
              >
                {items.length === 0 ? (
                  <p className="muted">Nothing found.</p>
                ) : (
                  <ItemRows items={items} kind={k} psa={psa} busy={busy} run={run} />
                )}
              </Section>
            );
          })
        : null}
      {data && data.ignoredCount > 0 ? (
        <Section
          title={`Ignored (${data.ignoredCount})`}
          description="Items someone chose to ignore. An ignored change in the PSA shows again when the CI changes again."
          actions={
            <button type="button" className="ghost" onClick={() => setShowIgnored((s) => !s)}>
              {showIgnored ? "Hide ignored" : "Show ignored"}
            </button>
          }
        >
          {showIgnored ? <ItemRows items={data.ignored} kind={null} psa={psa} busy={busy} run={run} /> : null}
        </Section>
      ) : null}
    </>
  );
}
