import { setImmediate as nextTurn } from "node:timers/promises";
import type { Insertable, Transaction, Updateable } from "kysely";
import type { Database, DeviceRow } from "../store/schema.js";
import { IMPORT_MAX_ROWS } from "./catalog.js";
import { PortalError } from "./errors.js";

export { IMPORT_MAX_ROWS };
/** Rows written per statement batch; between batches the event loop serves other requests. */
export const IMPORT_BATCH_ROWS = 100;

/** 413 for a feed longer than one request may carry. */
export const importTooLarge = (rows: number) =>
  new PortalError(
    "TOO_LARGE",
    413,
    `body: an import takes at most ${IMPORT_MAX_ROWS} devices, this one has ${rows}; send the rest in further requests`,
    "body",
  );

export interface ImportItem {
  index: number;
  id: number;
  action: "created" | "updated" | "unchanged";
}

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
  items: ImportItem[];
}

/** Every text column of a device that the importer may leave out, with the store's default. */
const INSERT_DEFAULTS = {
  device_type: "",
  ip_address: "",
  gateway: "",
  make: "",
  model: "",
  operating_system: "",
  ram: "",
  bios_name: "",
  bios_version: "",
  drive_info: "",
  last_logged_user: "",
  serial_number: "",
  warranty_end_date: null,
} as const;

type Known = Record<string, unknown> & { id: number };

const keyOf = (hostname: unknown, serial: unknown) => `${String(hostname)}\u0000${String(serial ?? "")}`;

/**
 * Writes an already validated device feed inside the caller's transaction, upserting by hostname +
 * serial number. Rows go in batches: one lookup and one multi-row insert per batch, one update per
 * changed device, and a turn of the event loop between batches so that a large feed does not stall
 * the server. The caller's transaction keeps it all or nothing. On SQLite, Kysely's single
 * connection is held across those turns: other queries queue behind the import and run after the
 * commit, while requests that need no database (health checks, static files) are served meanwhile.
 */
export async function writeDeviceBatches(
  trx: Transaction<Database>,
  target: { partnerId: number; clientId: number; now: string },
  rows: Array<Updateable<DeviceRow>>,
): Promise<ImportCounts> {
  const result: ImportCounts = { created: 0, updated: 0, unchanged: 0, items: [] };
  const known = new Map<string, Known>();
  const looked = new Set<string>();
  for (let start = 0; start < rows.length; start += IMPORT_BATCH_ROWS) {
    if (start > 0) await nextTurn();
    const batch = rows.slice(start, start + IMPORT_BATCH_ROWS);
    const hostnames = [...new Set(batch.map((r) => String(r.hostname)))].filter((h) => !looked.has(h));
    if (hostnames.length > 0) {
      const found = await trx
        .selectFrom("devices")
        .selectAll()
        .where("client_id", "=", target.clientId)
        .where("hostname", "in", hostnames)
        .orderBy("id")
        .execute();
      for (const f of found) {
        const k = keyOf(f.hostname, f.serial_number);
        if (!known.has(k)) known.set(k, f as unknown as Known);
      }
      for (const h of hostnames) looked.add(h);
    }
    // New devices go in one statement; a second row for a key already pending flushes it first, so
    // a feed that names one device twice creates it once and then updates it, in feed order.
    let pending: Array<{ index: number; key: string; cols: Updateable<DeviceRow> }> = [];
    const pendingKeys = new Set<string>();
    const flush = async () => {
      if (pending.length === 0) return;
      const inserted = await trx
        .insertInto("devices")
        .values(
          pending.map(
            (p) =>
              ({
                ...INSERT_DEFAULTS,
                ...p.cols,
                partner_id: target.partnerId,
                client_id: target.clientId,
                created_at: target.now,
                updated_at: target.now,
              }) as Insertable<DeviceRow>,
          ),
        )
        .returning(["id", "hostname", "serial_number"])
        .execute();
      const ids = new Map(inserted.map((r) => [keyOf(r.hostname, r.serial_number), r.id]));
      for (const p of pending) {
        const id = ids.get(p.key) as number;
        known.set(p.key, { ...INSERT_DEFAULTS, ...(p.cols as Record<string, unknown>), id });
        result.created++;
        result.items.push({ index: p.index, id, action: "created" });
      }
      pending = [];
      pendingKeys.clear();
    };
    for (const [offset, cols] of batch.entries()) {
      const index = start + offset;
      const key = keyOf(cols.hostname, cols.serial_number);
      if (pendingKeys.has(key)) await flush();
      const existing = known.get(key);
      if (!existing) {
        pending.push({ index, key, cols });
        pendingKeys.add(key);
        continue;
      }
      const changed = Object.entries(cols).some(([k, v]) => existing[k] !== v);
      if (!changed) {
        result.unchanged++;
        result.items.push({ index, id: existing.id, action: "unchanged" });
        continue;
      }
      await trx
        .updateTable("devices")
        .set({ ...cols, updated_at: target.now })
        .where("id", "=", existing.id)
        .execute();
      Object.assign(existing, cols);
      result.updated++;
      result.items.push({ index, id: existing.id, action: "updated" });
    }
    await flush();
  }
  result.items.sort((a, b) => a.index - b.index);
  return result;
}
