import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { SyncEngine } from "../../sync/engine.js";
import { Id, IdParams } from "../schemas.js";

const Nullable = <T extends ReturnType<typeof Type.Integer>>(t: T) => Type.Union([t, Type.Null()]);
const PsaId = Type.Integer({ minimum: 0, maximum: 2_147_483_647 });

const Line = Type.Object({
  userId: Id,
  userName: Type.String(),
  psaResourceId: Nullable(PsaId),
  psaRoleId: Nullable(PsaId),
  psaLabel: Type.String(),
  suggested: Type.Boolean(),
});

const Resource = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  email: Type.String(),
  active: Type.Boolean(),
  defaultRoleId: Type.Union([Type.Integer(), Type.Null()]),
});

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
          response: { 200: Type.Object({ lines: Type.Array(Line), resources: Type.Array(Resource) }) },
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
            lines: Type.Array(
              Type.Object(
                { userId: Id, psaResourceId: Nullable(PsaId), psaRoleId: Nullable(PsaId) },
                { additionalProperties: false },
              ),
              { maxItems: 1000 },
            ),
          }),
          response: { 200: Type.Object({ lines: Type.Array(Line) }) },
        },
      },
      async (req) => sync.effort.save(req.actor, req.params.partnerId, req.body.lines),
    );
  };
