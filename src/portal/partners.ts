import { type Actor, partnerScope, requirePartnerRow, requirePermission } from "./access.js";
import { checkText, checkTimeZone } from "./checks.js";
import type { PageQuery, PortalContext } from "./context.js";
import { toPartner } from "./convert.js";
import type { Integration } from "./integration.js";
import type { Mappings } from "./mappings.js";
import type { Page, Partner } from "./types.js";

/** Partners (the NOC's customers, each an MSP with its own PSA): created with default settings and mappings. */
export class Partners {
  readonly #ctx: PortalContext;
  readonly #integration: Integration;
  readonly #mappings: Mappings;

  constructor(ctx: PortalContext, integration: Integration, mappings: Mappings) {
    this.#ctx = ctx;
    this.#integration = integration;
    this.#mappings = mappings;
  }

  async create(actor: Actor, input: { name: string; timeZone?: string }): Promise<Partner> {
    requirePermission(actor, "partner:create");
    const timeZone = input.timeZone ?? "UTC";
    checkTimeZone(timeZone);
    checkText("name", input.name);
    return this.#ctx.k.transaction().execute(async (trx) => {
      const now = this.#ctx.now();
      const row = await trx
        .insertInto("partners")
        .values({ name: input.name.trim(), time_zone: timeZone, created_at: now, updated_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.#integration.createDefault(trx, row.id, now);
      await this.#mappings.createDefaults(trx, row.id);
      await this.#ctx.audit(trx, actor, row.id, "partner.create", `partner:${row.id}`, { name: row.name });
      return toPartner(row);
    });
  }

  /** The partners the actor sees: all of them NOC-wide, its own otherwise. */
  async list(actor: Actor, page: PageQuery = {}): Promise<Page<Partner>> {
    let q = this.#ctx.k.selectFrom("partners");
    const own = partnerScope(actor);
    if (own !== null) q = q.where("id", "=", own);
    return this.#ctx.page(q.selectAll().orderBy("id"), q, page, toPartner);
  }

  async get(actor: Actor, partnerId: number): Promise<Partner> {
    return toPartner(await requirePartnerRow(this.#ctx.k, actor, partnerId));
  }

  async update(
    actor: Actor,
    partnerId: number,
    patch: { name?: string; timeZone?: string },
  ): Promise<Partner> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId, "partner:update");
    if (patch.timeZone !== undefined) checkTimeZone(patch.timeZone);
    if (patch.name !== undefined) checkText("name", patch.name);
    return this.#ctx.k.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable("partners")
        .set({
          ...(patch.name !== undefined ? { name: patch.name.trim() } : {}),
          ...(patch.timeZone !== undefined ? { time_zone: patch.timeZone } : {}),
          updated_at: this.#ctx.now(),
        })
        .where("id", "=", partnerId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.#ctx.audit(trx, actor, partnerId, "partner.update", `partner:${partnerId}`, patch);
      return toPartner(row);
    });
  }
}
