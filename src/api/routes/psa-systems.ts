import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Portal } from "../../portal/service.js";
import { PsaSystem } from "../schemas.js";

/** The PSA systems a partner may choose and their settings fields (any signed-in user). */
export const psaSystemRoutes =
  (portal: Portal): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      "/api/psa/systems",
      {
        schema: {
          tags: ["integration"],
          summary: "The PSA systems and their settings fields (the Setup form is built from them)",
          response: { 200: Type.Array(PsaSystem) },
        },
      },
      async () => portal.psaSystems(),
    );
  };
