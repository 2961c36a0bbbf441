import { useState } from "react";
import { usePartner } from "../App";
import { api, get, messageOf } from "../api";
import { Badge, Banner, Check, Loading, PageHeader, Section } from "../components";
import { formatDateTime } from "../format";
import { useInterval, useResource, useTitle } from "../hooks";
import { usePsa } from "../psa";
import { Link } from "../router";
import { can, useMe } from "../session";
import type { SyncError } from "../types";
import { mappingSectionOf } from "./mapping-spec";

/** Tickets whose sync keeps failing (parked) or waits for a retry, with a retry button. */
export function SyncErrors() {
  const { partner } = usePartner();
  const { me } = useMe();
  const label = usePsa().psa?.label ?? "PSA";
  useTitle(`Sync errors — ${partner.name}`);
  const [all, setAll] = useState(false);
  const errors = useResource(
    () => get<{ items: SyncError[] }>(`/api/partners/${partner.id}/sync/errors${all ? "?all=true" : ""}`),
    [partner.id, all],
  );
  useInterval(() => void errors.reload(true), 10_000);
  const [msg, setMsg] = useState<{ kind: "success" | "error"; text: string }>();
  const [busy, setBusy] = useState<number | null>(null);
  const writable = can(me, "data:write");

  const retry = async (e: SyncError) => {
    setBusy(e.id);
    setMsg(undefined);
    try {
      await api("POST", `/api/sync/errors/${e.id}/retry`);
      setMsg({ kind: "success", text: `Retried ticket ${e.ticketId ?? e.psaTicketId ?? e.id}.` });
      await errors.reload(true);
    } catch (x) {
      setMsg({ kind: "error", text: messageOf(x) });
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <PageHeader title="Sync errors">
        <span className="muted">{partner.name}</span>
      </PageHeader>
      <Section
        title="Tickets that did not sync"
        description="A ticket that keeps failing is retried with backoff, then parked with its error; mapping and data errors park at once. Fix the cause (often a mapping row or a client's company), then retry."
        actions={<Check label="Include resolved" checked={all} onChange={setAll} />}
      >
        {msg ? <Banner kind={msg.kind}>{msg.text}</Banner> : null}
        {errors.error ? <Banner kind="error">{errors.error}</Banner> : null}
        {!errors.data ? (
          <Loading />
        ) : errors.data.items.length === 0 ? (
          <p className="muted">No sync errors. Every ticket is in step.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Ticket</th>
                  <th scope="col">{label} ticket</th>
                  <th scope="col">Error</th>
                  <th scope="col" className="num">
                    Attempts
                  </th>
                  <th scope="col">State</th>
                  <th scope="col">Last attempt</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {errors.data.items.map((e) => (
                  <tr key={e.id}>
                    <td data-label="Ticket">
                      {e.ticketId !== null ? (
                        <Link to={`/p/${partner.id}/tickets/${e.ticketId}`}>#{e.ticketId}</Link>
                      ) : (
                        "—"
                      )}
                    </td>
                    <td data-label={`${label} ticket`}>{e.psaTicketId ?? "—"}</td>
                    <td data-label="Error">
                      <div className="error-text">{e.error}</div>
                      <div className="muted small">
                        {e.code}
                        {e.code === "MAPPING" ? (
                          <>
                            {" · "}
                            <Link to={mappingsLink(partner.id, e.error)}>open the mapping table</Link>
                          </>
                        ) : null}
                      </div>
                    </td>
                    <td className="num" data-label="Attempts">
                      {e.attempts}
                    </td>
                    <td data-label="State">
                      {e.resolvedAt ? (
                        <Badge tone="ok">Resolved</Badge>
                      ) : e.parked ? (
                        <Badge tone="bad">Parked</Badge>
                      ) : (
                        <Badge tone="warn">
                          Retry {e.nextAttemptAt ? formatDateTime(e.nextAttemptAt, partner.timeZone) : "soon"}
                        </Badge>
                      )}
                    </td>
                    <td data-label="Last attempt">{formatDateTime(e.lastAt, partner.timeZone)}</td>
                    <td>
                      {writable && !e.resolvedAt ? (
                        <button type="button" disabled={busy === e.id} onClick={() => void retry(e)}>
                          Retry
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}

/** The Mappings page at the table a mapping error is about (`#status-reverse`). */
function mappingsLink(partnerId: number, error: string): string {
  const section = mappingSectionOf(error);
  return `/p/${partnerId}/mappings${section ? `#${section}` : ""}`;
}
