import type { FastifyReply, FastifyRequest } from "fastify";
import { nulField } from "../lib/nul.js";
import { type Actor, type Permission, requirePartner, requirePermission } from "../portal/access.js";
import { invalid } from "../portal/errors.js";
import type { Portal } from "../portal/service.js";
import type { App } from "./app.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Answers without a token. Every other route requires one (deny by default). */
    public?: boolean;
    /**
     * The permission the route needs, checked from the role alone before the body is validated: a
     * caller who may not do this is told so (403) whatever the body holds. When the path names a
     * partner, one the caller does not see is answered 404 first, as the handler would.
     */
    permission?: Permission;
    /**
     * Another way to authenticate this route when no Authorization header is sent (the live log's
     * EventSource, which cannot send headers, presents a single-use ticket instead).
     */
    authenticate?: (req: FastifyRequest) => Promise<Actor | null>;
    /**
     * A bearer token this route alone accepts besides users' tokens (GET /metrics takes
     * NOCBRIDGE_METRICS_TOKEN): the actor it stands for, or null when the token is not it.
     */
    acceptToken?: (token: string) => Actor | null;
  }
}

/** The answer to a request without a valid token. */
export function unauthorized(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(401).header("www-authenticate", "Bearer").send({
    statusCode: 401,
    error: "Unauthorized",
    code: "UNAUTHORIZED",
    message,
  });
}

/**
 * One field of a request part as it arrived, before validation (hooks that run before the route's
 * schema has checked and coerced the path parameters or query see them as plain text, or not at all).
 */
export function rawField(part: unknown, key: string): unknown {
  return typeof part === "object" && part !== null
    ? Object.getOwnPropertyDescriptor(part, key)?.value
    : undefined;
}

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export function bearerToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  return (header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null)?.[1];
}

/**
 * Installs the request guards on the root instance, before any route:
 * - authentication per route, decided on the matched route (never on the raw URL, which may be
 *   percent-encoded): a route answers without a token only when its config says `public: true`;
 * - the route's role permission, before validation;
 * - no NUL character in any string of the body, query or path parameters (PostgreSQL cannot store
 *   one, and the PSA would receive it from SQLite), answered 400 naming the field.
 * An unmatched URL needs a token too, unless it is answered with the web UI's index.html.
 */
export function installGuards(app: App, portal: Portal, servesUi: boolean): void {
  app.addHook("onRequest", async (req, reply) => {
    const config = req.routeOptions.config;
    if (req.is404 ? servesUi && isUiFallback(req) : config.public) return;
    const token = bearerToken(req);
    let actor: Actor | null = null;
    if (token) actor = config.acceptToken?.(token) ?? (await portal.authenticate(token));
    else if (config.authenticate) actor = await config.authenticate(req);
    if (!actor) return unauthorized(reply, "a valid token is required: Authorization: Bearer <token>");
    req.actor = actor;
  });

  app.addHook("preValidation", async (req) => {
    const permission = req.routeOptions.config.permission;
    if (permission) {
      const partnerId = Number(rawField(req.params, "partnerId"));
      if (Number.isSafeInteger(partnerId)) requirePartner(req.actor, partnerId);
      requirePermission(req.actor, permission);
    }
    for (const [part, value] of [
      ["params", req.params],
      ["query", req.query],
      ["body", req.body],
    ] as const) {
      const field = nulField(value, "");
      if (field !== null) throw invalid(field || part, "must not contain a NUL character");
    }
  });
}

/**
 * Whether an unmatched request is one the web UI's index.html answers (a client-side route): a GET
 * outside the API and the webhooks, judged on the decoded path as the router matches it.
 */
export function isUiFallback(req: FastifyRequest): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const raw = req.url.split("?")[0] ?? "";
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return false;
  }
  return !path.startsWith("/api/") && !path.startsWith("/webhooks/");
}
