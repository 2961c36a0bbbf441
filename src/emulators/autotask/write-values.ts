/** Conversion of JSON body values to field types, as the real API's deserialiser does (store.ts). */
import { invalid } from "./api-error.js";

/** ISO-8601 UTC with milliseconds and `Z`, the format of the public clients' sample payloads. */
export const timestamp = (d: Date) => d.toISOString();

export const isSet = (v: unknown) => v !== null && v !== undefined;

/**
 * Converts a JSON value to the field's type, as the real API's deserialiser would (docs/autotask.md, Writes).
 */
export function coerce(fd: { name: string; dataType: string; length: number }, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  const bad = () =>
    invalid(`Invalid value for field ${fd.name}: ${JSON.stringify(v)} is not a valid ${fd.dataType}.`);
  switch (fd.dataType) {
    case "integer":
    case "long": {
      if (v === "") return null;
      const n = typeof v === "string" ? Number(v.trim()) : v;
      if (typeof n !== "number" || !Number.isInteger(n)) throw bad();
      return n;
    }
    case "double":
    case "decimal": {
      if (v === "") return null;
      const n = typeof v === "string" ? Number(v.trim()) : v;
      if (typeof n !== "number" || !Number.isFinite(n)) throw bad();
      return n;
    }
    case "boolean": {
      if (typeof v === "boolean") return v;
      if (v === 1 || v === 0) return v === 1;
      if (typeof v === "string" && /^(true|false)$/i.test(v)) return v.toLowerCase() === "true";
      if (v === "") return null;
      throw bad();
    }
    case "datetime": {
      if (v === "") return null;
      if (typeof v !== "string") throw bad();
      // A time without an offset is UTC: "all times UTC" (docs/autotask.md, Entities and fields used).
      const text = /[zZ]|[+-]\d\d:?\d\d$/.test(v) || !v.includes("T") ? v : `${v}Z`;
      const t = Date.parse(/^\d{4}-\d\d-\d\d$/.test(text) ? `${text}T00:00:00Z` : text);
      if (Number.isNaN(t)) throw bad();
      return new Date(t).toISOString();
    }
    default: {
      if (typeof v === "object") throw bad();
      const s = String(v);
      if (fd.length > 0 && s.length > fd.length) {
        throw invalid(`Value for field ${fd.name} exceeds the maximum length of ${fd.length} characters.`);
      }
      return s;
    }
  }
}

/**
 * Case-insensitive view of a JSON body's keys (field names are case-insensitive, docs/autotask.md, Queries;
 * Writes).
 */
export function lowerKeys(body: Record<string, unknown>): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const [k, v] of Object.entries(body)) m.set(k.toLowerCase(), v);
  return m;
}
