import { type MappingKind, portalPriorityName, portalStatusName } from "../../portal/catalog.js";
import type { TicketPatch } from "../../portal/service.js";
import type { IntegrationView, MappingEntry, TicketDetail } from "../../portal/types.js";
import type { ConnectorManifest, PsaSession } from "../../psa/connector.js";
import type { Db } from "../../store/db.js";
import type { SyncPortal } from "../portal-port.js";
import { statusRowsInScope } from "../status-scope.js";
import { portalPart } from "./content.js";
import { TicketSyncError } from "./errors.js";
import { psaPriorityName, psaStatusName } from "./names.js";
import { PAIRS, type PortalSide, type PsaSide } from "./shadow.js";

/** Everything one drain needs for a partner: settings, PSA session, mapping tables, company → client. */
export interface Ctx {
  partnerId: number;
  session: PsaSession;
  view: IntegrationView;
  maps: Record<MappingKind, MappingEntry[]>;
  clientByCompany: Map<number, number>;
  companyByClient: Map<number, number | null>;
  /** Client id → "AT1 — Acme" (how messages name a client). */
  clientNames: Map<number, string>;
  /** PSA statuses that close a ticket: those the reverse table maps to portal "Closed" (3). */
  closing: Set<number>;
}

export async function ticketContext(
  portal: SyncPortal,
  partnerId: number,
  session: PsaSession,
  view: IntegrationView,
  manifest: Pick<ConnectorManifest, "statusScope">,
): Promise<Ctx> {
  const [allFwd, allRev, pri] = await Promise.all([
    portal.mappings(partnerId, "status-forward"),
    portal.mappings(partnerId, "status-reverse"),
    portal.mappings(partnerId, "priority"),
  ]);
  // Statuses scoped to a board: only the rows of the partner's board (and unscoped ones) apply.
  const fwd = statusRowsInScope(allFwd, manifest, view);
  const rev = statusRowsInScope(allRev, manifest, view);
  const clients = await portal.clients(partnerId);
  const clientByCompany = new Map<number, number>();
  for (const c of clients)
    if (c.psaCompanyId !== null && !clientByCompany.has(c.psaCompanyId))
      clientByCompany.set(c.psaCompanyId, c.id);
  return {
    partnerId,
    session,
    view,
    maps: { "status-forward": fwd, "status-reverse": rev, priority: pri },
    clientByCompany,
    companyByClient: new Map(clients.map((c) => [c.id, c.psaCompanyId])),
    clientNames: new Map(clients.map((c) => [c.id, `${c.code} — ${c.name}`])),
    closing: new Set(rev.filter((m) => m.portalId === 3).map((m) => m.psaId)),
  };
}

/** Field values across the two sides: the mapping tables for status and priority, device links for the asset. */
export class FieldMap {
  constructor(
    private readonly db: Db,
    private readonly portal: SyncPortal,
  ) {}

  get #k() {
    return this.db.kysely;
  }

  /**
   * Portal value → PSA field. A status or priority without a mapping row is an error naming it. For
   * the device, `fallback` lists the ticket's other devices (its alerts', in order): when the device
   * has no configuration item, the first of them that has one is referenced.
   */
  async toPsa(
    ctx: Ctx,
    field: keyof PortalSide,
    value: PortalSide[keyof PortalSide],
    fallback: readonly number[] = [],
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
        // Read right to left: where several PSA priorities map to one portal priority, the first row wins.
        const row = ctx.maps.priority.find((m) => m.portalId === value);
        if (!row)
          throw new TicketSyncError(
            "MAPPING",
            `portal priority "${portalPriorityName(value as number)}" (${value}) has no row in the priority mapping table`,
          );
        return { priority: row.psaId };
      }
      case "deviceId": {
        const order = [...new Set([...(value === null ? [] : [value as number]), ...fallback])];
        if (order.length === 0) return { assetId: null };
        const links = await this.#k
          .selectFrom("links")
          .select(["portal_id", "psa_id"])
          .where("partner_id", "=", ctx.partnerId)
          .where("entity", "=", "device")
          .where("portal_id", "in", order)
          .execute();
        const ci = new Map(links.map((l) => [l.portal_id, l.psa_id]));
        const first = order.find((id) => ci.has(id));
        return { assetId: first === undefined ? null : (ci.get(first) ?? null) };
      }
    }
  }

  /** PSA value → portal field. */
  async toPortal(
    ctx: Ctx,
    field: keyof PsaSide,
    value: PsaSide[keyof PsaSide],
    ticket: TicketDetail | null,
  ): Promise<TicketPatch> {
    const label = ctx.session.label;
    switch (field) {
      case "title":
        return { title: (value as string) || (ticket?.title ?? "") };
      case "description":
        // The PSA holds the description and the alerts block; the portal keeps its own part.
        return { description: portalPart(value as string) };
      case "status": {
        const row = ctx.maps["status-reverse"].find((m) => m.psaId === value);
        if (!row)
          throw new TicketSyncError(
            "MAPPING",
            `${label} status ${await psaStatusName(ctx, value as number)} has no row in the reverse status mapping table`,
          );
        return { statusId: row.portalId };
      }
      case "priority": {
        const row = ctx.maps.priority.find((m) => m.psaId === value);
        if (!row)
          throw new TicketSyncError(
            "MAPPING",
            `${label} priority ${await psaPriorityName(ctx, value as number)} has no row in the priority mapping table`,
          );
        return { priorityId: row.portalId };
      }
      case "assetId": {
        if (value === null) return ticket ? { deviceId: null } : {};
        const link = await this.#k
          .selectFrom("links")
          .select("portal_id")
          .where("partner_id", "=", ctx.partnerId)
          .where("entity", "=", "device")
          .where("psa_id", "=", value as number)
          .executeTakeFirst();
        // An asset that is not one of our devices' (or another client's device) leaves the device as it is.
        if (!link) return {};
        if (ticket && !(await this.deviceOfClient(link.portal_id, ticket.clientId))) return {};
        return { deviceId: link.portal_id };
      }
    }
  }

  /** PSA fields as the PSA keeps them once written (the description fitted to its limit). */
  asStored(ctx: Ctx, fields: Partial<PsaSide>): Partial<PsaSide> {
    const { tickets } = ctx.session;
    if (fields.description === undefined || !tickets.descriptionAsStored) return fields;
    return { ...fields, description: tickets.descriptionAsStored(fields.description) };
  }

  /** Both sides changed a field to values that mean the same thing once mapped: not a conflict. */
  async sameAfterMapping(
    ctx: Ctx,
    pf: keyof PortalSide,
    portal: PortalSide,
    psa: PsaSide,
    fallback: readonly number[] = [],
  ): Promise<boolean> {
    try {
      const mapped = this.asStored(ctx, await this.toPsa(ctx, pf, portal[pf], fallback));
      const [, af] = PAIRS.find(([p]) => p === pf) as readonly [keyof PortalSide, keyof PsaSide];
      return mapped[af] === psa[af];
    } catch {
      return false;
    }
  }

  async deviceOfClient(deviceId: number, clientId: number): Promise<boolean> {
    return (await this.portal.deviceClient(deviceId)) === clientId;
  }
}
