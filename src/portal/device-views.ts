import { type RawBuilder, type SqlBool, sql } from "kysely";
import { escapeLike } from "../store/like.js";
import { type Actor, requirePartnerRow } from "./access.js";
import type { DeviceState } from "./catalog.js";
import type { Clients } from "./clients.js";
import type { PageQuery, PortalContext } from "./context.js";
import { toDevice, toTicket } from "./convert.js";
import type { Devices } from "./devices.js";
import { invalid } from "./errors.js";
import type { Device, Page, Ticket } from "./types.js";

/** The columns a partner's device list sorts by. */
export const DEVICE_SORTS = ["hostname", "client", "state", "type", "serial", "warranty", "synced"] as const;
export type DeviceSort = (typeof DEVICE_SORTS)[number];

export interface DeviceListFilter extends PageQuery {
  clientId?: number;
  state?: DeviceState;
  /** Part of the hostname, serial number or IP address (case-insensitive, matched literally). */
  search?: string;
  sort?: DeviceSort;
  order?: "asc" | "desc";
}

/** The client a device belongs to, as lists name it. */
export interface DeviceClient {
  id: number;
  code: string;
  name: string;
  psaCompanyId: number | null;
  psaCompanyName: string | null;
}

/** A row of a partner's device list: the device, its client and its link to the PSA asset. */
export interface DeviceListItem extends Device {
  client: DeviceClient;
  /** The linked PSA asset (Autotask CI, ConnectWise configuration); null when not synced. */
  psaCiId: number | null;
  /** When the asset sync last wrote or checked that asset; null when not synced. */
  lastSyncedAt: string | null;
}

/** An alert that names the device, with its ticket. */
export interface DeviceAlert {
  id: number;
  ticketId: number;
  ticketTitle: string;
  message: string;
  createdAt: string;
}

/** A ticket of the device: its own device, or one of its alerts names it. */
export interface DeviceTicket extends Ticket {
  /** The ticket's own device is this one (else only an alert names it). */
  primary: boolean;
}

/** What the device page shows, from the portal's side (the route adds the PSA's). */
export interface DeviceOverview {
  device: DeviceListItem;
  alerts: DeviceAlert[];
  alertsTotal: number;
  tickets: DeviceTicket[];
  ticketsTotal: number;
}

/** How many alerts and tickets the device page lists (newest first; the totals say how many more). */
export const DEVICE_PAGE_ROWS = 100;

/**
 * The partner-wide views of devices: one list across all clients (search, sort, paging in the
 * database: a partner may have tens of thousands), and one device with its alerts, tickets and link.
 */
export class DeviceViews {
  readonly #ctx: PortalContext;
  readonly #clients: Clients;
  readonly #devices: Devices;

  constructor(ctx: PortalContext, clients: Clients, devices: Devices) {
    this.#ctx = ctx;
    this.#clients = clients;
    this.#devices = devices;
  }

  async list(actor: Actor, partnerId: number, filter: DeviceListFilter): Promise<Page<DeviceListItem>> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId);
    if (filter.clientId !== undefined) {
      const c = await this.#clients.row(actor, filter.clientId, "clientId");
      if (c.partner_id !== partnerId) throw invalid("clientId", `client ${filter.clientId} not found`);
    }
    // The same conditions narrow the page (joined to clients and links) and its count (devices alone).
    const where: Array<RawBuilder<SqlBool>> = [sql<SqlBool>`d.partner_id = ${partnerId}`];
    if (filter.clientId !== undefined) where.push(sql<SqlBool>`d.client_id = ${filter.clientId}`);
    if (filter.state) where.push(sql<SqlBool>`d.state = ${filter.state}`);
    const search = filter.search?.trim();
    if (search) {
      // Matched literally: % and _ are escaped (ESCAPE works alike on both stores).
      const s = `%${escapeLike(search.toLowerCase())}%`;
      where.push(
        sql<SqlBool>`(lower(d.hostname) like ${s} escape '!' or lower(d.serial_number) like ${s} escape '!' or lower(d.ip_address) like ${s} escape '!')`,
      );
    }
    const q = this.#joined().where((eb) => eb.and(where));
    const counted = this.#ctx.k.selectFrom("devices as d").where((eb) => eb.and(where));
    const desc = filter.order === "desc";
    const dir = desc ? sql`desc` : sql`asc`;
    // Blanks (no warranty, no serial, not synced) come last in either direction, alike on both stores.
    const [key, blank] = sortKey(filter.sort ?? "hostname");
    const select = q
      .selectAll("d")
      .select(["c.code as c_code", "c.name as c_name", "c.psa_company_id as c_company_id"])
      .select(["c.psa_company_name as c_company_name", "l.psa_id as l_psa_id", "l.synced_at as l_synced_at"])
      .orderBy(sql`case when ${blank} then 1 else 0 end`)
      .orderBy(sql`${key} ${dir}`)
      .orderBy(sql`lower(d.hostname) ${dir}`)
      .orderBy("d.id", desc ? "desc" : "asc");
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
    const offset = Math.max(filter.offset ?? 0, 0);
    const [rows, count] = await Promise.all([
      select.limit(limit).offset(offset).execute(),
      counted.select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(toItem), total: Number(count.n), limit, offset };
  }

  /** One device with its client, link, the alerts that name it and its tickets. */
  async overview(actor: Actor, deviceId: number): Promise<DeviceOverview> {
    await this.#devices.row(actor, deviceId);
    const k = this.#ctx.k;
    const row = await this.#joined()
      .where("d.id", "=", deviceId)
      .selectAll("d")
      .select(["c.code as c_code", "c.name as c_name", "c.psa_company_id as c_company_id"])
      .select(["c.psa_company_name as c_company_name", "l.psa_id as l_psa_id", "l.synced_at as l_synced_at"])
      .executeTakeFirstOrThrow();
    const device = toItem(row);
    const alertsQ = k
      .selectFrom("ticket_alerts as a")
      .innerJoin("tickets as t", "t.id", "a.ticket_id")
      .where("a.device_id", "=", deviceId)
      .where("t.partner_id", "=", device.partnerId);
    const viaAlert = k.selectFrom("ticket_alerts").select("ticket_id").where("device_id", "=", deviceId);
    const ticketsQ = k
      .selectFrom("tickets")
      .where("partner_id", "=", device.partnerId)
      .where((eb) => eb.or([eb("device_id", "=", deviceId), eb("id", "in", viaAlert)]));
    const [alerts, alertsTotal, tickets, ticketsTotal] = await Promise.all([
      alertsQ
        .select(["a.id", "a.ticket_id", "t.title", "a.message", "a.created_at"])
        .orderBy("a.created_at", "desc")
        .orderBy("a.id", "desc")
        .limit(DEVICE_PAGE_ROWS)
        .execute(),
      alertsQ.select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow(),
      ticketsQ.selectAll().orderBy("id", "desc").limit(DEVICE_PAGE_ROWS).execute(),
      ticketsQ.select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow(),
    ]);
    return {
      device,
      alerts: alerts.map((a) => ({
        id: a.id,
        ticketId: a.ticket_id,
        ticketTitle: a.title,
        message: a.message,
        createdAt: a.created_at,
      })),
      alertsTotal: Number(alertsTotal.n),
      tickets: tickets.map((t) => ({ ...toTicket(t), primary: t.device_id === deviceId })),
      ticketsTotal: Number(ticketsTotal.n),
    };
  }

  /** Devices with their client and (left-joined) asset link: one link per device and partner. */
  #joined() {
    return this.#ctx.k
      .selectFrom("devices as d")
      .innerJoin("clients as c", "c.id", "d.client_id")
      .leftJoin("links as l", (j) =>
        j
          .onRef("l.portal_id", "=", "d.id")
          .onRef("l.partner_id", "=", "d.partner_id")
          .on("l.entity", "=", "device"),
      );
  }
}

/** The sort expression of a column, and when a row counts as blank for it. */
function sortKey(sort: DeviceSort) {
  switch (sort) {
    case "client":
      return [sql`lower(c.name)`, sql`1 = 0`] as const;
    case "state":
      return [sql`d.state`, sql`1 = 0`] as const;
    case "type":
      return [sql`lower(d.device_type)`, sql`d.device_type = ''`] as const;
    case "serial":
      return [sql`lower(d.serial_number)`, sql`d.serial_number = ''`] as const;
    case "warranty":
      return [sql`d.warranty_end_date`, sql`d.warranty_end_date is null`] as const;
    case "synced":
      return [sql`l.synced_at`, sql`l.synced_at is null`] as const;
    default:
      return [sql`lower(d.hostname)`, sql`1 = 0`] as const;
  }
}

interface JoinedRow {
  c_code: string;
  c_name: string;
  c_company_id: number | null;
  c_company_name: string | null;
  l_psa_id: number | null;
  l_synced_at: string | null;
}

function toItem<R extends Parameters<typeof toDevice>[0] & JoinedRow>(r: R): DeviceListItem {
  const { c_code, c_name, c_company_id, c_company_name, l_psa_id, l_synced_at, ...d } = r;
  const device = toDevice(d);
  return {
    ...device,
    client: {
      id: device.clientId,
      code: c_code,
      name: c_name,
      psaCompanyId: c_company_id,
      psaCompanyName: c_company_name,
    },
    psaCiId: l_psa_id,
    lastSyncedAt: l_synced_at,
  };
}
