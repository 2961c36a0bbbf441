import { type Insertable, type SqlBool, sql, type Updateable } from "kysely";
import { escapeLike } from "../store/like.js";
import type { DeviceRow } from "../store/schema.js";
import { type Actor, requirePermission, requireVisible } from "./access.js";
import type { DeviceState } from "./catalog.js";
import { checkText, isIsoDate } from "./checks.js";
import type { Clients } from "./clients.js";
import type { PageQuery, PortalContext } from "./context.js";
import { DEVICE_COLUMNS, toDevice } from "./convert.js";
import { IMPORT_MAX_ROWS, importTooLarge, writeDeviceBatches } from "./device-import.js";
import { invalid } from "./errors.js";
import type { Device, DeviceAttributes, Page } from "./types.js";

export type DeviceInput = Partial<DeviceAttributes> & { state: DeviceState; hostname: string };

export interface DeviceImportResult {
  created: number;
  updated: number;
  unchanged: number;
  items: Array<{ index: number; id: number; action: "created" | "updated" | "unchanged" }>;
}

/** A client's devices: created one by one or imported from a discovery feed, searched, updated. */
export class Devices {
  readonly #ctx: PortalContext;
  readonly #clients: Clients;

  constructor(ctx: PortalContext, clients: Clients) {
    this.#ctx = ctx;
    this.#clients = clients;
  }

  async create(actor: Actor, clientId: number, input: DeviceInput): Promise<Device> {
    const client = await this.#clients.row(actor, clientId);
    requirePermission(actor, "data:write");
    checkDevice(input, "");
    const now = this.#ctx.now();
    const row = await this.#ctx.k
      .insertInto("devices")
      .values({
        ...deviceColumns(input),
        partner_id: client.partner_id,
        client_id: clientId,
        state: input.state,
        created_at: now,
        updated_at: now,
      } as Insertable<DeviceRow>)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toDevice(row);
  }

  async list(
    actor: Actor,
    clientId: number,
    filter: PageQuery & { state?: DeviceState; search?: string },
  ): Promise<Page<Device>> {
    await this.#clients.row(actor, clientId);
    let q = this.#ctx.k.selectFrom("devices").where("client_id", "=", clientId);
    if (filter.state) q = q.where("state", "=", filter.state);
    if (filter.search) {
      // The search text is matched literally: its % and _ are escaped (ESCAPE works alike on both stores).
      const s = `%${escapeLike(filter.search.toLowerCase())}%`;
      q = q.where((eb) =>
        eb.or([
          sql<SqlBool>`lower(hostname) like ${s} escape '!'`,
          sql<SqlBool>`lower(serial_number) like ${s} escape '!'`,
        ]),
      );
    }
    return this.#ctx.page(q.selectAll().orderBy("id"), q, filter, toDevice);
  }

  async get(actor: Actor, deviceId: number): Promise<Device> {
    return toDevice(await this.row(actor, deviceId));
  }

  async update(actor: Actor, deviceId: number, patch: Partial<DeviceInput>): Promise<Device> {
    await this.row(actor, deviceId);
    requirePermission(actor, "data:write");
    checkDevice(patch, "");
    const row = await this.#ctx.k
      .updateTable("devices")
      .set({ ...deviceColumns(patch), updated_at: this.#ctx.now() })
      .where("id", "=", deviceId)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toDevice(row);
  }

  /**
   * Upserts a discovery feed: each device is matched by hostname + serial number within the client.
   * The whole array is checked first and written in one transaction (in batches that let the server
   * breathe): one bad entry rejects the import (naming its index and field) and nothing is written.
   */
  async import(actor: Actor, clientId: number, inputs: DeviceInput[]): Promise<DeviceImportResult> {
    const client = await this.#clients.row(actor, clientId);
    requirePermission(actor, "data:write");
    if (inputs.length > IMPORT_MAX_ROWS) throw importTooLarge(inputs.length);
    inputs.forEach((d, i) => {
      checkDevice(d, `[${i}].`);
    });
    const rows = inputs.map((input) => ({ ...deviceColumns(input), state: input.state }));
    const target = { partnerId: client.partner_id, clientId, now: this.#ctx.now() };
    return this.#ctx.k.transaction().execute((trx) => writeDeviceBatches(trx, target, rows));
  }

  /** Every device of a client, in id order (no paging: the sync reads them all). */
  async forSync(clientId: number): Promise<Device[]> {
    const rows = await this.#ctx.k
      .selectFrom("devices")
      .selectAll()
      .where("client_id", "=", clientId)
      .orderBy("id")
      .execute();
    return rows.map(toDevice);
  }

  /** The ids of a partner's devices that still exist, out of `ids`. */
  async existingIds(partnerId: number, ids: number[]): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    const out = new Set<number>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.#ctx.k
        .selectFrom("devices")
        .select("id")
        .where("partner_id", "=", partnerId)
        .where("id", "in", ids.slice(i, i + 500))
        .execute();
      for (const r of rows) out.add(r.id);
    }
    return out;
  }

  /** The device row as the actor may see it; named by a request `field`, a miss is a 400 on it. */
  async row(actor: Actor, deviceId: number, field?: string) {
    const row = await this.#ctx.k
      .selectFrom("devices")
      .selectAll()
      .where("id", "=", deviceId)
      .executeTakeFirst();
    return requireVisible(actor, row, "device", field ? { field, id: deviceId } : undefined);
  }
}

function deviceColumns(input: Partial<DeviceInput>): Updateable<DeviceRow> {
  const out: Record<string, string | null> = {};
  for (const [attr, col] of Object.entries(DEVICE_COLUMNS)) {
    const v = input[attr as keyof DeviceInput];
    if (v !== undefined)
      out[col] = typeof v === "string" && attr !== "warrantyEndDate" ? v.trim() : (v as string | null);
  }
  return out as Updateable<DeviceRow>;
}

function checkDevice(d: Partial<DeviceInput>, prefix: string): void {
  if (d.hostname !== undefined) checkText(`${prefix}hostname`, d.hostname);
  if (d.warrantyEndDate !== undefined && d.warrantyEndDate !== null && !isIsoDate(d.warrantyEndDate)) {
    throw invalid(`${prefix}warrantyEndDate`, `"${d.warrantyEndDate}" is not a date (YYYY-MM-DD)`);
  }
}
