import type { Clock } from "../../lib/clock.js";
import type { Client, Device } from "../../portal/types.js";
import type { PsaAsset, PsaSession } from "../../psa/connector.js";
import type { Link, LinkStore } from "../links.js";
import { LiveReadCache } from "../live-cache.js";
import type { SyncPortal } from "../portal-port.js";
import { analyse, type ReconciliationItem } from "./analysis.js";

/** Companies whose CIs one view reads at most (each is one list request per 500 CIs). */
export const MAX_COMPANIES_PER_VIEW = 100;
/** Linked CIs outside the partner's companies one view looks up one by one at most. */
export const MAX_STRAY_READS = 50;

export interface Loaded {
  mapped: Array<{ client: Client; devices: Device[] }>;
  links: Map<number, Link>;
  items: ReconciliationItem[];
  companies: { read: number; skipped: Array<{ id: number; name: string }> };
  apiCalls: number;
}

/**
 * What the reconciliation view reads: the partner's mapped clients and their devices, the device links,
 * and each mapped company's CIs from the PSA (bounded per view, reused for a short time-to-live), then
 * the analysis (./analysis.ts).
 */
export class ReconciliationReader {
  readonly #cache: LiveReadCache;

  constructor(private readonly o: { clock: Clock; portal: SyncPortal; links: LinkStore; ttlMs: number }) {
    this.#cache = new LiveReadCache(() => o.clock.now().getTime(), o.ttlMs);
  }

  /** Forgets the partner's cached PSA reads (after an action, or a refresh). */
  forget(partnerId: number): void {
    this.#cache.forget(partnerId);
  }

  async mapped(partnerId: number): Promise<Array<{ client: Client; devices: Device[] }>> {
    const clients = (await this.o.portal.clients(partnerId)).filter((c) => c.psaCompanyId !== null);
    const out = [];
    for (const client of clients) out.push({ client, devices: await this.o.portal.devices(client.id) });
    return out;
  }

  async load(partnerId: number, session: PsaSession): Promise<Loaded> {
    const before = session.stats().requests;
    const [mapped, links] = await Promise.all([
      this.mapped(partnerId),
      this.o.links.all(partnerId, "device"),
    ]);
    const companyNames = new Map<number, string>();
    for (const { client } of mapped)
      if (client.psaCompanyName) companyNames.set(client.psaCompanyId as number, client.psaCompanyName);
    const companyIds = [...new Set(mapped.map((m) => m.client.psaCompanyId as number))];
    const read = companyIds.slice(0, MAX_COMPANIES_PER_VIEW);
    const cisByCompany = new Map<number, PsaAsset[]>();
    for (const id of read)
      cisByCompany.set(
        id,
        await this.#cache.get(`cis:${id}:${partnerId}`, session.key, () => session.assets.listByCompany(id)),
      );
    // Linked CIs found in none of those companies: one look-up each, bounded.
    const seen = new Set([...cisByCompany.values()].flat().map((c) => c.id));
    const readCompanies = new Set(read);
    const devicesRead = new Set(
      mapped
        .filter((m) => readCompanies.has(m.client.psaCompanyId as number))
        .flatMap((m) => m.devices.map((d) => d.id)),
    );
    const strays = new Map<number, PsaAsset | null>();
    const wanted = [...links.values()].filter((l) => devicesRead.has(l.portalId) && !seen.has(l.psaId));
    for (const l of wanted.slice(0, MAX_STRAY_READS))
      strays.set(
        l.psaId,
        await this.#cache.get(`ci:${l.psaId}:${partnerId}`, session.key, () => session.assets.get(l.psaId)),
      );
    const unnamed = [
      ...new Set([...read, ...[...strays.values()].flatMap((c) => (c ? [c.companyId] : []))]),
    ].filter((id) => !companyNames.has(id));
    if (unnamed.length > 0 && session.companies) {
      const port = session.companies;
      const found = await this.#cache.get(`companies:${unnamed.join(",")}:${partnerId}`, session.key, () =>
        port.byIds(unnamed),
      );
      for (const c of found) companyNames.set(c.id, c.name);
    }
    const inRead = mapped.filter((m) => readCompanies.has(m.client.psaCompanyId as number));
    const items = analyse({
      clients: inRead,
      links,
      cisByCompany,
      strays,
      companyNames,
      assets: session.assets,
    });
    const skipped = companyIds
      .slice(MAX_COMPANIES_PER_VIEW)
      .map((id) => ({ id, name: companyNames.get(id) ?? `company ${id}` }));
    return {
      mapped,
      links,
      items,
      companies: { read: read.length, skipped },
      apiCalls: session.stats().requests - before,
    };
  }
}
