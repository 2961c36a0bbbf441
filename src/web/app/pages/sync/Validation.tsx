import { usePartner } from "../../App";
import { Banner, Section } from "../../components";
import type { Psa } from "../../psa";
import { Link } from "../../router";
import type { Integration, PsaField, PsaOptions, Validation } from "../../types";

/** The saved settings at a glance and the Validate checklist of the Sync page. */

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
export function Summary({
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
export function Checklist({ validation, label }: { validation: Validation; label: string }) {
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
