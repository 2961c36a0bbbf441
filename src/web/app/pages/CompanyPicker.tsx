import { useEffect, useId, useRef, useState } from "react";
import { get, messageOf } from "../api";
import type { PsaCompany, PsaCompanyList } from "../types";

/** How long typing pauses before the PSA is asked, ms (each search is one live PSA request). */
const DEBOUNCE_MS = 250;
const LIMIT = 20;

/**
 * Search-as-you-type over the partner's live PSA companies: names first, the id (and ConnectWise's
 * identifier) as secondary text. Picking one calls `onPick`; the caller saves it.
 */
export function CompanyPicker(p: {
  partnerId: number;
  /** The PSA's name ("Autotask"). */
  psaLabel: string;
  /** What the search box is for ("AT1"). */
  clientCode: string;
  disabled?: boolean;
  onPick(company: PsaCompany): void;
}) {
  const [query, setQuery] = useState("");
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<PsaCompany[]>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(false);
  const seq = useRef(0);
  const listId = useId();

  useEffect(() => {
    if (!open) return;
    const n = ++seq.current;
    setLoading(true);
    const t = setTimeout(() => {
      get<PsaCompanyList>(
        `/api/partners/${p.partnerId}/psa-companies?limit=${LIMIT}&query=${encodeURIComponent(query.trim())}`,
      )
        .then((r) => {
          if (n !== seq.current) return;
          setItems(r.items);
          setError(undefined);
        })
        .catch((e: unknown) => {
          if (n === seq.current) setError(messageOf(e));
        })
        .finally(() => {
          if (n === seq.current) setLoading(false);
        });
    }, DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [open, query, p.partnerId]);

  const pick = (c: PsaCompany) => {
    setOpen(false);
    setQuery("");
    p.onPick(c);
  };
  return (
    <div className="company-picker">
      <input
        type="search"
        aria-controls={listId}
        aria-label={`Search ${p.psaLabel} companies for ${p.clientCode}`}
        placeholder={`Search ${p.psaLabel} companies…`}
        value={query}
        disabled={p.disabled}
        onFocus={() => setOpen(true)}
        onChange={(e) => {
          setQuery(e.target.value);
          setOpen(true);
        }}
        onKeyDown={(e) => {
          if (e.key === "Escape") setOpen(false);
        }}
      />
      {open ? (
        <div className="company-options" id={listId}>
          {error ? (
            <p className="field-error" role="alert">
              {error}
            </p>
          ) : loading && !items ? (
            <p className="muted small">Searching {p.psaLabel}…</p>
          ) : items && items.length === 0 ? (
            <p className="muted small">
              No {p.psaLabel} company name contains “{query.trim()}”.
            </p>
          ) : (
            <ul className="plain-list" aria-label={`${p.psaLabel} companies`}>
              {(items ?? []).map((c) => (
                <li key={c.id}>
                  <button type="button" className="company-option" onClick={() => pick(c)}>
                    <span className="company-name">{c.name}</span>
                    <span className="muted small">
                      {" "}
                      id {c.id}
                      {c.identifier ? ` · ${c.identifier}` : ""}
                      {c.active ? "" : " · inactive"}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          <button type="button" className="link small" onClick={() => setOpen(false)}>
            Close
          </button>
        </div>
      ) : null}
    </div>
  );
}
