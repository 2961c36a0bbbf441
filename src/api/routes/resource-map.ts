import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { SyncEngine } from "../../sync/engine.js";
import { IdParams, PsaResource as Resource, ResourceMapInput, ResourceMapLine } from "../schemas.js";

/**
 * The portal-user ↔ PSA-resource map of time entries: each user's stored resource (and role), or a
 * suggestion matched by e-mail sign-in name or full name; PUT stores the lines given.
 */
export const resourceMapRoutes =
  (sync: SyncEngine): FastifyPluginAsyncTypebox =>
  async (app) => {
    const PartnerParams = IdParams("partnerId");
    app.get(
      "/api/partners/:partnerId/resource-map",
      {
        schema: {
          tags: ["ticket sync"],
          summary: "Which PSA resource each portal user's time entries are booked to (stored or suggested)",
          params: PartnerParams,
          response: {
            200: Type.Object({ lines: Type.Array(ResourceMapLine), resources: Type.Array(Resource) }),
          },
        },
      },
      async (req) => sync.effort.view(req.actor, req.params.partnerId),
    );
    app.put(
      "/api/partners/:partnerId/resource-map",
      {
        schema: {
          tags: ["ticket sync"],
          summary: "Stores users' PSA resources (a null resource removes the user's line)",
          params: PartnerParams,
          body: Type.Object({
            lines: Type.Array(ResourceMapInput, { maxItems: 1000 }),
          }),
          response: { 200: Type.Object({ lines: Type.Array(ResourceMapLine) }) },
        },
      },
      async (req) => sync.effort.save(req.actor, req.params.partnerId, req.body.lines),
    );
  };
