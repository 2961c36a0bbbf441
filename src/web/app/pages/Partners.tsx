import { type FormEvent, useState } from "react";
import { ApiError, api, get, messageOf } from "../api";
import { Banner, errorFor, Field, type FieldError, Loading, PageHeader, Section } from "../components";
import { formatDateTime } from "../format";
import { useResource, useTitle } from "../hooks";
import { Link, navigate } from "../router";
import { can, useMe } from "../session";
import type { Page, Partner } from "../types";

/** NOC-wide users: every partner, and (NOC admins) a new partner. */
export function Partners() {
  useTitle("Partners");
  const { me } = useMe();
  const partners = useResource(() => get<Page<Partner>>("/api/partners?limit=500"), []);
  const admin = can(me, "partners");

  return (
    <>
      <PageHeader title="Partners" />
      {partners.error ? <Banner kind="error">{partners.error}</Banner> : null}
      <Section title="All partners">
        {!partners.data ? (
          <Loading />
        ) : partners.data.items.length === 0 ? (
          <p className="muted">No partner yet.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Partner</th>
                  <th scope="col">Time zone</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span className="sr-only">Pages</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {partners.data.items.map((p) => (
                  <tr key={p.id}>
                    <td data-label="Partner">
                      <Link to={admin ? `/p/${p.id}/setup` : `/p/${p.id}/tickets`}>{p.name}</Link>
                    </td>
                    <td data-label="Time zone">{p.timeZone}</td>
                    <td data-label="Created">{formatDateTime(p.createdAt)}</td>
                    <td>
                      <div className="links">
                        {admin ? (
                          <>
                            <Link to={`/p/${p.id}/setup`}>Setup</Link>
                            <Link to={`/p/${p.id}/sync`}>Validate &amp; sync</Link>
                          </>
                        ) : null}
                        <Link to={`/p/${p.id}/tickets`}>Tickets</Link>
                        <Link to={`/p/${p.id}/devices`}>Devices</Link>
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      {admin ? <NewPartner /> : null}
    </>
  );
}

function NewPartner() {
  const [name, setName] = useState("");
  const [timeZone, setTimeZone] = useState("UTC");
  const [err, setErr] = useState<FieldError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const p = await api<Partner>("POST", "/api/partners", { name, timeZone });
      navigate(`/p/${p.id}/setup`);
    } catch (x) {
      setErr({ field: x instanceof ApiError && x.field ? x.field : "", message: messageOf(x) });
      setBusy(false);
    }
  };
  return (
    <Section
      title="New partner"
      description="A VAR/MSP whose PSA (Autotask, ConnectWise) the NOC portal is connected to."
    >
      <form className="grid-form" onSubmit={submit} noValidate>
        <Field label="Name" required error={errorFor(err, "name")}>
          {(a) => <input {...a} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Time zone" hint="IANA zone, e.g. Asia/Kolkata" error={errorFor(err, "timeZone")}>
          {(a) => <input {...a} value={timeZone} onChange={(e) => setTimeZone(e.target.value)} />}
        </Field>
        {err && !["name", "timeZone"].includes(err.field) ? (
          <Banner kind="error">{err.message}</Banner>
        ) : null}
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy || !name.trim()}>
            Create partner
          </button>
        </div>
      </form>
    </Section>
  );
}
