import type { Selectable } from "kysely";
import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import { SYSTEM_ACTOR } from "../portal/access.js";
import { type MappingKind, portalPriorityName, portalStatusName } from "../portal/catalog.js";
import type { Portal, TicketPatch } from "../portal/service.js";
import type { IntegrationView, MappingEntry, TicketDetail } from "../portal/types.js";
import { type AutotaskApi, queryAll } from "../psa/autotask/api.js";
import type { Ticket as AtTicket, AutotaskEntity } from "../psa/autotask/types.js";
import { asTicketTraffic, BUDGET_WAIT_MS } from "../psa/budget.js";
import { isPsaError, type PsaError } from "../psa/errors.js";
import type { Db } from "../store/db.js";
import type { SyncErrorRow, TicketLinkRow } from "../store/schema.js";
import { pool } from "./assets.js";
import type { Failpoint } from "./failpoint.js";
import { isDbOutage } from "./outage.js";
import { forwardStatus, PORTAL_NEW, statusGapWarning } from "./status-gap.js";
import { createDefaults, publishedFrom, publishOf } from "./ticket-defaults.js";

/** The fields that cross, in each system's own values. */
interface PortalSide {
  title: string;
  description: string;
  statusId: number;
  priorityId: number;
  deviceId: number | null;
}
interface PsaSide {
  title: string;
  description: string;
  status: number;
  priority: number;
  configurationItemID: number | null;
}

/**
 * The last synced state of a linked pair (Exalate's "replica", docs/reliability.md, Echo prevention): a side
 * whose value differs from its shadow was edited there since the last sync; a side equal to its shadow is
 * unchanged — which is also how our own writes coming back are recognised and ignored.
 */
export interface Shadow {
  portal: PortalSide;
  psa: PsaSide;
  /** Source timestamps at the last sync: the portal's updatedAt and Autotask's lastActivityDate. */
  portalAt: string;
  psaAt: string;
}

/** The five field pairs, portal name ↔ Autotask name. */
const PAIRS = [
  ["title", "title"],
  ["description", "description"],
  ["statusId", "status"],
  ["priorityId", "priority"],
  ["deviceId", "configurationItemID"],
] as const satisfies ReadonlyArray<readonly [keyof PortalSide, keyof PsaSide]>;

/** An error that retrying cannot fix (a mapping row is missing, a company is not mapped). */
export class TicketSyncError extends Error {
  constructor(
    readonly code: "MAPPING" | "UNMAPPED_COMPANY" | "CLOSE_REFUSED" | "NOT_FOUND",
    message: string,
  ) {
    super(message);
  }
}

export interface TicketSyncDeps {
  db: Db;
  portal: Portal;
  clock: Clock;
  logger: Logger;
  /** The partner's Autotask client (shared with the asset sync: one limiter per partner). */
  api(partnerId: number): Promise<{ api: AutotaskApi; view: IntegrationView } | null>;
  /** Attempts before a failing ticket is parked (default 5). */
  maxAttempts?: number;
  /** Backoff base for a failing ticket's retries, ms (default 1000; doubles per attempt). */
  retryBaseMs?: number;
  /** Tickets reconciled side by side per partner (default 3, Autotask's threads per endpoint). */
  concurrency?: number;
  /**
   * Testing only (NOCBRIDGE_FAILPOINT): the process exits (code 137, as if killed) right before a
   * ticket create is sent, or right after it returned and before its link is saved — the crash
   * points of docs/reliability.md, Outbox and inbox.
   */
  failpoint?: Failpoint;
}

/** Everything one drain needs for a partner: settings, client, mapping tables, company → client. */
interface Ctx {
  partnerId: number;
  api: AutotaskApi;
  view: IntegrationView;
  maps: Record<MappingKind, MappingEntry[]>;
  clientByCompany: Map<number, number>;
  companyByClient: Map<number, number | null>;
  /** Autotask statuses that close a ticket: those the reverse table maps to portal "Closed" (3). */
  closing: Set<number>;
}

type Lane = {
  key: string;
  ticketId: number | null;
  psaTicketId: number | null;
  outbox: number[];
  inbox: number[];
  pullNotes: boolean;
};

const NOTE_TITLE = "NOC note";

/**
 * Two-way ticket sync for the partners whose ticketing module is on. Portal changes arrive through
 * the outbox, Autotask changes through the inbox (webhooks, polls); both are handled by one function,
 * `reconcile`, one ticket at a time, in order per ticket. A failing ticket is retried with backoff
 * and then parked; the others keep flowing.
 */
export class TicketSync {
  readonly #d: TicketSyncDeps;
  readonly #running = new Map<number, Promise<void>>();
  readonly #again = new Set<number>();

  constructor(deps: TicketSyncDeps) {
    this.#d = deps;
  }

  get #k() {
    return this.#d.db.kysely;
  }
  #now(): string {
    return this.#d.clock.now().toISOString();
  }

  readonly #paused = new Set<number>();

  /** Holds the partner's worker (events keep arriving in the outbox and inbox) until `resume`. */
  pause(partnerId: number): void {
    this.#paused.add(partnerId);
  }

  resume(partnerId: number): Promise<void> {
    this.#paused.delete(partnerId);
    return this.notify(partnerId);
  }

  /** Wakes the partner's worker; returns when the drain it started (or joined) is done. */
  notify(partnerId: number): Promise<void> {
    if (this.#paused.has(partnerId)) return Promise.resolve();
    const running = this.#running.get(partnerId);
    if (running) {
      this.#again.add(partnerId);
      return running;
    }
    const p = (async () => {
      do {
        this.#again.delete(partnerId);
        try {
          // Ticket traffic may use the share of the hourly budget kept for it.
          await asTicketTraffic(() => this.drain(partnerId));
        } catch (e) {
          this.#d.logger.error({ err: e, partnerId }, "ticket sync drain failed");
        }
      } while (this.#again.has(partnerId));
    })().finally(() => this.#running.delete(partnerId));
    this.#running.set(partnerId, p);
    return p;
  }

  /** Resolves when the partner's worker has nothing running. */
  async idle(partnerId: number): Promise<void> {
    while (this.#running.has(partnerId)) await this.#running.get(partnerId);
  }

  /** Processes every ready outbox and inbox event of the partner, lane by lane. */
  async drain(partnerId: number): Promise<void> {
    const got = await this.#d.api(partnerId);
    const ctx = got?.view.ticketing.enabled ? await this.#context(partnerId, got.api, got.view) : null;
    for (let round = 0; round < 1000; round++) {
      if (ctx) await this.#resolveNoteTickets(ctx);
      const lanes = await this.#lanes(partnerId);
      if (lanes.length === 0) return;
      const blocked = await this.#blockedLanes(partnerId);
      const ready = lanes.filter((l) => !blocked.has(l.key));
      if (ready.length === 0) return;
      // Different tickets run side by side (as many as Autotask's 3 threads per endpoint); one
      // ticket's events are one lane, so a ticket is never reconciled twice at once.
      const run = async (lane: Lane) => {
        if (!ctx) {
          // Ticketing is off: nothing crosses; the events are consumed so they do not pile up.
          await this.#done(lane);
          return;
        }
        try {
          await this.reconcile(ctx, lane);
          await this.#done(lane);
          await this.#resolveErrors(partnerId, lane.key);
        } catch (e) {
          await this.#failed(ctx, lane, e);
        }
      };
      // An Autotask ticket with no link yet may be one of ours whose create went out but whose link
      // was not saved (the process died in between, or the create failed after it was applied): its
      // lane ("psa:…") and the portal ticket's lane ("ticket:…") are then the same ticket. Run side by
      // side, both linked it (a unique-constraint failure and a retry; had the portal lane linked it
      // between the Autotask lane's checks, a copy of it as a new portal ticket). So the tickets the
      // portal knows go first, and Autotask tickets without a link after them, when the links exist.
      // Found by test/sync/tickets-crash.test.ts (after-send).
      for (const known of [true, false])
        await pool(
          ready.filter((l) => (l.ticketId !== null) === known),
          this.#d.concurrency ?? 3,
          run,
        );
    }
  }

  /** A note event that did not name its ticket: ask Autotask which ticket the note belongs to. */
  async #resolveNoteTickets(ctx: Ctx): Promise<void> {
    const rows = await this.#k
      .selectFrom("ticket_inbox")
      .select(["id", "psa_id"])
      .where("partner_id", "=", ctx.partnerId)
      .where("processed_at", "is", null)
      .where("psa_ticket_id", "is", null)
      .execute();
    for (const r of rows) {
      const [note] = await queryAll<AutotaskEntity>(ctx.api, "TicketNotes", {
        filter: [{ op: "eq", field: "id", value: r.psa_id }],
      });
      if (note && typeof note.ticketID === "number") {
        await this.#k
          .updateTable("ticket_inbox")
          .set({ psa_ticket_id: note.ticketID })
          .where("id", "=", r.id)
          .execute();
      } else {
        await this.#k
          .updateTable("ticket_inbox")
          .set({ processed_at: this.#now() })
          .where("id", "=", r.id)
          .execute();
      }
    }
  }

  // ---------------------------------------------------------------- the one reconcile step

  /** Brings one ticket (a lane) in step on both sides. Idempotent: running it twice changes nothing more. */
  async reconcile(ctx: Ctx, lane: Pick<Lane, "ticketId" | "psaTicketId" | "pullNotes">): Promise<void> {
    const t = ctx.view.ticketing;
    let link = lane.ticketId !== null ? await this.#linkByTicket(ctx.partnerId, lane.ticketId) : null;
    if (!link && lane.psaTicketId !== null) link = await this.#linkByPsa(ctx.partnerId, lane.psaTicketId);

    if (!link) {
      if (lane.ticketId !== null) {
        if (!t.nocMayEnterTickets) return;
        await this.#createInPsa(ctx, lane.ticketId);
        return;
      }
      const at = await ctx.api.get<AtTicket>("Tickets", lane.psaTicketId as number);
      if (!at || at.queueID !== t.queueId) return; // other queues are not ours, even when a webhook says so
      await this.#createInPortal(ctx, at);
      return;
    }

    const at = await ctx.api.get<AtTicket>("Tickets", link.psa_ticket_id);
    if (!at) throw new TicketSyncError("NOT_FOUND", `Autotask ticket ${link.psa_ticket_id} no longer exists`);
    if (at.queueID !== t.queueId) {
      if (link.state !== "out-of-queue") {
        await this.#k
          .updateTable("ticket_links")
          .set({ state: "out-of-queue", synced_at: this.#now() })
          .where("id", "=", link.id)
          .execute();
        await this.#systemNote(
          ctx,
          link,
          `Autotask ticket ${link.ticket_number} was moved out of the NOC queue; it no longer syncs.`,
        );
      }
      return;
    }
    if (link.state === "out-of-queue") {
      await this.#k.updateTable("ticket_links").set({ state: "linked" }).where("id", "=", link.id).execute();
      await this.#systemNote(
        ctx,
        link,
        `Autotask ticket ${link.ticket_number} is back in the NOC queue; sync resumed.`,
      );
    }

    const ticket = await this.#d.portal.getTicket(SYSTEM_ACTOR, link.ticket_id);
    const shadow = JSON.parse(link.shadow) as Shadow;
    const portalNow = portalSide(ticket);
    const psaNow = psaSide(at);
    const toPsa: Partial<PsaSide> = {};
    const toPortal: TicketPatch = {};
    const resolutions: string[] = [];
    const warnings: string[] = [];
    let statusGap = false;
    for (const [pf, af] of PAIRS) {
      const portalChanged = portalNow[pf] !== shadow.portal[pf];
      const psaChanged = psaNow[af] !== shadow.psa[af];
      if (!portalChanged && !psaChanged) continue;
      let winner: "portal" | "psa" = portalChanged ? "portal" : "psa";
      // A portal status with no forward row: Autotask's status stays, everything else goes on.
      const gap =
        pf === "statusId" &&
        portalChanged &&
        forwardStatus(ctx.maps["status-forward"], portalNow.statusId) === null;
      if (gap && !psaChanged) {
        warnings.push(statusGapWarning(portalNow.statusId));
        statusGap = true;
        continue;
      }
      if (portalChanged && psaChanged) {
        // Edited on both sides since the last sync: the later edit by source timestamp wins.
        winner = Date.parse(ticket.updatedAt) >= Date.parse(at.lastActivityDate as string) ? "portal" : "psa";
        if (await this.#sameAfterMapping(ctx, pf, portalNow, psaNow)) continue;
        resolutions.push(
          `${pf}: portal ${JSON.stringify(describePortal(pf, portalNow[pf]))} (${ticket.updatedAt}) vs Autotask ${JSON.stringify(psaNow[af])} (${at.lastActivityDate}); kept the ${winner === "portal" ? "portal" : "Autotask"} value, the later edit`,
        );
      }
      if (gap && winner === "portal") {
        warnings.push(statusGapWarning(portalNow.statusId));
        statusGap = true;
      } else if (winner === "portal") Object.assign(toPsa, await this.#toPsa(ctx, pf, portalNow[pf]));
      else Object.assign(toPortal, await this.#toPortal(ctx, af, psaNow[af], ticket));
    }

    const psaAfter: PsaSide = { ...psaNow, ...toPsa };
    if (Object.keys(toPsa).length > 0) {
      await ctx.api.update("Tickets", { id: at.id, ...toPsa });
      if (toPsa.status !== undefined && ctx.closing.has(toPsa.status))
        await this.#confirmClose(ctx, at.id, toPsa.status);
    }
    let after = ticket;
    if (Object.keys(toPortal).length > 0)
      after = await this.#d.portal.updateTicket(SYSTEM_ACTOR, ticket.id, toPortal, { origin: "psa" });
    for (const r of resolutions) await this.#systemNote(ctx, link, `Sync conflict resolved — ${r}.`);
    await this.#syncNotes(ctx, ticket.id, at.id, lane.pullNotes);
    const next: Shadow = {
      // An unsynced status stays "changed" against the shadow, so it crosses once a row covers it.
      portal: statusGap ? { ...portalSide(after), statusId: shadow.portal.statusId } : portalSide(after),
      psa: psaAfter,
      portalAt: after.updatedAt,
      psaAt: String(at.lastActivityDate ?? ""),
    };
    await this.#k
      .updateTable("ticket_links")
      .set({
        shadow: JSON.stringify(next),
        synced_at: this.#now(),
        last_error: null,
        state: "linked",
        warning: warnings.length > 0 ? warnings.join("; ") : null,
      })
      .where("id", "=", link.id)
      .execute();
  }

  /**
   * An internal note of nocbridge's own on the portal ticket (a conflict resolved, the NOC queue left
   * or re-entered). It is linked to a placeholder Autotask note id (minus its own id, as the
   * pending-create marker does for tickets) so that #syncNotes never copies it to Autotask as if a
   * portal user had written it: that copy was a second Autotask write for one edit (PATCH + log note
   * when the portal won a conflict), found by test/sync/tickets-property.test.ts.
   */
  async #systemNote(ctx: Ctx, link: Selectable<TicketLinkRow>, text: string): Promise<void> {
    const note = await this.#d.portal.addNote(
      SYSTEM_ACTOR,
      link.ticket_id,
      { text, published: false },
      { origin: "psa", author: "nocbridge" },
    );
    await this.#k
      .insertInto("note_links")
      .values({
        partner_id: ctx.partnerId,
        note_id: note.id,
        psa_note_id: -note.id,
        psa_ticket_id: link.psa_ticket_id,
      })
      .execute();
  }

  /** Portal → Autotask create: NOC queue, allocation, company, the device's CI, mapped status and priority, externalID. */
  async #createInPsa(ctx: Ctx, ticketId: number): Promise<void> {
    const t = ctx.view.ticketing;
    const ticket = await this.#d.portal.getTicket(SYSTEM_ACTOR, ticketId);
    const companyID = ctx.companyByClient.get(ticket.clientId) ?? null;
    if (companyID === null)
      throw new TicketSyncError(
        "UNMAPPED_COMPANY",
        `client ${ticket.clientId} is not mapped to an Autotask company`,
      );
    const side = portalSide(ticket);
    // A status with no forward row is created as portal New would be, with a warning on the ticket.
    const gap = forwardStatus(ctx.maps["status-forward"], side.statusId) === null;
    const sentStatus = gap ? PORTAL_NEW : side.statusId;
    const body: Record<string, unknown> = {
      ...createDefaults(t, this.#d.clock.now()),
      companyID,
      queueID: t.queueId,
      billingCodeID: t.billingCodeId,
      title: side.title,
      description: side.description,
      externalID: String(ticket.id),
      ...(await this.#toPsa(ctx, "statusId", sentStatus)),
      ...(await this.#toPsa(ctx, "priorityId", side.priorityId)),
      ...(await this.#toPsa(ctx, "deviceId", side.deviceId)),
    };
    if (body.configurationItemID === null) delete body.configurationItemID;
    // A create that may already have happened (an earlier attempt failed, or the process died after
    // sending) is looked up by externalID before it is sent again: the pending-create marker is
    // written before the first POST (docs/reliability.md, Idempotent creates).
    const lookup = async () => (await this.#findByExternalId(ctx, ticket.id))?.id ?? null;
    const marker = await this.#k
      .selectFrom("ticket_links")
      .select("id")
      .where("partner_id", "=", ctx.partnerId)
      .where("ticket_id", "=", ticket.id)
      .where("state", "=", "creating")
      .executeTakeFirst();
    let id = marker ? await lookup() : null;
    if (!marker) {
      await this.#k
        .insertInto("ticket_links")
        .values({
          partner_id: ctx.partnerId,
          ticket_id: ticket.id,
          psa_ticket_id: -ticket.id,
          ticket_number: "",
          state: "creating",
          shadow: "{}",
          synced_at: this.#now(),
        })
        .execute();
    }
    if (id === null) {
      this.#failpoint("before-send");
      // Never a blind retry: after an ambiguous failure, createIdempotent looks the ticket up first.
      id = await ctx.api.createIdempotent("Tickets", body, lookup);
      this.#failpoint("after-send");
    }
    const at = await ctx.api.get<AtTicket>("Tickets", id);
    if (!at)
      throw new TicketSyncError("NOT_FOUND", `Autotask ticket ${id} vanished right after it was created`);
    await this.#saveNewLink(
      ctx,
      ticket,
      at,
      gap ? { statusId: sentStatus, warning: statusGapWarning(side.statusId) } : undefined,
    );
    await this.#syncNotes(ctx, ticket.id, at.id, false);
  }

  /** Testing only: dies here, without cleanup, when NOCBRIDGE_FAILPOINT names this point. */
  #failpoint(at: Failpoint): void {
    if (this.#d.failpoint !== at) return;
    process.stderr.write(`nocbridge: failpoint ${at} hit; exiting\n`);
    process.exit(137);
  }

  /** Autotask → portal create, for a ticket put into the NOC queue. */
  async #createInPortal(ctx: Ctx, at: AtTicket): Promise<void> {
    // Our own create whose link was lost (a crash between create and link): link it, don't copy it.
    const ext = Number(at.externalID);
    if (Number.isInteger(ext) && ext > 0) {
      const mine = await this.#k
        .selectFrom("tickets")
        .select("id")
        .where("id", "=", ext)
        .where("partner_id", "=", ctx.partnerId)
        .executeTakeFirst();
      if (mine && !(await this.#linkByTicket(ctx.partnerId, ext))) {
        const ticket = await this.#d.portal.getTicket(SYSTEM_ACTOR, ext);
        await this.#saveNewLink(ctx, ticket, at);
        return this.reconcile(ctx, { ticketId: ext, psaTicketId: at.id, pullNotes: true });
      }
    }
    const clientId = ctx.clientByCompany.get(at.companyID as number);
    if (clientId === undefined) {
      throw new TicketSyncError(
        "UNMAPPED_COMPANY",
        `Autotask company ${at.companyID} of ticket ${at.ticketNumber} is not mapped to any client of this partner; map a client to it`,
      );
    }
    const patch = await this.#toPortal(ctx, "status", at.status as number, null);
    const pri = await this.#toPortal(ctx, "priority", at.priority as number, null);
    const dev = await this.#toPortal(
      ctx,
      "configurationItemID",
      (at.configurationItemID as number | null) ?? null,
      null,
    );
    const ticket = await this.#d.portal.createTicket(
      SYSTEM_ACTOR,
      ctx.partnerId,
      {
        clientId,
        title: String(at.title ?? "").trim() || `Autotask ticket ${at.ticketNumber}`,
        description: String(at.description ?? ""),
        statusId: patch.statusId as number,
        priorityId: pri.priorityId as number,
        ...(typeof dev.deviceId === "number" && (await this.#deviceOfClient(dev.deviceId, clientId))
          ? { deviceId: dev.deviceId }
          : {}),
      },
      { origin: "psa" },
    );
    await this.#saveNewLink(ctx, ticket, at);
    await this.#syncNotes(ctx, ticket.id, at.id, true);
  }

  async #saveNewLink(
    ctx: Ctx,
    ticket: TicketDetail,
    at: AtTicket,
    gap?: { statusId: number; warning: string },
  ): Promise<void> {
    const shadow: Shadow = {
      portal: gap ? { ...portalSide(ticket), statusId: gap.statusId } : portalSide(ticket),
      psa: psaSide(at),
      portalAt: ticket.updatedAt,
      psaAt: String(at.lastActivityDate ?? ""),
    };
    await this.#k
      .deleteFrom("ticket_links")
      .where("partner_id", "=", ctx.partnerId)
      .where("ticket_id", "=", ticket.id)
      .where("state", "=", "creating")
      .execute();
    await this.#k
      .insertInto("ticket_links")
      .values({
        partner_id: ctx.partnerId,
        ticket_id: ticket.id,
        psa_ticket_id: at.id,
        ticket_number: String(at.ticketNumber ?? ""),
        state: "linked",
        shadow: JSON.stringify(shadow),
        synced_at: this.#now(),
        warning: gap?.warning ?? null,
      })
      .execute();
  }

  /** Notes follow both ways; a note is created once per side and never overwritten (merged, not replaced). */
  async #syncNotes(ctx: Ctx, ticketId: number, psaTicketId: number, pull: boolean): Promise<void> {
    const links = await this.#k
      .selectFrom("note_links")
      .select(["note_id", "psa_note_id"])
      .where("partner_id", "=", ctx.partnerId)
      .where("psa_ticket_id", "=", psaTicketId)
      .execute();
    const linkedPortal = new Set(links.map((l) => l.note_id));
    const linkedPsa = new Set(links.map((l) => l.psa_note_id));
    const notes = (await this.#d.portal.listNotes(SYSTEM_ACTOR, ticketId, { limit: 500 })).items;
    for (const n of notes) {
      if (linkedPortal.has(n.id)) continue;
      const body = {
        ticketID: psaTicketId,
        title: NOTE_TITLE,
        description: n.text,
        noteType: 1,
        publish: publishOf(n.published, ctx.view.ticketing),
      };
      const psaNoteId = await ctx.api.createChildIdempotent(
        "Tickets",
        psaTicketId,
        "Notes",
        body,
        async () => {
          const found = await queryAll<AutotaskEntity>(ctx.api, "TicketNotes", {
            filter: [
              { op: "eq", field: "ticketID", value: psaTicketId },
              { op: "eq", field: "description", value: n.text },
            ],
          });
          return found.find((f) => !linkedPsa.has(f.id))?.id ?? null;
        },
      );
      linkedPsa.add(psaNoteId);
      await this.#k
        .insertInto("note_links")
        .values({
          partner_id: ctx.partnerId,
          note_id: n.id,
          psa_note_id: psaNoteId,
          psa_ticket_id: psaTicketId,
        })
        .execute();
    }
    if (!pull) return;
    const psaNotes = await queryAll<AutotaskEntity>(ctx.api, "TicketNotes", {
      filter: [{ op: "eq", field: "ticketID", value: psaTicketId }],
    });
    for (const pn of psaNotes.sort((a, b) => a.id - b.id)) {
      if (linkedPsa.has(pn.id)) continue;
      const text = [pn.title && pn.title !== NOTE_TITLE ? String(pn.title) : "", String(pn.description ?? "")]
        .filter(Boolean)
        .join("\n");
      const note = await this.#d.portal.addNote(
        SYSTEM_ACTOR,
        ticketId,
        { text: text || "(empty note)", published: publishedFrom(pn.publish) },
        { origin: "psa", author: `Autotask resource ${pn.creatorResourceID ?? "?"}` },
      );
      await this.#k
        .insertInto("note_links")
        .values({
          partner_id: ctx.partnerId,
          note_id: note.id,
          psa_note_id: pn.id,
          psa_ticket_id: psaTicketId,
        })
        .execute();
    }
  }

  /** After writing a closing status, read the ticket back: a close Autotask refused is reported. */
  async #confirmClose(ctx: Ctx, psaTicketId: number, status: number): Promise<void> {
    const back = await ctx.api.get<AtTicket>("Tickets", psaTicketId);
    if (!back || back.status !== status) {
      throw new TicketSyncError(
        "CLOSE_REFUSED",
        `Autotask did not close ticket ${psaTicketId}: status is ${back?.status ?? "unknown"} after writing ${status}`,
      );
    }
  }

  // ---------------------------------------------------------------- mapping

  /** Portal value → Autotask field(s). A status or priority without a mapping row is an error naming it. */
  async #toPsa(
    ctx: Ctx,
    field: keyof PortalSide,
    value: PortalSide[keyof PortalSide],
  ): Promise<Partial<PsaSide>> {
    switch (field) {
      case "title":
        return { title: value as string };
      case "description":
        return { description: value as string };
      case "statusId": {
        const row = ctx.maps["status-forward"].find((m) => m.portalId === value);
        if (!row)
          throw new TicketSyncError(
            "MAPPING",
            `portal status "${portalStatusName(value as number)}" (${value}) has no row in the forward status mapping table`,
          );
        return { status: row.psaId };
      }
      case "priorityId": {
        // Read right to left: where several Autotask priorities map to one portal priority, the first row wins.
        const row = ctx.maps.priority.find((m) => m.portalId === value);
        if (!row)
          throw new TicketSyncError(
            "MAPPING",
            `portal priority "${portalPriorityName(value as number)}" (${value}) has no row in the priority mapping table`,
          );
        return { priority: row.psaId };
      }
      case "deviceId": {
        if (value === null) return { configurationItemID: null };
        const link = await this.#k
          .selectFrom("links")
          .select("psa_id")
          .where("partner_id", "=", ctx.partnerId)
          .where("entity", "=", "device")
          .where("portal_id", "=", value as number)
          .executeTakeFirst();
        return { configurationItemID: link?.psa_id ?? null };
      }
    }
  }

  /** Autotask value → portal field. */
  async #toPortal(
    ctx: Ctx,
    field: keyof PsaSide,
    value: PsaSide[keyof PsaSide],
    ticket: TicketDetail | null,
  ): Promise<TicketPatch> {
    switch (field) {
      case "title":
        return { title: (value as string) || (ticket?.title ?? "") };
      case "description":
        return { description: value as string };
      case "status": {
        const row = ctx.maps["status-reverse"].find((m) => m.psaId === value);
        if (!row)
          throw new TicketSyncError(
            "MAPPING",
            `Autotask status ${value} has no row in the reverse status mapping table`,
          );
        return { statusId: row.portalId };
      }
      case "priority": {
        const row = ctx.maps.priority.find((m) => m.psaId === value);
        if (!row)
          throw new TicketSyncError(
            "MAPPING",
            `Autotask priority ${value} has no row in the priority mapping table`,
          );
        return { priorityId: row.portalId };
      }
      case "configurationItemID": {
        if (value === null) return ticket ? { deviceId: null } : {};
        const link = await this.#k
          .selectFrom("links")
          .select("portal_id")
          .where("partner_id", "=", ctx.partnerId)
          .where("entity", "=", "device")
          .where("psa_id", "=", value as number)
          .executeTakeFirst();
        // A CI that is not one of our devices' (or another client's device) leaves the device as it is.
        if (!link) return {};
        if (ticket && !(await this.#deviceOfClient(link.portal_id, ticket.clientId))) return {};
        return { deviceId: link.portal_id };
      }
    }
  }

  /** Both sides changed a field to values that mean the same thing once mapped: not a conflict. */
  async #sameAfterMapping(
    ctx: Ctx,
    pf: keyof PortalSide,
    portal: PortalSide,
    psa: PsaSide,
  ): Promise<boolean> {
    try {
      const mapped = await this.#toPsa(ctx, pf, portal[pf]);
      const [, af] = PAIRS.find(([p]) => p === pf) as readonly [keyof PortalSide, keyof PsaSide];
      return mapped[af] === psa[af];
    } catch {
      return false;
    }
  }

  async #deviceOfClient(deviceId: number, clientId: number): Promise<boolean> {
    const d = await this.#k
      .selectFrom("devices")
      .select("client_id")
      .where("id", "=", deviceId)
      .executeTakeFirst();
    return d?.client_id === clientId;
  }

  async #findByExternalId(ctx: Ctx, ticketId: number): Promise<AtTicket | null> {
    const found = await queryAll<AtTicket>(ctx.api, "Tickets", {
      filter: [{ op: "eq", field: "externalID", value: String(ticketId) }],
    });
    return found[0] ?? null;
  }

  async #context(partnerId: number, api: AutotaskApi, view: IntegrationView): Promise<Ctx> {
    const [fwd, rev, pri] = await Promise.all([
      this.#d.portal.getMappings(SYSTEM_ACTOR, partnerId, "status-forward"),
      this.#d.portal.getMappings(SYSTEM_ACTOR, partnerId, "status-reverse"),
      this.#d.portal.getMappings(SYSTEM_ACTOR, partnerId, "priority"),
    ]);
    const clients = await this.#d.portal.clientsForSync(partnerId);
    const clientByCompany = new Map<number, number>();
    for (const c of clients)
      if (c.psaCompanyId !== null && !clientByCompany.has(c.psaCompanyId))
        clientByCompany.set(c.psaCompanyId, c.id);
    return {
      partnerId,
      api,
      view,
      maps: { "status-forward": fwd, "status-reverse": rev, priority: pri },
      clientByCompany,
      companyByClient: new Map(clients.map((c) => [c.id, c.psaCompanyId])),
      closing: new Set(rev.filter((m) => m.portalId === 3).map((m) => m.psaId)),
    };
  }

  // ---------------------------------------------------------------- lanes, outbox, inbox, errors

  async #lanes(partnerId: number): Promise<Lane[]> {
    const [out, inb] = await Promise.all([
      this.#k
        .selectFrom("ticket_outbox")
        .select(["id", "ticket_id"])
        .where("partner_id", "=", partnerId)
        .where("processed_at", "is", null)
        .orderBy("id")
        .limit(1000)
        .execute(),
      this.#k
        .selectFrom("ticket_inbox")
        .select(["id", "psa_ticket_id", "psa_id", "entity_type", "source"])
        .where("partner_id", "=", partnerId)
        .where("processed_at", "is", null)
        .orderBy("id")
        .limit(1000)
        .execute(),
    ]);
    if (out.length === 0 && inb.length === 0) return [];
    const psaIds = [...new Set(inb.map((e) => e.psa_ticket_id).filter((x): x is number => x !== null))];
    const linked = new Map<number, number>();
    for (let i = 0; i < psaIds.length; i += 500) {
      const rows = await this.#k
        .selectFrom("ticket_links")
        .select(["ticket_id", "psa_ticket_id"])
        .where("partner_id", "=", partnerId)
        .where("psa_ticket_id", "in", psaIds.slice(i, i + 500))
        .execute();
      for (const r of rows) linked.set(r.psa_ticket_id, r.ticket_id);
    }
    const lanes = new Map<string, Lane & { first: number; pollOnly: boolean }>();
    const lane = (ticketId: number | null, psaTicketId: number | null, order: number) => {
      const key = ticketId !== null ? `ticket:${ticketId}` : `psa:${psaTicketId}`;
      let l = lanes.get(key);
      if (!l) {
        l = {
          key,
          ticketId,
          psaTicketId,
          outbox: [],
          inbox: [],
          pullNotes: false,
          first: order,
          pollOnly: true,
        };
        lanes.set(key, l);
      }
      if (psaTicketId !== null) l.psaTicketId = psaTicketId;
      return l;
    };
    for (const e of out) {
      const l = lane(e.ticket_id, null, e.id);
      l.outbox.push(e.id);
      l.pollOnly = false;
    }
    for (const e of inb) {
      if (e.psa_ticket_id === null) continue; // resolved first by #resolveNoteTickets
      const l = lane(linked.get(e.psa_ticket_id) ?? null, e.psa_ticket_id, e.id);
      l.inbox.push(e.id);
      // A ticket webhook carries no note changes: notes are read for note events, polls and retries.
      if (e.entity_type === "TicketNote" || e.source !== "webhook") l.pullNotes = true;
      if (e.source !== "poll") l.pollOnly = false;
    }
    // Portal changes and webhook events go before tickets that only a poll brought up (the safety net
    // must not delay the fast path).
    return [...lanes.values()].sort((a, b) => Number(a.pollOnly) - Number(b.pollOnly) || a.first - b.first);
  }

  async #done(lane: Lane): Promise<void> {
    const now = this.#now();
    if (lane.outbox.length > 0)
      await this.#k
        .updateTable("ticket_outbox")
        .set({ processed_at: now })
        .where("id", "in", lane.outbox)
        .execute();
    if (lane.inbox.length > 0)
      await this.#k
        .updateTable("ticket_inbox")
        .set({ processed_at: now })
        .where("id", "in", lane.inbox)
        .execute();
  }

  /** Lanes with an unresolved parked error, or whose retry time has not come. */
  async #blockedLanes(partnerId: number): Promise<Set<string>> {
    const rows = await this.#k
      .selectFrom("sync_errors")
      .select(["lane", "parked", "next_attempt_at"])
      .where("partner_id", "=", partnerId)
      .where("resolved_at", "is", null)
      .execute();
    const now = this.#now();
    return new Set(
      rows
        .filter((r) => r.parked === 1 || (r.next_attempt_at !== null && r.next_attempt_at > now))
        .map((r) => r.lane),
    );
  }

  async #failed(ctx: Ctx, lane: Lane, e: unknown): Promise<void> {
    // The database being away is nobody's fault: no attempt is counted, the next beat retries the lane.
    if (isDbOutage(e)) throw e;
    const message = failureText(e);
    const code = e instanceof TicketSyncError ? e.code : isPsaError(e) ? e.code : "ERROR";
    // The hourly API budget spent is a wait, not an error: the lane is tried again when the window
    // has moved on, without using up its attempts.
    const waiting = isPsaError(e) && e.code === "BUDGET_EXHAUSTED";
    // Mapping and data errors do not heal by themselves; a PSA error that is not retryable neither.
    const permanent = !waiting && (e instanceof TicketSyncError || (isPsaError(e) && !e.retryable));
    const now = this.#now();
    const open = await this.#k
      .selectFrom("sync_errors")
      .selectAll()
      .where("partner_id", "=", ctx.partnerId)
      .where("lane", "=", lane.key)
      .where("resolved_at", "is", null)
      .executeTakeFirst();
    const attempts = (open?.attempts ?? 0) + (waiting ? 0 : 1);
    const parked = !waiting && (permanent || attempts >= (this.#d.maxAttempts ?? 5));
    const delay = waiting
      ? ((e as PsaError).retryAfterMs ?? BUDGET_WAIT_MS)
      : (this.#d.retryBaseMs ?? 1000) * 2 ** (attempts - 1);
    const next = parked ? null : new Date(this.#d.clock.now().getTime() + delay).toISOString();
    if (open) {
      await this.#k
        .updateTable("sync_errors")
        .set({ error: message, code, attempts, parked: parked ? 1 : 0, next_attempt_at: next, last_at: now })
        .where("id", "=", open.id)
        .execute();
    } else {
      await this.#k
        .insertInto("sync_errors")
        .values({
          partner_id: ctx.partnerId,
          lane: lane.key,
          ticket_id: lane.ticketId,
          psa_ticket_id: lane.psaTicketId,
          error: message,
          code,
          attempts,
          parked: parked ? 1 : 0,
          next_attempt_at: next,
          first_at: now,
          last_at: now,
        })
        .execute();
    }
    if (lane.ticketId !== null)
      await this.#k
        .updateTable("ticket_links")
        .set({ last_error: message })
        .where("partner_id", "=", ctx.partnerId)
        .where("ticket_id", "=", lane.ticketId)
        .execute();
    this.#d.logger.warn(
      { partnerId: ctx.partnerId, lane: lane.key, attempts, parked, code },
      `ticket sync failed: ${message}`,
    );
  }

  async #resolveErrors(partnerId: number, laneKey: string): Promise<void> {
    await this.#k
      .updateTable("sync_errors")
      .set({ resolved_at: this.#now() })
      .where("partner_id", "=", partnerId)
      .where("lane", "=", laneKey)
      .where("resolved_at", "is", null)
      .execute();
  }

  /** A parked ticket's retry: the lane is unblocked and its waiting events are processed again. */
  async retry(errorId: number): Promise<Selectable<SyncErrorRow> | null> {
    const row = await this.#k
      .selectFrom("sync_errors")
      .selectAll()
      .where("id", "=", errorId)
      .executeTakeFirst();
    if (!row) return null;
    if (row.resolved_at === null)
      await this.#k
        .updateTable("sync_errors")
        .set({ resolved_at: this.#now() })
        .where("id", "=", errorId)
        .execute();
    // The lane's events may all have been consumed (e.g. a webhook hint): re-announce the ticket.
    if (row.ticket_id !== null) {
      await this.#k
        .insertInto("ticket_outbox")
        .values({
          partner_id: row.partner_id,
          ticket_id: row.ticket_id,
          kind: "retry",
          created_at: this.#now(),
        })
        .execute();
    } else if (row.psa_ticket_id !== null) {
      await this.enqueue(row.partner_id, {
        source: "retry",
        dedupKey: `retry:${errorId}:${this.#now()}`,
        entityType: "Ticket",
        psaId: row.psa_ticket_id,
        psaTicketId: row.psa_ticket_id,
      });
    }
    await this.notify(row.partner_id);
    return (
      (await this.#k.selectFrom("sync_errors").selectAll().where("id", "=", errorId).executeTakeFirst()) ??
      null
    );
  }

  /** Open errors of a partner (or all, with `all`), newest first. */
  async errors(partnerId: number, all = false): Promise<SyncErrorView[]> {
    let q = this.#k.selectFrom("sync_errors").selectAll().where("partner_id", "=", partnerId);
    if (!all) q = q.where("resolved_at", "is", null);
    return (await q.orderBy("id", "desc").limit(500).execute()).map(toErrorView);
  }

  async error(errorId: number): Promise<SyncErrorView | null> {
    const row = await this.#k
      .selectFrom("sync_errors")
      .selectAll()
      .where("id", "=", errorId)
      .executeTakeFirst();
    return row ? toErrorView(row) : null;
  }

  /** The `psa` block of a portal ticket: Autotask id and number, sync state, last sync, last error. */
  async view(ticketId: number): Promise<PsaTicketView> {
    return (await this.views([ticketId])).get(ticketId) as PsaTicketView;
  }

  /** `view` for many tickets in three queries (the ticket list shows every row's sync state). */
  async views(ticketIds: number[]): Promise<Map<number, PsaTicketView>> {
    const out = new Map<number, PsaTicketView>();
    if (ticketIds.length === 0) return out;
    const [links, open, pending] = await Promise.all([
      this.#k
        .selectFrom("ticket_links")
        .selectAll()
        .where("ticket_id", "in", ticketIds)
        .where("state", "!=", "creating")
        .execute(),
      this.#k
        .selectFrom("sync_errors")
        .select(["lane", "error", "parked"])
        .where(
          "lane",
          "in",
          ticketIds.map((id) => `ticket:${id}`),
        )
        .where("resolved_at", "is", null)
        .execute(),
      this.#k
        .selectFrom("ticket_outbox")
        .select("ticket_id")
        .distinct()
        .where("ticket_id", "in", ticketIds)
        .where("processed_at", "is", null)
        .execute(),
    ]);
    const linkOf = new Map(links.map((l) => [l.ticket_id, l]));
    const errorOf = new Map(open.map((e) => [Number(e.lane.slice("ticket:".length)), e]));
    const waiting = new Set(pending.map((p) => p.ticket_id));
    for (const id of ticketIds) {
      const link = linkOf.get(id);
      const err = errorOf.get(id);
      const state =
        err?.parked === 1
          ? "error"
          : link?.state === "out-of-queue"
            ? "out-of-queue"
            : waiting.has(id)
              ? "pending"
              : link
                ? "synced"
                : "not-synced";
      out.set(id, {
        ticketId: link?.psa_ticket_id ?? null,
        ticketNumber: link?.ticket_number || null,
        state,
        lastSyncedAt: link?.synced_at ?? null,
        lastError: err?.error ?? link?.last_error ?? null,
        warning: link?.warning ?? null,
      });
    }
    return out;
  }

  /** Per ticket, the devices and alerts associated with it (seed FAQ Q6's report). */
  async deviceReport(partnerId: number): Promise<unknown[]> {
    const tickets = await this.#k
      .selectFrom("tickets")
      .select(["id", "title", "device_id", "status_id"])
      .where("partner_id", "=", partnerId)
      .orderBy("id")
      .execute();
    const alerts = await this.#k
      .selectFrom("ticket_alerts")
      .innerJoin("tickets", "tickets.id", "ticket_alerts.ticket_id")
      .innerJoin("devices", "devices.id", "ticket_alerts.device_id")
      .select([
        "ticket_alerts.ticket_id",
        "ticket_alerts.device_id",
        "ticket_alerts.message",
        "ticket_alerts.created_at",
        "devices.hostname",
      ])
      .where("tickets.partner_id", "=", partnerId)
      .orderBy("ticket_alerts.id")
      .execute();
    const devices = await this.#k
      .selectFrom("devices")
      .select(["id", "hostname"])
      .where("partner_id", "=", partnerId)
      .execute();
    const host = new Map(devices.map((d) => [d.id, d.hostname]));
    const cis = await this.#k
      .selectFrom("links")
      .select(["portal_id", "psa_id"])
      .where("partner_id", "=", partnerId)
      .where("entity", "=", "device")
      .execute();
    const ci = new Map(cis.map((c) => [c.portal_id, c.psa_id]));
    return tickets.map((t) => {
      const own = alerts.filter((a) => a.ticket_id === t.id);
      const ids = [
        ...new Set([...(t.device_id !== null ? [t.device_id] : []), ...own.map((a) => a.device_id)]),
      ];
      return {
        ticketId: t.id,
        title: t.title,
        statusId: t.status_id,
        deviceId: t.device_id,
        devices: ids.map((id) => ({
          id,
          hostname: host.get(id) ?? "",
          psaCiId: ci.get(id) ?? null,
          primary: id === t.device_id,
        })),
        alerts: own.map((a) => ({
          deviceId: a.device_id,
          hostname: a.hostname,
          message: a.message,
          createdAt: a.created_at,
        })),
      };
    });
  }

  /** Stores a PSA event in the inbox; false when it was already there (a duplicate delivery). */
  async enqueue(
    partnerId: number,
    e: { source: string; dedupKey: string; entityType: string; psaId: number; psaTicketId: number | null },
  ): Promise<boolean> {
    const r = await this.#k
      .insertInto("ticket_inbox")
      .values({
        partner_id: partnerId,
        dedup_key: e.dedupKey,
        source: e.source,
        entity_type: e.entityType,
        psa_id: e.psaId,
        psa_ticket_id: e.psaTicketId,
        received_at: this.#now(),
      })
      .onConflict((oc) => oc.columns(["partner_id", "dedup_key"]).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** The link of a portal ticket; a pending-create marker is not a link. */
  async #linkByTicket(partnerId: number, ticketId: number): Promise<Selectable<TicketLinkRow> | null> {
    return (
      (await this.#k
        .selectFrom("ticket_links")
        .selectAll()
        .where("partner_id", "=", partnerId)
        .where("ticket_id", "=", ticketId)
        .where("state", "!=", "creating")
        .executeTakeFirst()) ?? null
    );
  }
  async #linkByPsa(partnerId: number, psaTicketId: number): Promise<Selectable<TicketLinkRow> | null> {
    return (
      (await this.#k
        .selectFrom("ticket_links")
        .selectAll()
        .where("partner_id", "=", partnerId)
        .where("psa_ticket_id", "=", psaTicketId)
        .executeTakeFirst()) ?? null
    );
  }
}

export interface SyncErrorView {
  id: number;
  partnerId: number;
  ticketId: number | null;
  psaTicketId: number | null;
  error: string;
  code: string;
  attempts: number;
  parked: boolean;
  nextAttemptAt: string | null;
  firstAt: string;
  lastAt: string;
  resolvedAt: string | null;
}

export interface PsaTicketView {
  ticketId: number | null;
  ticketNumber: string | null;
  /** synced | pending | error | out-of-queue | not-synced */
  state: string;
  lastSyncedAt: string | null;
  lastError: string | null;
  /** A condition that does not stop the sync (a portal status with no forward row). */
  warning: string | null;
}

function toErrorView(r: Selectable<SyncErrorRow>): SyncErrorView {
  return {
    id: r.id,
    partnerId: r.partner_id,
    ticketId: r.ticket_id,
    psaTicketId: r.psa_ticket_id,
    error: r.error,
    code: r.code,
    attempts: r.attempts,
    parked: r.parked === 1,
    nextAttemptAt: r.next_attempt_at,
    firstAt: r.first_at,
    lastAt: r.last_at,
    resolvedAt: r.resolved_at,
  };
}

export function portalSide(t: TicketDetail): PortalSide {
  return {
    title: t.title,
    description: t.description,
    statusId: t.statusId,
    priorityId: t.priorityId,
    deviceId: t.deviceId,
  };
}

export function psaSide(at: AtTicket): PsaSide {
  return {
    title: String(at.title ?? ""),
    description: String(at.description ?? ""),
    status: Number(at.status),
    priority: Number(at.priority),
    configurationItemID: (at.configurationItemID as number | null | undefined) ?? null,
  };
}

/**
 * The text kept with a failed lane. A final refusal by Autotask (its own validation message, already
 * sanitised and truncated by the connector) gets a fix the partner can act on.
 */
function failureText(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (isPsaError(e) && e.code === "INVALID_REQUEST" && e.errors.length > 0) {
    return `Autotask refused it: ${e.errors.join(" ")} Fix: correct what Autotask names — in the ticket, in the partner's ticketing settings or mapping tables, or in Autotask (an inactive or missing record) — then retry it from Sync errors.`;
  }
  return message;
}

function describePortal(field: keyof PortalSide, v: unknown): unknown {
  if (field === "statusId") return portalStatusName(v as number) ?? v;
  if (field === "priorityId") return portalPriorityName(v as number) ?? v;
  return v;
}
