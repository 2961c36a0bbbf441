import type { Clock } from "../lib/clock.js";
import type { Db } from "../store/db.js";

export type LinkEntity = "device" | "ticket" | "note";

export interface Link {
  portalId: number;
  psaId: number;
  fingerprint: string;
  written: Record<string, unknown>;
  syncedAt: string;
}

/** Portal id ↔ PSA id links, with the fingerprint and values of what was last written. */
export class LinkStore {
  readonly #db: Db;
  readonly #clock: Clock;

  constructor(db: Db, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  async all(partnerId: number, entity: LinkEntity): Promise<Map<number, Link>> {
    const rows = await this.#db.kysely
      .selectFrom("links")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .where("entity", "=", entity)
      .execute();
    return new Map(
      rows.map((r) => [
        r.portal_id,
        {
          portalId: r.portal_id,
          psaId: r.psa_id,
          fingerprint: r.fingerprint,
          written: JSON.parse(r.written) as Record<string, unknown>,
          syncedAt: r.synced_at,
        },
      ]),
    );
  }

  /** PSA ids of the given portal records (for showing the CI id on devices). */
  async psaIds(
    partnerIdOrNull: number | null,
    entity: LinkEntity,
    portalIds: number[],
  ): Promise<Map<number, number>> {
    if (portalIds.length === 0) return new Map();
    let q = this.#db.kysely
      .selectFrom("links")
      .select(["portal_id", "psa_id"])
      .where("entity", "=", entity)
      .where("portal_id", "in", portalIds);
    if (partnerIdOrNull !== null) q = q.where("partner_id", "=", partnerIdOrNull);
    return new Map((await q.execute()).map((r) => [r.portal_id, r.psa_id]));
  }

  async upsert(
    partnerId: number,
    entity: LinkEntity,
    portalId: number,
    psaId: number,
    fingerprint: string,
    written: Record<string, unknown>,
  ): Promise<void> {
    const now = this.#clock.now().toISOString();
    await this.#db.kysely
      .insertInto("links")
      .values({
        partner_id: partnerId,
        entity,
        portal_id: portalId,
        psa_id: psaId,
        fingerprint,
        written: JSON.stringify(written),
        synced_at: now,
      })
      .onConflict((oc) =>
        oc
          .columns(["partner_id", "entity", "portal_id"])
          .doUpdateSet({ psa_id: psaId, fingerprint, written: JSON.stringify(written), synced_at: now }),
      )
      .execute();
  }

  /** Drops one link (reconciliation's move: the device's next write finds or creates its CI again). */
  async remove(partnerId: number, entity: LinkEntity, portalId: number): Promise<void> {
    await this.#db.kysely
      .deleteFrom("links")
      .where("partner_id", "=", partnerId)
      .where("entity", "=", entity)
      .where("portal_id", "=", portalId)
      .execute();
  }
}
