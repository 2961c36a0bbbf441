import type { Selectable } from "kysely";
import type { SyncTimeEntry } from "../../portal/for-sync.js";
import type { PsaResource, TimeEntryInput, TimeEntryPort } from "../../psa/connector.js";
import { isPsaError } from "../../psa/errors.js";
import type { Db } from "../../store/db.js";
import type { TimeEntryLinkRow } from "../../store/schema.js";
import type { SyncPortal } from "../portal-port.js";
import { TicketSyncError } from "./errors.js";
import type { Ctx } from "./mapping.js";

/** The text an unmapped technician's entry carries, so the PSA shows who worked. */
export function withTechnician(name: string, summary: string): string {
  return `[${name}] ${summary}`;
}

/** Hours between two ISO times, to two decimals. */
export function hoursBetween(startedAt: string, endedAt: string): number {
  return Math.round(((Date.parse(endedAt) - Date.parse(startedAt)) / 3_600_000) * 100) / 100;
}

/**
 * Time entries follow their ticket to the PSA (docs/emulator.md, Time entries): run by a ticket's
 * lane after the ticket itself, so an entry of a ticket without a link waits until the ticket is
 * linked. Each entry is created once (a link row is written before the first send; a row left in
 * "creating" means the outcome is unknown and the entry is looked up before it is sent again),
 * updated when it changed since it was synced, and deleted — or corrected to zero hours where the
 * PSA refuses deletes — when it is deleted in the portal.
 */
export class EffortSync {
  constructor(
    private readonly db: Db,
    private readonly portal: SyncPortal,
  ) {}

  get #k() {
    return this.db.kysely;
  }

  async sync(ctx: Ctx, ticketId: number, psaTicketId: number): Promise<void> {
    const port = ctx.session.timeEntries;
    if (!port) return;
    const entries = await this.portal.timeEntries(ticketId);
    if (entries.length === 0) return;
    const links = new Map(
      (
        await this.#k
          .selectFrom("time_entry_links")
          .selectAll()
          .where("partner_id", "=", ctx.partnerId)
          .where(
            "time_entry_id",
            "in",
            entries.map((e) => e.id),
          )
          .execute()
      ).map((l) => [l.time_entry_id, l]),
    );
    const input = this.#inputs(ctx, port);
    for (const e of entries) {
      const link = links.get(e.id);
      // A version the PSA already refused for good is not sent again until the entry changes.
      if (link?.state === "refused" && link.synced_at === e.updatedAt) continue;
      try {
        await this.#one(ctx, port, input, e, link, psaTicketId);
      } catch (err) {
        // An entry the PSA refuses, or that no resource can be found for, must not hold up its ticket:
        // the entry keeps the error (and is tried again as said above); the ticket's lane goes on.
        // Anything worth retrying (a timeout, a rate limit, the budget, the database) still fails the lane.
        const final =
          err instanceof TicketSyncError ||
          (isPsaError(err) && !err.retryable && !err.ambiguous && err.code !== "BUDGET_EXHAUSTED");
        if (!final) throw err;
        const message = err instanceof Error ? err.message : String(err);
        const state = err instanceof TicketSyncError ? "unmapped" : "refused";
        const id = link?.id ?? (await this.#creating(ctx.partnerId, e.id));
        await this.#k
          .updateTable("time_entry_links")
          .set({ state, synced_at: e.updatedAt, last_error: message.slice(0, 500) })
          .where("id", "=", id)
          .execute();
      }
    }
  }

  async #one(
    ctx: Ctx,
    port: TimeEntryPort,
    input: (e: SyncTimeEntry) => Promise<TimeEntryInput>,
    e: SyncTimeEntry,
    link: Selectable<TimeEntryLinkRow> | undefined,
    psaTicketId: number,
  ): Promise<void> {
    {
      if (e.deletedAt !== null) {
        if (!link || link.state === "deleted" || link.state === "corrected" || link.state === "gone") return;
        const body = await input(e);
        // A create whose outcome was unknown: the entry may exist all the same.
        const psaId = link.psa_time_entry_id ?? (await port.find(psaTicketId, body));
        const outcome = psaId === null ? "gone" : await port.delete(psaId, body);
        await this.#save(link.id, { psa_time_entry_id: psaId, state: outcome, synced_at: e.updatedAt });
        return;
      }
      if (link && link.psa_time_entry_id !== null && link.synced_at === e.updatedAt) return;
      const body = await input(e);
      if (!link || link.psa_time_entry_id === null) {
        const maybeSent = link?.state === "creating";
        const linkId = link?.id ?? (await this.#creating(ctx.partnerId, e.id));
        const psaId = await port.create(psaTicketId, body, { maybeSent });
        await this.#save(linkId, { psa_time_entry_id: psaId, state: "synced", synced_at: e.updatedAt });
      } else {
        await port.update(link.psa_time_entry_id, body);
        await this.#save(link.id, { state: "synced", synced_at: e.updatedAt });
      }
    }
  }

  /** The entry as the PSA gets it: the mapped resource and role, or the Setup default with the name. */
  #inputs(ctx: Ctx, port: TimeEntryPort): (e: SyncTimeEntry) => Promise<TimeEntryInput> {
    let map: Map<number, { psa_resource_id: number; psa_role_id: number | null }> | undefined;
    let resources: PsaResource[] | undefined;
    const label = ctx.session.label;
    return async (e) => {
      map ??= new Map(
        (
          await this.#k
            .selectFrom("resource_map")
            .select(["user_id", "psa_resource_id", "psa_role_id"])
            .where("partner_id", "=", ctx.partnerId)
            .execute()
        ).map((r) => [r.user_id, r]),
      );
      const mapped = e.userId === null ? undefined : map.get(e.userId);
      const d = port.defaults;
      let resourceId: number;
      let roleId: number | null;
      let summary = e.summary;
      if (mapped) {
        resourceId = mapped.psa_resource_id;
        roleId = mapped.psa_role_id;
      } else {
        if (d.resourceId === null)
          throw new TicketSyncError(
            "MAPPING",
            `time entry ${e.id}: ${e.userName} has no ${label} resource in the resource map and Setup names no default NOC resource`,
          );
        resourceId = d.resourceId;
        roleId = d.roleId;
        summary = withTechnician(e.userName, e.summary);
      }
      if (roleId === null) {
        resources ??= await port.resources();
        roleId = resources.find((r) => r.id === resourceId)?.defaultRoleId ?? null;
        if (roleId === null)
          throw new TicketSyncError(
            "MAPPING",
            `time entry ${e.id}: ${label} resource ${resourceId} has no default role; choose one in the resource map or Setup`,
          );
      }
      return {
        resourceId,
        roleId,
        workTypeId: e.workTypeId ?? d.workTypeId,
        startedAt: e.startedAt,
        endedAt: e.endedAt,
        hours: hoursBetween(e.startedAt, e.endedAt),
        summary,
        internalNote: e.internalNote,
        billable: e.billable,
      };
    };
  }

  /** Written before the first send: a row still "creating" later means "look it up first". */
  async #creating(partnerId: number, timeEntryId: number): Promise<number> {
    const row = await this.#k
      .insertInto("time_entry_links")
      .values({
        partner_id: partnerId,
        time_entry_id: timeEntryId,
        psa_time_entry_id: null,
        state: "creating",
        synced_at: null,
        last_error: null,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async #save(
    linkId: number,
    set: { psa_time_entry_id?: number | null; state: string; synced_at: string },
  ): Promise<void> {
    await this.#k
      .updateTable("time_entry_links")
      .set({ ...set, last_error: null })
      .where("id", "=", linkId)
      .execute();
  }
}
