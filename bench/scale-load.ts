/**
 * The ticket side of the scale benchmark (bench/scale.ts): portal tickets created and edited through
 * the REST API at a steady rate across every partner, and a watcher that reads each partner's
 * emulator tenant (admin API: no API requests, no limits) until every edit's title is there.
 */

/** What the load needs of the rest of the bench. */
export interface LoadTarget {
  partners: Array<{ id: number; tenant: string; clientIds: number[] }>;
  /** An authenticated call to the nocbridge API; rejects on a non-2xx answer. */
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** A tenant's Tickets as the emulator stores them. */
  tickets(
    tenant: string,
  ): Promise<
    Array<{ id: number; title: string; externalID?: string | null; lastActivityDate?: string | null }>
  >;
}

interface Edit {
  slot: string;
  seq: number;
  title: string;
  tenant: string;
  startedAt: number;
  /** The same instant on the wall clock (the emulator stamps its writes with it). */
  startedWall: number;
  /** When the emulator wrote the title: the ticket's lastActivityDate when the watcher saw it. */
  writtenWall: number | null;
  /** When the watcher saw it (or a later edit of the same ticket, which carries it over). */
  seenAt: number | null;
  superseded: boolean;
  /** The op that created the ticket (it waits behind its partner's onboarding set-up). */
  create: boolean;
}

export interface LoadResult {
  /** Creates plus edits that the API accepted. */
  ops: number;
  creates: number;
  failures: string[];
  /** ms from the API request to the watcher seeing the title in the tenant, sorted. */
  latencies: number[];
  /** The same, of edits only (a ticket's create excluded), sorted. */
  editLatencies: number[];
  /** Edits never seen (by the end of the settle time). */
  lost: number;
  /** Edits overtaken by a later edit of the same ticket before theirs was seen. */
  superseded: number;
  /**
   * ms from the API request to the emulator's write of the title (its lastActivityDate), of edits only,
   * sorted: the sync's own latency, free of the watcher's sweep.
   */
  editWriteLatencies: number[];
  /** The same, of creates. */
  createWriteLatencies: number[];
  /** Per 10 s of the load (by when the op was sent): ops, and the slowest op's ms to be seen. */
  timeline: Array<{ atS: number; ops: number; maxMs: number }>;
  /** Mean time of one sweep over the tenants with edits outstanding, ms (the reading's granularity). */
  sweepMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * Op k (every 1/rate s, drift-free) goes to partner k mod P; each partner has `perPartner` ticket
 * slots, and its first ops create them (title, client), later ones set a new title on them in turn.
 * `perPartner` is chosen by the caller so that one ticket is edited every ~10 s: each edit crosses
 * before the next one of that ticket, so coalescing is rare and counted when it happens.
 */
export class TicketLoad {
  readonly #t: LoadTarget;
  readonly #rate: number;
  readonly #perPartner: number;
  readonly #pending = new Map<string, Edit[]>();
  readonly #ticketOf = new Map<string, Promise<number | null>>();
  readonly #all: Edit[] = [];
  readonly #failures: string[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #creates = 0;
  #stopLoad = false;
  #stopWatch = false;
  #sweeps = 0;
  #sweepTotalMs = 0;
  #loadDone: Promise<void> = Promise.resolve();
  #watchDone: Promise<void> = Promise.resolve();

  constructor(target: LoadTarget, rate: number, perPartner: number) {
    this.#t = target;
    this.#rate = rate;
    this.#perPartner = perPartner;
  }

  start(): void {
    this.#loadDone = this.#load();
    this.#watchDone = this.#watch();
  }

  /** Stops issuing ops, waits for their answers, then for every edit to be seen or `settleMs`. */
  async finish(settleMs: number): Promise<LoadResult> {
    this.#stopLoad = true;
    await this.#loadDone;
    await Promise.all(this.#inFlight);
    const end = performance.now() + settleMs;
    while (this.#outstanding() > 0 && performance.now() < end) await sleep(100);
    this.#stopWatch = true;
    await this.#watchDone;
    const seen = this.#all.filter((e) => e.seenAt !== null);
    return {
      ops: this.#all.length,
      creates: this.#creates,
      failures: this.#failures,
      latencies: seen.map((e) => (e.seenAt as number) - e.startedAt).sort((a, b) => a - b),
      editLatencies: seen
        .filter((e) => !e.create)
        .map((e) => (e.seenAt as number) - e.startedAt)
        .sort((a, b) => a - b),
      editWriteLatencies: seen
        .filter((e) => !e.create && !e.superseded && e.writtenWall !== null)
        .map((e) => (e.writtenWall as number) - e.startedWall)
        .sort((a, b) => a - b),
      createWriteLatencies: seen
        .filter((e) => e.create && !e.superseded && e.writtenWall !== null)
        .map((e) => (e.writtenWall as number) - e.startedWall)
        .sort((a, b) => a - b),
      timeline: this.#timeline(seen),
      lost: this.#all.length - seen.length,
      superseded: seen.filter((e) => e.superseded).length,
      sweepMs: this.#sweeps > 0 ? this.#sweepTotalMs / this.#sweeps : 0,
    };
  }

  #timeline(seen: Edit[]): LoadResult["timeline"] {
    const t0 = Math.min(...this.#all.map((e) => e.startedAt));
    const buckets = new Map<number, { ops: number; maxMs: number }>();
    for (const e of seen) {
      const b = Math.floor((e.startedAt - t0) / 10_000) * 10;
      const cur = buckets.get(b) ?? { ops: 0, maxMs: 0 };
      cur.ops++;
      cur.maxMs = Math.max(cur.maxMs, Math.round((e.seenAt as number) - e.startedAt));
      buckets.set(b, cur);
    }
    return [...buckets].sort(([a], [b]) => a - b).map(([atS, v]) => ({ atS, ...v }));
  }

  #outstanding(): number {
    let n = 0;
    for (const list of this.#pending.values()) n += list.length;
    return n;
  }

  async #load(): Promise<void> {
    const { partners } = this.#t;
    const t0 = performance.now();
    for (let k = 0; !this.#stopLoad; k++) {
      const wait = t0 + (k * 1000) / this.#rate - performance.now();
      if (wait > 0) await sleep(wait);
      if (this.#stopLoad) break;
      const pi = k % partners.length;
      const partner = partners[pi] as (typeof partners)[number];
      const round = Math.floor(k / partners.length);
      const s = round % this.#perPartner;
      const slot = `${pi}:${s}`;
      const title = `Scale p${pi} t${s} op${k}`;
      const p = round < this.#perPartner ? this.#create(partner, slot, s, title) : this.#edit(slot, title);
      const tracked = p
        .catch((e: unknown) => {
          this.#failures.push(`op ${k}: ${e instanceof Error ? e.message : String(e)}`);
        })
        .finally(() => this.#inFlight.delete(tracked));
      this.#inFlight.add(tracked);
    }
  }

  #track(slot: string, title: string, create = false): Edit {
    const tenant = this.#t.partners[Number(slot.split(":")[0])]?.tenant as string;
    const e: Edit = {
      slot,
      seq: this.#all.length,
      title,
      tenant,
      startedAt: performance.now(),
      startedWall: Date.now(),
      writtenWall: null,
      seenAt: null,
      superseded: false,
      create,
    };
    this.#all.push(e);
    const list = this.#pending.get(tenant) ?? [];
    list.push(e);
    this.#pending.set(tenant, list);
    return e;
  }

  #untrack(e: Edit): void {
    this.#all.splice(this.#all.indexOf(e), 1);
    const list = this.#pending.get(e.tenant) ?? [];
    const i = list.indexOf(e);
    if (i >= 0) list.splice(i, 1);
  }

  #create(partner: LoadTarget["partners"][number], slot: string, s: number, title: string): Promise<void> {
    const e = this.#track(slot, title, true);
    const created = this.#t
      .api<{ id: number }>("POST", `/api/partners/${partner.id}/tickets`, {
        clientId: partner.clientIds[s % partner.clientIds.length],
        title,
        description: "Scale benchmark ticket",
        statusId: 1,
        priorityId: 9,
      })
      .then((t) => t.id)
      .catch((err: unknown) => {
        this.#untrack(e);
        throw err;
      });
    this.#ticketOf.set(
      slot,
      created.catch(() => null),
    );
    this.#creates++;
    return created.then(() => undefined);
  }

  async #edit(slot: string, title: string): Promise<void> {
    // The slot's create may still be on its way (a slow API): the edit follows it.
    const id = await this.#ticketOf.get(slot);
    if (id === null || id === undefined) return;
    const e = this.#track(slot, title);
    try {
      await this.#t.api("PATCH", `/api/tickets/${id}`, { title });
    } catch (err) {
      this.#untrack(e);
      throw err;
    }
  }

  /** Sweeps the tenants with edits outstanding, one after another, until told to stop. */
  async #watch(): Promise<void> {
    while (!this.#stopWatch) {
      const started = performance.now();
      const tenants = [...this.#pending].filter(([, l]) => l.length > 0).map(([t]) => t);
      for (const tenant of tenants) {
        let rows: Awaited<ReturnType<LoadTarget["tickets"]>>;
        try {
          rows = await this.#t.tickets(tenant);
        } catch {
          continue;
        }
        const at = performance.now();
        const written = new Map(rows.map((r) => [r.title, r.lastActivityDate ?? null]));
        const list = this.#pending.get(tenant) ?? [];
        for (const e of list) {
          if (!written.has(e.title)) continue;
          const stamp = written.get(e.title);
          e.writtenWall = stamp ? Date.parse(stamp) : null;
          this.#seen(e, at);
        }
        this.#pending.set(
          tenant,
          list.filter((e) => e.seenAt === null),
        );
      }
      if (tenants.length > 0) {
        this.#sweeps++;
        this.#sweepTotalMs += performance.now() - started;
      }
      await sleep(50);
    }
  }

  /** An edit seen; earlier edits of the same ticket not seen yet were overwritten by it. */
  #seen(e: Edit, at: number): void {
    e.seenAt = at;
    for (const other of this.#pending.get(e.tenant) ?? [])
      if (other.slot === e.slot && other.seq < e.seq && other.seenAt === null) {
        other.seenAt = at;
        other.superseded = true;
      }
  }
}

/** Nearest-rank percentile of sorted numbers. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
