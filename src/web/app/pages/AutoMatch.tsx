import { useState } from "react";
import { api, messageOf } from "../api";
import { Banner } from "../components";
import type { AutoMatchResult, Client } from "../types";

const KIND_TEXT = { exact: "same name", normalised: "same name apart from case, punctuation or legal form" };

/**
 * "Auto-match by name": the server proposes a PSA company for every client without one; the person
 * checks the ones to keep and saves them through the normal client PATCH (each still checked in the
 * PSA). Clients left unmatched are listed with why.
 */
export function AutoMatch(p: { partnerId: number; psaLabel: string; onSaved(): void }) {
  const [result, setResult] = useState<AutoMatchResult>();
  const [checked, setChecked] = useState<Set<number>>(new Set());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState<string>();

  const propose = async () => {
    setBusy(true);
    setError(undefined);
    setSaved(undefined);
    try {
      const r = await api<AutoMatchResult>("POST", `/api/partners/${p.partnerId}/clients/auto-match`);
      setResult(r);
      setChecked(new Set(r.proposals.map((x) => x.clientId)));
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const save = async () => {
    if (!result) return;
    setBusy(true);
    setError(undefined);
    const failures: string[] = [];
    let n = 0;
    for (const x of result.proposals.filter((q) => checked.has(q.clientId))) {
      try {
        await api<Client>("PATCH", `/api/clients/${x.clientId}`, { psaCompanyId: x.companyId });
        n++;
      } catch (e) {
        failures.push(`${x.clientCode}: ${messageOf(e)}`);
      }
    }
    setBusy(false);
    setResult(undefined);
    setSaved(`Saved ${n} ${n === 1 ? "company" : "companies"}.`);
    if (failures.length > 0) setError(failures.join(" "));
    p.onSaved();
  };

  const toggle = (clientId: number, on: boolean) =>
    setChecked((s) => {
      const next = new Set(s);
      if (on) next.add(clientId);
      else next.delete(clientId);
      return next;
    });

  return (
    <div className="auto-match">
      <div className="inline-form">
        <button type="button" onClick={() => void propose()} disabled={busy}>
          Auto-match by name
        </button>
        <span className="muted small">
          Proposes a {p.psaLabel} company for each client without one; nothing is saved until you confirm.
        </span>
        {saved ? <span className="ok-text">{saved}</span> : null}
      </div>
      {error ? <Banner kind="error">{error}</Banner> : null}
      {result ? (
        <div className="auto-match-result" aria-live="polite">
          {result.proposals.length === 0 ? (
            <p className="muted">No client without a company has a {p.psaLabel} company of the same name.</p>
          ) : (
            <fieldset>
              <legend>Proposals — check the ones to save</legend>
              <ul className="plain-list">
                {result.proposals.map((x) => (
                  <li key={x.clientId}>
                    <label className="inline-check">
                      <input
                        type="checkbox"
                        checked={checked.has(x.clientId)}
                        onChange={(e) => toggle(x.clientId, e.target.checked)}
                        aria-label={`Map ${x.clientCode} to ${x.companyName}`}
                      />{" "}
                      <strong>{x.clientCode}</strong> {x.clientName} → <strong>{x.companyName}</strong>{" "}
                      <span className="muted small">
                        id {x.companyId} · {KIND_TEXT[x.kind]}
                      </span>
                    </label>
                  </li>
                ))}
              </ul>
            </fieldset>
          )}
          {result.unmatched.length > 0 ? (
            <>
              <p className="muted small">Not matched (pick these below):</p>
              <ul className="plain-list small">
                {result.unmatched.map((u) => (
                  <li key={u.clientId}>
                    <strong>{u.clientCode}</strong> {u.clientName}:{" "}
                    {u.reason === "ambiguous"
                      ? `several companies fit (${u.candidates.map((c) => c.name).join(", ")})`
                      : `no ${p.psaLabel} company of that name`}
                  </li>
                ))}
              </ul>
            </>
          ) : null}
          <div className="inline-form">
            {result.proposals.length > 0 ? (
              <button type="button" onClick={() => void save()} disabled={busy || checked.size === 0}>
                Save the checked ({checked.size})
              </button>
            ) : null}
            <button type="button" className="link" onClick={() => setResult(undefined)}>
              Dismiss
            </button>
          </div>
        </div>
      ) : null}
    </div>
  );
}
