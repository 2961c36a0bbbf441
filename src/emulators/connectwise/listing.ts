/**
 * List reads: filters (`conditions`, `childConditions`, `customFieldConditions`), `orderBy`,
 * `fields`, and both kinds of paging — navigable (`page`/`pageSize`, Link header with first, prev,
 * next, last) and forward-only (`pagination-type: forward-only` + `pageId`, keyset by id, a Link to
 * the next pageId).
 */
import {
  CUSTOM_FIELD_TYPER,
  evaluate,
  evaluateChild,
  evaluateCustom,
  type FieldTyper,
  parseConditions,
  parseFields,
  parseOrderBy,
  projectFields,
  sortRows,
} from "./conditions.js";
import { badRequest } from "./errors.js";
import { INFO_ALIASES } from "./schema.js";
import type { Rec } from "./store.js";

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 1000;

/** The query of a list read; keys of the query string match case-insensitively. */
export interface ListQuery {
  conditions?: string;
  childConditions?: string;
  customFieldConditions?: string;
  orderBy?: string;
  fields?: string;
  page?: string;
  pageSize?: string;
  pageId?: string;
}

const KEYS: (keyof ListQuery)[] = [
  "conditions",
  "childConditions",
  "customFieldConditions",
  "orderBy",
  "fields",
  "page",
  "pageSize",
  "pageId",
];

/** Reads the known parameters from a query string (and a /search body, which wins). */
export function listQuery(params: URLSearchParams, body?: Record<string, unknown>): ListQuery {
  const q: ListQuery = {};
  for (const [k, v] of params) {
    const key = KEYS.find((x) => x.toLowerCase() === k.toLowerCase());
    if (key) q[key] = v;
  }
  if (body) {
    for (const [k, v] of Object.entries(body)) {
      const key = KEYS.find((x) => x.toLowerCase() === k.toLowerCase());
      if (key && typeof v === "string") q[key] = v;
      else if (key && v !== null && v !== undefined)
        throw badRequest(`The ${k} search field must be a string.`);
    }
  }
  return q;
}

export interface Typers {
  fields: FieldTyper;
  child: FieldTyper;
}

/** Applies the three filters; returns the matching rows in id order. */
export function filterRows(rows: Rec[], q: ListQuery, typers: Typers): Rec[] {
  let out = rows;
  if (q.conditions?.trim()) {
    const c = parseConditions("conditions", q.conditions, typers.fields);
    out = out.filter((r) => evaluate(c, r, INFO_ALIASES));
  }
  if (q.childConditions?.trim()) {
    const c = parseConditions("childConditions", q.childConditions, typers.child);
    out = out.filter((r) => evaluateChild(c, r));
  }
  if (q.customFieldConditions?.trim()) {
    const c = parseConditions("customFieldConditions", q.customFieldConditions, CUSTOM_FIELD_TYPER);
    out = out.filter((r) => evaluateCustom(c, r));
  }
  return [...out].sort((a, b) => a.id - b.id);
}

export interface Page {
  rows: Rec[];
  link?: string | undefined;
}

function intParam(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined || v === "") return undefined;
  if (!/^-?\d+$/.test(v.trim()) || Number(v) < min)
    throw badRequest(`The ${name} parameter must be an integer of at least ${min}.`);
  return Number(v);
}

/**
 * One page of `rows` (already filtered). `selfUrl` is the absolute URL of the request; links
 * repeat it with the page (or pageId) replaced.
 */
export function pageOf(
  rows: Rec[],
  q: ListQuery,
  typer: FieldTyper,
  selfUrl: URL,
  forwardOnly: boolean,
  forwardOnlyLinkOnLastPage: boolean,
): Page {
  const pageSize = Math.min(intParam("pageSize", q.pageSize, 1) ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  const linkTo = (set: Record<string, number>) => {
    const u = new URL(selfUrl);
    for (const [k, v] of Object.entries(set)) {
      for (const key of [...u.searchParams.keys()])
        if (key.toLowerCase() === k.toLowerCase()) u.searchParams.delete(key);
      u.searchParams.set(k, String(v));
    }
    return u.toString();
  };
  if (forwardOnly) {
    if (q.orderBy?.trim())
      throw badRequest("orderBy is not supported with forward-only pagination (rows come in id order).");
    const after = intParam("pageId", q.pageId, 0) ?? 0;
    const page = rows.filter((r) => r.id > after).slice(0, pageSize);
    const last = page[page.length - 1];
    const more = page.length === pageSize || forwardOnlyLinkOnLastPage;
    return { rows: page, link: last && more ? `<${linkTo({ pageId: last.id })}>; rel="next"` : undefined };
  }
  const sorted = q.orderBy?.trim() ? sortRows(rows, parseOrderBy(q.orderBy, typer), INFO_ALIASES) : rows;
  const page = intParam("page", q.page, 1) ?? 1;
  const lastPage = Math.max(1, Math.ceil(sorted.length / pageSize));
  const links: string[] = [];
  if (page > 1) {
    links.push(`<${linkTo({ pageSize, page: 1 })}>; rel="first"`);
    links.push(`<${linkTo({ pageSize, page: Math.min(page - 1, lastPage) })}>; rel="prev"`);
  }
  if (page < lastPage) {
    links.push(`<${linkTo({ pageSize, page: page + 1 })}>; rel="next"`);
    links.push(`<${linkTo({ pageSize, page: lastPage })}>; rel="last"`);
  }
  return {
    rows: sorted.slice((page - 1) * pageSize, page * pageSize),
    link: links.length > 0 ? links.join(", ") : undefined,
  };
}

/** `fields=` projection of output objects (no parameter: unchanged). */
export function projector(q: ListQuery): (o: Record<string, unknown>) => Record<string, unknown> {
  if (!q.fields?.trim()) return (o) => o;
  const fields = parseFields(q.fields);
  return (o) => projectFields(o, fields);
}
