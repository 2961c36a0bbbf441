import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { SyncEngine } from "../../sync/engine.js";
import { IdParams } from "../schemas.js";
import { AutoMatchResult, PsaCompanyList, PsaCompanyQuery } from "../schemas-companies.js";

/**
 * The partner's PSA companies for Setup: search (names and ids) and auto-match proposals by name.
 * Both read the live PSA, for who may change the integration (partner admin, NOC admin).
 */
export const companyRoutes =
  (sync: SyncEngine): FastifyPluginAsyncTypebox =>
  async (app) => {
    const PartnerParams = IdParams("partnerId");
    app.get(
      "/api/partners/:partnerId/psa-companies",
      {
        schema: {
          tags: ["clients"],
          summary:
            "The partner's PSA companies whose name contains `query` (active first, by name), or those of `ids`",
          params: PartnerParams,
          querystring: PsaCompanyQuery,
          response: { 200: PsaCompanyList },
        },
        config: { permission: "integration:write" },
      },
      async (req) => {
        const { query = "", ids, limit = 25 } = req.query;
        return ids !== undefined
          ? sync.companies.byIds(req.actor, req.params.partnerId, ids.split(",").map(Number))
          : sync.companies.search(req.actor, req.params.partnerId, query, limit);
      },
    );
    app.post(
      "/api/partners/:partnerId/clients/auto-match",
      {
        schema: {
          tags: ["clients"],
          summary:
            "Proposes a PSA company for every client without one (exact name, then normalised); saves nothing",
          params: PartnerParams,
          response: { 200: AutoMatchResult },
        },
        config: { permission: "integration:write" },
      },
      async (req) => sync.companies.autoMatch(req.actor, req.params.partnerId),
    );
  };
