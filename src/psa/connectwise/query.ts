/**
 * The pieces of ConnectWise's query language the connector writes (`conditions`,
 * `customFieldConditions`, `orderBy`, `fields`) and the paging links it reads. The grammar is the
 * Developer Guide's (docs/connectwise.md, Queries): strings in quotes, date-times in square brackets,
 * integers bare, `in (…)` lists, `and`/`or`. Values are always built through these helpers, never
 * pasted into a condition as they come.
 */
import { PsaError } from "../errors.js";

/**
 * A string literal. The API takes double or single quotes; the quote the value does not contain is
 * used, and a value with both is quoted with `"` and backslash-escaped (no public source documents
 * an escape for quotes, so such a value may match nothing). A literal `[` must be written `[[]`.
 */
export function str(value: string): string {
  const v = value.replaceAll("[", "[[]");
  if (!v.includes('"')) return `"${v}"`;
  if (!v.includes("'")) return `'${v}'`;
  return `"${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** A date-time literal, UTC, to the second (the API's resolution): `[2026-01-05T10:00:00Z]`. */
export function date(d: Date): string {
  if (Number.isNaN(d.getTime())) {
    throw new PsaError({ code: "INVALID_REQUEST", retryable: false, message: "expected a valid date" });
  }
  return `[${d.toISOString().slice(0, 19)}Z]`;
}

/** An integer literal; anything else is a programming error, refused before it reaches a query. */
export function int(n: number): string {
  if (!Number.isSafeInteger(n)) {
    throw new PsaError({
      code: "INVALID_REQUEST",
      retryable: false,
      message: `expected an integer id in a query, got ${JSON.stringify(n)}`,
    });
  }
  return String(n);
}

/** `field in (1, 2, 3)`. */
export function inList(field: string, ids: readonly number[]): string {
  return `${field} in (${ids.map(int).join(", ")})`;
}

/** Joins conditions with `and`, each in parentheses; empty parts are left out. */
export function and(...parts: Array<string | undefined>): string {
  const kept = parts.filter((p): p is string => p !== undefined && p.trim() !== "");
  return kept.length === 1 ? (kept[0] as string) : kept.map((p) => `(${p})`).join(" and ");
}

export function or(...parts: Array<string | undefined>): string {
  const kept = parts.filter((p): p is string => p !== undefined && p.trim() !== "");
  return kept.length === 1 ? (kept[0] as string) : kept.map((p) => `(${p})`).join(" or ");
}

/** Splits ids into chunks short enough for one request URL. */
export function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** The `rel="next"` target of an RFC 8288 `Link` header, or null. */
export function nextLink(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(^|;)\s*rel\s*=\s*"?next"?\s*(;|$)/i.test(m[2] as string)) return m[1] as string;
  }
  return null;
}
