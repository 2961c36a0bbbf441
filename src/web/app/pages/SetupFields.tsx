import { useState } from "react";
import { usePartner } from "../App";
import { get, messageOf } from "../api";
import { Field } from "../components";
import type { PsaOptions } from "../types";

/** Fields of the Setup form that are more than an input: the pick-list note and the API secret. */

export function PickListNote(p: {
  label: string;
  writable: boolean;
  hasCredentials: boolean;
  options: PsaOptions | undefined;
  error: string | undefined;
  loading: boolean;
  onReload(): void;
}) {
  if (!p.writable) return null;
  let text: string;
  if (!p.hasCredentials)
    text = `Save the API user's credentials: once they are valid, the pick-lists below are offered from your ${p.label}.`;
  else if (p.loading) text = `Reading the pick-lists from ${p.label}…`;
  else if (p.error) text = `The pick-lists could not be read from ${p.label}: ${p.error}`;
  else if (p.options) text = `The pick-lists are read from ${p.label}.`;
  else return null;
  return (
    <div className={`picklist-note${p.error ? " warn" : ""}`} aria-live="polite">
      <span>{text}</span>
      {p.hasCredentials && !p.loading ? (
        <button type="button" className="link" onClick={p.onReload}>
          Reload from {p.label}
        </button>
      ) : null}
    </div>
  );
}

/** The API secret: masked; "Click to view password" for partner and NOC admins (every view is audited). */
export function SecretField(p: {
  label: string;
  value: string;
  onChange(v: string): void;
  clear: boolean;
  onClear(v: boolean): void;
  hasSecret: boolean;
  disabled: boolean;
  mayView: boolean;
  error: string | undefined;
}) {
  const { partner } = usePartner();
  const [shown, setShown] = useState<string | null>(null);
  const [viewErr, setViewErr] = useState<string>();
  const view = async () => {
    setViewErr(undefined);
    try {
      const r = await get<{ secret: string | null }>(`/api/partners/${partner.id}/integration/secret`);
      setShown(r.secret ?? "");
    } catch (e) {
      setViewErr(messageOf(e));
    }
  };
  return (
    <Field
      label={p.label}
      required
      error={p.error}
      hint={
        <>
          {p.hasSecret
            ? p.clear
              ? "The stored password will be removed when you save."
              : "A password is stored. Leave this empty to keep it."
            : "No password stored yet."}
          {p.hasSecret && p.mayView ? (
            <span className="secret-view">
              {shown === null ? (
                <button type="button" className="link" onClick={() => void view()}>
                  Click to view password
                </button>
              ) : (
                <>
                  <code className="secret">{shown}</code>
                  <button type="button" className="link" onClick={() => setShown(null)}>
                    Hide
                  </button>
                </>
              )}
              <span className="muted small"> (each view is recorded in the audit log)</span>
            </span>
          ) : null}
          {viewErr ? <span className="field-error">{viewErr}</span> : null}
          {p.hasSecret && !p.disabled ? (
            <label className="inline-check">
              <input type="checkbox" checked={p.clear} onChange={(e) => p.onClear(e.target.checked)} /> Remove
              the stored password
            </label>
          ) : null}
        </>
      }
    >
      {(a) => (
        <input
          {...a}
          type="password"
          autoComplete="new-password"
          placeholder={p.hasSecret ? "•••••••• (stored)" : ""}
          value={p.value}
          disabled={p.disabled || p.clear}
          onChange={(e) => p.onChange(e.target.value)}
        />
      )}
    </Field>
  );
}
