import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync } from "fastify";
import type { Portal, TicketInput, TicketPatch as TicketPatchInput } from "../../portal/service.js";
import type { App } from "../app.js";
import {
  IdParams,
  Note,
  NoteCreate,
  PageOf,
  PageQuery,
  Ticket,
  TicketCreate,
  TicketPatch,
} from "../schemas.js";

export const ticketRoutes =
  (portal: Portal): FastifyPluginAsync =>
  async (f) => {
    const app = f as unknown as App;
    const PartnerParams = IdParams("partnerId");
    const TicketParams = IdParams("ticketId");

    app.post(
      "/api/partners/:partnerId/tickets",
      { schema: { tags: ["tickets"], params: PartnerParams, body: TicketCreate, response: { 201: Ticket } } },
      async (req, reply) =>
        reply
          .code(201)
          .send(await portal.createTicket(req.actor, req.params.partnerId, req.body as TicketInput)),
    );
    app.get(
      "/api/partners/:partnerId/tickets",
      {
        schema: {
          tags: ["tickets"],
          params: PartnerParams,
          querystring: Type.Object({
            ...PageQuery,
            statusId: Type.Optional(Type.Integer()),
            priorityId: Type.Optional(Type.Integer()),
            clientId: Type.Optional(Type.Integer()),
            deviceId: Type.Optional(Type.Integer()),
          }),
          response: { 200: PageOf(Ticket) },
        },
      },
      async (req) => portal.listTickets(req.actor, req.params.partnerId, req.query),
    );
    app.get(
      "/api/tickets/:ticketId",
      { schema: { tags: ["tickets"], params: TicketParams, response: { 200: Ticket } } },
      async (req) => portal.getTicket(req.actor, req.params.ticketId),
    );
    app.patch(
      "/api/tickets/:ticketId",
      { schema: { tags: ["tickets"], params: TicketParams, body: TicketPatch, response: { 200: Ticket } } },
      async (req) => portal.updateTicket(req.actor, req.params.ticketId, req.body as TicketPatchInput),
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
