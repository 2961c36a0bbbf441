import type { AttachmentPort, PsaAttachment } from "../connector.js";
import { type AutotaskApi, queryAll } from "./api.js";
import type { AutotaskEntity } from "./types.js";

/**
 * A TicketAttachments row (docs/emulator.md, TicketAttachments): `parentID` is the ticket, `fullPath`
 * the file name, `data` the bytes in base64 (answered by GET by id only).
 */
interface TicketAttachment extends AutotaskEntity {
  parentID?: number | null;
  ticketID?: number | null;
  attachmentType?: string | null;
  fullPath?: string | null;
  title?: string | null;
  contentType?: string | null;
  fileSize?: number | null;
  data?: string | null;
}

/** Ticket ids per listing of `addedSince` (an `in` condition of Autotask's query stays short). */
const QUERY_IDS = 200;

/** publish: 1 = all Autotask users (the partner's technicians see the NOC's files). */
const PUBLISH_ALL = 1;

function toPsaAttachment(r: TicketAttachment, ticketId: number): PsaAttachment {
  return {
    id: r.id,
    ticketId: typeof r.parentID === "number" ? r.parentID : ticketId,
    name: String(r.fullPath ?? r.title ?? `attachment-${r.id}`),
    size: typeof r.fileSize === "number" ? r.fileSize : null,
    contentType: String(r.contentType ?? "application/octet-stream"),
  };
}

/**
 * Ticket attachments in Autotask: files only (attachmentType FILE_ATTACHMENT; links to URLs and
 * folders are not files and are left out), created at Tickets/{id}/Attachments.
 */
export function autotaskAttachments(api: AutotaskApi): AttachmentPort {
  const list = async (ticketId: number): Promise<PsaAttachment[]> => {
    const rows = await queryAll<TicketAttachment>(api, "TicketAttachments", {
      filter: [{ op: "eq", field: "parentID", value: ticketId }],
    });
    return rows
      .filter((r) => r.attachmentType === "FILE_ATTACHMENT" && (r.ticketID ?? r.parentID) === ticketId)
      .sort((a, b) => a.id - b.id)
      .map((r) => toPsaAttachment(r, ticketId));
  };
  return {
    list,

    async addedSince(since, ticketIds) {
      const found: Array<{ id: number; ticketId: number }> = [];
      const ids = [...new Set(ticketIds)];
      for (let i = 0; i < ids.length; i += QUERY_IDS) {
        const rows = await queryAll<TicketAttachment>(api, "TicketAttachments", {
          filter: [
            { op: "gte", field: "attachDate", value: since.toISOString() },
            { op: "in", field: "parentID", value: ids.slice(i, i + QUERY_IDS) },
          ],
          includeFields: ["id", "parentID", "ticketID", "attachmentType"],
        });
        for (const r of rows)
          if (r.attachmentType === "FILE_ATTACHMENT" && typeof r.parentID === "number")
            found.push({ id: r.id, ticketId: r.parentID });
      }
      return found;
    },

    async get(id) {
      const row = await api.get<TicketAttachment>("TicketAttachments", id);
      if (!row) return null;
      return {
        name: String(row.fullPath ?? row.title ?? `attachment-${id}`),
        contentType: String(row.contentType ?? "application/octet-stream"),
        data: Buffer.from(String(row.data ?? ""), "base64"),
      };
    },

    async add(ticketId, file, known) {
      const body = {
        parentID: ticketId,
        attachmentType: "FILE_ATTACHMENT",
        fullPath: file.name,
        title: file.name,
        publish: PUBLISH_ALL,
        data: file.data.toString("base64"),
      };
      // After an ambiguous failure, a file of this ticket with the same name and size that is not
      // one we know is the one sent.
      return api.createChildIdempotent("Tickets", ticketId, "Attachments", body, async () => {
        const found = await list(ticketId);
        return (
          found.find((f) => f.name === file.name && f.size === file.data.length && !known.has(f.id))?.id ??
          null
        );
      });
    },
  };
}
