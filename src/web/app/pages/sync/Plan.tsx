import type { Psa } from "../../psa";
import type { AssetPlan, PlanItem, SyncRunDetail } from "../../types";
import { grouped } from "./progress";

/** A dry run's plan and a run held by the mass-change guard: what a sync would do, client by client. */

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

/**
 * A client and its PSA company by name, the ids as secondary text ("Client AT1 · Acme Dental Group →
 * Autotask company Acme Dental (id 174)"); a company whose name is not known yet reads "company 174".
 */
function ClientTitle({ c, label }: { c: AssetPlan["clients"][number]; label: string }) {
  return (
    <>
      Client {c.code}
      {c.name ? ` · ${c.name}` : ""} →{" "}
      {c.companyName ? (
        <>
          {label} company {c.companyName} <span className="muted small">(id {c.companyId})</span>
        </>
      ) : (
        `${label} company ${c.companyId}`
      )}
    </>
  );
}

/**
 * The plan's rows; `asset`: how the PSA calls the record of a device ("CI", "configuration"); `label`:
 * the PSA's name ("Autotask").
 */
export function PlanTable({ plan, asset, label }: { plan: AssetPlan; asset: string; label: string }) {
  const Asset = `${asset.charAt(0).toUpperCase()}${asset.slice(1)}`;
  const groups = [
    ...plan.clients.map((c) => ({
      key: `c${c.clientId}`,
      title: <ClientTitle c={c} label={label} />,
      items: c.items,
    })),
    ...(plan.orphans.length > 0
      ? [{ key: "orphans", title: <>{Asset}s whose portal device is gone</>, items: plan.orphans }]
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
                  {grouped(counts[a] ?? 0)} {a}
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

export function PlanView({
  run,
  asset,
  label,
  onClose,
}: {
  run: SyncRunDetail;
  asset: string;
  label: string;
  onClose(): void;
}) {
  return (
    <section className="subcard" aria-label="Dry run plan">
      <div className="card-head">
        <h3>Dry run #{run.id}: what a sync would do (nothing was written)</h3>
        <button type="button" className="ghost" onClick={onClose}>
          Close
        </button>
      </div>
      {run.plan ? (
        <PlanTable plan={run.plan} asset={asset} label={label} />
      ) : (
        <p className="muted">No plan.</p>
      )}
    </section>
  );
}

export function HeldRun({
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
          <PlanTable plan={run.plan} asset={psa?.asset ?? "asset"} label={psa?.label ?? "PSA"} />
        </details>
      ) : null}
    </div>
  );
}
