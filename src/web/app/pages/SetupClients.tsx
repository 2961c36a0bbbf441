import { type FormEvent, useState } from "react";
import { usePartner } from "../App";
import { ApiError, api, get, messageOf } from "../api";
import { Banner, Loading, Section } from "../components";
import { useResource } from "../hooks";
import { fieldMessage } from "../pick";
import type { Psa } from "../psa";
import { can, useMe } from "../session";
import type { Client, Page, PsaCompany, PsaCompanyList } from "../types";
import { AutoMatch } from "./AutoMatch";
import { CompanyPicker } from "./CompanyPicker";

const idText = (n: number | null) => (n === null ? "" : String(n));

/** "" → null; an integer → the number; anything else is sent as typed so the API names the field. */
function idValue(s: string): number | string | null {
  const t = s.trim();
  if (t === "") return null;
  return /^\d+$/.test(t) ? Number(t) : t;
}

/**
 * Setup → "Clients and their <PSA> companies": each client's company by name, a search over the
 * partner's live companies, auto-match by name, and a typed id as the fallback (the server checks
 * every id in the PSA before it saves it). `live`: the PSA's credentials are stored, so it can be read.
 */
export function ClientsSection({ psa, live }: { psa: Psa; live: boolean }) {
  const { partner } = usePartner();
  const { me } = useMe();
  const clients = useResource(
    () => get<Page<Client>>(`/api/partners/${partner.id}/clients?limit=500`),
    [partner.id],
  );
  const writable = can(me, "data:write") && can(me, "integration:write");
  const searchable = writable && live;
  // Companies saved without a name (before names were kept): read their names once.
  const unnamed = (clients.data?.items ?? []).filter((c) => c.psaCompanyId !== null && !c.psaCompanyName);
  const unnamedKey = unnamed.map((c) => c.psaCompanyId).join(",");
  const names = useResource(
    () =>
      searchable && unnamedKey !== ""
        ? get<PsaCompanyList>(`/api/partners/${partner.id}/psa-companies?ids=${unnamedKey}`)
        : Promise.resolve(undefined),
    [partner.id, searchable, unnamedKey],
  );
  const nameOf = (c: Client) =>
    c.psaCompanyName ?? names.data?.items.find((x) => x.id === c.psaCompanyId)?.name ?? null;
  const column = `${psa.label} company`;
  return (
    <Section
      title={`Clients and their ${psa.label} companies`}
      description={`Devices and tickets of a client go to this company in ${psa.label}.`}
    >
      {clients.error ? <Banner kind="error">{clients.error}</Banner> : null}
      {searchable && (clients.data?.items.length ?? 0) > 0 ? (
        <AutoMatch partnerId={partner.id} psaLabel={psa.label} onSaved={() => void clients.reload(true)} />
      ) : null}
      {!clients.data ? (
        <Loading />
      ) : clients.data.items.length === 0 ? (
        <p className="muted">This partner has no clients yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="compact">
            <thead>
              <tr>
                <th scope="col">Client</th>
                <th scope="col">Name</th>
                <th scope="col">{column}</th>
              </tr>
            </thead>
            <tbody>
              {clients.data.items.map((c) => (
                <ClientRow
                  key={c.id}
                  client={c}
                  companyName={nameOf(c)}
                  column={column}
                  label={psa.label}
                  partnerId={partner.id}
                  writable={writable}
                  searchable={searchable}
                  onSaved={() => void clients.reload(true)}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function ClientRow(p: {
  client: Client;
  companyName: string | null;
  column: string;
  label: string;
  partnerId: number;
  writable: boolean;
  searchable: boolean;
  onSaved(): void;
}) {
  const { client } = p;
  const [value, setValue] = useState(idText(client.psaCompanyId));
  const [err, setErr] = useState<string>();
  const [ok, setOk] = useState<string>();
  const dirty = value !== idText(client.psaCompanyId);
  const store = async (psaCompanyId: number | string | null, saved: string) => {
    setErr(undefined);
    setOk(undefined);
    try {
      const c = await api<Client>("PATCH", `/api/clients/${client.id}`, { psaCompanyId });
      setValue(idText(c.psaCompanyId));
      setOk(saved);
      p.onSaved();
    } catch (x) {
      setErr(x instanceof ApiError && x.field ? fieldMessage(x.message, x.field) : messageOf(x));
    }
  };
  const save = (e: FormEvent) => {
    e.preventDefault();
    void store(idValue(value), "Saved");
  };
  const picked = (c: PsaCompany) => void store(c.id, `Saved: ${c.name}`);
  const id = `company-${client.id}`;
  return (
    <tr>
      <td data-label="Client">{client.code}</td>
      <td data-label="Name">{client.name}</td>
      <td data-label={p.column}>
        <div className="company-cell">
          <div className="company-current">
            {client.psaCompanyId === null ? (
              <span className="muted">Not mapped</span>
            ) : p.companyName ? (
              <>
                <strong>{p.companyName}</strong> <span className="muted small">id {client.psaCompanyId}</span>
              </>
            ) : (
              <>
                Company {client.psaCompanyId}{" "}
                <span className="muted small">(name not read from {p.label} yet: Validate reads it)</span>
              </>
            )}
          </div>
          {p.searchable ? (
            <CompanyPicker
              partnerId={p.partnerId}
              psaLabel={p.label}
              clientCode={client.code}
              onPick={picked}
            />
          ) : null}
          <form className="inline-form" onSubmit={save} noValidate>
            <label htmlFor={id} className={p.searchable ? "muted small" : "sr-only"}>
              {p.label} company id of {client.code}
            </label>
            <input
              id={id}
              inputMode="numeric"
              className="narrow"
              value={value}
              disabled={!p.writable}
              aria-invalid={err ? true : undefined}
              onChange={(e) => {
                setValue(e.target.value);
                setOk(undefined);
              }}
            />
            {p.writable ? (
              <button type="submit" disabled={!dirty} aria-label={`Save the company of ${client.code}`}>
                Save
              </button>
            ) : null}
          </form>
          {ok && !dirty ? <span className="ok-text">{ok}</span> : null}
          {err ? (
            <span className="field-error" role="alert">
              {err}
            </span>
          ) : null}
        </div>
      </td>
    </tr>
  );
}
