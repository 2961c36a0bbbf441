import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import fastifyStatic from "@fastify/static";
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type RouteOptions,
} from "fastify";
import { type Logger, redactUrl } from "../lib/logger.js";
import type { Metrics } from "../lib/metrics.js";
import type { Actor } from "../portal/access.js";
import type { Portal } from "../portal/service.js";
import { isPsaError } from "../psa/errors.js";
import type { SyncEngine } from "../sync/engine.js";
import { toHttpError } from "./errors.js";
import { installGuards, isUiFallback } from "./guard.js";
import { attachmentRoutes } from "./routes/attachments.js";
import { clientRoutes } from "./routes/clients.js";
import { companyRoutes } from "./routes/companies.js";
import { deviceViewRoutes } from "./routes/devices.js";
import { healthRoutes, metricsRoutes, type ReadinessCheck } from "./routes/ops.js";
import { partnerRoutes } from "./routes/partners.js";
import { psaSystemRoutes } from "./routes/psa-systems.js";
import { queueRoutes } from "./routes/queue.js";
import { reconciliationRoutes } from "./routes/reconciliation.js";
import { resourceMapRoutes } from "./routes/resource-map.js";
import { syncRoutes } from "./routes/sync.js";
import { ticketSyncRoutes, webhookRoutes } from "./routes/ticket-sync.js";
import { ticketRoutes } from "./routes/tickets.js";
import { timeEntryRoutes } from "./routes/time-entries.js";
import { type SignInLimits, userRoutes } from "./routes/users.js";
import { ErrorBody } from "./schemas.js";

export interface AppDeps {
  portal: Portal;
  /** The sync engine; without it the sync routes are not mounted. */
  sync?: SyncEngine;
  logger?: Logger;
  /**
   * Told the status of every answered request: with it, requests are logged one by one at debug level
   * only (a server's console summary counts them); without it, Fastify logs each at info.
   */
  onAnswered?: (statusCode: number) => void;
  /** Largest accepted request body, bytes. */
  bodyLimit?: number;
  /** The built web UI (dist/web); default: found next to this module, when it has been built. */
  webRoot?: string | null;
  /** Sign-in rate limits (default: routes/users.ts DEFAULT_SIGN_IN_LIMITS). */
  signInLimits?: SignInLimits;
  /** PEM certificate and key: the server answers https (NOCBRIDGE_TLS_CERT / NOCBRIDGE_TLS_KEY). */
  https?: { cert: Buffer; key: Buffer };
  /** Told of every route as it is registered (tests walk them all). */
  onRoute?: (route: RouteOptions) => void;
  /** The process's metrics: with them, GET /metrics serves them. */
  metrics?: Metrics;
  /** NOCBRIDGE_METRICS_TOKEN: a bearer token that may read GET /metrics (and nothing else). */
  metricsToken?: string;
  /**
   * Readiness beyond the database, for /readyz: a worker process reports its job engine
   * (`{ jobs: false }` answers 503 naming it).
   */
  ready?: ReadinessCheck;
  /** A worker's own port: /healthz, /readyz and /metrics only (no API, no UI). */
  opsOnly?: boolean;
}

/** dist/web, from the built server (dist/api) or from the sources (src/api), if it exists. */
export function defaultWebRoot(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [join(here, "..", "web"), join(here, "..", "..", "dist", "web")]) {
    if (existsSync(join(dir, "index.html"))) return dir;
  }
  return null;
}

declare module "fastify" {
  interface FastifyRequest {
    actor: Actor;
  }
}

export type App = FastifyInstance<
  import("node:http").Server,
  import("node:http").IncomingMessage,
  import("node:http").ServerResponse,
  import("fastify").FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/**
 * Builds the REST API without starting it: tests call `inject` or `listen` on it;
 * only main.ts listens for real.
 */
export async function buildApp(deps: AppDeps): Promise<App> {
  const options = {
    ...(deps.logger ? { loggerInstance: deps.logger as FastifyBaseLogger } : {}),
    bodyLimit: deps.bodyLimit ?? 5 * 1024 * 1024,
    ...(deps.onAnswered ? { disableRequestLogging: true } : {}),
  };
  // With TLS the server is an https.Server; routes and hooks see the same request and reply API.
  const app: App = (
    deps.https ? (Fastify({ ...options, https: deps.https }) as unknown as FastifyInstance) : Fastify(options)
  ).withTypeProvider<TypeBoxTypeProvider>();
  const onAnswered = deps.onAnswered;
  if (onAnswered)
    app.addHook("onResponse", async (request, reply) => {
      onAnswered(reply.statusCode);
      request.log.debug(
        { req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime },
        "request completed",
      );
    });
  const onRoute = deps.onRoute;
  if (onRoute) app.addHook("onRoute", (route) => onRoute(route as RouteOptions));

  // Bodies are validated strictly (no type coercion, unknown properties rejected); query strings and
  // path parameters arrive as text, so those are coerced to the schema's types.
  const strict = addFormats.default(
    new Ajv({
      allErrors: false,
      coerceTypes: false,
      useDefaults: true,
      removeAdditional: false,
      strict: false,
    }),
  );
  const coercing = addFormats.default(
    new Ajv({
      allErrors: false,
      coerceTypes: "array",
      useDefaults: true,
      removeAdditional: false,
      strict: false,
    }),
  );
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === "body" ? strict : coercing).compile(schema),
  );
  app.addSchema(ErrorBody);

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "nocbridge", version: "0.1.0", description: "NOC portal ↔ PSA integration" },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
  });

  // Rate limits are per route (sign-in); none applies globally.
  await app.register(rateLimit, { global: false });

  // Security headers on every answer, registered first so they are on early answers (401) too.
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        // The built UI loads its script and stylesheet from files and sets styles only through the
        // DOM (React style props), so nothing inline is allowed.
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    frameguard: { action: "deny" },
    referrerPolicy: { policy: "no-referrer" },
  });

  app.decorateRequest("actor", null as unknown as Actor);
  const webRoot = deps.webRoot === undefined ? defaultWebRoot() : deps.webRoot;
  installGuards(app, deps.portal, webRoot !== null);

  // Every error family becomes its answer in one place (errors.ts).
  app.setErrorHandler(async (err, req, reply) => {
    const http = toHttpError(err, isPsaError(err) ? await psaLabelOf(deps.portal, req) : undefined);
    if (http.log === "error") req.log.error({ err }, "unhandled error");
    else if (http.log === "warn") req.log.warn({ err }, "database unavailable");
    return reply
      .code(http.status)
      .headers(http.headers ?? {})
      .send(http.body);
  });

  // The web UI: static files, and index.html for any other GET outside the API (client-side routes).
  if (webRoot) {
    // The UI's files are public: every route the static plugin adds is marked so while it registers.
    let registeringUi = true;
    app.addHook("onRoute", (route) => {
      if (registeringUi) route.config = { ...(route.config ?? {}), public: true };
    });
    await app.register(fastifyStatic, { root: webRoot, wildcard: false, index: "index.html" });
    registeringUi = false;
  }
  // Fastify's own 404 logs the raw URL, which may carry a credential: answer without that.
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0] ?? "";
    if (webRoot && isUiFallback(req)) {
      return reply.type("text/html").sendFile("index.html");
    }
    return reply.code(404).send({
      statusCode: 404,
      error: "Not Found",
      code: "NOT_FOUND",
      message: `no route ${req.method} ${redactUrl(path)}`,
    });
  });

  await app.register(healthRoutes(deps.portal, deps.ready));
  if (deps.metrics) await app.register(metricsRoutes(deps.metrics, deps.metricsToken));
  if (deps.opsOnly) return app;
  app.get("/openapi.json", { schema: { hide: true }, config: { public: true } }, async () => app.swagger());

  await app.register(userRoutes(deps.portal, deps.signInLimits));
  await app.register(partnerRoutes(deps.portal, deps.sync));
  await app.register(psaSystemRoutes(deps.portal));
  await app.register(clientRoutes(deps.portal, deps.sync));
  await app.register(deviceViewRoutes(deps.portal, deps.sync));
  await app.register(ticketRoutes(deps.portal, deps.sync));
  await app.register(queueRoutes(deps.portal, deps.sync));
  await app.register(timeEntryRoutes(deps.portal, deps.sync));
  await app.register(attachmentRoutes(deps.portal));
  if (deps.sync) {
    await app.register(syncRoutes(deps.sync));
    await app.register(ticketSyncRoutes(deps.portal, deps.sync));
    await app.register(resourceMapRoutes(deps.sync));
    await app.register(reconciliationRoutes(deps.sync));
    await app.register(companyRoutes(deps.sync));
    await app.register(webhookRoutes(deps.sync, deps.metrics));
  }
  return app;
}

/**
 * The name of the PSA a request's partner uses ("ConnectWise"), for a PSA failure's message; undefined
 * when the request names no partner or its settings cannot be read.
 */
async function psaLabelOf(portal: Portal, req: FastifyRequest): Promise<string | undefined> {
  const partnerId = Number((req.params as { partnerId?: unknown } | undefined)?.partnerId);
  if (!Number.isInteger(partnerId) || !req.actor) return undefined;
  try {
    const { ticketing } = await portal.getIntegration(req.actor, partnerId);
    return portal.psaSystems().find((s) => s.system === ticketing.system)?.label;
  } catch {
    return undefined;
  }
}
