import { type Actor, requireNocWide, requirePartnerRow, requirePermission } from "./access.js";
import type { PageQuery, PortalContext } from "./context.js";
import { toAudit } from "./convert.js";
import type { AuditEntry, Page } from "./types.js";

/** The audit log as people read it: one partner's entries, or (NOC-wide) everyone's. */
export class Audit {
  readonly #ctx: PortalContext;

  constructor(ctx: PortalContext) {
    this.#ctx = ctx;
  }

  async list(
    actor: Actor,
    partnerId: number | null,
    page: PageQuery & { action?: string } = {},
  ): Promise<Page<AuditEntry>> {
    if (partnerId !== null) await requirePartnerRow(this.#ctx.k, actor, partnerId);
    else requireNocWide(actor, "audit log");
    requirePermission(actor, "audit:read");
    let q = this.#ctx.k.selectFrom("audit_log");
    if (partnerId !== null) q = q.where("partner_id", "=", partnerId);
    if (page.action) q = q.where("action", "=", page.action);
    return this.#ctx.page(q.selectAll().orderBy("id", "desc"), q, page, toAudit);
  }
}
