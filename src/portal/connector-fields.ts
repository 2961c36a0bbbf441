/**
 * A connector's own settings fields, driven by its manifest (psa/connector.ts ConnectorManifest):
 * reading stored values, checking and merging a PUT's values, and the rules every connector's fields
 * follow (required when a module is on, a dependent pick-list needs its parent, URLs are http(s)).
 */
import { OptionalKind, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { ConnectorManifest, ManifestField } from "../psa/connector.js";
import { invalid } from "./errors.js";

export type Section = "ticketing" | "devices";
export type Fields = Record<string, unknown>;

/** The keys of `ticketing` and `devices` that every integration has, whatever its PSA. */
export const COMMON_KEYS: Record<Section, ReadonlySet<string>> = {
  ticketing: new Set(["enabled", "nocMayEnterTickets", "system", "secret"]),
  devices: new Set(["enabled", "advanced", "schedule"]),
};

/** A property's value when nothing (valid) is stored: null where null is allowed, else the type's zero. */
export function emptyValue(schema: TSchema): unknown {
  return Value.Check(schema, null) ? null : Value.Create(schema);
}

/** The stored fields of a section, each present: a missing or no longer valid value reads as empty. */
export function storedFields(m: ConnectorManifest, section: Section, stored: Fields): Fields {
  const out: Fields = {};
  for (const [key, schema] of Object.entries(m.schema[section].properties)) {
    const v = stored[key];
    out[key] = v !== undefined && Value.Check(schema, v) ? v : emptyValue(schema);
  }
  return out;
}

/**
 * A PUT's connector fields of one section over the stored ones: checked against the manifest's schema
 * (a 400 naming the field, e.g. `ticketing.queueId`), text trimmed. A field the PUT leaves out keeps
 * its stored value when the manifest says so, else it is stored empty.
 */
export function mergeFields(m: ConnectorManifest, section: Section, given: Fields, stored: Fields): Fields {
  const props = m.schema[section].properties;
  for (const key of Object.keys(given))
    if (!COMMON_KEYS[section].has(key) && !(key in props))
      throw invalid(`${section}.${key}`, `is not a field of the ${m.label} settings`);
  const out: Fields = {};
  for (const [key, schema] of Object.entries(props)) {
    const field = fieldOf(m, section, key);
    const v = given[key];
    if (v === undefined) {
      if (schema[OptionalKind] !== "Optional") throw invalid(`${section}.${key}`, "is required");
      out[key] = field?.keepWhenOmitted ? stored[key] : emptyValue(schema);
      continue;
    }
    if (!Value.Check(schema, v)) throw invalid(`${section}.${key}`, mismatch(schema, field));
    out[key] = typeof v === "string" && (field?.kind === "text" || field?.kind === "url") ? v.trim() : v;
  }
  return out;
}

/**
 * The rules of the manifest's fields over the merged settings: URLs are http(s) and allowed; a
 * credential is needed when either module is on, a required field when its module is on; a dependent
 * pick-list needs its parent. `hasSecret`: whether a secret will be stored.
 */
export function checkFields(
  m: ConnectorManifest,
  v: Record<Section, Fields>,
  o: {
    ticketingOn: boolean;
    devicesOn: boolean;
    hasSecret: boolean;
    urlRefusal: (url: string) => string | null;
  },
): void {
  const value = (f: ManifestField) => (f.kind === "secret" ? o.hasSecret || null : v[f.section][f.key]);
  const empty = (f: ManifestField) => {
    const x = value(f);
    return x === null || x === undefined || x === "";
  };
  for (const f of m.fields) {
    if (f.kind !== "url") continue;
    const url = v[f.section][f.key];
    if (typeof url !== "string" || url === "") continue;
    if (!isHttpUrl(url))
      throw invalid(`${f.section}.${f.key}`, `must be an http(s) URL${f.required ? "" : ", or empty"}`);
    const why = o.urlRefusal(url);
    if (why !== null) throw invalid(`${f.section}.${f.key}`, why);
  }
  // Both modules talk to the PSA as the same API user, so either one needs the credentials.
  if (o.ticketingOn || o.devicesOn)
    for (const f of m.fields)
      if (f.credential && empty(f))
        throw invalid(`${f.section}.${f.key}`, `${nounOf(f)} is required when an integration is enabled`);
  const on: Record<Section, [boolean, string]> = {
    ticketing: [o.ticketingOn, "the ticketing module is enabled"],
    devices: [o.devicesOn, "device integration is enabled"],
  };
  for (const section of ["ticketing", "devices"] as const) {
    const [enabled, when] = on[section];
    if (!enabled) continue;
    for (const f of m.fields)
      if (f.section === section && f.required && !f.credential && empty(f))
        throw invalid(`${section}.${f.key}`, `${nounOf(f)} is required when ${when}`);
  }
  for (const f of m.fields) {
    if (f.parent === undefined || empty(f)) continue;
    const parent = fieldOf(m, f.section, f.parent);
    if (parent && empty(parent))
      throw invalid(
        `${f.section}.${f.key}`,
        `${nounOf(f)} needs ${nounOf(parent)} (${parent.section}.${parent.key})`,
      );
  }
}

function fieldOf(m: ConnectorManifest, section: Section, key: string): ManifestField | undefined {
  return m.fields.find((f) => f.section === section && f.key === key);
}

const nounOf = (f: ManifestField) => f.noun ?? f.label;

/** What a value must be, in words: the manifest's fixed choices, else read from the schema. */
function mismatch(schema: TSchema, field: ManifestField | undefined): string {
  if (field?.choices) return `must be ${field.choices.map((c) => `${c.id} (${c.label})`).join(" or ")}`;
  return `must be ${expected(schema)}`;
}

function expected(s: TSchema): string {
  if (Array.isArray(s.anyOf)) return (s.anyOf as TSchema[]).map(expected).join(" or ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  switch (s.type) {
    case "null":
      return "null";
    case "boolean":
      return "true or false";
    case "string":
      return typeof s.maxLength === "number" ? `text of at most ${s.maxLength} characters` : "text";
    case "integer":
    case "number": {
      const what = s.type === "integer" ? "a whole number" : "a number";
      const min = typeof s.minimum === "number" ? s.minimum : undefined;
      const max = typeof s.maximum === "number" ? s.maximum : undefined;
      if (min !== undefined && max !== undefined) return `${what} from ${min} to ${max}`;
      if (min !== undefined) return `${what} of at least ${min}`;
      if (max !== undefined) return `${what} of at most ${max}`;
      return what;
    }
    default:
      return "a valid value";
  }
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}
