import { createHash } from "node:crypto";
import { PortalError } from "../../portal/errors.js";
import { isPsaError } from "../../psa/errors.js";
import type { Db } from "../../store/db.js";
import type { SyncPortal } from "../portal-port.js";
import type { Ctx } from "./mapping.js";

/**
 * Files follow both ways, once each. A portal file not yet linked goes to the PSA ticket; with
 * `pull` (the lane runs on a poll, webhook or retry), a PSA file not yet linked comes to the portal
 * ticket. Every file that crossed has an attachment_links row, so it never crosses again; a PSA file
 * whose bytes (sha256) are already on the portal ticket is linked, not copied. A PSA file the portal
 * refuses (over its size limit, a type it does not allow) is skipped whole — never truncated — with
 * a warning on the ticket, and remembered as skipped.
 */
export class FileSync {
  constructor(
    private readonly db: Db,
    private readonly portal: SyncPortal,
  ) {}

  get #k() {
    return this.db.kysely;
  }

  async #link(
    partnerId: number,
    psaTicketId: number,
    psaAttachmentId: number,
    attachmentId: number | null,
    sha256: string | null,
    skipped: string | null = null,
  ): Promise<void> {
    await this.#k
      .insertInto("attachment_links")
      .values({
        partner_id: partnerId,
        attachment_id: attachmentId,
        psa_attachment_id: psaAttachmentId,
        psa_ticket_id: psaTicketId,
        sha256,
        skipped,
        created_at: new Date().toISOString(),
      })
      .execute();
  }

  /** Brings the files of one linked ticket in step; `warn` puts a warning on the portal ticket. */
  async sync(
    ctx: Ctx,
    ticketId: number,
    psaTicketId: number,
    pull: boolean,
    warn: (text: string) => Promise<void>,
  ): Promise<void> {
    const port = ctx.session.attachments;
    if (!port) return;
    const label = ctx.session.label;
    const links = await this.#k
      .selectFrom("attachment_links")
      .select(["attachment_id", "psa_attachment_id"])
      .where("partner_id", "=", ctx.partnerId)
      .where("psa_ticket_id", "=", psaTicketId)
      .execute();
    const linkedPortal = new Set(links.map((l) => l.attachment_id));
    const linkedPsa = new Set(links.map((l) => l.psa_attachment_id));
    const files = await this.portal.attachments(ticketId);
    const unsent = files.filter((f) => !linkedPortal.has(f.id));
    if (unsent.length === 0 && !pull) return;
    const psaFiles = await port.list(psaTicketId);
    const hashOf = new Map<number, string>();
    const psaHash = async (id: number): Promise<string | null> => {
      const known = hashOf.get(id);
      if (known !== undefined) return known;
      const got = await port.get(id);
      if (!got) return null;
      const h = createHash("sha256").update(got.data).digest("hex");
      hashOf.set(id, h);
      return h;
    };
    for (const f of unsent) {
      // The same bytes already on the PSA ticket, not yet linked (added on both sides): link them.
      let psaId: number | null = null;
      for (const pa of psaFiles) {
        if (linkedPsa.has(pa.id) || pa.size !== f.size) continue;
        if ((await psaHash(pa.id)) === f.sha256) {
          psaId = pa.id;
          break;
        }
      }
      if (psaId === null) {
        const file = await this.portal.attachmentData(f.id);
        try {
          psaId = await port.add(
            psaTicketId,
            { name: f.fileName, contentType: f.contentType, data: file.data },
            linkedPsa,
          );
        } catch (e) {
          // A file the PSA refuses for good (its own size or type rules) must not hold up the
          // ticket: it is remembered as skipped (a placeholder PSA id, minus the portal id) and said so.
          if (!isPsaError(e) || e.code !== "INVALID_REQUEST") throw e;
          linkedPortal.add(f.id);
          await this.#link(ctx.partnerId, psaTicketId, -f.id, f.id, f.sha256, e.message);
          await warn(`Attachment "${f.fileName}" was not sent to ${label}: ${e.message}`);
          continue;
        }
      }
      linkedPsa.add(psaId);
      linkedPortal.add(f.id);
      await this.#link(ctx.partnerId, psaTicketId, psaId, f.id, f.sha256);
    }
    if (!pull) return;
    const limit = this.portal.attachmentLimit();
    const bySha = new Map(files.map((f) => [f.sha256, f.id]));
    for (const pa of psaFiles) {
      if (linkedPsa.has(pa.id)) continue;
      const skip = async (why: string) => {
        await this.#link(ctx.partnerId, psaTicketId, pa.id, null, null, why);
        await warn(`${label} attachment "${pa.name}" was not copied to the portal: ${why}.`);
      };
      if (pa.size !== null && pa.size > limit) {
        await skip(`it is ${pa.size} bytes, over the portal's limit of ${limit} bytes`);
        continue;
      }
      const got = await port.get(pa.id);
      if (!got) continue;
      if (got.data.length > limit) {
        await skip(`it is ${got.data.length} bytes, over the portal's limit of ${limit} bytes`);
        continue;
      }
      const sha256 = createHash("sha256").update(got.data).digest("hex");
      const same = bySha.get(sha256);
      if (same !== undefined && !linkedPortal.has(same)) {
        // The same bytes are on the portal ticket already (and not yet linked): link, don't copy.
        linkedPortal.add(same);
        await this.#link(ctx.partnerId, psaTicketId, pa.id, same, sha256);
        continue;
      }
      try {
        const { attachment } = await this.portal.addAttachment(
          ticketId,
          { fileName: got.name || pa.name, contentType: got.contentType, data: got.data },
          `${label}`,
        );
        bySha.set(sha256, attachment.id);
        linkedPortal.add(attachment.id);
        await this.#link(ctx.partnerId, psaTicketId, pa.id, attachment.id, sha256);
      } catch (e) {
        if (!(e instanceof PortalError) || e.status >= 500 || e.status === 404) throw e;
        await skip(e.message);
      }
    }
  }
}
