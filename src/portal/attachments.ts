import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Selectable } from "kysely";
import type { AttachmentRow } from "../store/schema.js";
import { type Actor, requirePermission, requireVisible } from "./access.js";
import type { PortalContext } from "./context.js";
import { invalid, PortalError } from "./errors.js";
import type { Tickets } from "./tickets.js";

/** Default largest file, bytes: the Autotask API's per-file limit (docs/emulator.md, TicketAttachments). */
export const DEFAULT_ATTACHMENT_MAX_BYTES = 6 * 1024 * 1024;

/**
 * Content types accepted by default: documents, images, archives and plain text a NOC exchanges with
 * a partner. Never text/html or scripts (they would run in the portal's origin if served inline).
 * A trailing `/*` allows a whole family.
 */
export const DEFAULT_ATTACHMENT_TYPES: readonly string[] = [
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/bmp",
  "application/pdf",
  "text/plain",
  "text/csv",
  "application/json",
  "application/xml",
  "application/zip",
  "application/x-7z-compressed",
  "application/gzip",
  "message/rfc822",
  "application/msword",
  "application/vnd.ms-excel",
  "application/vnd.ms-powerpoint",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  "application/vnd.ms-outlook",
];

export interface AttachmentOptions {
  /** Largest file accepted, bytes (NOCBRIDGE_ATTACHMENT_MAX_BYTES). */
  maxBytes?: number;
  /** Content types accepted (NOCBRIDGE_ATTACHMENT_TYPES); `type/*` allows a family. */
  types?: readonly string[];
  /** Set: the bytes are files under this directory (NOCBRIDGE_ATTACHMENT_DIR); unset: in the database. */
  dir?: string | undefined;
}

/** A file on a portal ticket, without its bytes. */
export interface Attachment {
  id: number;
  ticketId: number;
  fileName: string;
  contentType: string;
  size: number;
  sha256: string;
  /** Where it was added: "portal" (a user) or "psa" (brought over by the sync). */
  origin: string;
  createdBy: string;
  createdAt: string;
}

export interface NewFile {
  fileName: string;
  contentType: string;
  data: Buffer;
}

/** Who added a file: a portal user (it is announced to the sync) or the sync bringing it from the PSA. */
export interface FileOrigin {
  origin?: "portal" | "psa";
  /** Shown as created_by for a file from the PSA. */
  author?: string;
}

function toAttachment(r: Selectable<AttachmentRow>): Attachment {
  return {
    id: r.id,
    ticketId: r.ticket_id,
    fileName: r.file_name,
    contentType: r.content_type,
    size: Number(r.size),
    sha256: r.sha256,
    origin: r.origin,
    createdBy: r.created_by,
    createdAt: r.created_at,
  };
}

/** The content type without parameters, lower case ("Text/Plain; charset=utf-8" → "text/plain"). */
export function baseType(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

/** The last path segment, without control characters, at most 255 characters; "" when none is left. */
export function cleanFileName(name: string): string {
  const last = name.split(/[\\/]/).pop() ?? "";
  return [...last]
    .filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f && c !== '"')
    .join("")
    .trim()
    .slice(0, 255);
}

/**
 * Files on tickets: added through the API (multipart) or by the sync from the PSA, listed and
 * downloaded with the ticket's access checks. A file larger than the limit, or of a type not allowed,
 * is refused whole (never truncated) and nothing is written. The same bytes on a ticket are stored
 * once: adding them again answers the attachment already there.
 */
export class Attachments {
  readonly #ctx: PortalContext;
  readonly #tickets: Tickets;
  readonly maxBytes: number;
  readonly #types: readonly string[];
  readonly #dir: string | undefined;

  constructor(ctx: PortalContext, tickets: Tickets, o: AttachmentOptions = {}) {
    this.#ctx = ctx;
    this.#tickets = tickets;
    this.maxBytes = o.maxBytes ?? DEFAULT_ATTACHMENT_MAX_BYTES;
    this.#types = (o.types ?? DEFAULT_ATTACHMENT_TYPES).map((t) => t.trim().toLowerCase());
    this.#dir = o.dir;
  }

  /** Whether files of this content type are accepted (and served with it). */
  allowed(contentType: string): boolean {
    const t = baseType(contentType);
    if (t === "") return false;
    return this.#types.some((a) => a === t || (a.endsWith("/*") && t.startsWith(a.slice(0, -1))));
  }

  /**
   * Why a file would be refused (too large, a refused type, no name), or null when it is accepted.
   * `over`: the upload stopped reading the file at the limit, so its size is only known to exceed it.
   */
  refusal(
    file: { fileName: string; contentType: string; size: number },
    o: { over?: boolean } = {},
  ): PortalError | null {
    const name = cleanFileName(file.fileName);
    if (name === "") return invalid("fileName", "a file name is required");
    if (o.over || file.size > this.maxBytes)
      return new PortalError(
        "TOO_LARGE",
        413,
        `file "${name}" is ${o.over ? `over ${this.maxBytes}` : file.size} bytes; the largest accepted is ${this.maxBytes} bytes`,
        "file",
      );
    if (!this.allowed(file.contentType))
      return new PortalError(
        "INVALID",
        415,
        `file "${name}": content type "${baseType(file.contentType) || "(none)"}" is not allowed`,
        "contentType",
      );
    return null;
  }

  /**
   * Adds a file to a ticket; `created` is false when the same bytes were already on it (that
   * attachment is answered, nothing is written).
   */
  async add(
    actor: Actor,
    ticketId: number,
    file: NewFile,
    o: FileOrigin = {},
  ): Promise<{ attachment: Attachment; created: boolean }> {
    const ticket = await this.#tickets.row(actor, ticketId);
    requirePermission(actor, "data:write");
    const refused = this.refusal({ ...file, size: file.data.length });
    if (refused) throw refused;
    const sha256 = createHash("sha256").update(file.data).digest("hex");
    const existing = await this.#bySha(ticketId, sha256);
    if (existing) return { attachment: toAttachment(existing), created: false };
    const origin = o.origin ?? "portal";
    let key: string | null = null;
    if (this.#dir !== undefined) {
      key = join(String(ticket.partner_id), String(ticketId), `${sha256}-${randomBytes(4).toString("hex")}`);
      const path = join(this.#dir, key);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await writeFile(`${path}.tmp`, file.data, { mode: 0o600 });
      await rename(`${path}.tmp`, path);
    }
    try {
      const row = await this.#ctx.k.transaction().execute(async (trx) => {
        const now = this.#ctx.now();
        const inserted = await trx
          .insertInto("attachments")
          .values({
            partner_id: ticket.partner_id,
            ticket_id: ticketId,
            file_name: cleanFileName(file.fileName),
            content_type: baseType(file.contentType),
            size: file.data.length,
            sha256,
            storage: key === null ? "db" : "dir",
            data: key === null ? file.data : null,
            storage_key: key,
            origin,
            created_by: o.author ?? actor.name,
            created_at: now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        if (origin !== "psa") {
          await trx
            .insertInto("ticket_outbox")
            .values({
              partner_id: ticket.partner_id,
              ticket_id: ticketId,
              kind: "attachment",
              created_at: now,
            })
            .execute();
        }
        return inserted;
      });
      if (origin !== "psa") this.#ctx.wake("outbox", ticket.partner_id);
      return { attachment: toAttachment(row), created: true };
    } catch (e) {
      if (key !== null && this.#dir !== undefined) await unlink(join(this.#dir, key)).catch(() => {});
      // The same bytes added at the same moment by another request: answer that one.
      const raced = await this.#bySha(ticketId, sha256);
      if (raced) return { attachment: toAttachment(raced), created: false };
      throw e;
    }
  }

  /** A ticket's files, oldest first. */
  async list(actor: Actor, ticketId: number): Promise<Attachment[]> {
    await this.#tickets.row(actor, ticketId);
    const rows = await this.#ctx.k
      .selectFrom("attachments")
      .select(META)
      .where("ticket_id", "=", ticketId)
      .orderBy("id")
      .execute();
    return rows.map((r) => toAttachment({ ...r, data: null, storage_key: null, storage: "" }));
  }

  /** One file with its bytes: 404 unless the actor sees its ticket. */
  async get(actor: Actor, attachmentId: number): Promise<Attachment & { data: Buffer }> {
    const row = await this.#ctx.k
      .selectFrom("attachments")
      .selectAll()
      .where("id", "=", attachmentId)
      .executeTakeFirst();
    const seen = requireVisible(actor, row, "attachment");
    let data: Buffer;
    if (seen.storage === "dir") {
      if (this.#dir === undefined || seen.storage_key === null)
        throw new PortalError("NOT_FOUND", 404, "attachment file not found (no attachment directory set)");
      data = await readFile(join(this.#dir, seen.storage_key));
    } else data = Buffer.from(seen.data ?? Buffer.alloc(0));
    return { ...toAttachment(seen), data };
  }

  async #bySha(ticketId: number, sha256: string) {
    return this.#ctx.k
      .selectFrom("attachments")
      .selectAll()
      .where("ticket_id", "=", ticketId)
      .where("sha256", "=", sha256)
      .executeTakeFirst();
  }
}

const META = [
  "id",
  "partner_id",
  "ticket_id",
  "file_name",
  "content_type",
  "size",
  "sha256",
  "origin",
  "created_by",
  "created_at",
] as const;
