/**
 * The query engine of `E/query`, `E/query/count` and `E/query/next` (docs/autotask.md, Queries; Paging and
 * counts): the 13 operators plus nested and/or, `udf: true` filters, IncludeFields, MaxRecords ≤ 500,
 * case-insensitive keys and field names, results in ascending id order, and id cursors for paging.
 *
 * A filter compiles once into a predicate. Top-level conditions are AND-ed, so an `eq`/`in` on an
 * indexable field narrows the scan to that index's ids and `id gt/gte/lt/lte` bounds it; every
 * candidate is still checked against the full predicate, so an index only ever saves work.
 */
import type { EntityDef, FieldDef } from "./entities.js";
import type { Row } from "./hooks.js";
import { ApiError, indexKey, invalid, type Table, type Tenant, type UdfDefinition } from "./store.js";

/** Page size limit (docs/autotask.md, Paging and counts). */
export const MAX_PAGE_SIZE = 500;

export interface QueryLimits {
  /** "Queries are limited to 500 or fewer 'OR' conditions" (docs/autotask.md, Queries). */
  maxOrConditions: number;
  /** "You can only query by one user-defined field at a time" (UserDefinedFieldDefinitions help page). */
  maxUdfConditions: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = { maxOrConditions: 500, maxUdfConditions: 1 };

const OPERATORS = [
  "eq",
  "noteq",
  "gt",
  "gte",
  "lt",
  "lte",
  "beginsWith",
  "endsWith",
  "contains",
  "exist",
  "notExist",
  "in",
  "notIn",
] as const;
type Operator = (typeof OPERATORS)[number];
const OP_BY_LOWER = new Map<string, Operator | "and" | "or">([
  ...OPERATORS.map((o) => [o.toLowerCase(), o] as [string, Operator]),
  ["and", "and"],
  ["or", "or"],
]);

/**
 * Query syntax errors: 400 (docs/autotask.md, Errors — unconfirmed); unknown fields and bad values are 500
 * like other validation.
 */
const syntax = (message: string) => new ApiError(400, message);

type Predicate = (row: Row) => boolean;

export interface CompiledQuery {
  def: EntityDef;
  predicate: Predicate;
  pageSize: number;
  /** Fields to return, or null for whole rows. */
  includeFields: string[] | null;
  /** Candidate ids from an index (sorted), or null to scan the whole table. */
  candidates: (table: Table) => readonly number[];
  /** Id bounds from top-level `id` conditions (inclusive). */
  minId: number;
  maxId: number;
}

interface Leaf {
  op: Operator;
  field: string;
  udf: boolean;
  value: unknown;
}

function lowerKeyed(o: unknown, what: string): Map<string, unknown> {
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw syntax(`${what} must be a JSON object.`);
  return new Map(Object.entries(o as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]));
}

/** How a value compares: numbers, ISO strings (datetimes sort as text), lower-cased strings, booleans. */
type Norm = number | string | boolean;

function normaliser(dataType: string, name: string): (v: unknown) => Norm | null {
  switch (dataType) {
    case "integer":
    case "long":
    case "double":
    case "decimal":
      return (v) => {
        if (v === null || v === undefined || v === "") return null;
        const n = typeof v === "number" ? v : Number(v);
        if (Number.isNaN(n))
          throw invalid(`Invalid value for field ${name}: ${JSON.stringify(v)} is not a number.`);
        return n;
      };
    case "boolean":
      return (v) => {
        if (v === null || v === undefined) return null;
        if (typeof v === "boolean") return v;
        if (v === 1 || v === 0) return v === 1;
        if (typeof v === "string" && /^(true|false)$/i.test(v)) return v.toLowerCase() === "true";
        throw invalid(`Invalid value for field ${name}: ${JSON.stringify(v)} is not a boolean.`);
      };
    case "datetime":
      return (v) => {
        if (v === null || v === undefined || v === "") return null;
        if (typeof v !== "string")
          throw invalid(`Invalid value for field ${name}: ${JSON.stringify(v)} is not a date.`);
        const text = /[zZ]|[+-]\d\d:?\d\d$/.test(v) || !v.includes("T") ? v : `${v}Z`;
        const t = Date.parse(/^\d{4}-\d\d-\d\d$/.test(text) ? `${text}T00:00:00Z` : text);
        if (Number.isNaN(t))
          throw invalid(`Invalid value for field ${name}: ${JSON.stringify(v)} is not a date.`);
        // Stored datetimes are all toISOString(), so ISO text compares in time order.
        return new Date(t).toISOString();
      };
    default:
      return (v) => (v === null || v === undefined ? null : String(v).toLowerCase());
  }
}

interface Compiler {
  def: EntityDef;
  udfs: UdfDefinition[];
  limits: QueryLimits;
  orCount: number;
  udfCount: number;
}

function compileNode(c: Compiler, raw: unknown): Predicate {
  const item = lowerKeyed(raw, "A filter item");
  const opRaw = item.get("op");
  if (typeof opRaw !== "string") throw syntax("Each filter item needs an op.");
  const op = OP_BY_LOWER.get(opRaw.toLowerCase());
  if (!op) throw syntax(`Unknown filter operator '${opRaw}'.`);
  if (op === "and" || op === "or") {
    const items = item.get("items");
    if (!Array.isArray(items) || items.length === 0)
      throw syntax(`The '${op}' operator needs a non-empty items array.`);
    if (op === "or") {
      c.orCount += items.length;
      if (c.orCount > c.limits.maxOrConditions) {
        throw syntax(`Queries are limited to ${c.limits.maxOrConditions} or fewer 'OR' conditions.`);
      }
    }
    const parts = items.map((i) => compileNode(c, i));
    return op === "and" ? (row) => parts.every((p) => p(row)) : (row) => parts.some((p) => p(row));
  }
  const field = item.get("field");
  if (typeof field !== "string" || field === "") throw syntax(`The '${op}' operator needs a field.`);
  const udf = item.get("udf") === true || item.get("udf") === "true";
  return compileLeaf(c, { op, field, udf, value: item.get("value") });
}

function compileLeaf(c: Compiler, leaf: Leaf): Predicate {
  let get: (row: Row) => unknown;
  let norm: (v: unknown) => Norm | null;
  if (leaf.udf) {
    c.udfCount += 1;
    if (c.udfCount > c.limits.maxUdfConditions) {
      throw syntax(
        `Only ${c.limits.maxUdfConditions} user-defined field condition(s) are allowed per query.`,
      );
    }
    const u = c.udfs.find((d) => d.name.toLowerCase() === leaf.field.toLowerCase());
    if (!u) throw invalid(`Unable to find user-defined field ${leaf.field} in the ${c.def.name} entity.`);
    const name = u.name;
    get = (row) => {
      for (const p of row["userDefinedFields"] as { name: string; value: unknown }[]) {
        if (p.name === name) return p.value;
      }
      return null;
    };
    norm = normaliser(u.dataType, u.name);
  } else {
    const fd = c.def.byLowerName.get(leaf.field.toLowerCase());
    if (!fd) throw invalid(`Unable to find ${leaf.field} in the ${c.def.name} entity.`);
    // Some fields are not queryable (Tickets creatorType, lastActivityPersonType: docs/autotask.md, Queries).
    if (!fd.isQueryable) throw invalid(`The field ${fd.name} of ${c.def.name} is not queryable.`);
    const name = fd.name;
    get = (row) => row[name];
    norm = normaliser(fd.dataType, fd.name);
  }
  const val = (row: Row) => norm(get(row));
  const { op, value } = leaf;
  switch (op) {
    case "exist":
      return (row) => get(row) !== null && get(row) !== undefined;
    case "notExist":
      return (row) => get(row) === null || get(row) === undefined;
    case "in":
    case "notIn": {
      if (!Array.isArray(value)) throw syntax(`The '${op}' operator needs an array value.`);
      const set = new Set(value.map((v) => norm(v)));
      // SQL semantics: a null field matches neither `in` nor `notIn` (nor any comparison below).
      return op === "in"
        ? (row) => {
            const v = val(row);
            return v !== null && set.has(v);
          }
        : (row) => {
            const v = val(row);
            return v !== null && !set.has(v);
          };
    }
    case "beginsWith":
    case "endsWith":
    case "contains": {
      if (value === null || value === undefined) throw syntax(`The '${op}' operator needs a value.`);
      const x = String(value).toLowerCase();
      const test =
        op === "beginsWith"
          ? (s: string) => s.startsWith(x)
          : op === "endsWith"
            ? (s: string) => s.endsWith(x)
            : (s: string) => s.includes(x);
      return (row) => {
        const v = get(row);
        return v !== null && v !== undefined && test(String(v).toLowerCase());
      };
    }
    default: {
      const x = norm(value);
      if (x === null) {
        // `eq null` reads as notExist and `noteq null` as exist; ordering against null matches nothing.
        if (op === "eq") return (row) => val(row) === null;
        if (op === "noteq") return (row) => val(row) !== null;
        throw syntax(`The '${op}' operator needs a value.`);
      }
      switch (op) {
        case "eq":
          return (row) => val(row) === x;
        case "noteq":
          return (row) => {
            const v = val(row);
            return v !== null && v !== x;
          };
        case "gt":
          return (row) => {
            const v = val(row);
            return v !== null && v > x;
          };
        case "gte":
          return (row) => {
            const v = val(row);
            return v !== null && v >= x;
          };
        case "lt":
          return (row) => {
            const v = val(row);
            return v !== null && v < x;
          };
        default:
          return (row) => {
            const v = val(row);
            return v !== null && v <= x;
          };
      }
    }
  }
}

const INDEXABLE = new Set(["integer", "long", "string", "boolean"]);

/**
 * Compiles a query body (`{filter, MaxRecords, IncludeFields}`, keys in any case) for an entity of a
 * tenant. Throws ApiError for what the API would refuse.
 */
export function compileQuery(
  tenant: Tenant,
  def: EntityDef,
  body: unknown,
  limits: QueryLimits = DEFAULT_QUERY_LIMITS,
): CompiledQuery {
  const top = lowerKeyed(body ?? {}, "The query");
  const filter = top.get("filter");
  // A query needs at least one condition; clients send `id gte 0` for "all" (docs/autotask.md, Queries).
  if (!Array.isArray(filter) || filter.length === 0) {
    throw syntax(
      "The query needs a filter with at least one condition (use {op: 'gte', field: 'id', value: 0} for all).",
    );
  }
  const c: Compiler = { def, udfs: tenant.udfDefs(def.name), limits, orCount: 0, udfCount: 0 };
  const parts = filter.map((item) => compileNode(c, item));
  const predicate: Predicate =
    parts.length === 1 ? (parts[0] as Predicate) : (row) => parts.every((p) => p(row));

  let pageSize = MAX_PAGE_SIZE;
  const max = top.get("maxrecords");
  if (max !== undefined && max !== null) {
    const n = Number(max);
    if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
      throw syntax(`MaxRecords must be an integer from 1 to ${MAX_PAGE_SIZE}.`);
    }
    pageSize = n;
  }

  let includeFields: string[] | null = null;
  const inc = top.get("includefields");
  if (Array.isArray(inc) && inc.length > 0) {
    includeFields = inc.map((name) => {
      if (typeof name !== "string") throw syntax("IncludeFields must be an array of field names.");
      if (name.toLowerCase() === "userdefinedfields") return "userDefinedFields";
      const fd = def.byLowerName.get(name.toLowerCase());
      if (!fd) throw invalid(`Unable to find ${name} in the ${def.name} entity.`);
      return fd.name;
    });
  }

  // Index hints from top-level leaves (they are AND-ed, so each one bounds the result).
  let minId = Number.NEGATIVE_INFINITY;
  let maxId = Number.POSITIVE_INFINITY;
  const lookups: ((table: Table) => readonly number[])[] = [];
  for (const raw of filter) {
    const item = lowerKeyed(raw, "A filter item");
    if (item.get("udf") === true) continue;
    const op = OP_BY_LOWER.get(String(item.get("op")).toLowerCase());
    const fd: FieldDef | undefined = def.byLowerName.get(String(item.get("field")).toLowerCase());
    if (!fd || !op || op === "and" || op === "or") continue;
    const value = item.get("value");
    if (fd.name === "id") {
      const n = Number(value);
      if (!Number.isFinite(n)) continue;
      if (op === "eq") {
        minId = Math.max(minId, n);
        maxId = Math.min(maxId, n);
      } else if (op === "gt") minId = Math.max(minId, Math.floor(n) + 1);
      else if (op === "gte") minId = Math.max(minId, Math.ceil(n));
      else if (op === "lt") maxId = Math.min(maxId, Math.ceil(n) - 1);
      else if (op === "lte") maxId = Math.min(maxId, Math.floor(n));
      continue;
    }
    if (!INDEXABLE.has(fd.dataType)) continue;
    const norm = normaliser(fd.dataType, fd.name);
    if (op === "eq" && value !== null && value !== undefined) {
      const key = indexKey(norm(value));
      lookups.push((table) => table.lookup(fd.name, key));
    } else if (op === "in" && Array.isArray(value) && value.length <= 50) {
      const keys = [...new Set(value.map((v) => indexKey(norm(v))))];
      lookups.push((table) => {
        const merged = keys.flatMap((k) => [...table.lookup(fd.name, k)]);
        return merged.sort((a, b) => a - b);
      });
    }
  }
  const candidates = (table: Table): readonly number[] => {
    let best: readonly number[] = table.ids;
    for (const l of lookups) {
      const ids = l(table);
      if (ids.length < best.length) best = ids;
    }
    return best;
  };

  return { def, predicate, pageSize, includeFields, candidates, minId, maxId };
}

function lowerBound(arr: readonly number[], x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((arr[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where a page starts: after the last id of the previous page, or before the first id of the next one. */
export type Cursor = { afterId: number } | { beforeId: number } | null;

export interface Page {
  rows: Row[];
  hasNext: boolean;
  hasPrev: boolean;
}

/** One page of matching rows in ascending id order. */
export function runPage(table: Table, q: CompiledQuery, cursor: Cursor): Page {
  const ids = q.candidates(table);
  const matches = (id: number) => {
    if (id < q.minId || id > q.maxId) return false;
    const row = table.get(id);
    return row !== undefined && q.predicate(row);
  };
  const forward = (from: number, out: Row[]): void => {
    for (let i = lowerBound(ids, Math.max(from, q.minId)); i < ids.length && out.length < q.pageSize; i++) {
      const id = ids[i] as number;
      if (id > q.maxId) return;
      if (matches(id)) out.push(table.get(id) as Row);
    }
  };
  const anyForward = (from: number) => {
    for (let i = lowerBound(ids, Math.max(from, q.minId)); i < ids.length; i++) {
      const id = ids[i] as number;
      if (id > q.maxId) return false;
      if (matches(id)) return true;
    }
    return false;
  };
  const anyBackward = (below: number) => {
    for (let i = lowerBound(ids, Math.min(below, q.maxId + 1)) - 1; i >= 0; i--) {
      const id = ids[i] as number;
      if (id < q.minId) return false;
      if (matches(id)) return true;
    }
    return false;
  };

  const rows: Row[] = [];
  if (cursor && "beforeId" in cursor) {
    for (
      let i = lowerBound(ids, Math.min(cursor.beforeId, q.maxId + 1)) - 1;
      i >= 0 && rows.length < q.pageSize;
      i--
    ) {
      const id = ids[i] as number;
      if (id < q.minId) break;
      if (matches(id)) rows.push(table.get(id) as Row);
    }
    rows.reverse();
    const first = rows[0]?.["id"] as number | undefined;
    return {
      rows,
      hasPrev: first !== undefined && anyBackward(first),
      hasNext: anyForward(cursor.beforeId),
    };
  }
  const start = cursor ? cursor.afterId + 1 : Number.NEGATIVE_INFINITY;
  forward(start, rows);
  const last = rows[rows.length - 1]?.["id"] as number | undefined;
  return {
    rows,
    hasNext: last !== undefined && rows.length === q.pageSize && anyForward(last + 1),
    hasPrev: cursor !== null && anyBackward(cursor.afterId + 1),
  };
}

/** Number of matching rows (`query/count`). */
export function countQuery(table: Table, q: CompiledQuery): number {
  const ids = q.candidates(table);
  let n = 0;
  for (let i = lowerBound(ids, q.minId); i < ids.length; i++) {
    const id = ids[i] as number;
    if (id > q.maxId) break;
    const row = table.get(id);
    if (row && q.predicate(row)) n++;
  }
  return n;
}

/** A row reduced to IncludeFields (docs/autotask.md, Queries). */
export function project(row: Row, fields: string[] | null): Row {
  if (!fields) return row;
  const out: Row = {};
  for (const f of fields) out[f] = row[f] ?? null;
  return out;
}
