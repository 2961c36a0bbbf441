import type { Actor } from "./access.js";
import type { Role } from "./catalog.js";
import type { PortalContext } from "./context.js";

/** Portal "Closed": an open ticket is any other. */
const CLOSED = 3;

/** A ticket with the devices and alerts associated with it (the ticket-devices report). */
/** A portal time entry as the sync engine reads it (times ISO 8601 UTC). */
export interface SyncTimeEntry {
  id: number;
  partnerId: number;
  ticketId: number;
  /** null when the user was deleted (or the entry was logged by the system). */
  userId: number | null;
  userName: string;
  startedAt: string;
  endedAt: string;
  summary: string;
  internalNote: string;
  billable: boolean;
  workTypeId: number | null;
  updatedAt: string;
  deletedAt: string | null;
}

export interface TicketDevices {
  ticketId: number;
  title: string;
  statusId: number;
  deviceId: number | null;
  devices: Array<{ id: number; hostname: string; primary: boolean }>;
  alerts: Array<{ deviceId: number; hostname: string; message: string; createdAt: string }>;
}

/**
 * Reads the sync engine makes of portal data for its own work (system use, no actor): which partners
 * have a module on, a device's client, a partner's open tickets, the ticket-devices report, the user
 * behind a live-log ticket. The engine reaches them only through its port (sync/portal-port.ts).
 */
export class ForSync {
  readonly #ctx: PortalContext;

  constructor(ctx: PortalContext) {
    this.#ctx = ctx;
  }

  /** Partners whose ticketing module (or device integration) is on. */
  async partnersWith(module: "ticketing" | "devices"): Promise<number[]> {
    const rows = await this.#ctx.k
      .selectFrom("partner_integrations")
      .select("partner_id")
      .where(module === "ticketing" ? "ticketing_enabled" : "devices_enabled", "=", 1)
      .orderBy("partner_id")
      .execute();
    return rows.map((r) => r.partner_id);
  }

  /** The client a device belongs to, or null when there is no such device. */
  async deviceClient(deviceId: number): Promise<number | null> {
    const d = await this.#ctx.k
      .selectFrom("devices")
      .select("client_id")
      .where("id", "=", deviceId)
      .executeTakeFirst();
    return d?.client_id ?? null;
  }

  /** The partner's tickets that are not Closed, in id order. */
  async openTicketIds(partnerId: number): Promise<number[]> {
    const rows = await this.#ctx.k
      .selectFrom("tickets")
      .select("id")
      .where("partner_id", "=", partnerId)
      .where("status_id", "!=", CLOSED)
      .orderBy("id")
      .execute();
    return rows.map((r) => r.id);
  }

  /** Per ticket of the partner, its devices (its own first) and alerts. */
  async ticketDevices(partnerId: number): Promise<TicketDevices[]> {
    const k = this.#ctx.k;
    const tickets = await k
      .selectFrom("tickets")
      .select(["id", "title", "device_id", "status_id"])
      .where("partner_id", "=", partnerId)
      .orderBy("id")
      .execute();
    const alerts = await k
      .selectFrom("ticket_alerts")
      .innerJoin("tickets", "tickets.id", "ticket_alerts.ticket_id")
      .innerJoin("devices", "devices.id", "ticket_alerts.device_id")
      .select([
        "ticket_alerts.ticket_id",
        "ticket_alerts.device_id",
        "ticket_alerts.message",
        "ticket_alerts.created_at",
        "devices.hostname",
      ])
      .where("tickets.partner_id", "=", partnerId)
      .orderBy("ticket_alerts.id")
      .execute();
    const devices = await k
      .selectFrom("devices")
      .select(["id", "hostname"])
      .where("partner_id", "=", partnerId)
      .execute();
    const host = new Map(devices.map((d) => [d.id, d.hostname]));
    return tickets.map((t) => {
      const own = alerts.filter((a) => a.ticket_id === t.id);
      const ids = [
        ...new Set([...(t.device_id !== null ? [t.device_id] : []), ...own.map((a) => a.device_id)]),
      ];
      return {
        ticketId: t.id,
        title: t.title,
        statusId: t.status_id,
        deviceId: t.device_id,
        devices: ids.map((id) => ({ id, hostname: host.get(id) ?? "", primary: id === t.device_id })),
        alerts: own.map((a) => ({
          deviceId: a.device_id,
          hostname: a.hostname,
          message: a.message,
          createdAt: a.created_at,
        })),
      };
    });
  }

  /** A ticket's alerts with their devices' hostnames, in the order they were raised. */
  async ticketAlerts(
    ticketId: number,
  ): Promise<Array<{ deviceId: number; hostname: string; message: string; createdAt: string }>> {
    const rows = await this.#ctx.k
      .selectFrom("ticket_alerts")
      .leftJoin("devices", "devices.id", "ticket_alerts.device_id")
      .select([
        "ticket_alerts.device_id",
        "ticket_alerts.message",
        "ticket_alerts.created_at",
        "devices.hostname",
      ])
      .where("ticket_alerts.ticket_id", "=", ticketId)
      .orderBy("ticket_alerts.id")
      .execute();
    return rows.map((r) => ({
      deviceId: r.device_id,
      hostname: r.hostname ?? "",
      message: r.message,
      createdAt: r.created_at,
    }));
  }

  /**
   * Per ticket (of those that exist): its title, client and devices — its own first, then its alerts'
   * in the order they were raised, each once. How messages name a ticket, and which devices may give
   * it a configuration item.
   */
  async ticketRefs(
    ticketIds: number[],
  ): Promise<Map<number, { title: string; clientId: number; deviceIds: number[] }>> {
    const out = new Map<number, { title: string; clientId: number; deviceIds: number[] }>();
    const ids = [...new Set(ticketIds)];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const [tickets, alerts] = await Promise.all([
        this.#ctx.k
          .selectFrom("tickets")
          .select(["id", "title", "client_id", "device_id"])
          .where("id", "in", chunk)
          .execute(),
        this.#ctx.k
          .selectFrom("ticket_alerts")
          .select(["ticket_id", "device_id"])
          .where("ticket_id", "in", chunk)
          .orderBy("id")
          .execute(),
      ]);
      for (const t of tickets)
        out.set(t.id, {
          title: t.title,
          clientId: t.client_id,
          deviceIds: t.device_id !== null ? [t.device_id] : [],
        });
      for (const a of alerts) {
        const ref = out.get(a.ticket_id);
        if (ref && !ref.deviceIds.includes(a.device_id)) ref.deviceIds.push(a.device_id);
      }
    }
    return out;
  }

  /** The actor of an enabled user, or null. */
  async activeUser(userId: number): Promise<Actor | null> {
    const user = await this.#ctx.k
      .selectFrom("users")
      .select(["id", "name", "role", "partner_id"])
      .where("id", "=", userId)
      .where("disabled", "=", 0)
      .executeTakeFirst();
    return user
      ? { userId: user.id, name: user.name, role: user.role as Role, partnerId: user.partner_id }
      : null;
  }

  // ---- time entries (effort sync)

  /** A ticket's time entries, deleted ones too, with their technician's name, in id order. */
  async timeEntries(ticketId: number): Promise<SyncTimeEntry[]> {
    const rows = await this.#ctx.k
      .selectFrom("time_entries as e")
      .leftJoin("users as u", "u.id", "e.user_id")
      .select([
        "e.id",
        "e.partner_id",
        "e.ticket_id",
        "e.user_id",
        "u.name as user_name",
        "e.started_at",
        "e.ended_at",
        "e.summary",
        "e.internal_note",
        "e.billable",
        "e.work_type_id",
        "e.updated_at",
        "e.deleted_at",
      ])
      .where("e.ticket_id", "=", ticketId)
      .orderBy("e.id")
      .execute();
    return rows.map((r) => ({
      id: r.id,
      partnerId: r.partner_id,
      ticketId: r.ticket_id,
      userId: r.user_id,
      userName: r.user_name ?? "",
      startedAt: r.started_at,
      endedAt: r.ended_at,
      summary: r.summary,
      internalNote: r.internal_note,
      billable: r.billable === 1,
      workTypeId: r.work_type_id,
      updatedAt: r.updated_at,
      deletedAt: r.deleted_at,
    }));
  }

  /** The users of a partner (id, name, sign-in name), for the user ↔ PSA-resource map. */
  async partnerUsers(
    partnerId: number,
  ): Promise<Array<{ id: number; name: string; username: string | null }>> {
    return this.#ctx.k
      .selectFrom("users")
      .select(["id", "name", "username"])
      .where("partner_id", "=", partnerId)
      .where("disabled", "=", 0)
      .orderBy("id")
      .execute();
  }
}
