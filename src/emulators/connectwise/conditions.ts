/**
 * The query language of list endpoints: `conditions`, `childConditions`, `customFieldConditions`
 * (one grammar: comparisons joined by and/or/parentheses), `orderBy` and `fields`. Parsing is strict:
 * an unknown field, a literal of the wrong kind or a syntax error is a 400 naming the parameter.
 * Comparisons follow SQL semantics, as the product stores its data in SQL Server: strings compare
 * case-insensitively, and a null value only matches `= null` / `!= null`.
 */
import { badConditions } from "./errors.js";

/** Scalar kinds a path can resolve to. */
export type Kind = "string" | "number" | "boolean" | "date" | "any";

/** Tells the kind of a field path (segments as written, matched case-insensitively); undefined = unknown. */
export type FieldTyper = (path: string[]) => Kind | undefined;

type Lit =
  | { k: "string"; v: string }
  | { k: "number"; v: number }
  | { k: "boolean"; v: boolean }
  | { k: "date"; v: number }
  | { k: "null" };

type Op = "=" | "!=" | "<" | "<=" | ">" | ">=" | "contains" | "like" | "in";

export type Cond =
  | { t: "and" | "or"; a: Cond; b: Cond }
  | { t: "cmp"; path: string[]; op: Op; neg: boolean; value: Lit | Lit[] };

type Tok = { t: "(" | ")" | "," } | { t: "op"; v: Op } | { t: "word"; v: string } | { t: "lit"; v: Lit };

const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function tokenize(param: string, text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw badConditions(param, `${what} at position ${i + 1}.`);
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "(" || c === ")" || c === ",") {
      out.push({ t: c });
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === "!=" || two === "<=" || two === ">=" || two === "<>") {
      out.push({ t: "op", v: two === "<>" ? "!=" : (two as Op) });
      i += 2;
      continue;
    }
    if (c === "=" || c === "<" || c === ">") {
      out.push({ t: "op", v: c });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = "";
      while (j < text.length && text[j] !== c) {
        if (text[j] === "\\" && j + 1 < text.length) j++;
        s += text[j];
        j++;
      }
      if (j >= text.length) fail("Unterminated string literal");
      out.push({ t: "lit", v: { k: "string", v: s.replaceAll("[[]", "[") } });
      i = j + 1;
      continue;
    }
    if (c === "[") {
      const j = text.indexOf("]", i);
      if (j < 0) fail("Unterminated DateTime literal");
      const raw = text.slice(i + 1, j).trim();
      const ms = ISO.test(raw)
        ? Date.parse(/[Z+-]\d*:?\d*$/.test(raw.slice(10)) ? raw : `${raw}Z`)
        : Number.NaN;
      if (!Number.isFinite(ms)) fail(`Invalid DateTime literal [${raw}]`);
      out.push({ t: "lit", v: { k: "date", v: ms } });
      i = j + 1;
      continue;
    }
    const num = /^-?\d+(\.\d+)?(?![\w/])/.exec(text.slice(i));
    if (num) {
      out.push({ t: "lit", v: { k: "number", v: Number(num[0]) } });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][\w/]*/.exec(text.slice(i));
    if (!word) fail(`Unexpected character ${JSON.stringify(c)}`);
    const w = (word as RegExpExecArray)[0];
    const lw = w.toLowerCase();
    if (lw === "true" || lw === "false") out.push({ t: "lit", v: { k: "boolean", v: lw === "true" } });
    else if (lw === "null") out.push({ t: "lit", v: { k: "null" } });
    else if (lw === "contains" || lw === "like" || lw === "in") out.push({ t: "op", v: lw });
    else out.push({ t: "word", v: w });
    i += w.length;
  }
  return out;
}

/** Parses one query parameter; `typer` checks every path and literal kind. */
export function parseConditions(param: string, text: string, typer: FieldTyper): Cond {
  const toks = tokenize(param, text);
  let p = 0;
  const fail = (detail: string): never => {
    throw badConditions(param, detail);
  };
  const peekWord = (w: string) => {
    const t = toks[p];
    return t?.t === "word" && t.v.toLowerCase() === w;
  };

  const expr = (): Cond => {
    let left = conj();
    while (peekWord("or")) {
      p++;
      left = { t: "or", a: left, b: conj() };
    }
    return left;
  };
  const conj = (): Cond => {
    let left = atom();
    while (peekWord("and")) {
      p++;
      left = { t: "and", a: left, b: atom() };
    }
    return left;
  };
  const literal = (): Lit => {
    const t = toks[p];
    if (t?.t !== "lit") return fail(`Expected a value after the operator (token ${p + 1}).`);
    p++;
    return t.v;
  };
  const atom = (): Cond => {
    const t = toks[p];
    if (t?.t === "(") {
      p++;
      const inner = expr();
      if (toks[p]?.t !== ")") fail("Missing closing parenthesis.");
      p++;
      return inner;
    }
    if (t?.t !== "word") return fail(`Expected a field name (token ${p + 1}).`);
    p++;
    const path = t.v.split("/").filter((s) => s !== "");
    const kind = typer(path);
    if (kind === undefined) fail(`Unknown field ${t.v}.`);
    let neg = false;
    if (peekWord("not")) {
      neg = true;
      p++;
    }
    const opTok = toks[p];
    if (opTok?.t !== "op") return fail(`Expected an operator after ${t.v}.`);
    p++;
    const op = opTok.v;
    if (neg && !(op === "contains" || op === "like" || op === "in"))
      fail(`"not" must be followed by contains, like or in (field ${t.v}).`);
    let value: Lit | Lit[];
    if (op === "in") {
      if (toks[p]?.t !== "(") fail(`"in" needs a parenthesised list (field ${t.v}).`);
      p++;
      const list: Lit[] = [literal()];
      while (toks[p]?.t === ",") {
        p++;
        list.push(literal());
      }
      if (toks[p]?.t !== ")") fail(`Missing closing parenthesis of the "in" list (field ${t.v}).`);
      p++;
      value = list;
    } else value = literal();
    for (const lit of Array.isArray(value) ? value : [value]) checkKind(param, t.v, kind as Kind, op, lit);
    return { t: "cmp", path, op, neg, value };
  };

  if (toks.length === 0) fail("Empty expression.");
  const tree = expr();
  if (p < toks.length) fail(`Unexpected token ${p + 1}.`);
  return tree;
}

function checkKind(param: string, field: string, kind: Kind, op: Op, lit: Lit): void {
  const fail = (d: string) => {
    throw badConditions(param, d);
  };
  if (lit.k === "null") {
    if (op !== "=" && op !== "!=") fail(`null can only be compared with = or != (field ${field}).`);
    return;
  }
  if (kind === "any") return;
  if ((op === "contains" || op === "like") && kind !== "string")
    fail(`${op} needs a string field; ${field} is ${kind}.`);
  if (lit.k !== kind) fail(`${field} is a ${kind} field and cannot be compared with a ${lit.k} value.`);
  if (kind === "boolean" && op !== "=" && op !== "!=") fail(`${field} is boolean: use = or !=.`);
}

/** Reads a path, keys matched case-insensitively; `aliases` maps a first segment elsewhere (_info). */
export function readPath(rec: unknown, path: string[], aliases: Record<string, string[]> = {}): unknown {
  const first = path[0]?.toLowerCase() ?? "";
  const full =
    aliases[first] && !hasKey(rec, first) ? [...(aliases[first] as string[]), ...path.slice(1)] : path;
  let cur: unknown = rec;
  for (const seg of full) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    const o = cur as Record<string, unknown>;
    const key = seg in o ? seg : Object.keys(o).find((k) => k.toLowerCase() === seg.toLowerCase());
    cur = key === undefined ? undefined : o[key];
  }
  return cur;
}

function hasKey(rec: unknown, lower: string): boolean {
  return rec !== null && typeof rec === "object" && Object.keys(rec).some((k) => k.toLowerCase() === lower);
}

function likeRegex(pattern: string): RegExp {
  const body = [...pattern]
    .map((ch) =>
      ch === "%" || ch === "*" ? ".*" : ch === "_" ? "." : ch.replace(/[.+?^${}()|[\]\\]/g, "\\$&"),
    )
    .join("");
  return new RegExp(`^${body}$`, "is");
}

function compareScalar(value: unknown, op: Op, lit: Lit): boolean {
  if (lit.k === "null")
    return op === "=" ? value === null || value === undefined : value !== null && value !== undefined;
  if (value === null || value === undefined) return false;
  let a: number | string | boolean;
  let b: number | string | boolean;
  if (lit.k === "date") {
    a = typeof value === "string" ? Date.parse(value) : Number.NaN;
    b = lit.v;
    if (!Number.isFinite(a)) return false;
  } else if (lit.k === "string") {
    if (typeof value !== "string") return false;
    a = value.toLowerCase();
    b = lit.v.toLowerCase();
    if (op === "contains") return a.includes(b);
    if (op === "like" || (op === "=" && b.includes("*"))) return likeRegex(lit.v).test(value);
  } else {
    if (typeof value !== typeof lit.v) return false;
    a = value as number | boolean;
    b = lit.v;
  }
  switch (op) {
    case "=":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
    default:
      return false;
  }
}

/** Evaluates a tree against one record (or array element). */
export function evaluate(cond: Cond, rec: unknown, aliases: Record<string, string[]> = {}): boolean {
  if (cond.t !== "cmp")
    return cond.t === "and"
      ? evaluate(cond.a, rec, aliases) && evaluate(cond.b, rec, aliases)
      : evaluate(cond.a, rec, aliases) || evaluate(cond.b, rec, aliases);
  const value = readPath(rec, cond.path, aliases);
  if (cond.op === "in") {
    const hit = (cond.value as Lit[]).some((l) => compareScalar(value, "=", l));
    return value === null || value === undefined ? false : cond.neg ? !hit : hit;
  }
  const r = compareScalar(value, cond.op, cond.value as Lit);
  if (!cond.neg) return r;
  return value === null || value === undefined ? false : !r;
}

function firstSegments(cond: Cond, into = new Set<string>()): Set<string> {
  if (cond.t === "cmp") into.add((cond.path[0] ?? "").toLowerCase());
  else {
    firstSegments(cond.a, into);
    firstSegments(cond.b, into);
  }
  return into;
}

function strip(cond: Cond): Cond {
  if (cond.t === "cmp") return { ...cond, path: cond.path.slice(1) };
  return { ...cond, a: strip(cond.a), b: strip(cond.b) };
}

/**
 * `childConditions`: paths start with an array field of the record. When the expression names one
 * array, one element must satisfy all of it; otherwise each comparison needs some matching element.
 */
export function evaluateChild(cond: Cond, rec: unknown): boolean {
  const arrays = firstSegments(cond);
  if (arrays.size === 1) {
    const [name] = [...arrays];
    const items = readPath(rec, [name as string]);
    const inner = strip(cond);
    return Array.isArray(items) && items.some((e) => evaluate(inner, e));
  }
  const each = (c: Cond): boolean => {
    if (c.t !== "cmp") return c.t === "and" ? each(c.a) && each(c.b) : each(c.a) || each(c.b);
    const items = readPath(rec, [c.path[0] as string]);
    const inner = strip(c);
    return Array.isArray(items) && items.some((e) => evaluate(inner, e));
  };
  return each(cond);
}

/** `customFieldConditions`: one custom field value of the record must satisfy the expression. */
export function evaluateCustom(cond: Cond, rec: unknown): boolean {
  const items = readPath(rec, ["customFields"]);
  return Array.isArray(items) && items.some((e) => evaluate(cond, e));
}

export const CUSTOM_FIELD_TYPER: FieldTyper = (path) => {
  if (path.length !== 1) return undefined;
  const f = (path[0] as string).toLowerCase();
  if (f === "id" || f === "numberofdecimals") return "number";
  if (f === "caption" || f === "type" || f === "entrymethod") return "string";
  if (f === "value") return "any";
  return undefined;
};

// ---- orderBy and fields -------------------------------------------------------------------------

export interface OrderKey {
  path: string[];
  desc: boolean;
}

export function parseOrderBy(text: string, typer: FieldTyper): OrderKey[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .map((part) => {
      const m = /^([A-Za-z_][\w/]*)(?:\s+(asc|desc))?$/i.exec(part);
      if (!m) throw badConditions("orderBy", `Cannot parse ${JSON.stringify(part)}; use "field asc|desc".`);
      const path = (m[1] as string).split("/");
      if (typer(path) === undefined) throw badConditions("orderBy", `Unknown field ${m[1]}.`);
      return { path, desc: (m[2] ?? "asc").toLowerCase() === "desc" };
    });
}

function cmpValues(a: unknown, b: unknown): number {
  const an = a === null || a === undefined;
  const bn = b === null || b === undefined;
  if (an || bn) return an === bn ? 0 : an ? -1 : 1;
  if (typeof a === "string" && typeof b === "string") {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "boolean" || typeof b === "boolean") return Number(a) - Number(b);
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

export function sortRows<T extends { id: number }>(
  rows: T[],
  keys: OrderKey[],
  aliases: Record<string, string[]> = {},
): T[] {
  return [...rows].sort((x, y) => {
    for (const k of keys) {
      const c = cmpValues(readPath(x, k.path, aliases), readPath(y, k.path, aliases));
      if (c !== 0) return k.desc ? -c : c;
    }
    return x.id - y.id;
  });
}

/** `fields=id,name,status/id`: keeps only the named paths (keys as stored). */
export function projectFields(rec: Record<string, unknown>, fields: string[][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of fields) {
    let src: unknown = rec;
    let dst = out;
    for (let i = 0; i < path.length; i++) {
      if (src === null || typeof src !== "object" || Array.isArray(src)) break;
      const o = src as Record<string, unknown>;
      const seg = path[i] as string;
      const key = seg in o ? seg : Object.keys(o).find((k) => k.toLowerCase() === seg.toLowerCase());
      if (key === undefined) break;
      if (i === path.length - 1) dst[key] = o[key];
      else {
        if (o[key] === null || typeof o[key] !== "object" || Array.isArray(o[key])) {
          dst[key] = o[key];
          break;
        }
        dst[key] = (dst[key] as Record<string, unknown> | undefined) ?? {};
        dst = dst[key] as Record<string, unknown>;
      }
      src = o[key];
    }
  }
  return out;
}

export function parseFields(text: string): string[][] {
  return text
    .split(",")
    .map((f) => f.trim())
    .filter((f) => f !== "")
    .map((f) => f.split("/").filter((s) => s !== ""));
}
