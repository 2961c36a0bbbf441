import { type Actor, requirePartnerRow, requirePermission, requireVisible } from "./access.js";
import { checkText } from "./checks.js";
import type { PageQuery, PortalContext } from "./context.js";
import { toClient } from "./convert.js";
import { PortalError } from "./errors.js";
import type { Client, Page } from "./types.js";

/** A partner's clients (its customers), each with a code unique within the partner. */
export class Clients {
  readonly #ctx: PortalContext;

  constructor(ctx: PortalContext) {
    this.#ctx = ctx;
  }

  async create(
    actor: Actor,
    partnerId: number,
    input: { code: string; name: string; psaCompanyId?: number | null; psaCompanyName?: string | null },
  ): Promise<Client> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId, "data:write");
    checkText("code", input.code);
    checkText("name", input.name);
    await this.#uniqueCode(partnerId, input.code.trim());
    const now = this.#ctx.now();
    const row = await this.#ctx.k
      .insertInto("clients")
      .values({
        partner_id: partnerId,
        code: input.code.trim(),
        name: input.name.trim(),
        psa_company_id: input.psaCompanyId ?? null,
        psa_company_name: input.psaCompanyId == null ? null : (input.psaCompanyName ?? null),
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toClient(row);
  }

  async list(actor: Actor, partnerId: number, page: PageQuery = {}): Promise<Page<Client>> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId);
    const q = this.#ctx.k.selectFrom("clients").where("partner_id", "=", partnerId);
    return this.#ctx.page(q.selectAll().orderBy("id"), q, page, toClient);
  }

  async get(actor: Actor, clientId: number): Promise<Client> {
    return toClient(await this.row(actor, clientId));
  }

  async update(
    actor: Actor,
    clientId: number,
    patch: { code?: string; name?: string; psaCompanyId?: number | null; psaCompanyName?: string | null },
  ): Promise<Client> {
    const current = await this.row(actor, clientId);
    requirePermission(actor, "data:write");
    if (patch.code !== undefined) {
      checkText("code", patch.code);
      if (patch.code.trim() !== current.code) await this.#uniqueCode(current.partner_id, patch.code.trim());
    }
    if (patch.name !== undefined) checkText("name", patch.name);
    const row = await this.#ctx.k
      .updateTable("clients")
      .set({
        ...(patch.code !== undefined ? { code: patch.code.trim() } : {}),
        ...(patch.name !== undefined ? { name: patch.name.trim() } : {}),
        // The company's name as the PSA gave it with this id (unknown: null until Validate reads it).
        ...(patch.psaCompanyId !== undefined
          ? {
              psa_company_id: patch.psaCompanyId,
              psa_company_name: patch.psaCompanyId === null ? null : (patch.psaCompanyName ?? null),
            }
          : {}),
        updated_at: this.#ctx.now(),
      })
      .where("id", "=", clientId)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toClient(row);
  }

  /** All clients of a partner with their device and ticket counts, ordered by code (the sync engine's read). */
  async forSync(partnerId: number): Promise<Array<Client & { deviceCount: number; ticketCount: number }>> {
    const rows = await this.#ctx.k
      .selectFrom("clients")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .orderBy("code")
      .execute();
    const counts = await this.#ctx.k
      .selectFrom("devices")
      .select(["client_id", (eb) => eb.fn.countAll().as("n")])
      .where("partner_id", "=", partnerId)
      .groupBy("client_id")
      .execute();
    const tickets = await this.#ctx.k
      .selectFrom("tickets")
      .select(["client_id", (eb) => eb.fn.countAll().as("n")])
      .where("partner_id", "=", partnerId)
      .groupBy("client_id")
      .execute();
    const byClient = new Map(counts.map((c) => [c.client_id, Number(c.n)]));
    const ticketsOf = new Map(tickets.map((c) => [c.client_id, Number(c.n)]));
    return rows.map((r) => ({
      ...toClient(r),
      deviceCount: byClient.get(r.id) ?? 0,
      ticketCount: ticketsOf.get(r.id) ?? 0,
    }));
  }

  /**
   * The PSA companies' names as the PSA has them now (Validate's refresh); a row whose company
   * changed meanwhile is left alone. Not a user's change: updated_at stays.
   */
  async setCompanyNames(
    partnerId: number,
    names: Array<{ clientId: number; companyId: number; name: string }>,
  ): Promise<void> {
    for (const n of names)
      await this.#ctx.k
        .updateTable("clients")
        .set({ psa_company_name: n.name })
        .where("id", "=", n.clientId)
        .where("partner_id", "=", partnerId)
        .where("psa_company_id", "=", n.companyId)
        .execute();
  }

  /** The client row as the actor may see it; named by a request `field`, a miss is a 400 on it. */
  async row(actor: Actor, clientId: number, field?: string) {
    const row = await this.#ctx.k
      .selectFrom("clients")
      .selectAll()
      .where("id", "=", clientId)
      .executeTakeFirst();
    return requireVisible(actor, row, "client", field ? { field, id: clientId } : undefined);
  }

  async #uniqueCode(partnerId: number, code: string): Promise<void> {
    const clash = await this.#ctx.k
      .selectFrom("clients")
      .select("id")
      .where("partner_id", "=", partnerId)
      .where("code", "=", code)
      .executeTakeFirst();
    if (clash)
      throw new PortalError("CONFLICT", 409, `code: a client with code "${code}" already exists`, "code");
  }
}
