import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Metrics } from "../../lib/metrics.js";
import type { Portal } from "../../portal/service.js";
import type { SyncEngine } from "../../sync/engine.js";
import { reasonOf } from "../errors.js";
import { Id, IdParams, SyncErrorView, WebhookState } from "../schemas.js";

/** Largest webhook body accepted (Autotask's and ConnectWise's payloads are a few kB). */
const WEBHOOK_BODY_LIMIT = 256 * 1024;

/**
 * The PSA webhook receiver, one route for every connector (`/webhooks/autotask/:partnerId` is
 * Autotask's, `/webhooks/connectwise/:partnerId` ConnectWise's): raw bytes in, signature checked before anything is parsed.
 */
export const webhookRoutes =
  (sync: SyncEngine, metrics?: Metrics): FastifyPluginAsyncTypebox =>
  async (app) => {
    // Raw body for this plugin only: the signature covers the exact bytes the PSA sent (docs/autotask.md,
    // Signature).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: WEBHOOK_BODY_LIMIT }, (_req, body, done) =>
      done(null, body),
    );
    // An unknown system, or one that is not the partner's, is answered 404 by the engine.
    const Params = Type.Object({ system: Type.String({ minLength: 1, maxLength: 40 }), partnerId: Id });
    app.post(
      "/webhooks/:system/:partnerId",
      {
        schema: {
          tags: ["webhooks"],
          summary:
            "PSA webhook deliveries, signed as the PSA signs them (Autotask: X-Hook-Signature; ConnectWise: x-content-signature)",
          params: Params,
          security: [],
        },
        // The PSA authenticates with its signature over the body, checked by the handler.
        config: { public: true },
        bodyLimit: WEBHOOK_BODY_LIMIT,
      },
      async (req, reply) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const { system, partnerId } = req.params;
        // A stored event wakes the worker; the answer does not wait for it.
        let r: Awaited<ReturnType<SyncEngine["receiveWebhook"]>>;
        try {
          r = await sync.receiveWebhook(system, partnerId, raw, req.headers);
        } catch (e) {
          // Thrown when the system is not the partner's (404) or the store fails: the path's system is
          // then not known to be one, so it is not used as a label, whatever the sender put there.
          metrics?.webhookDelivery("unknown", "refused");
          throw e;
        }
        metrics?.webhookDelivery(
          system,
          r.status !== 200 ? "refused" : r.duplicate ? "duplicate" : "accepted",
        );
        if (r.status !== 200)
          return reply.code(r.status).send({
            statusCode: r.status,
            error: reasonOf(r.status),
            code: "WEBHOOK",
            message: r.error,
            ...("field" in r && r.field ? { field: r.field } : {}),
          });
        return { ok: true, duplicate: r.duplicate };
      },
    );
    app.post(
      "/webhooks/:system/:partnerId/deactivated",
      {
        schema: { tags: ["webhooks"], summary: "The PSA's deactivation call", params: Params, security: [] },
        config: { public: true },
        bodyLimit: WEBHOOK_BODY_LIMIT,
      },
      async (req) => {
        await sync.webhookDeactivated(req.params.system, req.params.partnerId);
        return { ok: true };
      },
    );
  };

export const ticketSyncRoutes =
  (_portal: Portal, sync: SyncEngine): FastifyPluginAsyncTypebox =>
  async (app) => {
    const PartnerParams = IdParams("partnerId");

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
      async (req) => ({
        items: await sync.ticketErrors(req.actor, req.params.partnerId, req.query.all === true),
      }),
    );
    app.post(
      "/api/sync/errors/:errorId/retry",
      { schema: { tags: ["ticket sync"], params: IdParams("errorId"), response: { 200: SyncErrorView } } },
      async (req) => sync.retryTicketError(req.actor, req.params.errorId),
    );
    app.get(
      "/api/partners/:partnerId/webhooks",
      {
        schema: {
          tags: ["ticket sync"],
          summary:
            "The partner's PSA webhooks: registered, or polling only and why, and fields the PSA would not subscribe",
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
            "Live pick-lists of the partner's PSA, by the names its settings fields use (Autotask: queues, billing codes, products, CI types …; ConnectWise: boards, statuses with their board as scope …), statuses and priorities always (409 without working credentials)",
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
            "Mapped statuses/priorities renamed, deactivated or removed in the PSA (checked every poll)",
          params: PartnerParams,
        },
      },
      async (req) => ({ items: await sync.mappingDrift(req.actor, req.params.partnerId) }),
    );
    app.post(
      "/api/partners/:partnerId/sync/tickets/poll",
      {
        schema: {
          tags: ["ticket sync"],
          summary:
            "Poll the PSA's NOC queue now: 202, the partner's poll is queued in its ticket queue (one poll however often pressed while it waits; the safety net polls every 5 minutes anyway)",
          params: PartnerParams,
          response: { 202: Type.Object({ queued: Type.Literal(true) }) },
        },
        config: { permission: "integration:write" },
      },
      async (req, reply) => {
        await sync.pollTicketsNow(req.actor, req.params.partnerId);
        return reply.code(202).send({ queued: true });
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
      async (req) => ({ items: await sync.ticketDeviceReport(req.actor, req.params.partnerId) }),
    );
  };
