import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Portal } from "../../portal/service.js";
import type { SyncEngine } from "../../sync/engine.js";
import { QueueCounts, QueueCountsQuery, QueuePage, QueueQuery } from "../schemas-queue.js";

/**
 * The ticket queue: every ticket the caller may see across partners (a partner's user: its partner's
 * only), filtered and paged, each with its partner, client and PSA side; and the count per status.
 */
export const queueRoutes =
  (portal: Portal, sync?: SyncEngine): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      "/api/tickets",
      { schema: { tags: ["tickets"], querystring: QueueQuery, response: { 200: QueuePage } } },
      async (req) => {
        const page = await portal.queue.list(req.actor, req.query, sync?.queueFilter);
        if (!sync) return page;
        const views = await sync.ticketViews(page.items.map((t) => t.id));
        return { ...page, items: page.items.map((t) => ({ ...t, psa: views.get(t.id) })) };
      },
    );
    app.get(
      "/api/tickets/counts",
      { schema: { tags: ["tickets"], querystring: QueueCountsQuery, response: { 200: QueueCounts } } },
      async (req) => portal.queue.counts(req.actor, req.query, sync?.queueFilter),
    );
  };
