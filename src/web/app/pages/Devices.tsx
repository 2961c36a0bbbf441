import { usePartner } from "../App";
import { get, qs } from "../api";
import { Badge, Banner, Field, Loading, PageHeader, Pager, Section, type Tone } from "../components";
import { ago } from "../format";
import { useResource, useTitle } from "../hooks";
import { usePsa } from "../psa";
import { navigate, useLocation } from "../router";
import type { Client, Device, DeviceState, Page } from "../types";

const LIMIT = 50;
const STATES: DeviceState[] = ["managed", "discovered", "unmanaged"];

/**
 * What the asset sync does with a device in this state, and whether it has happened (a linked asset:
 * `asset` is the PSA's word for it, an Autotask "CI", a ConnectWise "configuration").
 */
function syncStateOf(d: Device, asset: string): { tone: Tone; text: string } {
  if (d.psaCiId !== null)
    return d.state === "managed"
      ? { tone: "ok", text: `Synced (active ${asset})` }
      : { tone: "ok", text: `Synced (inactive ${asset})` };
  if (d.state === "unmanaged") return { tone: "neutral", text: `No ${asset} (unmanaged)` };
  return { tone: "warn", text: "Not synced yet" };
}

/** Devices of one client, by state, with their PSA asset (Autotask CI, ConnectWise configuration) and sync state. */
export function Devices() {
  const { partner } = usePartner();
  useTitle(`Devices — ${partner.name}`);
  const { search } = useLocation();
  const clients = useResource(
    () => get<Page<Client>>(`/api/partners/${partner.id}/clients?limit=500`),
    [partner.id],
  );
  const list = clients.data?.items ?? [];
  const clientId = search.get("clientId") ?? (list[0] ? String(list[0].id) : "");
  const state = search.get("state") ?? "";
  const q = search.get("search") ?? "";
  const offset = Number(search.get("offset") ?? 0) || 0;
  const go = (p: Record<string, string | number>) => {
    const next = { clientId, state, search: q, offset: 0, ...p };
    navigate(`/p/${partner.id}/devices${qs({ ...next, offset: next.offset || undefined })}`, {
      replace: true,
    });
  };
  const devices = useResource(
    () =>
      clientId
        ? get<Page<Device>>(
            `/api/clients/${clientId}/devices${qs({ state, search: q, limit: LIMIT, offset: offset || undefined })}`,
          )
        : Promise.resolve(null),
    [clientId, state, q, offset],
  );
  const { psa } = usePsa();
  const label = psa?.label ?? "PSA";
  const asset = psa?.asset ?? "asset";
  const Asset = `${asset.charAt(0).toUpperCase()}${asset.slice(1)}`;
  const client = list.find((c) => String(c.id) === clientId);

  return (
    <>
      <PageHeader title="Devices">
        <span className="muted">{partner.name}</span>
      </PageHeader>
      {clients.error ? <Banner kind="error">{clients.error}</Banner> : null}
      <Section title="Filter">
        <form className="filters" onSubmit={(e) => e.preventDefault()}>
          <Field label="Client">
            {(a) => (
              <select {...a} value={clientId} onChange={(e) => go({ clientId: e.target.value })}>
                {list.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.code} — {c.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="State">
            {(a) => (
              <select {...a} value={state} onChange={(e) => go({ state: e.target.value })}>
                <option value="">Any state</option>
                {STATES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Search">
            {(a) => (
              <input
                {...a}
                type="search"
                placeholder="hostname, serial…"
                defaultValue={q}
                onKeyDown={(e) => {
                  if (e.key === "Enter") go({ search: e.currentTarget.value });
                }}
                onBlur={(e) => {
                  if (e.currentTarget.value !== q) go({ search: e.currentTarget.value });
                }}
              />
            )}
          </Field>
        </form>
        {client ? (
          <p className="muted small">
            {label} company: {client.psaCompanyId ?? "not mapped — set it in Setup › Clients"}
          </p>
        ) : null}
      </Section>
      {devices.error ? <Banner kind="error">{devices.error}</Banner> : null}
      {!clients.data ? (
        <Loading />
      ) : list.length === 0 ? (
        <p className="muted">This partner has no clients yet.</p>
      ) : !devices.data ? (
        <Loading />
      ) : devices.data.items.length === 0 ? (
        <p className="muted">No device matches.</p>
      ) : (
        <div className="table-wrap card">
          <table>
            <thead>
              <tr>
                <th scope="col">Hostname</th>
                <th scope="col">State</th>
                <th scope="col">Type</th>
                <th scope="col">IP address</th>
                <th scope="col">Serial number</th>
                <th scope="col">
                  {label} {asset}
                </th>
                <th scope="col">Sync</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {devices.data.items.map((d) => {
                const s = syncStateOf(d, asset);
                const href = d.psaCiId !== null ? (psa?.assetUrl(d.psaCiId) ?? null) : null;
                return (
                  <tr key={d.id}>
                    <td data-label="Hostname">{d.hostname}</td>
                    <td data-label="State">{d.state}</td>
                    <td data-label="Type">{d.deviceType || "—"}</td>
                    <td data-label="IP address">{d.ipAddress || "—"}</td>
                    <td data-label="Serial number">{d.serialNumber || "—"}</td>
                    <td data-label={`${label} ${asset}`}>
                      {d.psaCiId === null ? (
                        "—"
                      ) : href ? (
                        <a href={href} target="_blank" rel="noreferrer">
                          {Asset} {d.psaCiId}
                        </a>
                      ) : (
                        `${Asset} ${d.psaCiId}`
                      )}
                    </td>
                    <td data-label="Sync">
                      <Badge tone={s.tone}>{s.text}</Badge>
                    </td>
                    <td data-label="Updated">{ago(d.updatedAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <Pager
            total={devices.data.total}
            limit={LIMIT}
            offset={offset}
            onOffset={(o) => go({ offset: o })}
          />
        </div>
      )}
    </>
  );
}
