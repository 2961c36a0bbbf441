import { type Actor, requirePartnerRow } from "./access.js";
import {
  DEFAULT_MAPPINGS,
  MAPPING_KINDS,
  type MappingKind,
  PORTAL_PRIORITY_IDS,
  PORTAL_STATUS_IDS,
} from "./catalog.js";
import type { PortalContext, Q } from "./context.js";
import { toMapping } from "./convert.js";
import { invalid, notFound } from "./errors.js";
import type { MappingEntry } from "./types.js";

/** One row of a mapping table as the API reads and writes it. */
export interface MappingRowInput {
  portalId: number;
  psaId: number;
  psaLabel?: string;
  /** What the PSA value belongs to (a ConnectWise status's board); omitted or null: no scope. */
  scope?: number | null;
}

/**
 * The partner's mapping tables: portal status → PSA status (forward), PSA status → portal status
 * (reverse), PSA priority → portal priority. A table is replaced whole; a bad row rejects the request.
 */
export class Mappings {
  readonly #ctx: PortalContext;

  constructor(ctx: PortalContext) {
    this.#ctx = ctx;
  }

  async get(actor: Actor, partnerId: number, kind: MappingKind): Promise<MappingEntry[]> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId);
    return this.#rows(this.#ctx.k, partnerId, kind);
  }

  /** Replaces a whole table. Rows are checked first; a bad row rejects the request and nothing changes. */
  async put(
    actor: Actor,
    partnerId: number,
    kind: MappingKind,
    rows: MappingRowInput[],
  ): Promise<MappingEntry[]> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId, "mapping:write");
    checkMappingRows(kind, rows);
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
    if (!current.some((m) => m.id === rowId)) throw notFound("mapping row");
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

/**
 * The rules of each table: forward maps each portal status once; reverse maps each PSA status once;
 * the priority table maps each PSA priority once (several may share a portal priority — read right to
 * left, the first row wins). Where PSA values belong to a scope (a board), each rule holds per scope.
 */
function checkMappingRows(kind: MappingKind, rows: MappingRowInput[]): void {
  const names = mappingFieldNames(kind);
  const seen = new Set<string>();
  rows.forEach((r, i) => {
    const portalOk =
      kind === "priority" ? PORTAL_PRIORITY_IDS.has(r.portalId) : PORTAL_STATUS_IDS.has(r.portalId);
    if (!portalOk)
      throw invalid(
        `rows[${i}].${names.portal}`,
        `${r.portalId} is not a portal ${kind === "priority" ? "priority" : "status"} id`,
      );
    if (!Number.isInteger(r.psaId) || r.psaId < 0)
      throw invalid(`rows[${i}].${names.psa}`, "must be a non-negative integer");
    if (r.scope !== undefined && r.scope !== null && (!Number.isInteger(r.scope) || r.scope < 0))
      throw invalid(`rows[${i}].scope`, "must be a non-negative integer or null");
    const id = kind === "status-forward" ? r.portalId : r.psaId;
    const key = `${r.scope ?? ""}:${id}`;
    if (seen.has(key)) {
      const field = kind === "status-forward" ? names.portal : names.psa;
      const where = r.scope === undefined || r.scope === null ? "" : ` in scope ${r.scope}`;
      throw invalid(`rows[${i}].${field}`, `${id} is mapped twice${where}; each may appear in one row only`);
    }
    seen.add(key);
  });
}

const mappingRowOf = (m: MappingEntry): MappingRowInput => ({
  portalId: m.portalId,
  psaId: m.psaId,
  psaLabel: m.psaLabel,
  scope: m.scope,
});

export function mappingFieldNames(kind: MappingKind): { portal: string; psa: string; psaLabel: string } {
  return kind === "priority"
    ? { portal: "portalPriorityId", psa: "psaPriorityId", psaLabel: "psaPriorityName" }
    : { portal: "portalStatusId", psa: "psaStatusId", psaLabel: "psaStatusName" };
}
