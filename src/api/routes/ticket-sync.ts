import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { type Actor, requirePartner, requirePermission } from "../../portal/access.js";
import { notFound } from "../../portal/errors.js";
import type { Portal } from "../../portal/service.js";
import type { SyncEngine } from "../../sync/engine.js";
import { IdParams, SyncErrorView, WebhookState } from "../schemas.js";

/** Largest webhook body accepted (Autotask's payloads are a few kB). */
const WEBHOOK_BODY_LIMIT = 256 * 1024;

/** The Autotask webhook receiver: raw bytes in, signature checked before anything is parsed. */
export const webhookRoutes =
  (sync: SyncEngine): FastifyPluginAsyncTypebox =>
  async (app) => {
    // Raw body for this plugin only: the HMAC covers the exact bytes Autotask sent (docs/autotask.md,
    // Signature).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: WEBHOOK_BODY_LIMIT }, (_req, body, done) =>
      done(null, body),
    );
    const Params = IdParams("partnerId");
    app.post(
      "/webhooks/autotask/:partnerId",
      {
        schema: {
          tags: ["webhooks"],
          summary: "Autotask webhook deliveries (X-Hook-Signature)",
          params: Params,
          security: [],
        },
        // Autotask authenticates with the X-Hook-Signature HMAC, checked by the handler.
        config: { public: true },
        bodyLimit: WEBHOOK_BODY_LIMIT,
      },
      async (req, reply) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const sig = req.headers["x-hook-signature"];
        const r = await sync.feed.receive(req.params.partnerId, raw, Array.isArray(sig) ? sig[0] : sig);
        if (r.status !== 200)
          return reply.code(r.status).send({
            statusCode: r.status,
            error: r.status === 401 ? "Unauthorized" : "Bad Request",
            code: "WEBHOOK",
            message: r.error,
            ...("field" in r && r.field ? { field: r.field } : {}),
          });
        // Answer at once; the worker re-reads the ticket from Autotask.
        void sync.tickets.notify(req.params.partnerId);
        return { ok: true, duplicate: r.duplicate };
      },
    );
    app.post(
      "/webhooks/autotask/:partnerId/deactivated",
      {
        schema: { tags: ["webhooks"], summary: "Autotask's deactivation call", params: Params, security: [] },
        config: { public: true },
        bodyLimit: WEBHOOK_BODY_LIMIT,
      },
      async (req) => {
        req.log.warn(
          { partnerId: req.params.partnerId },
          "Autotask reports a webhook deactivated; polling continues",
        );
        return { ok: true };
      },
    );
  };

export const ticketSyncRoutes =
  (portal: Portal, sync: SyncEngine): FastifyPluginAsyncTypebox =>
  async (app) => {
    const PartnerParams = IdParams("partnerId");
    const partner = async (actor: Actor, partnerId: number) => {
      requirePartner(actor, partnerId);
      await portal.getPartner(actor, partnerId);
    };

    app.get(
      "/api/partners/:partnerId/sync/errors",
      {
        schema: {
          tags: ["ticket sync"],
          summary: "Tickets that keep failing (parked) or wait for a retry, with their error and attempts",
          params: PartnerParams,
          querystring: Type.Object({ all: Type.Optional(Type.Boolean()) }),
          response: { 200: Type.Object({ items: Type.Array(SyncErrorView) }) },
        },
      },
      async (req) => {
        await partner(req.actor, req.params.partnerId);
        return { items: await sync.tickets.errors(req.params.partnerId, req.query.all === true) };
      },
    );
    app.post(
      "/api/sync/errors/:errorId/retry",
      { schema: { tags: ["ticket sync"], params: IdParams("errorId"), response: { 200: SyncErrorView } } },
      async (req) => {
        const row = await sync.tickets.error(req.params.errorId);
        if (!row || (req.actor.partnerId !== null && req.actor.partnerId !== row.partnerId))
          throw notFound("sync error");
        requirePermission(req.actor, "data:write");
        await sync.tickets.retry(req.params.errorId);
        return (await sync.tickets.error(req.params.errorId)) ?? row;
      },
    );
    app.get(
      "/api/partners/:partnerId/webhooks",
      {
        schema: {
          tags: ["ticket sync"],
          summary:
            "The partner's Autotask webhooks: registered, or polling only and why, and fields Autotask would not subscribe",
          params: PartnerParams,
          response: { 200: WebhookState },
        },
      },
      async (req) => sync.webhookState(req.actor, req.params.partnerId),
    );
    app.get(
      "/api/partners/:partnerId/psa/options",
      {
        schema: {
          tags: ["integration"],
          summary:
            "Live Autotask pick-lists: queues, billing codes, products, CI types, statuses, priorities (409 without working credentials)",
          params: PartnerParams,
        },
      },
      async (req) => sync.psaOptions(req.actor, req.params.partnerId),
    );
    app.get(
      "/api/partners/:partnerId/mappings/drift",
      {
        schema: {
          tags: ["mappings"],
          summary:
            "Mapped statuses/priorities renamed, deactivated or removed in Autotask (checked every poll)",
          params: PartnerParams,
        },
      },
      async (req) => {
        await partner(req.actor, req.params.partnerId);
        return { items: await sync.feed.drift(req.params.partnerId) };
      },
    );
    app.post(
      "/api/partners/:partnerId/sync/tickets/poll",
      {
        schema: {
          tags: ["ticket sync"],
          summary: "Poll Autotask's NOC queue now (the safety net runs every 5 minutes anyway)",
          params: PartnerParams,
        },
        config: { permission: "integration:write" },
      },
      async (req) => {
        await partner(req.actor, req.params.partnerId);
        requirePermission(req.actor, "integration:write");
        return { queued: await sync.pollTickets(req.params.partnerId) };
      },
    );
    app.get(
      "/api/partners/:partnerId/reports/ticket-devices",
      {
        schema: {
          tags: ["reports"],
          summary: "Per ticket, the devices and alerts associated with it (seed FAQ Q6)",
          params: PartnerParams,
        },
      },
      async (req) => {
        await partner(req.actor, req.params.partnerId);
        return { items: await sync.tickets.deviceReport(req.params.partnerId) };
      },
    );
  };
