import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { SYSTEM_ACTOR } from "../../portal/access.js";
import type { Portal } from "../../portal/service.js";
import type { TicketDetail } from "../../portal/types.js";
import type { SyncEngine } from "../../sync/engine.js";
import {
  IdParams,
  Int,
  Note,
  NoteCreate,
  PageOf,
  PageQuery,
  Ticket,
  TicketCreate,
  TicketPatch,
} from "../schemas.js";

export const ticketRoutes =
  (portal: Portal, sync?: SyncEngine): FastifyPluginAsyncTypebox =>
  async (app) => {
    /** A ticket with its PSA side (`psa`) and every device it involves (its own and its alerts'). */
    const detail = async (t: TicketDetail) => {
      const ids = [
        ...new Set([...(t.deviceId !== null ? [t.deviceId] : []), ...t.alerts.map((a) => a.deviceId)]),
      ];
      const devices = [];
      for (const id of ids) {
        const d = await portal.getDevice(SYSTEM_ACTOR, id);
        devices.push({ id: d.id, hostname: d.hostname, state: d.state, primary: id === t.deviceId });
      }
      const effort = await portal.ticketEffort(SYSTEM_ACTOR, t.id);
      return { ...t, devices, effort, ...(sync ? { psa: (await sync.ticketViews([t.id])).get(t.id) } : {}) };
    };
    const PartnerParams = IdParams("partnerId");
    const TicketParams = IdParams("ticketId");

    app.post(
      "/api/partners/:partnerId/tickets",
      {
        schema: { tags: ["tickets"], params: PartnerParams, body: TicketCreate, response: { 201: Ticket } },
        config: { permission: "data:write" },
      },
      async (req, reply) =>
        reply
          .code(201)
          .send(await detail(await portal.createTicket(req.actor, req.params.partnerId, req.body))),
    );
    app.get(
      "/api/partners/:partnerId/tickets",
      {
        schema: {
          tags: ["tickets"],
          params: PartnerParams,
          querystring: Type.Object({
            ...PageQuery,
            statusId: Type.Optional(Int()),
            priorityId: Type.Optional(Int()),
            clientId: Type.Optional(Int()),
            deviceId: Type.Optional(Int()),
          }),
          response: { 200: PageOf(Ticket) },
        },
      },
      async (req) => {
        const page = await portal.listTickets(req.actor, req.params.partnerId, req.query);
        if (!sync) return page;
        // Each row carries its sync state (the list's "sync state" column) without a detail call per row.
        const views = await sync.ticketViews(page.items.map((t) => t.id));
        return { ...page, items: page.items.map((t) => ({ ...t, psa: views.get(t.id) })) };
      },
    );
    app.get(
      "/api/tickets/:ticketId",
      { schema: { tags: ["tickets"], params: TicketParams, response: { 200: Ticket } } },
      async (req) => detail(await portal.getTicket(req.actor, req.params.ticketId)),
    );
    app.patch(
      "/api/tickets/:ticketId",
      { schema: { tags: ["tickets"], params: TicketParams, body: TicketPatch, response: { 200: Ticket } } },
      async (req) => detail(await portal.updateTicket(req.actor, req.params.ticketId, req.body)),
    );
    app.post(
      "/api/tickets/:ticketId/notes",
      { schema: { tags: ["tickets"], params: TicketParams, body: NoteCreate, response: { 201: Note } } },
      async (req, reply) =>
        reply.code(201).send(await portal.addNote(req.actor, req.params.ticketId, req.body)),
    );
    app.get(
      "/api/tickets/:ticketId/notes",
      {
        schema: {
          tags: ["tickets"],
          params: TicketParams,
          querystring: Type.Object({ ...PageQuery, published: Type.Optional(Type.Boolean()) }),
          response: { 200: PageOf(Note) },
        },
      },
      async (req) => portal.listNotes(req.actor, req.params.ticketId, req.query),
    );
  };
