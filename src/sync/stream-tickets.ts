import type { Clock } from "../lib/clock.js";
import { hashToken, newToken } from "../lib/crypto.js";
import type { Actor } from "../portal/access.js";
import type { Db } from "../store/db.js";
import type { SyncPortal } from "./portal-port.js";

/** How long a stream ticket may wait for its EventSource, ms. */
export const STREAM_TICKET_TTL_MS = 60_000;

/**
 * Tickets for the live log of a sync run. An EventSource cannot send an Authorization header, and a
 * token in a URL ends up in logs and browser history; so an authenticated caller first asks for a
 * ticket (valid for one minute, for one run, once), and the stream URL carries only that. Tickets
 * live in the database (only their hash), so any API process sharing it accepts them; using one
 * deletes it in the same statement that reads it, so two uses cannot both succeed.
 */
export class StreamTickets {
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #users: Pick<SyncPortal, "activeUser">;

  constructor(db: Db, clock: Clock, users: Pick<SyncPortal, "activeUser">) {
    this.#db = db;
    this.#clock = clock;
    this.#users = users;
  }

  /** A new ticket for the actor to follow the run (the caller has checked the actor may read it). */
  async issue(actor: Actor, runId: number): Promise<{ ticket: string; expiresAt: string }> {
    if (actor.userId === null) throw new Error("stream tickets are issued to users only");
    const now = this.#clock.now();
    const k = this.#db.kysely;
    // Expired tickets are never used again: clear them as new ones are made.
    await k.deleteFrom("stream_tickets").where("expires_at", "<=", now.toISOString()).execute();
    const ticket = newToken();
    const expiresAt = new Date(now.getTime() + STREAM_TICKET_TTL_MS).toISOString();
    await k
      .insertInto("stream_tickets")
      .values({
        ticket_hash: hashToken(ticket),
        user_id: actor.userId,
        run_id: runId,
        created_at: now.toISOString(),
        expires_at: expiresAt,
      })
      .execute();
    return { ticket, expiresAt };
  }

  /**
   * Uses a ticket up: the actor it was issued to, when it is unexpired, for this run and its user is
   * still enabled; else null. Either way the ticket is gone afterwards.
   */
  async redeem(ticket: string, runId: number): Promise<Actor | null> {
    const k = this.#db.kysely;
    const row = await k
      .deleteFrom("stream_tickets")
      .where("ticket_hash", "=", hashToken(ticket))
      .returning(["user_id", "run_id", "expires_at"])
      .executeTakeFirst();
    if (!row || row.run_id !== runId || row.expires_at <= this.#clock.now().toISOString()) return null;
    return this.#users.activeUser(row.user_id);
  }
}
