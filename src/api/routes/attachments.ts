import multipart from "@fastify/multipart";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyRequest } from "fastify";
import type { NewFile } from "../../portal/attachments.js";
import { invalid, PortalError } from "../../portal/errors.js";
import type { Portal } from "../../portal/service.js";
import { IdParams } from "../schemas.js";

const Attachment = Type.Object(
  {
    id: Type.Integer(),
    ticketId: Type.Integer(),
    fileName: Type.String(),
    contentType: Type.String(),
    size: Type.Integer(),
    sha256: Type.String(),
    origin: Type.String(),
    createdBy: Type.String(),
    createdAt: Type.String(),
  },
  { $id: "Attachment" },
);

/** Room for the base64 expansion and the JSON around a file sent as `{fileName, contentType, dataBase64}`. */
const ENVELOPE = 64 * 1024;
/** The multipart body's other parts (form fields) are small: their size and count are bounded. */
const FIELD_LIMITS = { fieldSize: 64 * 1024, fields: 20, parts: 50, headerPairs: 50 } as const;

/** One file part read from the stream: its bytes (none kept once it is over the limit or refused). */
interface StreamedFile {
  fileName: string;
  contentType: string;
  data: Buffer;
  size: number;
  /** The file went over the limit: the rest of it was discarded unread. */
  over: boolean;
}

/**
 * The file of a multipart/form-data upload (@fastify/multipart, on busboy): the first part with a
 * filename, its type from the part's Content-Type (text/plain when it has none, RFC 7578 §4.4). The
 * size limit is enforced while the file streams in — busboy stops at `maxBytes` and discards the
 * rest, so no more than the limit is ever held — and a file whose type is refused is not kept at all.
 * Other parts are read to their end and dropped, so the whole body is consumed before the answer.
 */
async function streamedFile(
  req: FastifyRequest,
  maxBytes: number,
  accepted: (contentType: string) => boolean,
): Promise<StreamedFile> {
  let found: StreamedFile | null = null;
  try {
    for await (const part of req.parts({ limits: { ...FIELD_LIMITS, fileSize: maxBytes } })) {
      if (part.type !== "file") continue;
      const keep: boolean = found === null && accepted(part.mimetype);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of part.file as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (keep) chunks.push(chunk);
      }
      if (found !== null) continue;
      const over = part.file.truncated;
      found = {
        fileName: part.filename,
        contentType: part.mimetype,
        data: keep && !over ? Buffer.concat(chunks) : Buffer.alloc(0),
        size: over ? maxBytes + 1 : size,
        over,
      };
    }
  } catch (e) {
    if (e instanceof PortalError) throw e;
    const err = e as { statusCode?: number; message?: string };
    throw new PortalError(
      err.statusCode === 413 ? "TOO_LARGE" : "INVALID",
      err.statusCode === 413 ? 413 : 400,
      `the multipart body could not be read: ${err.message ?? "malformed"}`,
      "file",
    );
  }
  if (found === null) throw invalid("file", "the multipart body has no file part");
  return found;
}

/** "attachment" with the name as ASCII and, when it has other characters, as RFC 8187 UTF-8. */
function disposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  return ascii === name
    ? `attachment; filename="${ascii}"`
    : `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * Files on tickets. Upload is multipart/form-data (the first file part; streamed) or JSON
 * `{fileName, contentType, dataBase64}`; a download is always served as an attachment, with its
 * stored content type only when that type is allowed, and never sniffed.
 */
export const attachmentRoutes =
  (portal: Portal): FastifyPluginAsyncTypebox =>
  async (app) => {
    const max = portal.attachments.maxBytes;
    // JSON bodies carry the file in base64: room for its expansion, so an oversized file is refused
    // by the portal with its name rather than cut off by the server. Multipart bodies stream
    // (streamedFile); their declared length is bounded the same way before anything is read.
    const bodyLimit = Math.ceil(max * 1.4) + ENVELOPE;
    await app.register(multipart, { throwFileSizeLimit: false });
    const TicketParams = IdParams("ticketId");

    app.post(
      "/api/tickets/:ticketId/attachments",
      {
        bodyLimit,
        schema: {
          tags: ["tickets"],
          params: TicketParams,
          response: { 200: Attachment, 201: Attachment },
        },
      },
      async (req, reply) => {
        const type = String(req.headers["content-type"] ?? "");
        let file: NewFile;
        if (req.isMultipart()) {
          const declared = Number(req.headers["content-length"] ?? 0);
          if (declared > bodyLimit)
            throw new PortalError(
              "TOO_LARGE",
              413,
              `the upload is ${declared} bytes; the largest file accepted is ${max} bytes`,
              "file",
            );
          const got = await streamedFile(req, max, (t) => portal.attachments.allowed(t));
          // Nothing is written for a refused file: too large (named, never truncated), a refused type.
          const refused = portal.attachments.refusal(got, { over: got.over });
          if (refused) throw refused;
          file = got;
        } else if (/^application\/json/i.test(type)) {
          const b = req.body as Record<string, unknown> | null;
          const fileName = b?.["fileName"];
          const contentType = b?.["contentType"];
          const data = b?.["dataBase64"];
          if (typeof fileName !== "string") throw invalid("fileName", "a file name is required");
          if (typeof contentType !== "string") throw invalid("contentType", "a content type is required");
          if (typeof data !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(data.replace(/\s/g, "")))
            throw invalid("dataBase64", "base64 data is required");
          file = { fileName, contentType, data: Buffer.from(data, "base64") };
        } else
          throw new PortalError(
            "INVALID",
            415,
            "send the file as multipart/form-data or as JSON {fileName, contentType, dataBase64}",
          );
        const { attachment, created } = await portal.attachments.add(req.actor, req.params.ticketId, file);
        return reply.code(created ? 201 : 200).send(attachment);
      },
    );

    app.get(
      "/api/tickets/:ticketId/attachments",
      {
        schema: {
          tags: ["tickets"],
          params: TicketParams,
          response: { 200: Type.Object({ items: Type.Array(Attachment) }) },
        },
      },
      async (req) => ({ items: await portal.attachments.list(req.actor, req.params.ticketId) }),
    );

    app.get(
      "/api/attachments/:attachmentId",
      { schema: { tags: ["tickets"], params: IdParams("attachmentId") } },
      async (req, reply) => {
        const a = await portal.attachments.get(req.actor, req.params.attachmentId);
        return reply
          .header(
            "content-type",
            portal.attachments.allowed(a.contentType) ? a.contentType : "application/octet-stream",
          )
          .header("content-disposition", disposition(a.fileName))
          .header("x-content-type-options", "nosniff")
          .header("cache-control", "private, no-store")
          .send(a.data);
      },
    );
  };
