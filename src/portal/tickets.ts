import { type Actor, requirePartnerRow, requirePermission, requireVisible } from "./access.js";
import { checkPriority, checkStatus, checkText } from "./checks.js";
import type { Clients } from "./clients.js";
import type { PageQuery, PortalContext, Q } from "./context.js";
import { toAlert, toNote, toTicket } from "./convert.js";
import type { Devices } from "./devices.js";
import { invalid } from "./errors.js";
import type { Page, Ticket, TicketDetail } from "./types.js";

/** Who made a ticket change: a portal user (announced to the PSA through the outbox) or the sync itself. */
export interface ChangeOrigin {
  origin?: "portal" | "psa";
  /** Author shown on a note that came from the PSA. */
  author?: string;
}

export interface TicketInput {
  clientId: number;
  deviceId?: number | null;
  title: string;
  description?: string;
  statusId: number;
  priorityId: number;
  alerts?: Array<{ deviceId: number; message: string }>;
}

export type TicketPatch = Partial<Pick<TicketInput, "title" | "description" | "statusId" | "priorityId">> & {
  deviceId?: number | null;
};

/**
 * A partner's tickets with their alerts and notes. A portal change writes its ticket_outbox row in the
 * same transaction (the sync engine's only news of it); a change the sync brings from the PSA writes
 * none, so it never echoes.
 */
export class Tickets {
  readonly #ctx: PortalContext;
  readonly #clients: Clients;
  readonly #devices: Devices;

  constructor(ctx: PortalContext, clients: Clients, devices: Devices) {
    this.#ctx = ctx;
    this.#clients = clients;
    this.#devices = devices;
  }

  async create(
    actor: Actor,
    partnerId: number,
    input: TicketInput,
    o: ChangeOrigin = {},
  ): Promise<TicketDetail> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId, "data:write");
    const client = await this.#clients.row(actor, input.clientId, "clientId");
    if (client.partner_id !== partnerId) throw invalid("clientId", `client ${input.clientId} not found`);
    checkText("title", input.title);
    checkStatus("statusId", input.statusId);
    checkPriority("priorityId", input.priorityId);
    const alerts = input.alerts ?? [];
    for (const [i, a] of alerts.entries()) {
      await this.#clientDevice(actor, client.id, a.deviceId, `alerts[${i}].deviceId`);
      checkText(`alerts[${i}].message`, a.message);
    }
    if (input.deviceId !== undefined && input.deviceId !== null)
      await this.#clientDevice(actor, client.id, input.deviceId, "deviceId");
    // A ticket raised by alerts from several devices maps to one device: the first alert's.
    const deviceId = input.deviceId ?? alerts[0]?.deviceId ?? null;
    const id = await this.#ctx.k.transaction().execute(async (trx) => {
      const now = this.#ctx.now();
      const row = await trx
        .insertInto("tickets")
        .values({
          partner_id: partnerId,
          client_id: client.id,
          device_id: deviceId,
          title: input.title.trim(),
          description: input.description ?? "",
          status_id: input.statusId,
          priority_id: input.priorityId,
          created_at: now,
          updated_at: now,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      for (const a of alerts) {
        await trx
          .insertInto("ticket_alerts")
          .values({ ticket_id: row.id, device_id: a.deviceId, message: a.message, created_at: now })
          .execute();
      }
      if (o.origin !== "psa") await this.announce(trx, partnerId, row.id, "ticket");
      return row.id;
    });
    if (o.origin !== "psa") this.#ctx.wake("outbox", partnerId);
    return this.get(actor, id);
  }

  async list(
    actor: Actor,
    partnerId: number,
    filter: PageQuery & { statusId?: number; priorityId?: number; clientId?: number; deviceId?: number },
  ): Promise<Page<Ticket>> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId);
    let q = this.#ctx.k.selectFrom("tickets").where("partner_id", "=", partnerId);
    if (filter.statusId !== undefined) q = q.where("status_id", "=", filter.statusId);
    if (filter.priorityId !== undefined) q = q.where("priority_id", "=", filter.priorityId);
    if (filter.clientId !== undefined) q = q.where("client_id", "=", filter.clientId);
    if (filter.deviceId !== undefined) q = q.where("device_id", "=", filter.deviceId);
    return this.#ctx.page(q.selectAll().orderBy("id", "desc"), q, filter, toTicket);
  }

  async get(actor: Actor, ticketId: number): Promise<TicketDetail> {
    const row = await this.row(actor, ticketId);
    const [alerts, notes] = await Promise.all([
      this.#ctx.k
        .selectFrom("ticket_alerts")
        .selectAll()
        .where("ticket_id", "=", ticketId)
        .orderBy("id")
        .execute(),
      this.#ctx.k
        .selectFrom("ticket_notes")
        .selectAll()
        .where("ticket_id", "=", ticketId)
        .orderBy("id")
        .execute(),
    ]);
    return { ...toTicket(row), alerts: alerts.map(toAlert), notes: notes.map(toNote) };
  }

  async update(
    actor: Actor,
    ticketId: number,
    patch: TicketPatch,
    o: ChangeOrigin = {},
  ): Promise<TicketDetail> {
    const current = await this.row(actor, ticketId);
    requirePermission(actor, "data:write");
    if (patch.title !== undefined) checkText("title", patch.title);
    if (patch.statusId !== undefined) checkStatus("statusId", patch.statusId);
    if (patch.priorityId !== undefined) checkPriority("priorityId", patch.priorityId);
    if (patch.deviceId !== undefined && patch.deviceId !== null) {
      await this.#clientDevice(actor, current.client_id, patch.deviceId, "deviceId");
    }
    await this.#ctx.k.transaction().execute(async (trx) => {
      await trx
        .updateTable("tickets")
        .set({
          ...(patch.title !== undefined ? { title: patch.title.trim() } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
          ...(patch.statusId !== undefined ? { status_id: patch.statusId } : {}),
          ...(patch.priorityId !== undefined ? { priority_id: patch.priorityId } : {}),
          ...(patch.deviceId !== undefined ? { device_id: patch.deviceId } : {}),
          updated_at: this.#ctx.now(),
        })
        .where("id", "=", ticketId)
        .execute();
      if (o.origin !== "psa") await this.announce(trx, current.partner_id, ticketId, "ticket");
    });
    if (o.origin !== "psa") this.#ctx.wake("outbox", current.partner_id);
    return this.get(actor, ticketId);
  }

  /** The outbox row that announces a portal ticket change, in the change's own transaction. */
  async announce(trx: Q, partnerId: number, ticketId: number, kind: "ticket" | "note"): Promise<void> {
    await trx
      .insertInto("ticket_outbox")
      .values({ partner_id: partnerId, ticket_id: ticketId, kind, created_at: this.#ctx.now() })
      .execute();
  }

  /** The ticket row as the actor may see it. */
  async row(actor: Actor, ticketId: number) {
    const row = await this.#ctx.k
      .selectFrom("tickets")
      .selectAll()
      .where("id", "=", ticketId)
      .executeTakeFirst();
    return requireVisible(actor, row, "ticket");
  }

  /** A device that must belong to the ticket's client; otherwise a 400 naming the field. */
  async #clientDevice(actor: Actor, clientId: number, deviceId: number, field: string): Promise<void> {
    const row = await this.#devices.row(actor, deviceId, field);
    if (row.client_id !== clientId)
      throw invalid(field, `device ${deviceId} does not belong to the ticket's client`);
  }
}
