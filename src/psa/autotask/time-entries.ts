import { isPsaError, type PsaResource, type TimeEntryInput, type TimeEntryPort } from "../connector.js";
import { type AutotaskApi, queryAll } from "./api.js";
import type { AutotaskSettings } from "./settings.js";
import type { AutotaskEntity } from "./types.js";

/** What a correction writes at the head of the summary of an entry Autotask would not delete. */
export const DELETED_MARK = "[deleted in the portal]";

/**
 * Ticket time entries in Autotask (docs/emulator.md, Time entries): `POST /TimeEntries` with the
 * ticket's id, the resource, one of its roles, the work type as `billingCodeID`, start and end in
 * UTC and the hours. With `impersonate`, writes carry `ImpersonationResourceId` of the entry's
 * resource, so Autotask attributes the entry to that person (docs/autotask.md, Authentication).
 */
export function autotaskTimeEntries(api: AutotaskApi, s: AutotaskSettings): TimeEntryPort {
  const o = { impersonate: s.effortImpersonate };
  const body = (e: TimeEntryInput): Record<string, unknown> => ({
    resourceID: e.resourceId,
    roleID: e.roleId,
    ...(e.workTypeId !== null ? { billingCodeID: e.workTypeId } : {}),
    dateWorked: `${e.startedAt.slice(0, 10)}T00:00:00.000Z`,
    startDateTime: e.startedAt,
    endDateTime: e.endedAt,
    hoursWorked: e.hours,
    summaryNotes: e.summary,
    internalNotes: e.internalNote,
    isNonBillable: !e.billable,
  });
  const opts = (e: TimeEntryInput) => (o.impersonate ? { impersonationResourceId: e.resourceId } : {});
  /** The entry of this ticket, resource and start time, if one exists (a create whose answer was lost). */
  const lookup = async (psaTicketId: number, e: TimeEntryInput): Promise<number | null> => {
    const rows = await queryAll<AutotaskEntity>(api, "TimeEntries", {
      filter: [
        { op: "eq", field: "ticketID", value: psaTicketId },
        { op: "eq", field: "resourceID", value: e.resourceId },
      ],
    });
    const at = Date.parse(e.startedAt);
    return rows.find((r) => Date.parse(String(r["startDateTime"] ?? "")) === at)?.id ?? null;
  };
  return {
    defaults: {
      resourceId: s.effortResourceId,
      roleId: s.effortRoleId,
      workTypeId: s.effortWorkTypeId ?? s.billingCodeId,
    },

    async create(psaTicketId, e, c = {}) {
      if (c.maybeSent) {
        const found = await lookup(psaTicketId, e);
        if (found !== null) return found;
      }
      return api.createIdempotent(
        "TimeEntries",
        { ticketID: psaTicketId, ...body(e) },
        () => lookup(psaTicketId, e),
        opts(e),
      );
    },

    find: lookup,

    async update(id, e) {
      await api.update("TimeEntries", { id, ...body(e) }, opts(e));
    },

    async delete(id, e) {
      try {
        await api.delete("TimeEntries", id, opts(e));
        return "deleted";
      } catch (err) {
        if (!isPsaError(err)) throw err;
        if (err.code === "NOT_FOUND") return "gone";
        // Refused (the method, or an approved or posted entry): corrected to zero hours instead.
        if (err.code !== "METHOD_NOT_ALLOWED" && err.code !== "INVALID_REQUEST") throw err;
        await api.update(
          "TimeEntries",
          {
            id,
            hoursWorked: 0,
            hoursToBill: 0,
            summaryNotes: `${DELETED_MARK} ${e.summary}`.slice(0, 8000),
          },
          opts(e),
        );
        return "corrected";
      }
    },

    async resources() {
      const [people, held] = await Promise.all([
        queryAll<AutotaskEntity>(api, "Resources", { filter: [{ op: "gte", field: "id", value: 0 }] }),
        queryAll<AutotaskEntity>(api, "ResourceServiceDeskRoles", {
          filter: [{ op: "eq", field: "isActive", value: true }],
        }),
      ]);
      const defaults = new Map<number, number>();
      for (const r of held)
        if (r["isDefault"] === true) defaults.set(Number(r["resourceID"]), Number(r["roleID"]));
      return people.map(
        (r): PsaResource => ({
          id: r.id,
          name: [r["firstName"], r["lastName"]].filter(Boolean).join(" "),
          email: String(r["email"] ?? ""),
          active: r["isActive"] !== false,
          defaultRoleId:
            typeof r["defaultServiceDeskRoleID"] === "number"
              ? r["defaultServiceDeskRoleID"]
              : (defaults.get(r.id) ?? null),
        }),
      );
    },
  };
}
