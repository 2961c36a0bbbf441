import type { ReactNode } from "react";
import { Check, Field } from "../components";
import { optionsWith, optionText } from "../pick";
import type { Integration, PsaField, PsaOption, PsaOptions, PsaSystem } from "../types";

/**
 * The PSA connector's own settings fields in the Setup form, rendered from its manifest (GET
 * /api/psa/systems): text, URL, number, pick-lists (live from the PSA, filtered by a parent field,
 * keeping the chosen option's label in another field) and switches. The secret is the form's own.
 */

export type Section = "ticketing" | "devices";

/** The fields as typed, by "section.key" (ids as text: "" = none). */
export type FieldValues = Record<string, string>;

export const fieldName = (f: Pick<PsaField, "section" | "key">) => `${f.section}.${f.key}`;

const text = (v: unknown): string => (v === null || v === undefined ? "" : String(v));

/** The stored values of the system's fields, as the form edits them. */
export function fieldValues(system: PsaSystem, i: Integration | undefined): FieldValues {
  const out: FieldValues = {};
  for (const f of system.fields) {
    if (f.kind === "secret") continue;
    const stored = i && i.ticketing.system === system.system ? (i[f.section] as Record<string, unknown>) : {};
    out[fieldName(f)] = text(stored[f.key]);
  }
  return out;
}

/** "" → null; an integer → the number; anything else is sent as typed, so the API names the field. */
function numberValue(s: string): number | string | null {
  const t = s.trim();
  if (t === "") return null;
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

/** The values of one section as the API takes them. */
export function sectionBody(system: PsaSystem, section: Section, v: FieldValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of system.fields) {
    if (f.section !== section || f.kind === "secret") continue;
    const s = v[fieldName(f)] ?? "";
    out[f.key] =
      f.kind === "number" || f.kind === "picklist"
        ? numberValue(s)
        : f.kind === "boolean"
          ? s === "true"
          : s.trim();
  }
  return out;
}

/** Whether the stored settings hold every credential, enough to ask the PSA for its pick-lists. */
export function hasCredentials(system: PsaSystem | undefined, i: Integration): boolean {
  if (!system || i.ticketing.system !== system.system) return false;
  return system.fields
    .filter((f) => f.credential)
    .every(
      (f) =>
        text(f.kind === "secret" ? i.ticketing.secret : (i[f.section] as Record<string, unknown>)[f.key]) !==
        "",
    );
}

interface Props {
  system: PsaSystem;
  section: Section;
  values: FieldValues;
  set(name: string, value: string): void;
  options: PsaOptions | undefined;
  disabled: boolean;
  fe(field: string): string | undefined;
  /** Renders the secret field (the form keeps the secret apart). */
  secret(f: PsaField): ReactNode;
  /** Shown before the first live pick-list of the form (where the lists come from). */
  note: ReactNode;
}

/** One section's fields: ungrouped ones first, then each group under its heading. */
export function ConnectorFields(p: Props) {
  const fields = p.system.fields.filter((f) => f.section === p.section);
  const firstList = p.system.fields.find((f) => f.kind === "picklist" && f.options !== undefined);
  const ungrouped = fields.filter((f) => f.group === undefined);
  const at = firstList ? ungrouped.indexOf(firstList) : -1;
  const runs = at < 0 ? [ungrouped] : [ungrouped.slice(0, at), ungrouped.slice(at)];
  const groups = [...new Set(fields.flatMap((f) => (f.group === undefined ? [] : [f.group])))];
  return (
    <>
      {runs.map((run, n) => (
        <FieldRun key={run[0]?.key ?? n} {...p} fields={run} before={n === 1 ? p.note : null} />
      ))}
      {groups.map((g) => {
        const info = p.system.groups?.[g];
        return (
          <FieldRun
            key={g}
            {...p}
            fields={fields.filter((f) => f.group === g)}
            before={
              <>
                <h3 className="form-subtitle">{info?.label ?? g}</h3>
                {info?.help ? <p className="hint">{info.help}</p> : null}
              </>
            }
          />
        );
      })}
    </>
  );
}

function FieldRun(p: Props & { fields: PsaField[]; before: ReactNode }) {
  if (p.fields.length === 0) return <>{p.before}</>;
  return (
    <>
      {p.before}
      <div className="grid-form">
        {p.fields.map((f) => (
          <OneField key={f.key} {...p} field={f} />
        ))}
      </div>
    </>
  );
}

function OneField(p: Props & { field: PsaField }) {
  const f = p.field;
  const name = fieldName(f);
  const value = p.values[name] ?? "";
  const error = p.fe(name);
  const hint = f.help ? { hint: f.help } : {};
  switch (f.kind) {
    case "secret":
      return <>{p.secret(f)}</>;
    case "boolean":
      return (
        <Check
          label={f.label}
          checked={value === "true"}
          onChange={(v) => p.set(name, v ? "true" : "false")}
          disabled={p.disabled}
          error={error}
          {...hint}
        />
      );
    case "picklist":
      return <PickList {...p} field={f} value={value} error={error} />;
    default:
      return (
        <Field label={f.label} required={f.required === true && f.kind !== "number"} error={error} {...hint}>
          {(a) => (
            <input
              {...a}
              {...(f.kind === "url" ? { type: "url", inputMode: "url" as const } : {})}
              {...(f.kind === "number" ? { inputMode: "numeric" as const } : {})}
              {...(f.kind === "text" && f.credential ? { autoComplete: "off" } : {})}
              {...(f.kind === "url" || f.credential ? { spellCheck: false } : {})}
              value={value}
              disabled={p.disabled}
              onChange={(e) => p.set(name, e.target.value)}
            />
          )}
        </Field>
      );
  }
}

/**
 * A pick-list: the manifest's fixed choices; else the PSA's live list when it was read (sub-lists
 * follow their parent's value), else a number input. Picking an option keeps its label in the field
 * `labelKey` names; changing a parent clears its dependants.
 */
function PickList(p: Props & { field: PsaField; value: string; error: string | undefined }) {
  const f = p.field;
  const name = fieldName(f);
  const parentName = f.parent ? fieldName({ section: f.section, key: f.parent }) : undefined;
  const parentValue = parentName ? (p.values[parentName] ?? "") : "";
  const disabled = p.disabled || (parentName !== undefined && parentValue === "");
  const pick = (id: string, label?: string) => {
    p.set(name, id);
    if (f.labelKey && label !== undefined) p.set(fieldName({ section: f.section, key: f.labelKey }), label);
    for (const child of p.system.fields)
      if (child.section === f.section && child.parent === f.key) p.set(fieldName(child), "");
  };
  const hint = f.help ? { hint: f.help } : {};
  if (f.choices)
    return (
      <Field label={f.label} error={p.error} {...hint}>
        {(a) => (
          <select {...a} value={p.value} disabled={disabled} onChange={(e) => pick(e.target.value)}>
            {f.choices?.map((c) => (
              <option key={c.id} value={String(c.id)}>
                {c.label}
              </option>
            ))}
          </select>
        )}
      </Field>
    );
  const all: PsaOption[] | undefined = f.options ? p.options?.[f.options] : undefined;
  const parentId = /^-?\d+$/.test(parentValue) ? Number(parentValue) : null;
  const list = parentName
    ? all?.filter((o) => o.parentId === null || o.parentId === undefined || o.parentId === parentId)
    : all;
  const current = /^-?\d+$/.test(p.value) ? Number(p.value) : null;
  return (
    <Field label={f.label} error={p.error} {...hint}>
      {(a) =>
        list ? (
          <select
            {...a}
            value={current === null ? "" : String(current)}
            disabled={disabled}
            onChange={(e) => {
              const o = list.find((x) => String(x.id) === e.target.value);
              pick(e.target.value, o && o.id >= 0 && !o.label.startsWith("#") ? o.label : undefined);
            }}
          >
            <option value="">{f.required ? "— choose —" : `— ${p.system.label}'s default —`}</option>
            {optionsWith(list, current, p.system.label).map((o) => (
              <option key={o.id} value={o.id}>
                {optionText(o)}
              </option>
            ))}
          </select>
        ) : (
          <input
            {...a}
            inputMode="numeric"
            value={p.value}
            disabled={disabled}
            onChange={(e) => pick(e.target.value)}
          />
        )
      }
    </Field>
  );
}
