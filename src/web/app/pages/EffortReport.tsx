import { useState } from "react";
import { usePartner } from "../App";
import { get, messageOf, qs, tokenStore } from "../api";
import { Banner, Field, Loading, Section } from "../components";
import { useResource } from "../hooks";
import type { EffortReport } from "../types";
import { formatMinutes } from "./TimeEntries";

/** Effort per client and month, and its CSV download (the token goes in a header, so not a plain link). */
export function EffortReportSection() {
  const { partner } = usePartner();
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const query = qs({ from, to });
  const report = useResource(
    () => get<EffortReport>(`/api/partners/${partner.id}/reports/effort${query}`),
    [partner.id, query],
  );
  const [err, setErr] = useState<string>();
  const download = async () => {
    setErr(undefined);
    try {
      const token = tokenStore.get();
      const res = await fetch(
        `/api/partners/${partner.id}/reports/effort${qs({ from, to, format: "csv" })}`,
        {
          headers: { accept: "text/csv", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        },
      );
      if (!res.ok)
        throw new Error(
          ((await res.json().catch(() => ({}))) as { message?: string }).message ?? res.statusText,
        );
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download =
        /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "effort.csv";
      a.click();
      URL.revokeObjectURL(url);
    } catch (x) {
      setErr(messageOf(x));
    }
  };
  const r = report.data;
  return (
    <Section
      title="Effort report"
      description="Time the NOC logged, per client and month (UTC), from the entries on the partner's tickets."
      actions={
        <button type="button" onClick={() => void download()}>
          Download CSV
        </button>
      }
    >
      <div className="inline-edit">
        <Field label="From (day)">
          {(a) => <input {...a} type="date" value={from} onChange={(e) => setFrom(e.target.value)} />}
        </Field>
        <Field label="To (day after the last)">
          {(a) => <input {...a} type="date" value={to} onChange={(e) => setTo(e.target.value)} />}
        </Field>
      </div>
      {err ? <Banner kind="error">{err}</Banner> : null}
      {report.error ? <Banner kind="error">{report.error}</Banner> : null}
      {!r ? (
        <Loading />
      ) : r.lines.length === 0 ? (
        <p className="muted">No time logged in this period.</p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Effort per client and month">
            <thead>
              <tr>
                <th>Client</th>
                <th>Month</th>
                <th>Entries</th>
                <th>Time</th>
                <th>Billable</th>
              </tr>
            </thead>
            <tbody>
              {r.lines.map((l) => (
                <tr key={`${l.clientId}-${l.month}`}>
                  <td>
                    {l.clientCode} — {l.clientName}
                  </td>
                  <td>{l.month}</td>
                  <td>{l.entries}</td>
                  <td>{formatMinutes(l.minutes)}</td>
                  <td>{formatMinutes(l.billableMinutes)}</td>
                </tr>
              ))}
              <tr>
                <th colSpan={2}>Total</th>
                <th>{r.total.entries}</th>
                <th>{formatMinutes(r.total.minutes)}</th>
                <th>{formatMinutes(r.total.billableMinutes)}</th>
              </tr>
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}
