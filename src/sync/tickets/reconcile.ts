import { PortalError } from "../../portal/errors.js";
import type { TicketPatch } from "../../portal/service.js";
import type { TicketDetail } from "../../portal/types.js";
import type { PsaTicket, TicketFields, TicketWritten } from "../../psa/connector.js";
import type { Failpoint } from "../failpoint.js";
import type { SyncPortal } from "../portal-port.js";
import { type AlertLine, portalDescription, portalPart } from "./content.js";
import type { EffortSync } from "./effort.js";
import { TicketSyncError } from "./errors.js";
import type { FileSync } from "./files.js";
import type { TicketLinks } from "./links.js";
import type { Ctx, FieldMap } from "./mapping.js";
import { clientName, psaCompanyName, psaPriorityName, psaStatusName, ticketName } from "./names.js";
import type { NoteSync } from "./notes.js";
import {
  describePortal,
  PAIRS,
  type PortalSide,
  type PsaSide,
  portalSide,
  psaSide,
  readShadow,
  type Shadow,
} from "./shadow.js";
import { seenKey, stampFinal } from "./stamps.js";
import { forwardStatus, PORTAL_NEW, statusGapWarning } from "./status-gap.js";

/** What reconcile needs to know of a lane: the ticket on either side, and whether to read the PSA's notes. */
export interface LaneRef {
  ticketId: number | null;
  psaTicketId: number | null;
  pullNotes: boolean;
  /** A periodic file check asked for the PSA's files (./file-check.ts): they are listed whatever the activity. */
  pullFiles?: boolean;
}

/**
 * The one reconcile step: brings one ticket in step on both sides, creating it on the other side
 * when it is new there. A field changed on one side since the last sync (its shadow) crosses; a
 * field changed on both takes the later edit by source timestamp.
 */
export class Reconciler {
  constructor(
    private readonly o: {
      portal: SyncPortal;
      links: TicketLinks;
      map: FieldMap;
      notes: NoteSync;
      /** Time entries, after their ticket (absent: none cross). */
      effort?: EffortSync | undefined;
      /** Files both ways (files.ts); without it, files do not cross. */
      files?: FileSync;
      /**
       * Testing only (NOCBRIDGE_FAILPOINT): the process exits (code 137, as if killed) right before a
       * ticket create is sent, or right after it returned and before its link is saved — the crash
       * points of docs/reliability.md, Outbox and inbox.
       */
      failpoint?: Failpoint | undefined;
    },
  ) {}

  /** Brings one ticket (a lane) in step on both sides. Idempotent: running it twice changes nothing more. */
  async reconcile(ctx: Ctx, lane: LaneRef): Promise<void> {
    const { links, map, notes, portal } = this.o;
    const label = ctx.session.label;
    let link = lane.ticketId !== null ? await links.byTicket(ctx.partnerId, lane.ticketId) : null;
    if (!link && lane.psaTicketId !== null) link = await links.byPsa(ctx.partnerId, lane.psaTicketId);

    if (!link) {
      if (lane.ticketId !== null) {
        if (!ctx.view.ticketing.nocMayEnterTickets) return;
        await this.#createInPsa(ctx, lane.ticketId);
        return;
      }
      const readAt = links.now();
      const pt = await ctx.session.tickets.get(lane.psaTicketId as number);
      if (!pt?.inNocQueue) return; // other queues are not ours, even when a webhook says so
      await this.#createInPortal(ctx, pt, readAt);
      return;
    }

    const ticket = await portal.ticket(link.ticket_id);
    const readAt = links.now();
    const pt = await ctx.session.tickets.get(link.psa_ticket_id);
    if (!pt)
      throw new TicketSyncError(
        "NOT_FOUND",
        `${label} ticket ${ticketName(ticket.title, link.ticket_number)} no longer exists`,
      );
    if (!pt.inNocQueue) {
      if (link.state !== "out-of-queue") {
        await links.setState(link.id, "out-of-queue", true);
        await notes.systemNote(
          ctx,
          link,
          `${label} ticket ${link.ticket_number} was moved out of the NOC queue; it no longer syncs.`,
        );
      }
      return;
    }
    if (link.state === "out-of-queue") {
      await links.setState(link.id, "linked", false);
      await notes.systemNote(
        ctx,
        link,
        `${label} ticket ${link.ticket_number} is back in the NOC queue; sync resumed.`,
      );
    }

    const alerts = await portal.ticketAlerts(ticket.id);
    const fallback = alerts.map((a) => a.deviceId);
    const shadow = readShadow(link.shadow);
    const portalNow = withAlerts(ticket, alerts);
    const psaNow = psaSide(pt);
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
      // A portal status with no forward row: the PSA's status stays, everything else goes on.
      const gap =
        pf === "statusId" &&
        portalChanged &&
        forwardStatus(ctx.maps["status-forward"], portalNow.statusId) === null;
      if (gap && !psaChanged) {
        warnings.push(statusGapWarning(portalNow.statusId, label));
        statusGap = true;
        continue;
      }
      if (portalChanged && psaChanged) {
        // Edited on both sides since the last sync: the later edit by source timestamp wins.
        winner = Date.parse(ticket.updatedAt) >= Date.parse(pt.lastActivity) ? "portal" : "psa";
        if (await map.sameAfterMapping(ctx, pf, portalNow, psaNow, fallback)) continue;
        resolutions.push(
          `${pf}: portal ${JSON.stringify(describePortal(pf, portalNow[pf]))} (${ticket.updatedAt}) vs ${label} ${await describePsa(ctx, af, psaNow[af])} (${pt.lastActivity}); kept the ${winner === "portal" ? "portal" : label} value, the later edit`,
        );
      }
      if (gap && winner === "portal") {
        warnings.push(statusGapWarning(portalNow.statusId, label));
        statusGap = true;
      } else if (winner === "portal") Object.assign(toPsa, await map.toPsa(ctx, pf, portalNow[pf], fallback));
      else Object.assign(toPortal, await map.toPortal(ctx, af, psaNow[af], ticket));
    }

    // What the PSA keeps of our write (a description cut to its limit) is the last synced value.
    const psaAfter: PsaSide = { ...psaNow, ...map.asStored(ctx, toPsa) };
    let written: TicketWritten | undefined;
    if (Object.keys(toPsa).length > 0) {
      written = await ctx.session.tickets.update(pt.id, toPsa);
      if (toPsa.status !== undefined && ctx.closing.has(toPsa.status))
        await this.#confirmClose(ctx, pt, ticket.title, toPsa.status);
    }
    let after = ticket;
    if (Object.keys(toPortal).length > 0) after = await portal.updateTicket(ticket.id, toPortal);
    for (const r of resolutions) await notes.systemNote(ctx, link, `Sync conflict resolved — ${r}.`);
    // Notes the ticket's read listed anyway are pulled whatever the lane asked (no extra request).
    const notesRead = lane.pullNotes || pt.notes !== undefined;
    const notedInPsa = await notes.sync(ctx, ticket.id, pt.id, notesRead, pt.notes);
    // Our write's answer gives the ticket's stamp after it, when nothing of ours wrote after it and
    // the answer holds what we left (else another write came in between: the next poll reads it).
    const stampAfter =
      written && !notedInPsa && sameFields(written.fields, psaAfter) ? written.lastActivity : null;
    // The PSA's files are listed when its ticket shows activity since the last sync, or when the
    // periodic file check asks (a file added alone may not stamp its ticket: ./file-check.ts); a
    // reconcile with nothing new costs no extra request.
    await this.#files(
      ctx,
      ticket.id,
      pt.id,
      (lane.pullNotes && pt.lastActivity !== shadow.psaAt) || lane.pullFiles === true,
    );
    const next: Shadow = {
      // An unsynced status stays "changed" against the shadow, so it crosses once a row covers it.
      portal: statusGap
        ? { ...withAlerts(after, alerts), statusId: shadow.portal.statusId }
        : withAlerts(after, alerts),
      psa: psaAfter,
      portalAt: after.updatedAt,
      psaAt: stampAfter ?? pt.lastActivity,
    };
    // After a write of ours, the stamp read before it says nothing of what came in between (a
    // person's edit in the second of our write would be named ours): only the write's answer counts.
    const wrote = Object.keys(toPsa).length > 0 || notedInPsa;
    let seen: string | null = null;
    if (stampAfter !== null) seen = seenStamp(ctx, stampAfter, links.now(), notesRead, true);
    else if (!wrote) seen = seenStamp(ctx, pt.lastActivity, readAt, notesRead, pt.lastChangeOurs);
    await links.synced(link.id, next, warnings.length > 0 ? warnings.join("; ") : null, seen);
    await this.o.effort?.sync(ctx, ticket.id, pt.id);
  }

  /** Portal → PSA create: NOC queue and the partner's defaults (the connector's), company, the device's asset, mapped status and priority. */
  async #createInPsa(ctx: Ctx, ticketId: number): Promise<void> {
    const { links, map, notes, portal } = this.o;
    const label = ctx.session.label;
    const ticket = await portal.ticket(ticketId);
    const companyId = ctx.companyByClient.get(ticket.clientId) ?? null;
    if (companyId === null)
      throw new TicketSyncError(
        "UNMAPPED_COMPANY",
        `${ticketName(ticket.title)} cannot go to ${label}: client ${clientName(ctx, ticket.clientId)} is not mapped to ${/^[aeiou]/i.test(label) ? "an" : "a"} ${label} company; map it under Setup → Clients`,
      );
    const alerts = await portal.ticketAlerts(ticket.id);
    const side = withAlerts(ticket, alerts);
    // A status with no forward row is created as portal New would be, with a warning on the ticket.
    const gap = forwardStatus(ctx.maps["status-forward"], side.statusId) === null;
    const sentStatus = gap ? PORTAL_NEW : side.statusId;
    const fields = {
      ...(await map.toPsa(ctx, "statusId", sentStatus)),
      ...(await map.toPsa(ctx, "priorityId", side.priorityId)),
      ...(await map.toPsa(
        ctx,
        "deviceId",
        side.deviceId,
        alerts.map((a) => a.deviceId),
      )),
    };
    const ref = String(ticket.id);
    // A create that may already have happened (an earlier attempt failed, or the process died after
    // sending) is looked up by its external reference before it is sent again: the pending-create
    // marker is written before the first send (docs/reliability.md, Idempotent creates).
    const started = await links.creating(ctx.partnerId, ticket.id);
    let id = started ? ((await ctx.session.tickets.findByExternalRef(ref))?.id ?? null) : null;
    if (!started) await links.markCreating(ctx.partnerId, ticket.id);
    if (id === null) {
      this.#failpoint("before-send");
      // Never a blind retry: after an ambiguous failure, the connector looks the ticket up first.
      id = await ctx.session.tickets.create({
        companyId,
        externalRef: ref,
        title: side.title,
        description: side.description,
        status: fields.status as number,
        priority: fields.priority as number,
        assetId: fields.assetId ?? null,
      });
      this.#failpoint("after-send");
    }
    const readAt = links.now();
    const pt = await ctx.session.tickets.get(id);
    if (!pt)
      throw new TicketSyncError(
        "NOT_FOUND",
        `${label} ticket ${id} for ${ticketName(ticket.title)} vanished right after it was created`,
      );
    await links.saveNew(
      ctx.partnerId,
      ticket,
      pt,
      gap ? { statusId: sentStatus, warning: statusGapWarning(side.statusId, label) } : undefined,
      side,
      seenStamp(ctx, pt.lastActivity, readAt, pt.notes !== undefined, pt.lastChangeOurs),
    );
    // The portal's notes written after that read may share its second: the stamp no longer tells.
    if (await notes.sync(ctx, ticket.id, pt.id, pt.notes !== undefined, pt.notes))
      await links.unseen(ctx.partnerId, ticket.id);
    await this.o.effort?.sync(ctx, ticket.id, pt.id);
    await this.#files(ctx, ticket.id, pt.id, false);
  }

  /**
   * A lane of periodic file checks only (./file-check.ts): the linked ticket's PSA files are listed
   * and the new ones brought over (the portal's unsent ones sent), without reading the ticket. A
   * ticket no longer linked, or out of the NOC queue, is left alone.
   */
  async checkFiles(ctx: Ctx, lane: LaneRef): Promise<void> {
    const { links } = this.o;
    let link = lane.ticketId !== null ? await links.byTicket(ctx.partnerId, lane.ticketId) : null;
    if (!link && lane.psaTicketId !== null) link = await links.byPsa(ctx.partnerId, lane.psaTicketId);
    if (link?.state !== "linked") return;
    await this.#files(ctx, link.ticket_id, link.psa_ticket_id, true);
  }

  /** The ticket's files, once it is linked; a warning about a file goes on the portal ticket. */
  async #files(ctx: Ctx, ticketId: number, psaTicketId: number, pull: boolean): Promise<void> {
    const { files, links, notes } = this.o;
    if (!files) return;
    const link = await links.byTicket(ctx.partnerId, ticketId);
    if (!link) return;
    await files.sync(ctx, ticketId, psaTicketId, pull, (text) => notes.systemNote(ctx, link, text));
    // Listed now: the periodic check of this ticket can wait a whole period.
    if (pull && ctx.session.attachments) await links.filesChecked(link.id);
  }

  /** Testing only: dies here, without cleanup, when NOCBRIDGE_FAILPOINT names this point. */
  #failpoint(at: Failpoint): void {
    if (this.o.failpoint !== at) return;
    process.stderr.write(`nocbridge: failpoint ${at} hit; exiting\n`);
    process.exit(137);
  }

  /** PSA → portal create, for a ticket put into the NOC queue. */
  async #createInPortal(ctx: Ctx, pt: PsaTicket, readAt: Date): Promise<void> {
    const { links, map, notes, portal } = this.o;
    const label = ctx.session.label;
    // Our own create whose link was lost (a crash between create and link): link it, don't copy it.
    const ext = Number(pt.externalRef);
    if (Number.isInteger(ext) && ext > 0) {
      const mine = await portal.ticket(ext).catch((e: unknown) => {
        if (e instanceof PortalError && e.code === "NOT_FOUND") return null;
        throw e;
      });
      if (mine?.partnerId === ctx.partnerId && !(await links.byTicket(ctx.partnerId, ext))) {
        await links.saveNew(
          ctx.partnerId,
          mine,
          pt,
          undefined,
          withAlerts(mine, await portal.ticketAlerts(ext)),
        );
        return this.reconcile(ctx, { ticketId: ext, psaTicketId: pt.id, pullNotes: true });
      }
    }
    const clientId = pt.companyId === null ? undefined : ctx.clientByCompany.get(pt.companyId);
    if (clientId === undefined) {
      throw new TicketSyncError(
        "UNMAPPED_COMPANY",
        `${label} ticket ${ticketName(pt.title, pt.number)} cannot come to the portal: its company ${await psaCompanyName(ctx, pt.companyId)} is not mapped to any client of this partner; map a client to it under Setup → Clients`,
      );
    }
    const status = await map.toPortal(ctx, "status", pt.status, null);
    const pri = await map.toPortal(ctx, "priority", pt.priority, null);
    const dev = await map.toPortal(ctx, "assetId", pt.assetId, null);
    const ticket = await portal.createTicket(ctx.partnerId, {
      clientId,
      title: pt.title.trim() || `${label} ticket ${pt.number}`,
      description: portalPart(pt.description),
      statusId: status.statusId as number,
      priorityId: pri.priorityId as number,
      ...(typeof dev.deviceId === "number" && (await map.deviceOfClient(dev.deviceId, clientId))
        ? { deviceId: dev.deviceId }
        : {}),
    });
    await links.saveNew(
      ctx.partnerId,
      ticket,
      pt,
      undefined,
      undefined,
      seenStamp(ctx, pt.lastActivity, readAt, true, pt.lastChangeOurs),
    );
    await notes.sync(ctx, ticket.id, pt.id, true, pt.notes);
    await this.#files(ctx, ticket.id, pt.id, true);
  }

  /** After writing a closing status, read the ticket back: a close the PSA refused is reported. */
  async #confirmClose(ctx: Ctx, pt: PsaTicket, title: string, status: number): Promise<void> {
    const back = await ctx.session.tickets.get(pt.id);
    if (!back || back.status !== status) {
      const now = back ? await psaStatusName(ctx, back.status) : "unknown";
      throw new TicketSyncError(
        "CLOSE_REFUSED",
        `${ctx.session.label} did not close ${ticketName(title, pt.number)}: its status is ${now} after writing ${await psaStatusName(ctx, status)}`,
      );
    }
  }
}

/**
 * The PSA stamp a sync saw everything behind, for the next poll to leave the ticket alone while the
 * stamp stays (null: it reads the ticket again), as `seenKey` records it. The stamp must have been
 * final when the ticket was read (./stamps.ts): a later edit in the same second would carry it too —
 * unless the read (or our write's answer) named us as the last writer: a person's edit later in that
 * second names them, and the poll then reads the ticket. And the notes behind it must be known: read
 * with the ticket, or — where the PSA reports notes in events of their own — left to the poll's one
 * listing of notes added since (`notesAddedSince`).
 */
function seenStamp(
  ctx: Ctx,
  stamp: string,
  readAt: Date,
  notesRead: boolean,
  ours: boolean | undefined,
): string | null {
  const notesKnown = notesRead || ctx.session.tickets.notesAddedSince !== undefined;
  if (!notesKnown || Number.isNaN(Date.parse(stamp))) return null;
  if (stampFinal(stamp, readAt)) return stamp;
  return ours === true ? seenKey(stamp, true) : null;
}

/** Whether the ticket fields a write's answer shows are the values the sync left there. */
function sameFields(shown: Partial<TicketFields>, left: PsaSide): boolean {
  return (Object.keys(shown) as Array<keyof TicketFields>).every((f) => shown[f] === left[f]);
}

/** The portal side of a ticket as the PSA should hold it: the description with its alerts block. */
function withAlerts(ticket: TicketDetail, alerts: readonly AlertLine[]): PortalSide {
  const side = portalSide(ticket);
  return { ...side, description: portalDescription(side.description, alerts) };
}

/** A PSA value as a person reads it in a conflict note (status and priority by name). */
async function describePsa(ctx: Ctx, field: keyof PsaSide, v: unknown): Promise<string> {
  if (field === "status" && typeof v === "number") return psaStatusName(ctx, v);
  if (field === "priority" && typeof v === "number") return psaPriorityName(ctx, v);
  return JSON.stringify(v);
}
