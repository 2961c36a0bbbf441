/**
 * TicketAttachments of the emulated API (docs/emulator.md, TicketAttachments). Autotask's
 * "AttachmentInfo (REST API)" page
 * (https://www.autotask.net/help/developerhelp/Content/APIs/REST/Entities/AttachmentInfoEntity.htm)
 * says the data of an attachment is base64 and that the API's limit for one file is 6 to 7 MB; the
 * emulator refuses above 6 MB (6,291,456 bytes decoded), the lower end. The TicketNoteAttachments
 * page (https://psa.datto.com/help/DeveloperHelp/Content/APIs/REST/Entities/TicketNoteAttachmentsEntity.htm)
 * lists `data` and `fileSize` as fields a query may not filter on.
 */
import type { Row } from "./hooks.js";

/** Largest decoded file the emulated API accepts, bytes. */
export const ATTACHMENT_MAX_BYTES = 6 * 1024 * 1024;

/** attachmentType values (the entity's picklist as the Autotask help lists it). */
export const ATTACHMENT_TYPES = ["FILE_ATTACHMENT", "URL", "FOLDER_LINK"] as const;

/** publish: 1 All Autotask Users, 2 Internal Users Only. */
const PUBLISH = new Set([1, 2]);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The decoded size of valid base64 text, or null when it is not base64. */
export function base64Size(text: string): number | null {
  const s = text.replace(/\s/g, "");
  if (s.length % 4 !== 0 || !BASE64.test(s)) return null;
  return (s.length / 4) * 3 - (s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0);
}

/** Cross-field rules of a new attachment; an error message or null. Wording unconfirmed [U]. */
export function validateAttachment(row: Row): string | null {
  const type = row["attachmentType"];
  if (!(ATTACHMENT_TYPES as readonly unknown[]).includes(type))
    return `Invalid attachmentType: ${String(type)}. Use one of ${ATTACHMENT_TYPES.join(", ")}.`;
  if (!PUBLISH.has(Number(row["publish"]))) return "Value does not reference an existing entity for publish.";
  if (type !== "FILE_ATTACHMENT") return null;
  const data = row["data"];
  if (typeof data !== "string" || data === "")
    return "Missing Required Field: data. A FILE_ATTACHMENT needs data.";
  const size = base64Size(data);
  if (size === null) return "The attachment data is not valid base64.";
  if (size > ATTACHMENT_MAX_BYTES)
    return `The attachment is ${size} bytes; the API accepts attachments of up to ${ATTACHMENT_MAX_BYTES} bytes.`;
  return null;
}

const TYPES: Record<string, string> = {
  txt: "text/plain",
  log: "text/plain",
  csv: "text/csv",
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  zip: "application/zip",
  json: "application/json",
  xml: "application/xml",
  eml: "message/rfc822",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  html: "text/html",
  exe: "application/x-msdownload",
};

/** The content type Autotask reports, from the file name's extension. */
export function contentTypeOf(fullPath: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(fullPath)?.[1]?.toLowerCase() ?? "";
  return TYPES[ext] ?? "application/octet-stream";
}

/** Fields the API fills on a new attachment. */
export function maintainAttachment(
  row: Row,
  at: string,
  personId: number,
  impersonator: number | null,
): void {
  row["ticketID"] = row["parentID"];
  row["parentType"] = 4; // Ticket
  row["attachDate"] = at;
  row["attachedByResourceID"] = personId;
  row["creatorType"] = 1;
  row["impersonatorCreatorResourceID"] = impersonator;
  const data = typeof row["data"] === "string" ? row["data"] : "";
  row["fileSize"] = row["attachmentType"] === "FILE_ATTACHMENT" ? (base64Size(data) ?? 0) : 0;
  row["contentType"] = contentTypeOf(String(row["fullPath"] ?? ""));
}

/** A query answers attachments without their bytes; GET by id answers them. */
export function withoutData(row: Row): Row {
  const { data: _data, ...rest } = row;
  return { ...rest, data: null };
}
