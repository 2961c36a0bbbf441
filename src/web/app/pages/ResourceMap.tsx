import { useState } from "react";
import { usePartner } from "../App";
import { api, get, messageOf } from "../api";
import { Banner, Loading, Section } from "../components";
import { useResource } from "../hooks";
import { optionsWith, optionText } from "../pick";
import type { Psa } from "../psa";
import type { PsaOption, PsaOptions, PsaResource, ResourceMapInput, ResourceMapLine } from "../types";
import { useUnsavedChanges } from "../unsaved";

interface MapView {
  lines: ResourceMapLine[];
  resources: PsaResource[];
}

/** A line being edited: the resource and role ids as the pick-lists hold them ("" = none). */
interface Draft {
  resource: string;
  role: string;
}

const idOf = (s: string): number | null => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : null);
const draftOf = (l: ResourceMapLine): Draft => ({
  resource: l.psaResourceId === null ? "" : String(l.psaResourceId),
  role: l.psaRoleId === null ? "" : String(l.psaRoleId),
});

/**
 * Which PSA resource (Autotask resource, ConnectWise member) each portal user's time entries are booked
 * to, with an optional role; lines not stored yet are suggested by the server from the user's e-mail
 * sign-in name or full name (docs/effort-sync.md).
 */
export function ResourceMapSection({
  psa,
  options,
  writable,
}: {
  psa: Psa;
  options: PsaOptions | undefined;
  writable: boolean;
}) {
  const { partner } = usePartner();
  const base = `/api/partners/${partner.id}/resource-map`;
  const map = useResource(() => get<MapView>(base), [base]);
  const [draft, setDraft] = useState<Record<number, Draft> | null>(null);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string>();
  const [saved, setSaved] = useState<string>();
  const P = psa.label;
  const noun = psa.resource;
  const roleNoun = psa.role;

  const lines = map.data?.lines ?? [];
  const resources: PsaOption[] = (map.data?.resources ?? []).map((r) => ({
    id: r.id,
    label: r.email ? `${r.name} <${r.email}>` : r.name,
    isActive: r.active,
  }));
  const roles: PsaOption[] | undefined = options?.[psa.roleOptions];
  const shown = (l: ResourceMapLine): Draft => draft?.[l.userId] ?? draftOf(l);
  // Lines the user edited (a line set back to what is stored is not a change).
  const changed = lines.filter((l) => {
    const d = draft?.[l.userId];
    return d !== undefined && (d.resource !== draftOf(l).resource || d.role !== draftOf(l).role);
  }).length;
  const dirty = changed > 0;
  const suggestions = lines.some((l) => l.suggested);
  useUnsavedChanges(
    dirty,
    `The time entries' map has changes that are not saved (${changed} line${changed === 1 ? "" : "s"}). Leave without saving them?`,
  );

  const edit = (l: ResourceMapLine, patch: Partial<Draft>) => {
    setSaved(undefined);
    setDraft((d) => ({ ...(d ?? {}), [l.userId]: { ...shown(l), ...patch } }));
  };

  const save = async () => {
    setBusy(true);
    setErr(undefined);
    setSaved(undefined);
    try {
      const body: { lines: ResourceMapInput[] } = {
        lines: lines.map((l) => {
          const d = shown(l);
          const psaResourceId = idOf(d.resource);
          return { userId: l.userId, psaResourceId, psaRoleId: psaResourceId === null ? null : idOf(d.role) };
        }),
      };
      const out = await api<{ lines: ResourceMapLine[] }>("PUT", base, body);
      map.setData({ lines: out.lines, resources: map.data?.resources ?? [] });
      setDraft(null);
      setSaved("Map saved.");
    } catch (x) {
      setErr(messageOf(x));
    } finally {
      setBusy(false);
    }
  };

  const why = (l: ResourceMapLine) => {
    const r = map.data?.resources.find((x) => x.id === l.psaResourceId);
    return r && r.name.trim().toLowerCase() === l.userName.trim().toLowerCase()
      ? "suggested from the name"
      : "suggested from the e-mail address";
  };

  const resourceCell = (l: ResourceMapLine, d: Draft) => {
    if (!writable) return <span>{l.psaLabel || (l.psaResourceId ?? "—")}</span>;
    return (
      <PickOrId
        id={`resource-map-resource-${l.userId}`}
        label={`${P} ${noun} of ${l.userName}`}
        options={resources.length === 0 ? null : optionsWith(resources, idOf(d.resource), P)}
        none="— none (the default from Setup) —"
        placeholder="id"
        value={d.resource}
        disabled={busy}
        onChange={(v) => edit(l, { resource: v })}
      />
    );
  };

  const roleCell = (l: ResourceMapLine, d: Draft) => {
    const roleName = (v: number | null) =>
      v === null ? `the ${noun}'s default` : (roles?.find((o) => o.id === v)?.label ?? String(v));
    if (!writable) return <span>{l.psaResourceId === null ? "" : roleName(l.psaRoleId)}</span>;
    return (
      <PickOrId
        id={`resource-map-role-${l.userId}`}
        label={`${P} ${roleNoun} of ${l.userName}`}
        options={roles ? optionsWith(roles, idOf(d.role), P) : null}
        none={`— the ${noun}'s default —`}
        placeholder="default"
        value={d.role}
        disabled={busy || d.resource === ""}
        onChange={(v) => edit(l, { role: v })}
      />
    );
  };

  return (
    <Section
      title={`Time entries: who is booked in ${P}`}
      description={`Each portal user's time entries go to ${P} as this ${noun}, with this ${roleNoun} (none: the ${noun} and ${roleNoun} chosen in Setup). Users not mapped yet are suggested from their e-mail address or name; "Save map" stores every line shown.`}
      id="resource-map"
      actions={
        writable && map.data && lines.length > 0 ? (
          <>
            <button type="button" className="primary" disabled={busy} onClick={() => void save()}>
              Save map
            </button>
            {dirty ? (
              <button
                type="button"
                disabled={busy}
                onClick={() => {
                  setDraft(null);
                  setErr(undefined);
                  setSaved(undefined);
                }}
              >
                Discard changes
              </button>
            ) : null}
          </>
        ) : null
      }
    >
      {map.error ? <Banner kind="error">{map.error}</Banner> : null}
      {saved ? <Banner kind="success">{saved}</Banner> : null}
      {err ? (
        <Banner kind="error" title="Nothing was saved">
          {err}
        </Banner>
      ) : null}
      {map.data && resources.length === 0 && writable ? (
        <Banner kind="info">
          {P}'s {noun}s could not be listed (the API credentials are saved in Setup): type the {P} {noun} ids.
        </Banner>
      ) : null}
      {writable && dirty ? (
        <p className="unsaved" role="status">
          Not saved yet: {changed} line{changed === 1 ? "" : "s"} changed. "Save map" stores every line shown;
          "Discard changes" goes back to the saved map.
        </p>
      ) : null}
      {writable && suggestions && !dirty ? (
        <Banner kind="info">Suggested lines are not stored until the map is saved.</Banner>
      ) : null}
      {!map.data ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table className="mapping resource-map">
            <thead>
              <tr>
                <th scope="col">Portal user</th>
                <th scope="col">
                  {P} {noun}
                </th>
                <th scope="col">
                  {P} {roleNoun} (optional)
                </th>
                <th scope="col">
                  <span className="sr-only">Note</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {lines.map((l) => {
                const d = shown(l);
                const edited = draft?.[l.userId] !== undefined;
                const state = edited && (d.resource !== draftOf(l).resource || d.role !== draftOf(l).role);
                return (
                  <tr key={l.userId} className={state ? "row-changed" : undefined}>
                    <th scope="row" data-label="Portal user">
                      {l.userName}
                    </th>
                    <td data-label={`${P} ${noun}`}>{resourceCell(l, d)}</td>
                    <td data-label={`${P} ${roleNoun}`}>{roleCell(l, d)}</td>
                    <td data-label="Note">
                      {state ? <span className="badge badge-warn">changed</span> : null}
                      {l.suggested && !edited ? <span className="badge badge-neutral">{why(l)}</span> : null}
                    </td>
                  </tr>
                );
              })}
              {lines.length === 0 ? (
                <tr>
                  <td colSpan={4} className="muted">
                    The partner has no enabled users.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

/** A pick-list of the PSA's options, or a plain id field when the PSA lists none (options null). */
function PickOrId(p: {
  id: string;
  label: string;
  options: PsaOption[] | null;
  none: string;
  placeholder: string;
  value: string;
  disabled: boolean;
  onChange(value: string): void;
}) {
  return (
    <>
      <label className="sr-only" htmlFor={p.id}>
        {p.label}
      </label>
      {p.options === null ? (
        <input
          id={p.id}
          className="narrow"
          inputMode="numeric"
          placeholder={p.placeholder}
          value={p.value}
          disabled={p.disabled}
          onChange={(e) => p.onChange(e.target.value)}
        />
      ) : (
        <select id={p.id} value={p.value} disabled={p.disabled} onChange={(e) => p.onChange(e.target.value)}>
          <option value="">{p.none}</option>
          {p.options.map((o) => (
            <option key={o.id} value={o.id}>
              {optionText(o)}
            </option>
          ))}
        </select>
      )}
    </>
  );
}
