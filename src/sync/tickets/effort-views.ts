import type { Db } from "../../store/db.js";

/** How a portal time entry stands with the PSA (time_entry_links), for the ticket page. */
export interface TimeEntrySyncView {
  /**
   * creating, synced, deleted, corrected, gone — or kept back: `unmapped` (no PSA resource for its
   * technician and no default resource) or `refused` (the PSA refused this version for good).
   */
  state: string;
  /** Why it is kept back (the PSA's message, or what is missing); null otherwise. */
  message: string | null;
  /** The PSA's time entry id, once there is one. */
  psaId: number | null;
}

/** The sync state of these time entries; an entry not yet considered by the sync has none. */
export async function timeEntrySyncViews(
  db: Db,
  entryIds: number[],
): Promise<Map<number, TimeEntrySyncView>> {
  const out = new Map<number, TimeEntrySyncView>();
  for (let i = 0; i < entryIds.length; i += 500) {
    const rows = await db.kysely
      .selectFrom("time_entry_links")
      .select(["time_entry_id", "state", "last_error", "psa_time_entry_id"])
      .where("time_entry_id", "in", entryIds.slice(i, i + 500))
      .execute();
    for (const r of rows)
      out.set(r.time_entry_id, { state: r.state, message: r.last_error, psaId: r.psa_time_entry_id });
  }
  return out;
}
