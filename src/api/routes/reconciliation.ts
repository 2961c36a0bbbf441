import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { SyncEngine } from "../../sync/engine.js";
import { IdParams } from "../schemas.js";
import {
  ReconciliationActionInput,
  ReconciliationActionResult,
  ReconciliationQuery,
  ReconciliationView,
} from "../schemas-reconciliation.js";

/**
 * The reconciliation view of a partner: portal devices against the PSA's configuration items, and the
 * actions that fix what it finds (docs/reconciliation.md). Partner admins and NOC admins.
 */
export const reconciliationRoutes =
  (sync: SyncEngine): FastifyPluginAsyncTypebox =>
  async (app) => {
    const PartnerParams = IdParams("partnerId");
    app.get(
      "/api/partners/:partnerId/reconciliation",
      {
        schema: {
          tags: ["sync"],
          summary:
            "Portal devices against the PSA's configuration items: orphan CIs, wrong companies, duplicate serials, CIs changed in the PSA",
          params: PartnerParams,
          querystring: ReconciliationQuery,
          response: { 200: ReconciliationView },
        },
      },
      async (req) =>
        sync.reconciliation.view(req.actor, req.params.partnerId, { refresh: req.query.refresh === true }),
    );
    app.post(
      "/api/partners/:partnerId/reconciliation/actions",
      {
        schema: {
          tags: ["sync"],
          summary: "Acts on a reconciliation item: link, move, deactivate, resync, ignore or unignore",
          params: PartnerParams,
          body: ReconciliationActionInput,
          response: { 200: ReconciliationActionResult },
        },
      },
      async (req) => sync.reconciliation.act(req.actor, req.params.partnerId, req.body),
    );
  };
