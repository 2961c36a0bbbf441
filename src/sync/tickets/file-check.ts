import type { Clock } from "../../lib/clock.js";
import type { Db } from "../../store/db.js";
import type { SyncPortal } from "../portal-port.js";
import type { InboxEvent } from "./worker.js";

/** Default period of the file check, minutes (NOCBRIDGE_FILE_CHECK_MINUTES). */
export const DEFAULT_FILE_CHECK_MINUTES = 60;
/** The most tickets one poll queues for a file check (each costs the PSA one listing request). */
export const FILE_CHECK_BATCH_MAX = 50;
/** The inbox source of a file check: its lane lists the PSA ticket's files and nothing else. */
export const FILE_CHECK_SOURCE = "file-check";

/**
 * The periodic file check. A file added on its own to a PSA ticket does not always move the ticket's
 * last-activity stamp (ConnectWise's documents do not; Autotask's attachments are not documented to)
 * and no webhook or callback names it, so the poll's "changed since" never brings it. Each poll
 * therefore queues a bounded batch of open linked tickets — those whose files were listed longest
 * ago, and not within the period — for a file check: an inbox row of source "file-check", which the
 * worker runs in the ticket's lane like any other event (never beside a reconcile of the same ticket),
 * listing the PSA files and bringing the ones not yet linked (attachment_links: never fetched twice).
 *
 * The batch is the share of the open linked tickets one poll must cover for every one to be checked
 * within the period (open linked tickets × poll interval / period, at least 1), at most
 * FILE_CHECK_BATCH_MAX. `files_checked_at` is stamped when a check is queued, when a reconcile lists
 * the files anyway (the ticket showed activity) and when a link is made.
 */
export class FileCheck {
  constructor(
    private readonly o: {
      db: Db;
      clock: Clock;
      portal: SyncPortal;
      /** How often every open linked ticket is checked, ms. */
      periodMs: number;
      /** The partner poll interval, ms. */
      pollIntervalMs: number;
      enqueue(partnerId: number, e: InboxEvent): Promise<boolean>;
    },
  ) {}

  get #k() {
    return this.o.db.kysely;
  }

  /** The partner's open linked tickets (not Closed in the portal, in the NOC queue), with their last check. */
  async #openLinks(partnerId: number) {
    const open = await this.o.portal.openTicketIds(partnerId);
    const rows: Array<{ id: number; psa_ticket_id: number; files_checked_at: string | null }> = [];
    for (let i = 0; i < open.length; i += 500) {
      rows.push(
        ...(await this.#k
          .selectFrom("ticket_links")
          .select(["id", "psa_ticket_id", "files_checked_at"])
          .where("partner_id", "=", partnerId)
          .where("state", "=", "linked")
          .where("ticket_id", "in", open.slice(i, i + 500))
          .execute()),
      );
    }
    return rows;
  }

  /** Queues the partner's due file checks (see the class); returns how many tickets were queued. */
  async queueDue(partnerId: number): Promise<number> {
    const now = this.o.clock.now();
    const links = await this.#openLinks(partnerId);
    if (links.length === 0) return 0;
    const { periodMs, pollIntervalMs } = this.o;
    const batch = Math.min(
      FILE_CHECK_BATCH_MAX,
      Math.max(1, Math.ceil((links.length * pollIntervalMs) / Math.max(1, periodMs))),
    );
    const dueBefore = new Date(now.getTime() - periodMs).toISOString();
    const due = links
      .filter((l) => l.files_checked_at === null || l.files_checked_at <= dueBefore)
      .sort((a, b) => (a.files_checked_at ?? "").localeCompare(b.files_checked_at ?? "") || a.id - b.id)
      .slice(0, batch);
    if (due.length === 0) return 0;
    const stamp = now.toISOString();
    for (const l of due)
      await this.o.enqueue(partnerId, {
        source: FILE_CHECK_SOURCE,
        dedupKey: `${FILE_CHECK_SOURCE}:${l.psa_ticket_id}:${stamp}`,
        entityType: "Ticket",
        psaId: l.psa_ticket_id,
        psaTicketId: l.psa_ticket_id,
      });
    await this.#k
      .updateTable("ticket_links")
      .set({ files_checked_at: stamp })
      .where(
        "id",
        "in",
        due.map((l) => l.id),
      )
      .execute();
    return due.length;
  }
}
