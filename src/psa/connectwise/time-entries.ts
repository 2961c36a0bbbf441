/**
 * Ticket time entries in ConnectWise (docs/connectwise.md, Time entries): `POST /time/entries`
 * charged to the service ticket (`chargeToType` "ServiceTicket", `chargeToId`), the member, its work
 * role and the work type, start and end in UTC (ConnectWise computes `actualHours` from them), the
 * notes and internal notes, and the billable option. Edits are JSON-Patch; a delete ConnectWise
 * refuses (an approved or billed entry) becomes a correction: zero hours and a deleted-in-the-portal
 * note.
 */
import { isPsaError, type PsaResource, type TimeEntryInput, type TimeEntryPort } from "../connector.js";
import type { ConnectWiseApi } from "./api.js";
import { int } from "./query.js";
import type { ConnectWiseSettings } from "./settings.js";
import type { PatchOp } from "./types.js";

/** What a correction writes at the head of the notes of an entry ConnectWise would not delete. */
export const CW_DELETED_MARK = "[deleted in the portal]";

interface CwTimeEntry {
  id: number;
  timeStart?: string;
  member?: { id: number };
}

interface CwMember {
  id: number;
  identifier?: string;
  firstName?: string;
  lastName?: string;
  name?: string;
  officeEmail?: string | null;
  inactiveFlag?: boolean;
  workRole?: { id: number } | null;
}

/** Seconds since the epoch: ConnectWise keeps times to the second. */
const second = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

/** The writable fields of an entry (the charge-to fields are set on create only). */
function fields(e: TimeEntryInput): Record<string, unknown> {
  return {
    member: { id: e.resourceId },
    workRole: { id: e.roleId },
    ...(e.workTypeId !== null ? { workType: { id: e.workTypeId } } : {}),
    timeStart: `${new Date(second(e.startedAt) * 1000).toISOString().slice(0, 19)}Z`,
    timeEnd: `${new Date(second(e.endedAt) * 1000).toISOString().slice(0, 19)}Z`,
    notes: e.summary,
    internalNotes: e.internalNote,
    billableOption: e.billable ? "Billable" : "DoNotBill",
  };
}

export function connectwiseTimeEntries(api: ConnectWiseApi, s: ConnectWiseSettings): TimeEntryPort {
  /** The entry of this ticket, member and start time, if one exists (a create whose answer was lost). */
  const lookup = async (psaTicketId: number, e: TimeEntryInput): Promise<CwTimeEntry | null> => {
    const rows = await api.all<CwTimeEntry>("time/entries", {
      conditions: `chargeToType = "ServiceTicket" and chargeToId = ${int(psaTicketId)} and member/id = ${int(e.resourceId)}`,
      fields: ["id", "timeStart", "member/id"],
    });
    const at = second(e.startedAt);
    return rows.find((r) => second(String(r.timeStart ?? "")) === at) ?? null;
  };
  const patch = (body: Record<string, unknown>): PatchOp[] =>
    Object.entries(body).map(([path, value]) => ({ op: "replace", path, value }));
  return {
    defaults: {
      resourceId: s.effortResourceId,
      roleId: s.effortWorkRoleId,
      workTypeId: s.effortWorkTypeId,
    },

    async create(psaTicketId, e, c = {}) {
      if (c.maybeSent) {
        const found = await lookup(psaTicketId, e);
        if (found !== null) return found.id;
      }
      const made = await api.createIdempotent<CwTimeEntry>(
        "time/entries",
        { chargeToId: psaTicketId, chargeToType: "ServiceTicket", ...fields(e) },
        () => lookup(psaTicketId, e),
      );
      return made.id;
    },

    async find(psaTicketId, e) {
      return (await lookup(psaTicketId, e))?.id ?? null;
    },

    async update(id, e) {
      await api.patch(`time/entries/${int(id)}`, patch(fields(e)));
    },

    async delete(id, e) {
      try {
        await api.delete(`time/entries/${int(id)}`);
        return "deleted";
      } catch (err) {
        if (!isPsaError(err)) throw err;
        if (err.code === "NOT_FOUND") return "gone";
        if (err.code !== "INVALID_REQUEST" && err.code !== "METHOD_NOT_ALLOWED") throw err;
        const f = fields(e);
        await api.patch(
          `time/entries/${int(id)}`,
          patch({ timeEnd: f["timeStart"], notes: `${CW_DELETED_MARK} ${e.summary}` }),
        );
        return "corrected";
      }
    },

    async resources() {
      const members = await api.all<CwMember>("system/members", {
        fields: [
          "id",
          "identifier",
          "firstName",
          "lastName",
          "name",
          "officeEmail",
          "inactiveFlag",
          "workRole/id",
        ],
      });
      return members.map(
        (m): PsaResource => ({
          id: m.id,
          name:
            m.name ?? ([m.firstName, m.lastName].filter(Boolean).join(" ") || String(m.identifier ?? m.id)),
          email: m.officeEmail ?? "",
          active: m.inactiveFlag !== true,
          defaultRoleId: typeof m.workRole?.id === "number" ? m.workRole.id : null,
        }),
      );
    },
  };
}
