/**
 * Documents on service tickets (docs/connectwise-emulator.md, Documents): `POST system/documents`
 * as multipart/form-data (recordType, recordId, title, file, privateFlag, readOnlyFlag), the list
 * `GET system/documents?recordType=Ticket&recordId=…`, one record `GET system/documents/{id}`, its
 * bytes `GET system/documents/{id}/download`, and `DELETE system/documents/{id}`. The bytes are kept
 * in base64 in a field the API never shows. By default a document does not stamp its ticket's
 * `_info.lastUpdated` (`touchTicket` makes it do so).
 */
import type { ApiAnswer, Caller } from "./api.js";
import { badRequest, CwError, fieldError, invalidObject, notFound, routeNotFound } from "./errors.js";
import { type Rec, stamp } from "./store.js";

const TABLE = "documents";
const CONTENT = "__content";
const CONTENT_TYPE = "__contentType";
const RECORD_TYPE = "__recordType";
const RECORD_ID = "__recordId";

/** Largest upload kept (the emulator's choice; see docs/connectwise-emulator.md, Documents). */
export const DOCUMENT_MAX_BYTES = 25 * 1024 * 1024;

export interface DocumentOptions {
  maxBytes: number;
  /** A new document stamps its ticket's `_info.lastUpdated` (off: see the docs). */
  touchTicket: boolean;
}

export interface DocumentRequest {
  method: string;
  /** Segments after /apis/3.0/, starting "system", "documents". */
  segs: string[];
  params: URLSearchParams;
  contentType: string;
  body: Buffer | string | undefined;
}

export type DocumentAnswer =
  | ApiAnswer
  | { status: 200; bytes: Buffer; contentType: string; fileName: string };

/** The API's view of a document: every field but the stored bytes and its record. */
function view(rec: Rec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) if (!k.startsWith("__")) out[k] = structuredClone(v);
  return out;
}

const isImage = (name: string) => /\.(png|jpe?g|gif|bmp|tiff?|webp)$/i.test(name);

async function formOf(req: DocumentRequest): Promise<FormData> {
  if (!/^multipart\/form-data/i.test(req.contentType) || !Buffer.isBuffer(req.body))
    throw badRequest("The request must be multipart/form-data.");
  try {
    return await new Response(req.body, { headers: { "content-type": req.contentType } }).formData();
  } catch {
    throw badRequest("The multipart body could not be read.");
  }
}

const flag = (v: unknown) => typeof v === "string" && /^true$/i.test(v);

export async function handleDocuments(
  req: DocumentRequest,
  caller: Caller,
  now: () => Date,
  o: DocumentOptions,
): Promise<DocumentAnswer> {
  const t = caller.tenant;
  const [, , idSeg, tail, ...more] = req.segs;
  if (more.length > 0) throw routeNotFound();
  if (idSeg === undefined) {
    if (req.method === "GET") {
      const type = req.params.get("recordType") ?? "";
      const rid = Number(req.params.get("recordId"));
      if (type === "" || !Number.isInteger(rid))
        throw badRequest("recordType and recordId are required to list documents.");
      const rows = t
        .rows(TABLE)
        .filter((r) => String(r[RECORD_TYPE]).toLowerCase() === type.toLowerCase() && r[RECORD_ID] === rid)
        .sort((a, b) => a.id - b.id)
        .map(view);
      return { status: 200, body: rows };
    }
    if (req.method !== "POST")
      throw new CwError(405, { code: "ConnectWiseApi", message: "Method not allowed." });
    const form = await formOf(req);
    const recordType = String(form.get("recordType") ?? "");
    const recordId = Number(form.get("recordId"));
    const file = form.get("file");
    const errors = [];
    if (recordType === "")
      errors.push(fieldError("Document", "recordType", "NullOrEmpty", "recordType is required."));
    if (!Number.isInteger(recordId) || recordId <= 0)
      errors.push(fieldError("Document", "recordId", "NullOrEmpty", "recordId is required."));
    if (!(file instanceof Blob))
      errors.push(fieldError("Document", "file", "NullOrEmpty", "A file is required."));
    if (errors.length > 0) throw invalidObject("Document", errors);
    if (recordType.toLowerCase() !== "ticket")
      throw badRequest(`The emulator keeps documents on tickets only, not on ${recordType}.`);
    const ticket = t.get("tickets", recordId);
    if (!ticket) throw notFound("Ticket", recordId);
    const blob = file as File;
    if (blob.size > o.maxBytes)
      throw badRequest(`The file is ${blob.size} bytes, over the limit of ${o.maxBytes} bytes.`);
    const data = Buffer.from(await blob.arrayBuffer());
    const fileName = blob.name || "file";
    const titleIn = form.get("title");
    const title = typeof titleIn === "string" && titleIn !== "" ? titleIn : fileName;
    const at = stamp(now());
    const who = String(caller.member["identifier"]);
    const id = t.nextId(TABLE);
    const rec: Rec = {
      id,
      title,
      fileName,
      serverFileName: `${id}_${fileName}`,
      owner: who,
      linkFlag: false,
      imageFlag: isImage(fileName),
      publicFlag: !flag(form.get("privateFlag")),
      readOnlyFlag: flag(form.get("readOnlyFlag")),
      size: data.length,
      _info: { lastUpdated: at, updatedBy: who, dateEntered: at, enteredBy: who },
      [CONTENT]: data.toString("base64"),
      [CONTENT_TYPE]: blob.type || "application/octet-stream",
      [RECORD_TYPE]: "Ticket",
      [RECORD_ID]: recordId,
    };
    t.put(TABLE, rec);
    if (o.touchTicket) {
      const info = (ticket["_info"] ?? {}) as Record<string, unknown>;
      t.put("tickets", { ...ticket, _info: { ...info, lastUpdated: at, updatedBy: who } });
    }
    return { status: 200, body: view(rec) };
  }
  const id = Number(idSeg);
  if (!Number.isInteger(id) || id <= 0) throw routeNotFound();
  const rec = t.get(TABLE, id);
  if (!rec) throw notFound("Document", id);
  if (tail === undefined) {
    if (req.method === "GET") return { status: 200, body: view(rec) };
    if (req.method === "DELETE") {
      t.delete(TABLE, id);
      return { status: 204 };
    }
    throw new CwError(405, { code: "ConnectWiseApi", message: "Method not allowed." });
  }
  if (tail.toLowerCase() !== "download" || req.method !== "GET") throw routeNotFound();
  return {
    status: 200,
    bytes: Buffer.from(String(rec[CONTENT] ?? ""), "base64"),
    contentType: String(rec[CONTENT_TYPE] ?? "application/octet-stream"),
    fileName: String(rec["fileName"]),
  };
}
