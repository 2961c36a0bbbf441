import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
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

/** Room for the multipart envelope and the base64 expansion of a JSON body around the file itself. */
const ENVELOPE = 64 * 1024;

/** The header's parameter (boundary, name, filename), unquoted; undefined when absent. */
function param(header: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|;)\\s*${key}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, "i").exec(header);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2];
}

/**
 * The file part of a multipart/form-data body (RFC 7578): the first part with a filename, its type
 * from the part's Content-Type (application/octet-stream when it has none).
 */
export function multipartFile(body: Buffer, contentType: string): NewFile {
  const boundary = param(contentType, "boundary");
  if (!boundary) throw invalid("file", "multipart body without a boundary");
  const delim = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delim);
  while (at !== -1) {
    const start = at + delim.length;
    if (body.subarray(start, start + 2).toString() === "--") break; // the closing delimiter
    const headEnd = body.indexOf("\r\n\r\n", start);
    if (headEnd === -1) break;
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delim]), headEnd + 4);
    if (next === -1) break;
    const headers = body.subarray(start, headEnd).toString("utf8").split("\r\n");
    const get = (name: string) =>
      headers
        .find((h) => h.toLowerCase().startsWith(`${name}:`))
        ?.slice(name.length + 1)
        .trim() ?? "";
    const disposition = get("content-disposition");
    const fileName = param(disposition, "filename");
    if (fileName !== undefined) {
      return {
        fileName,
        contentType: get("content-type") || "application/octet-stream",
        data: Buffer.from(body.subarray(headEnd + 4, next)),
      };
    }
    at = next + 2;
  }
  throw invalid("file", "the multipart body has no file part");
}

/** "attachment" with the name as ASCII and, when it has other characters, as RFC 8187 UTF-8. */
function disposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  return ascii === name
    ? `attachment; filename="${ascii}"`
    : `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * Files on tickets. Upload is multipart/form-data (one file part) or JSON
 * `{fileName, contentType, dataBase64}`; a download is always served as an attachment, with its
 * stored content type only when that type is allowed, and never sniffed.
 */
export const attachmentRoutes =
  (portal: Portal): FastifyPluginAsyncTypebox =>
  async (app) => {
    const max = portal.attachments.maxBytes;
    // The body may exceed the limit a little (envelope), so an oversized file is refused by the
    // portal with its name rather than cut off by the server; far larger bodies meet the server's 413.
    const bodyLimit = Math.ceil(max * 1.4) + ENVELOPE;
    app.addContentTypeParser("multipart/form-data", { parseAs: "buffer", bodyLimit }, (_req, body, done) =>
      done(null, body),
    );
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
        if (/^multipart\/form-data/i.test(type)) file = multipartFile(req.body as Buffer, type);
        else if (/^application\/json/i.test(type)) {
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
