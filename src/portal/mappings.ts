import { type Actor, requirePartnerRow } from "./access.js";
import { DEFAULT_MAPPINGS, MAPPING_KINDS, type MappingKind } from "./catalog.js";
import type { PortalContext, Q } from "./context.js";
import { toMapping } from "./convert.js";
import { notFound } from "./errors.js";
import { checkMappingRows, type MappingRowInput, type PsaNames } from "./mapping-rules.js";
import type { MappingEntry } from "./types.js";

export { type MappingRowInput, mappingFieldNames } from "./mapping-rules.js";

/**
 * The partner's mapping tables: portal status → PSA status (forward), PSA status → portal status
 * (reverse), PSA priority → portal priority. A table is replaced whole; a bad row rejects the request.
 */
export class Mappings {
  readonly #ctx: PortalContext;
  /** How messages name the partner's PSA and its status scope (from its integration settings). */
  readonly #psaNames: (partnerId: number) => Promise<PsaNames>;

  constructor(ctx: PortalContext, psaNames: (partnerId: number) => Promise<PsaNames>) {
    this.#ctx = ctx;
    this.#psaNames = psaNames;
  }

  async get(actor: Actor, partnerId: number, kind: MappingKind): Promise<MappingEntry[]> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId);
    return this.#rows(this.#ctx.k, partnerId, kind);
  }

  /**
   * Replaces a whole table (the UI's "Save table": rows added, changed and removed in one request).
   * Rows are checked first; a bad row rejects the request, naming the value and the row, and nothing
   * changes.
   */
  async put(
    actor: Actor,
    partnerId: number,
    kind: MappingKind,
    rows: MappingRowInput[],
  ): Promise<MappingEntry[]> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId, "mapping:write");
    checkMappingRows(kind, rows, await this.#psaNames(partnerId));
    return this.#ctx.k.transaction().execute(async (trx) => {
      await trx.deleteFrom("mappings").where("partner_id", "=", partnerId).where("kind", "=", kind).execute();
      await insertMappings(trx, partnerId, kind, rows);
      await this.#ctx.audit(
        trx,
        actor,
        partnerId,
        "mapping.update",
        `partner:${partnerId}/mappings/${kind}`,
        {
          rows,
        },
      );
      return this.#rows(trx, partnerId, kind);
    });
  }

  /** Adds one row at the end of a table ("add mapping"). */
  async add(
    actor: Actor,
    partnerId: number,
    kind: MappingKind,
    row: MappingRowInput,
  ): Promise<MappingEntry[]> {
    const current = await this.get(actor, partnerId, kind);
    const rows = current.map(mappingRowOf);
    return this.put(actor, partnerId, kind, [...rows, row]);
  }

  /** Removes one row ("remove"). */
  async remove(actor: Actor, partnerId: number, kind: MappingKind, rowId: number): Promise<MappingEntry[]> {
    const current = await this.get(actor, partnerId, kind);
    if (!current.some((m) => m.id === rowId)) throw notFound(`row ${rowId} of the ${kind} mapping table`);
    const rows = current.filter((m) => m.id !== rowId).map(mappingRowOf);
    return this.put(actor, partnerId, kind, rows);
  }

  /** A new partner's tables: the defaults of the catalog, in the caller's transaction. */
  async createDefaults(q: Q, partnerId: number): Promise<void> {
    for (const kind of MAPPING_KINDS) {
      await insertMappings(
        q,
        partnerId,
        kind,
        DEFAULT_MAPPINGS[kind].map(([portalId, psaId, psaLabel]) => ({ portalId, psaId, psaLabel })),
      );
    }
  }

  async #rows(q: Q, partnerId: number, kind: MappingKind): Promise<MappingEntry[]> {
    const rows = await q
      .selectFrom("mappings")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .where("kind", "=", kind)
      .orderBy("position")
      .execute();
    return rows.map(toMapping);
  }
}

async function insertMappings(
  q: Q,
  partnerId: number,
  kind: MappingKind,
  rows: MappingRowInput[],
): Promise<void> {
  if (rows.length === 0) return;
  await q
    .insertInto("mappings")
    .values(
      rows.map((r, position) => ({
        partner_id: partnerId,
        kind,
        portal_id: r.portalId,
        psa_id: r.psaId,
        psa_label: r.psaLabel ?? "",
        scope: r.scope ?? null,
        position,
      })),
    )
    .execute();
}

const mappingRowOf = (m: MappingEntry): MappingRowInput => ({
  portalId: m.portalId,
  psaId: m.psaId,
  psaLabel: m.psaLabel,
  scope: m.scope,
});
