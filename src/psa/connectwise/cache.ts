/**
 * What a partner's ConnectWise connection remembers between calls, to save requests: which ticket a
 * note belongs to (ConnectWise has no note lookup by id alone), a ticket's description note, each
 * configuration's custom-field array (a write must send the whole array), the custom-field
 * definitions of configurations and who ConnectWise names as the writer of our own writes. Everything here can be read again from ConnectWise; losing it
 * only costs a request.
 */
import type { CwCustomField } from "./types.js";

/** A Map that forgets its oldest entries past `max`. */
export class BoundedMap<K, V> {
  readonly #m = new Map<K, V>();
  constructor(private readonly max: number) {}

  get(k: K): V | undefined {
    return this.#m.get(k);
  }

  set(k: K, v: V): void {
    this.#m.delete(k);
    this.#m.set(k, v);
    while (this.#m.size > this.max) {
      const oldest = this.#m.keys().next();
      if (oldest.done) break;
      this.#m.delete(oldest.value);
    }
  }

  delete(k: K): void {
    this.#m.delete(k);
  }
}

export interface ConnectWiseCache {
  /** note id → ticket id */
  noteTicket: BoundedMap<number, number>;
  /** ticket id → its description note's id */
  descriptionNote: BoundedMap<number, number>;
  /** configuration id → its customFields array as last read or written */
  configurationCustom: BoundedMap<number, CwCustomField[]>;
  /** caption (lower case) → definition, once any configuration showed them; null = not known yet */
  customFieldDefs: Map<string, CwCustomField> | null;
  /** signing key by key_url, and when it was fetched */
  signingKeys: BoundedMap<string, { key: string; at: number }>;
  /**
   * Who ConnectWise names as the writer of our own writes (`_info.updatedBy` of a record we just
   * wrote: our API member); null until this connection has written something.
   */
  ourUpdater: string | null;
}

export function newCache(): ConnectWiseCache {
  return {
    noteTicket: new BoundedMap(50_000),
    descriptionNote: new BoundedMap(20_000),
    configurationCustom: new BoundedMap(50_000),
    customFieldDefs: null,
    signingKeys: new BoundedMap(20),
    ourUpdater: null,
  };
}

/** Learns the custom-field definitions from a record's array (it lists every field of its screen). */
export function learnDefs(cache: ConnectWiseCache, fields: CwCustomField[] | null | undefined): void {
  if (!Array.isArray(fields) || fields.length === 0) return;
  const defs = cache.customFieldDefs ?? new Map<string, CwCustomField>();
  for (const f of fields) {
    if (typeof f?.id !== "number" || typeof f.caption !== "string") continue;
    const { value: _value, ...def } = f;
    defs.set(f.caption.toLowerCase(), def);
  }
  cache.customFieldDefs = defs;
}
