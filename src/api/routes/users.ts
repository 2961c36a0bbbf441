import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync } from "fastify";
import type { Portal } from "../../portal/service.js";
import type { App } from "../app.js";
import { PageOf, PageQuery, SessionCreate, User, UserCreate, UserCreated } from "../schemas.js";

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
        config: { permission: "user:create" },
      },
      async (req, reply) => {
        const { user, token } = await portal.createUser(req.actor, {
          name: req.body.name,
          role: req.body.role,
          ...(req.body.partnerId !== undefined ? { partnerId: req.body.partnerId } : {}),
          ...(req.body.username !== undefined ? { username: req.body.username } : {}),
          ...(req.body.password !== undefined ? { password: req.body.password } : {}),
        });
        return reply.code(201).send({ id: user.id, token, user });
      },
    );

    app.get(
      "/api/users",
      { schema: { tags: ["users"], querystring: Type.Object(PageQuery), response: { 200: PageOf(User) } } },
      async (req) => portal.listUsers(req.actor, req.query),
    );

    app.post(
      "/api/session",
      {
        schema: {
          tags: ["users"],
          summary:
            "Sign in with a username and password: a session token valid for 12 hours (no bearer token needed)",
          body: SessionCreate,
          security: [],
        },
        config: { public: true },
      },
      async (req, reply) => {
        const s = await portal.signIn(req.body.username, req.body.password);
        if (!s)
          return reply.code(401).send({
            statusCode: 401,
            error: "Unauthorized",
            code: "UNAUTHORIZED",
            message: "unknown username or wrong password",
          });
        return { token: s.token, user: s.user };
      },
    );

    app.delete(
      "/api/session",
      { schema: { tags: ["users"], summary: "Sign out: revokes the session token used" } },
      async (req) => {
        const m = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? "");
        return { revoked: m?.[1] ? await portal.signOut(m[1]) : false };
      },
    );

    app.get(
      "/api/me",
      { schema: { tags: ["users"], summary: "Who the token belongs to" } },
      async (req) => req.actor,
    );
  };
