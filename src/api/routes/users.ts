import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { tooManyRequests } from "../../portal/errors.js";
import type { Portal } from "../../portal/service.js";
import {
  IdParams,
  PageOf,
  PageQuery,
  SessionCreate,
  TokenRotate,
  User,
  UserCreate,
  UserCreated,
  UserPatch,
} from "../schemas.js";

/** How many sign-in attempts one client address, and one username, may make per window (in this process). */
export interface SignInLimits {
  perIp: number;
  perUsername: number;
  windowSeconds: number;
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = { perIp: 30, perUsername: 10, windowSeconds: 60 };

export const userRoutes =
  (portal: Portal, limits: SignInLimits = DEFAULT_SIGN_IN_LIMITS): FastifyPluginAsyncTypebox =>
  async (app) => {
    const UserParams = IdParams("userId");

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
          ...(req.body.expiresInDays !== undefined ? { expiresInDays: req.body.expiresInDays } : {}),
        });
        return reply.code(201).send({ id: user.id, token, user });
      },
    );

    app.get(
      "/api/users",
      {
        schema: {
          tags: ["users"],
          summary: "Users the caller manages (`?partnerId=` narrows a NOC admin's list to one partner)",
          querystring: Type.Object({ ...PageQuery, partnerId: Type.Optional(Type.Integer({ minimum: 1 })) }),
          response: { 200: PageOf(User) },
        },
      },
      async (req) => portal.listUsers(req.actor, req.query),
    );

    app.get(
      "/api/users/:userId",
      { schema: { tags: ["users"], params: UserParams, response: { 200: User } } },
      async (req) => portal.users.get(req.actor, req.params.userId),
    );

    app.patch(
      "/api/users/:userId",
      {
        schema: {
          tags: ["users"],
          summary:
            "Change name, role, username or password, or disable/enable; disabling or a new password ends the user's sessions",
          params: UserParams,
          body: UserPatch,
          response: { 200: User },
        },
      },
      async (req) => portal.users.update(req.actor, req.params.userId, req.body),
    );

    app.delete(
      "/api/users/:userId",
      { schema: { tags: ["users"], summary: "Delete a user and its sessions", params: UserParams } },
      async (req, reply) => {
        await portal.users.remove(req.actor, req.params.userId);
        return reply.code(204).send();
      },
    );

    app.post(
      "/api/users/:userId/token",
      {
        schema: {
          tags: ["users"],
          summary: "A new API token, shown once; the old one stops working at once",
          params: UserParams,
          body: TokenRotate,
          response: { 200: UserCreated },
        },
        // The body is optional: none means no expiry.
        preValidation: async (req) => {
          if (req.body === undefined || req.body === null) req.body = {};
        },
      },
      async (req) => {
        const { user, token } = await portal.users.rotateToken(req.actor, req.params.userId, req.body ?? {});
        return { id: user.id, token, user };
      },
    );

    // Sign-in is limited per client address and per username in this process (429 with Retry-After);
    // the back-off after failed passwords is kept in the database and shared by every process.
    const byIp = app.createRateLimit({
      max: limits.perIp,
      timeWindow: limits.windowSeconds * 1000,
      keyGenerator: (req) => `ip:${req.ip}`,
    });
    const byUsername = app.createRateLimit({
      max: limits.perUsername,
      timeWindow: limits.windowSeconds * 1000,
      keyGenerator: (req) => `username:${(req.body as { username?: unknown } | undefined)?.username ?? ""}`,
    });

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
        preHandler: async (req) => {
          for (const limiter of [byIp, byUsername]) {
            const r = await limiter(req);
            if (!r.isAllowed && r.isExceeded)
              throw tooManyRequests("too many sign-in attempts; try again later", r.ttlInSeconds);
          }
        },
        config: { public: true },
      },
      async (req, reply) => {
        const s = await portal.signIn(req.body.username, req.body.password, { ip: req.ip });
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
