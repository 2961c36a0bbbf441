import type { Actor } from "./access.js";
import type { Role } from "./catalog.js";
import type { PortalContext } from "./context.js";
import { ticketTimeEntries } from "./time-entries.js";
import type { TimeEntry } from "./types.js";

/** Portal "Closed": an open ticket is any other. */
const CLOSED = 3;

/** A ticket with the devices and alerts associated with it (the ticket-devices report). */
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

  /** Every time entry of a ticket, deleted ones included (deleted_at set), in id order. */
  timeEntries(ticketId: number): Promise<TimeEntry[]> {
    return ticketTimeEntries(this.#ctx.k, ticketId);
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
}
