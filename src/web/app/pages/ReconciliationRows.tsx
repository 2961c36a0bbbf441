import { type ReactNode, useState } from "react";
import type { ReconciliationActionInput, ReconciliationItem } from "../types";

/** Runs an action (the page shows its result and reloads). */
export type Ask = (input: ReconciliationActionInput) => Promise<void>;

type Item = ReconciliationItem & { ignoredBy?: string; ignoredAt?: string };
type Device = NonNullable<Item["device"]>;
type Ci = NonNullable<Item["ci"]>;

const KIND_NAMES: Record<Item["kind"], string> = {
  "orphan-ci": "CI no device claims",
  "wrong-company": "CI in another company",
  "duplicate-serial": "Duplicate serial number",
  "changed-in-psa": "CI changed in the PSA",
};

function DeviceCell({ d }: { d: Device }) {
  return (
    <>
      <strong>{d.hostname}</strong>
      <div className="muted small">
        {d.clientName}
        {d.serialNumber ? ` · serial ${d.serialNumber}` : ""} · device id {d.id}
      </div>
    </>
  );
}

function CiCell({ c }: { c: Ci }) {
  return (
    <>
      <strong>{c.name || "(no name)"}</strong>
      {c.active ? null : <span className="muted"> (inactive)</span>}
      <div className="muted small">
        {c.companyName}
        {c.serialNumber ? ` · serial ${c.serialNumber}` : ""} · CI id {c.id}
      </div>
    </>
  );
}

const show = (v: unknown) => (v === null || v === undefined || v === "" ? "(empty)" : String(v));

/** A table of items of one kind (or of ignored items of any kind: `kind` null), each row with actions. */
export function ItemRows({
  items,
  kind,
  psa,
  busy,
  run,
}: {
  items: Item[];
  kind: Item["kind"] | null;
  psa: string;
  busy: boolean;
  run: Ask;
}) {
  const cols: string[] =
    kind === "orphan-ci"
      ? [`${psa} CI`, "Link to device"]
      : kind === "wrong-company"
        ? ["Device", `${psa} CI`, "Client's company"]
        : kind === "duplicate-serial"
          ? ["Serial number", "On"]
          : kind === "changed-in-psa"
            ? ["Device", `${psa} CI`, "What changed (last written → now)"]
            : ["Kind", "Item", "Ignored by"];
  return (
    <div className="table-wrap">
      <table className="recon">
        <thead>
          <tr>
            {cols.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <Row key={i.key} item={i} cols={cols} kind={kind} psa={psa} busy={busy} run={run} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Row({
  item,
  cols,
  kind,
  psa,
  busy,
  run,
}: {
  item: Item;
  cols: string[];
  kind: Item["kind"] | null;
  psa: string;
  busy: boolean;
  run: Ask;
}) {
  const [pending, setPending] = useState<{ input: ReconciliationActionInput; text: string } | null>(null);
  const [deviceId, setDeviceId] = useState<number | null>(item.candidates?.[0]?.id ?? null);
  const ask = (input: ReconciliationActionInput, text: string) => setPending({ input, text });
  const target = item.ci?.name ?? item.device?.hostname ?? item.serialNumber ?? item.kind;
  const ignore = (
    <button
      type="button"
      className="ghost"
      disabled={busy}
      aria-label={`Ignore ${target}`}
      onClick={() => ask({ action: "ignore", key: item.key }, `Ignore this item? ${item.summary}.`)}
    >
      Ignore
    </button>
  );
  let cells: ReactNode[] = [];
  let buttons: ReactNode = null;
  if (kind === null) {
    cells = [KIND_NAMES[item.kind], item.summary, item.ignoredBy ?? ""];
    buttons = (
      <button
        type="button"
        disabled={busy}
        aria-label={`Un-ignore ${target}`}
        onClick={() => ask({ action: "unignore", key: item.key }, "Show this item again?")}
      >
        Un-ignore
      </button>
    );
  } else if (item.kind === "orphan-ci" && item.ci) {
    const ci = item.ci;
    const candidates = item.candidates ?? [];
    const chosen = candidates.find((d) => d.id === deviceId);
    cells = [
      <CiCell key="ci" c={ci} />,
      candidates.length === 0 ? (
        <span key="d" className="muted">
          No unlinked device in this company
        </span>
      ) : (
        <select
          key="d"
          aria-label={`Device for ${ci.name}`}
          value={deviceId ?? ""}
          onChange={(e) => setDeviceId(Number(e.target.value))}
        >
          {candidates.map((d) => (
            <option key={d.id} value={d.id}>
              {d.hostname} — {d.clientName}
              {d.serialNumber ? ` (serial ${d.serialNumber})` : ""}
            </option>
          ))}
        </select>
      ),
    ];
    buttons = (
      <>
        <button
          type="button"
          disabled={busy || !chosen}
          aria-label={`Link ${ci.name}`}
          onClick={() =>
            chosen &&
            ask(
              { action: "link", ciId: ci.id, deviceId: chosen.id },
              `Link CI ${ci.name} to ${chosen.hostname}? Its next sync updates this CI.`,
            )
          }
        >
          Link
        </button>
        <button
          type="button"
          disabled={busy}
          aria-label={`Deactivate ${ci.name}`}
          onClick={() =>
            ask({ action: "deactivate", ciId: ci.id }, `Deactivate CI ${ci.name}? It is not deleted.`)
          }
        >
          Deactivate
        </button>
        {ignore}
      </>
    );
  } else if (item.kind === "wrong-company" && item.device && item.ci) {
    const d = item.device;
    cells = [<DeviceCell key="d" d={d} />, <CiCell key="c" c={item.ci} />, item.expectedCompany?.name ?? ""];
    buttons = (
      <>
        <button
          type="button"
          disabled={busy}
          aria-label={`Move ${d.hostname}`}
          onClick={() =>
            ask(
              { action: "move", deviceId: d.id },
              `Give ${d.hostname} a CI in ${item.expectedCompany?.name} and deactivate CI ${item.ci?.name} in ${item.ci?.companyName}?`,
            )
          }
        >
          Move
        </button>
        {ignore}
      </>
    );
  } else if (item.kind === "duplicate-serial") {
    cells = [
      item.serialNumber ?? "",
      <ul key="on" className="plain-list">
        {(item.devices ?? []).map((d) => (
          <li key={`d${d.id}`}>
            <DeviceCell d={d} />
          </li>
        ))}
        {(item.cis ?? []).map((c) => (
          <li key={`c${c.id}`}>
            <CiCell c={c} />
            <div className="small">
              {c.linkedDeviceId !== null ? (
                <span className="muted">the CI of {c.linkedHostname ?? `device id ${c.linkedDeviceId}`}</span>
              ) : (
                <button
                  type="button"
                  disabled={busy}
                  aria-label={`Deactivate ${c.name}`}
                  onClick={() =>
                    ask(
                      { action: "deactivate", ciId: c.id },
                      `Deactivate CI ${c.name} (${c.companyName})? It is not deleted.`,
                    )
                  }
                >
                  Deactivate
                </button>
              )}
            </div>
          </li>
        ))}
      </ul>,
    ];
    buttons = ignore;
  } else if (item.kind === "changed-in-psa" && item.device) {
    const d = item.device;
    cells = [
      <DeviceCell key="d" d={d} />,
      item.ci ? <CiCell key="c" c={item.ci} /> : <span key="c">Deleted in {psa}</span>,
      item.gone ? (
        "the CI no longer exists"
      ) : (
        <ul key="ch" className="plain-list small">
          {(item.changes ?? []).map((c) => (
            <li key={c.field}>
              {c.field}: {show(c.written)} → {show(c.now)}
            </li>
          ))}
        </ul>
      ),
    ];
    buttons = (
      <>
        <button
          type="button"
          disabled={busy}
          aria-label={`Re-sync ${d.hostname}`}
          onClick={() =>
            ask(
              { action: "resync", deviceId: d.id },
              `Write the portal's values for ${d.hostname} to its CI now (the edits there are overwritten)?`,
            )
          }
        >
          Re-sync
        </button>
        {ignore}
      </>
    );
  }
  return (
    <tr>
      {cells.map((c, n) => (
        <td key={cols[n]} data-label={cols[n]}>
          {c}
        </td>
      ))}
      <td data-label="Actions" className="recon-actions">
        {pending ? (
          <fieldset className="recon-confirm">
            <legend className="sr-only">Confirm</legend>
            <span>{pending.text}</span>
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                const p = pending;
                setPending(null);
                void run(p.input);
              }}
            >
              Confirm
            </button>
            <button type="button" className="ghost" onClick={() => setPending(null)}>
              Cancel
            </button>
          </fieldset>
        ) : (
          buttons
        )}
      </td>
    </tr>
  );
}
