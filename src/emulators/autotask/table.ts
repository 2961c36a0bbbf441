/**
 * Rows of one entity: ids kept sorted and per-field hash indexes built on first use, which keeps
 * `companyID eq …` and `id gt …` paging fast on 10k+ rows (see query.ts).
 */
import type { EntityDef } from "./entities.js";
import type { Row } from "./hooks.js";

type IndexKey = string | number | boolean | null;

/** Normalises a value for hash indexes and equality: strings compare case-insensitively. */
export function indexKey(v: unknown): IndexKey {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v.toLowerCase();
  if (typeof v === "number" || typeof v === "boolean") return v;
  return String(v);
}

function lowerBound(arr: number[], x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((arr[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sortedInsert(arr: number[], x: number): void {
  if (arr.length === 0 || (arr[arr.length - 1] as number) < x) {
    arr.push(x);
    return;
  }
  const i = lowerBound(arr, x);
  if (arr[i] !== x) arr.splice(i, 0, x);
}

function sortedRemove(arr: number[], x: number): void {
  const i = lowerBound(arr, x);
  if (arr[i] === x) arr.splice(i, 1);
}

/** Rows of one entity in one tenant. */
export class Table {
  readonly rows = new Map<number, Row>();
  /** Ids in ascending order: the stable order of query results (docs/autotask.md, Paging and counts). */
  readonly ids: number[] = [];
  private readonly indexes = new Map<string, Map<IndexKey, number[]>>();

  constructor(readonly def: EntityDef) {}

  get(id: number): Row | undefined {
    return this.rows.get(id);
  }

  put(row: Row): void {
    const id = row["id"] as number;
    const old = this.rows.get(id);
    this.rows.set(id, row);
    if (!old) sortedInsert(this.ids, id);
    for (const [field, index] of this.indexes) {
      const before = old ? indexKey(old[field]) : undefined;
      const after = indexKey(row[field]);
      if (old && before === after) continue;
      if (old) {
        const list = index.get(before as IndexKey);
        if (list) sortedRemove(list, id);
      }
      const list = index.get(after);
      if (list) sortedInsert(list, id);
      else index.set(after, [id]);
    }
  }

  delete(id: number): Row | undefined {
    const old = this.rows.get(id);
    if (!old) return undefined;
    this.rows.delete(id);
    sortedRemove(this.ids, id);
    for (const [field, index] of this.indexes) {
      const list = index.get(indexKey(old[field]));
      if (list) sortedRemove(list, id);
    }
    return old;
  }

  /** Sorted ids of rows whose `field` equals `key` (an index built on first use, kept up to date). */
  lookup(field: string, key: IndexKey): readonly number[] {
    let index = this.indexes.get(field);
    if (!index) {
      index = new Map();
      for (const id of this.ids) {
        const k = indexKey((this.rows.get(id) as Row)[field]);
        const list = index.get(k);
        if (list) list.push(id);
        else index.set(k, [id]);
      }
      this.indexes.set(field, index);
    }
    return index.get(key) ?? [];
  }
}
