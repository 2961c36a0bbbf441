import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync } from "fastify";
import type { Portal } from "../../portal/service.js";
import type { App } from "../app.js";
import { PageOf, PageQuery, User, UserCreate, UserCreated } from "../schemas.js";

export const userRoutes =
  (portal: Portal): FastifyPluginAsync =>
  async (f) => {
    const app = f as unknown as App;

    app.post(
      "/api/users",
      {
        schema: {
          tags: ["users"],
          summary: "Create a user; the token is shown once",
          body: UserCreate,
          response: { 201: UserCreated },
        },
      },
      async (req, reply) => {
        const { user, token } = await portal.createUser(req.actor, {
          name: req.body.name,
          role: req.body.role,
          ...(req.body.partnerId !== undefined ? { partnerId: req.body.partnerId } : {}),
        });
        return reply.code(201).send({ id: user.id, token, user });
      },
    );

    app.get(
      "/api/users",
      { schema: { tags: ["users"], querystring: Type.Object(PageQuery), response: { 200: PageOf(User) } } },
      async (req) => portal.listUsers(req.actor, req.query),
    );

    app.get(
      "/api/me",
      { schema: { tags: ["users"], summary: "Who the token belongs to" } },
      async (req) => req.actor,
    );
  };
