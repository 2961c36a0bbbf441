import type { Clock } from "../../lib/clock.js";
import type { Logger } from "../../lib/logger.js";
import { nulField } from "../../lib/nul.js";
import { notFound, PortalError } from "../../portal/errors.js";
import type { IntegrationView } from "../../portal/types.js";
import type { ChangedTicket, PsaSession, PsaTicket } from "../../psa/connector.js";
import type { ConnectorRegistry } from "../../psa/registry.js";
import type { Db } from "../../store/db.js";
import type { SyncPortal } from "../portal-port.js";
import type { PsaSessions } from "../sessions.js";
import { statusRowsInScope } from "../status-scope.js";
import type { TicketLinks } from "./links.js";
import { PAIRS, psaSide, readShadow } from "./shadow.js";
import { SECOND_STAMP_SETTLE_MS, seenMatches, stampFinal, toTheSecond } from "./stamps.js";
import type { WebhookRegistrations } from "./webhooks.js";
import type { TicketWorker } from "./worker.js";

export type ReceiveResult =
  | { status: 200; duplicate: boolean }
  | { status: 400 | 401; error: string; field?: string };

/**
 * The inbox key of a ticket a poll found: the ticket and its last-change stamp, so that the overlap of
 * the next poll does not read it again. A PSA that stamps changes to the second (ConnectWise's
 * `lastUpdated`) gives a later edit in the same second the stamp a poll already saw: keyed by the stamp
 * alone, that edit's event would be a duplicate and the edit never synced. Such a stamp is final only
 * once its second is over, so while it is recent each poll's event for it is its own.
 */
export function pollKey(id: number, lastActivity: string, now: Date): string {
  const recent = now.getTime() - Date.parse(lastActivity) < 1_000 + SECOND_STAMP_SETTLE_MS;
  return toTheSecond(lastActivity) && recent
    ? `poll:${id}:${lastActivity}:${now.toISOString()}`
    : `poll:${id}:${lastActivity}`;
}

export interface DriftFinding {
  kind: string;
  psaId: number;
  message: string;
}

/**
 * How PSA changes reach the inbox: webhooks (the fast path, registered per partner with a
 * per-partner secret and our API user excluded) and polling (the safety net that catches what a
 * webhook lost). Both only enqueue "look at ticket X"; processing re-reads the ticket from the PSA.
 * Each poll also compares the mapping tables with the PSA's live pick-lists (drift).
 */
export class TicketFeed {
  constructor(
    private readonly o: {
      db: Db;
      clock: Clock;
      logger: Logger;
      portal: SyncPortal;
      registry: ConnectorRegistry;
      sessions: PsaSessions;
      registrations: WebhookRegistrations;
      links: TicketLinks;
      worker: TicketWorker;
      /** Look-back added to the poll cursor, ms (default 2 minutes): rows with an equal timestamp are not missed. */
      pollOverlapMs?: number | undefined;
    },
  ) {}

  get #k() {
    return this.o.db.kysely;
  }

  /** The partner's settings when they name `system`; any other system, or no such partner, is not found. */
  async #settingsFor(system: string, partnerId: number): Promise<IntegrationView> {
    if (!this.o.registry.has(system)) throw notFound("webhook receiver");
    const { view } = await this.o.portal.integration(partnerId).catch((e: unknown) => {
      throw e instanceof PortalError && e.code === "NOT_FOUND" ? notFound("webhook receiver") : e;
    });
    if (view.ticketing.system !== system) throw notFound("webhook receiver");
    return view;
  }

  /**
   * A delivery to POST /webhooks/:system/:partnerId: the signature is checked over the exact bytes
   * before anything is parsed, then the connector reads its events, which are stored in the inbox
   * (deduplicated by the key the connector gives). Nothing is stored for a bad signature or bad JSON.
   */
  async receive(
    system: string,
    partnerId: number,
    raw: Buffer,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<ReceiveResult> {
    await this.#settingsFor(system, partnerId);
    // The partner's session is opened in this process first: a receiver may verify through the
    // partner's open connection (ConnectWise's reads the signing key with it), and the process a
    // delivery reaches may have done no sync work for the partner yet (an API process never does).
    await this.o.sessions.forPartner(partnerId);
    const connector = this.o.registry.get(system);
    const verified = await connector.webhooks.verify(
      raw,
      headers,
      await this.o.registrations.secrets(partnerId),
    );
    if (!verified.ok) return { status: 401, error: verified.error };
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
      if (body === null || typeof body !== "object" || Array.isArray(body)) throw new Error("not an object");
    } catch {
      return { status: 400, error: "the body is not a JSON object" };
    }
    // PostgreSQL cannot store U+0000 in text, and SQLite would keep it: refuse it in any field.
    const nul = nulField(body, "");
    if (nul !== null) return { status: 400, error: `${nul}: must not contain a NUL character`, field: nul };
    const parsed = connector.webhooks.parse(body);
    if (parsed.kind === "invalid")
      return { status: 400, error: parsed.error, ...(parsed.field ? { field: parsed.field } : {}) };
    if (parsed.kind === "ignored") {
      this.o.logger.warn({ partnerId }, `${parsed.reason}; polling continues`);
      return { status: 200, duplicate: false };
    }
    let inserted = false;
    for (const e of parsed.events)
      if (await this.o.worker.enqueue(partnerId, { source: "webhook", ...e })) inserted = true;
    return { status: 200, duplicate: !inserted };
  }

  /** A call to the deactivation URL of a partner's webhook: logged; polling carries on. */
  async deactivated(system: string, partnerId: number): Promise<void> {
    await this.#settingsFor(system, partnerId);
    const label = this.o.registry.get(system).label;
    this.o.logger.warn({ partnerId }, `${label} reports a webhook deactivated; polling continues`);
  }

  /**
   * The safety net: NOC-queue tickets (and linked tickets, to see them leave the queue) changed at or
   * after the cursor minus an overlap go to the inbox — except those the last sync already read at the
   * stamp listed (`#unchanged`). The cursor is saved after the inbox rows it covers. Returns how many
   * tickets were queued.
   */
  async poll(partnerId: number, session: PsaSession): Promise<number> {
    const now = this.o.clock.now();
    const cursor = await this.#k
      .selectFrom("sync_cursors")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .where("stream", "=", "tickets")
      .executeTakeFirst();
    const from = cursor
      ? new Date(Date.parse(cursor.value) - (this.o.pollOverlapMs ?? 120_000))
      : new Date(now.getTime() - 7 * 86_400_000);
    const linked = await this.o.links.recentPsaIds(partnerId, 400);
    const rows = await session.tickets.changedSince(from, linked);
    const unchanged = await this.#unchanged(partnerId, session, rows, from, now);
    let newest = cursor?.value ?? from.toISOString();
    for (const r of rows) {
      if (r.lastActivity > newest) newest = r.lastActivity;
      if (unchanged.has(r.id)) continue;
      await this.o.worker.enqueue(partnerId, {
        source: "poll",
        dedupKey: pollKey(r.id, r.lastActivity, now),
        entityType: "Ticket",
        psaId: r.id,
        psaTicketId: r.id,
      });
    }
    const stamp = now.toISOString();
    if (cursor) {
      await this.#k
        .updateTable("sync_cursors")
        .set({ value: newest, version: cursor.version + 1, updated_at: stamp })
        .where("partner_id", "=", partnerId)
        .where("stream", "=", "tickets")
        .where("version", "=", cursor.version)
        .execute();
    } else {
      await this.#k
        .insertInto("sync_cursors")
        .values({ partner_id: partnerId, stream: "tickets", value: newest, version: 1, updated_at: stamp })
        .execute();
    }
    return rows.length - unchanged.size;
  }

  /**
   * The listed tickets a read would find nothing new in:
   *   - the stamp still equals the one their last sync saw everything behind (a webhook's sync, or the
   *     last poll's). Such a stamp was final when it was read (./stamps.ts), so no same-second edit
   *     hides behind it — or it was not, and was recorded because the last change was ours, which
   *     the listing still says (a person's edit later in that second would name them);
   *   - or the listing carries the ticket, which holds exactly what the last sync left (only our own
   *     write moved its stamp), at a final stamp — which is then stored as seen.
   * Where the PSA reports notes in events of their own, a ticket sync may not have read the notes:
   * one listing of the notes added since `from` on these tickets finds a note whose event was lost,
   * and its ticket is read after all. Files likewise, where the PSA lists them in bulk (a ticket sync
   * lists them only when the ticket shows activity it did not see).
   */
  async #unchanged(
    partnerId: number,
    session: PsaSession,
    rows: ReadonlyArray<ChangedTicket>,
    from: Date,
    now: Date,
  ): Promise<Set<number>> {
    const links = this.o.links;
    const states = await links.seenStates(
      partnerId,
      rows.map((r) => r.id),
    );
    const unchanged = new Set<number>();
    const asLeft: Array<{ psaId: number; link: number; shadow: string; stamp: string }> = [];
    for (const r of rows) {
      const state = states.get(r.id);
      if (!state) continue;
      if (seenMatches(state.seenAt, r.lastActivity, r.lastChangeOurs)) unchanged.add(r.id);
      else if (r.ticket?.inNocQueue && stampFinal(r.lastActivity, now) && sameSide(r.ticket, state.shadow)) {
        unchanged.add(r.id);
        asLeft.push({ psaId: r.id, link: state.id, shadow: state.shadow, stamp: r.lastActivity });
      }
    }
    if (unchanged.size > 0 && session.tickets.notesAddedSince) {
      const added = await session.tickets.notesAddedSince(from, [...unchanged]);
      const known = await this.#linked(added, (ids) =>
        this.#k
          .selectFrom("note_links")
          .select("psa_note_id as id")
          .where("partner_id", "=", partnerId)
          .where("psa_note_id", "in", ids)
          .execute(),
      );
      for (const n of added) if (!known.has(n.id)) unchanged.delete(n.ticketId);
    }
    if (unchanged.size > 0 && session.attachments?.addedSince) {
      const added = await session.attachments.addedSince(from, [...unchanged]);
      const known = await this.#linked(added, (ids) =>
        this.#k
          .selectFrom("attachment_links")
          .select("psa_attachment_id as id")
          .where("partner_id", "=", partnerId)
          .where("psa_attachment_id", "in", ids)
          .execute(),
      );
      for (const f of added) if (!known.has(f.id)) unchanged.delete(f.ticketId);
    }
    for (const a of asLeft) if (unchanged.has(a.psaId)) await links.seen(a.link, a.shadow, a.stamp);
    return unchanged;
  }

  /** Which of these PSA records (notes, files) are linked already, looked up 500 ids at a time. */
  async #linked(
    records: ReadonlyArray<{ id: number }>,
    lookup: (ids: number[]) => Promise<Array<{ id: number }>>,
  ): Promise<Set<number>> {
    const known = new Set<number>();
    const ids = [...new Set(records.map((r) => r.id))];
    for (let i = 0; i < ids.length; i += 500)
      for (const r of await lookup(ids.slice(i, i + 500))) known.add(r.id);
    return known;
  }

  /**
   * Compares the mapping tables with the live pick-lists: a mapped status or priority that the PSA
   * renamed, deactivated or removed is recorded (and shown to the partner). Returns the findings.
   */
  async checkDrift(partnerId: number, session: PsaSession): Promise<DriftFinding[]> {
    const options = await session.ticketValues();
    const { view } = await this.o.portal.integration(partnerId);
    const manifest = this.o.registry.get(session.system).manifest;
    const findings: DriftFinding[] = [];
    for (const [kind, picklist] of [
      ["status-forward", options.statuses],
      ["status-reverse", options.statuses],
      ["priority", options.priorities],
    ] as const) {
      const rows = await this.o.portal.mappings(partnerId, kind);
      // Rows of another status scope (a ConnectWise board the partner does not use) are not compared.
      for (const m of kind === "priority" ? rows : statusRowsInScope(rows, manifest, view)) {
        const v = picklist.find((p) => p.id === m.psaId);
        const what = `${session.label} ${kind === "priority" ? "priority" : "status"}`;
        const label = m.psaLabel ? `"${m.psaLabel}" (${m.psaId})` : `${m.psaId}`;
        if (!v)
          findings.push({
            kind,
            psaId: m.psaId,
            message: `${what} ${label} used by the ${kind} table no longer exists`,
          });
        else if (!v.isActive)
          findings.push({
            kind,
            psaId: m.psaId,
            message: `${what} ${label} used by the ${kind} table is inactive`,
          });
        else if (m.psaLabel && v.label !== m.psaLabel)
          findings.push({
            kind,
            psaId: m.psaId,
            message: `${what} ${m.psaId} was renamed from "${m.psaLabel}" to "${v.label}" (${kind} table)`,
          });
      }
    }
    const at = this.o.clock.now().toISOString();
    await this.#k.transaction().execute(async (trx) => {
      await trx.deleteFrom("mapping_drift").where("partner_id", "=", partnerId).execute();
      if (findings.length > 0)
        await trx
          .insertInto("mapping_drift")
          .values(
            findings.map((f) => ({
              partner_id: partnerId,
              kind: f.kind,
              psa_id: f.psaId,
              message: f.message,
              detected_at: at,
            })),
          )
          .execute();
    });
    return findings;
  }

  async drift(partnerId: number): Promise<Array<DriftFinding & { detectedAt: string }>> {
    const rows = await this.#k
      .selectFrom("mapping_drift")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .orderBy("id")
      .execute();
    return rows.map((r) => ({
      kind: r.kind,
      psaId: r.psa_id,
      message: r.message,
      detectedAt: r.detected_at,
    }));
  }
}

/** Whether the PSA ticket holds exactly the PSA side of the stored shadow (nothing changed since that sync). */
function sameSide(ticket: PsaTicket, shadow: string): boolean {
  const now = psaSide(ticket);
  const last = readShadow(shadow).psa;
  return PAIRS.every(([, f]) => now[f] === last[f]);
}
