import type { ReactNode } from "react";
import { usePartner } from "../App";
import { get } from "../api";
import { Badge, Banner, Loading, PageHeader, Section, SYNC_STATE_TEXT, syncTone } from "../components";
import { ago, formatDateTime } from "../format";
import { useResource, useTitle } from "../hooks";
import { type Psa, usePsa } from "../psa";
import { Link } from "../router";
import type { DeviceCi, DeviceListItem, DeviceOverview } from "../types";
import { CompanyName, syncStateOf, Warranty } from "./device-parts";

/** The device attributes the page lists, in the order the portal's discovery feed has them. */
const ATTRIBUTES: Array<[keyof DeviceListItem, string]> = [
  ["deviceType", "Type"],
  ["ipAddress", "IP address"],
  ["gateway", "Gateway"],
  ["make", "Make"],
  ["model", "Model"],
  ["operatingSystem", "Operating system"],
  ["ram", "RAM"],
  ["biosName", "BIOS name"],
  ["biosVersion", "BIOS version"],
  ["driveInfo", "Drive info"],
  ["lastLoggedUser", "Last logged user"],
  ["serialNumber", "Serial number"],
];

/** One device: its attributes, the alerts that name it, its tickets and its PSA asset (read live). */
export function DeviceDetailPage({ deviceId }: { deviceId: number }) {
  const { partner } = usePartner();
  const res = useResource(() => get<DeviceOverview>(`/api/devices/${deviceId}/overview`), [deviceId]);
  const o = res.data;
  useTitle(o ? `${o.device.hostname} — Devices` : "Device");
  const { psa, integration } = usePsa();

  if (res.error && !o)
    return (
      <Banner kind="error" title="This device cannot be shown">
        {res.error}
      </Banner>
    );
  if (!o) return <Loading />;
  const d = o.device;
  const asset = psa?.asset ?? "asset";
  const s = syncStateOf(d, asset);
  const advanced = integration?.devices.advanced === true;
  const tz = partner.timeZone;

  return (
    <>
      <p className="crumbs">
        <Link to={`/p/${partner.id}/devices`}>← Devices</Link>
      </p>
      <PageHeader title={d.hostname}>
        <Badge tone={s.tone}>{s.text}</Badge>
      </PageHeader>
      <div className="two-col">
        <div>
          <Section
            title="Device"
            description={
              advanced
                ? `Advanced mode: the asset sync also writes these attributes to the ${asset}'s ${psa?.customFields ?? "custom fields"}.`
                : undefined
            }
          >
            <dl className="facts facts-rows" data-testid="device-attributes">
              <Fact label="Client">
                <Link to={`/p/${partner.id}/devices?clientId=${d.clientId}`}>
                  {d.client.code} — {d.client.name}
                </Link>
              </Fact>
              <Fact label={`${psa?.label ?? "PSA"} company`}>
                <CompanyName id={d.client.psaCompanyId} name={d.client.psaCompanyName} />
              </Fact>
              <Fact label="State">{d.state}</Fact>
              {ATTRIBUTES.map(([key, label]) => (
                <Fact key={key} label={label}>
                  {String(d[key] ?? "") || <span className="muted">—</span>}
                </Fact>
              ))}
              <Fact label="Warranty end">
                <Warranty date={d.warrantyEndDate} />
              </Fact>
              <Fact label="Added">{formatDateTime(d.createdAt, tz)}</Fact>
              <Fact label="Updated">{formatDateTime(d.updatedAt, tz)}</Fact>
            </dl>
          </Section>
        </div>
        <div>
          <CiSection device={d} ci={o.ci} psa={psa} />
          <Section title={`Alerts (${o.alertsTotal})`}>
            {o.alerts.length === 0 ? (
              <p className="muted">No alert names this device.</p>
            ) : (
              <ul className="plain-list" data-testid="device-alerts">
                {o.alerts.map((a) => (
                  <li key={a.id}>
                    <strong>{a.message}</strong>{" "}
                    <span className="muted small">{formatDateTime(a.createdAt, tz)}</span>
                    <div className="small">
                      <Link to={`/p/${partner.id}/tickets/${a.ticketId}`}>
                        #{a.ticketId} {a.ticketTitle}
                      </Link>
                    </div>
                  </li>
                ))}
              </ul>
            )}
            {o.alertsTotal > o.alerts.length ? (
              <p className="muted small">The newest {o.alerts.length} are shown.</p>
            ) : null}
          </Section>
        </div>
      </div>
      <Section title={`Tickets (${o.ticketsTotal})`}>
        {o.tickets.length === 0 ? (
          <p className="muted">No ticket involves this device.</p>
        ) : (
          <div className="table-wrap">
            <table data-testid="device-tickets">
              <thead>
                <tr>
                  <th scope="col">Ticket</th>
                  <th scope="col">Status</th>
                  <th scope="col">Priority</th>
                  <th scope="col">{psa?.label ?? "PSA"} ticket</th>
                  <th scope="col">How</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {o.tickets.map((t) => (
                  <tr key={t.id}>
                    <td data-label="Ticket">
                      <Link to={`/p/${partner.id}/tickets/${t.id}`}>
                        <span className="muted">#{t.id}</span> {t.title}
                      </Link>
                    </td>
                    <td data-label="Status">{t.status}</td>
                    <td data-label="Priority">{t.priority}</td>
                    <td data-label={`${psa?.label ?? "PSA"} ticket`}>
                      <PsaTicketRef psa={psa} ticket={t.psa} />
                    </td>
                    <td data-label="How">{t.primary ? "the ticket's device" : "named by an alert"}</td>
                    <td data-label="Updated">{ago(t.updatedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {o.ticketsTotal > o.tickets.length ? (
          <p className="muted small">The newest {o.tickets.length} are shown.</p>
        ) : null}
      </Section>
    </>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** A ticket's PSA number (linked to the PSA's page where it has one), or its sync state. */
function PsaTicketRef({
  psa,
  ticket,
}: {
  psa: Psa | undefined;
  ticket: DeviceOverview["tickets"][number]["psa"];
}) {
  if (!ticket) return <span className="muted">—</span>;
  const ref = psa ? psa.ticketRef(ticket) : ticket.ticketNumber;
  if (ticket.ticketId === null || ref === null)
    return <Badge tone={syncTone(ticket.state)}>{SYNC_STATE_TEXT[ticket.state] ?? ticket.state}</Badge>;
  const href = psa?.ticketUrl(ticket.ticketId) ?? null;
  return (
    <span>
      {href ? (
        <a href={href} target="_blank" rel="noreferrer">
          {ref}
        </a>
      ) : (
        ref
      )}{" "}
      <span className="muted small">({ticket.ticketId})</span>
    </span>
  );
}

/** The device's PSA asset: by name and id, its company, whether it is active; or why there is none. */
function CiSection({
  device,
  ci,
  psa,
}: {
  device: DeviceListItem;
  ci: DeviceCi | null;
  psa: Psa | undefined;
}) {
  const label = psa?.label ?? "PSA";
  const asset = psa?.asset ?? "asset";
  const title = `${label} ${psa?.assetLong ?? asset}`;
  if (ci === null)
    return (
      <Section title={title}>
        <p className="muted" data-testid="device-ci">
          {device.state === "unmanaged"
            ? `An unmanaged device gets no ${asset}.`
            : `Not synced yet: the next asset sync creates its ${asset}.`}
        </p>
      </Section>
    );
  const href = psa?.assetUrl(ci.psaId) ?? null;
  const name = ci.name ?? `${asset} ${ci.psaId}`;
  const elsewhere = ci.companyId !== null && ci.companyId !== device.client.psaCompanyId;
  return (
    <Section title={title}>
      <dl className="facts facts-rows" data-testid="device-ci">
        <Fact label="Name">
          {href ? (
            <a href={href} target="_blank" rel="noreferrer">
              {name}
            </a>
          ) : (
            name
          )}{" "}
          <span className="muted small">(id {ci.psaId})</span>
        </Fact>
        {ci.live === "found" ? (
          <>
            <Fact label="Active">{ci.active ? "Yes" : "No (inactive)"}</Fact>
            <Fact label="Company">
              <CompanyName id={ci.companyId} name={ci.companyName} none="—" />
              {elsewhere ? (
                <>
                  {" "}
                  <Badge tone="warn">not the client's company</Badge>
                </>
              ) : null}
            </Fact>
            <Fact label="Serial number">{ci.serialNumber ?? <span className="muted">—</span>}</Fact>
          </>
        ) : null}
        <Fact label="Last synced">{ci.syncedAt ? ago(ci.syncedAt) : "—"}</Fact>
      </dl>
      {ci.live === "found" && ci.customFields.length > 0 ? (
        <details className="ci-custom">
          <summary>
            Its {psa?.customFields ?? "custom fields"} ({ci.customFields.length})
          </summary>
          <dl className="facts facts-rows" data-testid="device-ci-custom">
            {ci.customFields.map((f) => (
              <Fact key={f.name} label={f.name}>
                {f.value ?? <span className="muted">—</span>}
              </Fact>
            ))}
          </dl>
        </details>
      ) : null}
      {ci.live === "gone" ? (
        <Banner kind="warning" title={`The ${asset} is gone`}>
          {ci.problem} The next asset sync looks for the device's {asset} again or creates a new one.
        </Banner>
      ) : ci.live === "unavailable" ? (
        <p className="muted small">
          {label} could not be read just now{ci.problem ? `: ${ci.problem}` : "."} The id above is the one
          last synced.
        </p>
      ) : null}
    </Section>
  );
}
