import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Metrics } from "../../lib/metrics.js";
import type { Actor } from "../../portal/access.js";
import { forbidden } from "../../portal/errors.js";
import type { Portal } from "../../portal/service.js";
import { DB_UNAVAILABLE } from "../errors.js";

/** What a process reports beyond its database for /readyz: a worker's job engine, when it runs one. */
export type ReadinessCheck = () => Promise<{ jobs?: boolean }>;

/** How long /readyz waits for each check before counting it as not ready. */
const READY_TIMEOUT_MS = 2_000;

/**
 * Who presented NOCBRIDGE_METRICS_TOKEN: no user, and only the metrics route accepts the token, so
 * the role below never reaches any other handler.
 */
const METRICS_SCRAPER: Actor = { userId: null, name: "metrics scraper", role: "read-only", partnerId: null };

/** Whether `given` is `expected`, in time that does not depend on where they differ. */
function sameToken(given: string, expected: string): boolean {
  const digest = (t: string) => createHash("sha256").update(t).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * GET /metrics, in the Prometheus text format. The numbers span every partner, so it is read with
 * NOCBRIDGE_METRICS_TOKEN (accepted here and nowhere else) or by a NOC-wide admin; any other user is
 * refused 403, and no token 401 (the guard's deny by default).
 */
export const metricsRoutes =
  (metrics: Metrics, metricsToken: string | undefined): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      "/metrics",
      {
        schema: { hide: true },
        config: {
          acceptToken: (token) =>
            metricsToken !== undefined && sameToken(token, metricsToken) ? METRICS_SCRAPER : null,
        },
      },
      async (req, reply) => {
        const actor = req.actor;
        const admin = actor.role === "noc-admin" && actor.partnerId === null;
        if (actor !== METRICS_SCRAPER && !admin) throw forbidden("read the metrics");
        const text = await metrics.text();
        return reply.type(metrics.contentType).header("cache-control", "no-store").send(text);
      },
    );
  };

/** `p`, or `fallback` once `ms` have passed (the timer never keeps the process alive). */
async function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Liveness and readiness. /healthz answers while the process runs; /readyz only while the database
 * answers and, in a process that runs background jobs, while its job engine says it is ready. A 503
 * names each check: `{"ok":false,"database":true,"jobs":false}`.
 */
export const healthRoutes =
  (portal: Portal, ready: ReadinessCheck | undefined): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get("/healthz", { schema: { hide: true }, config: { public: true } }, async () => ({ ok: true }));
    app.get("/readyz", { schema: { hide: true }, config: { public: true } }, async (req, reply) => {
      const [database, extra] = await Promise.all([
        within(
          portal.ping().then(
            () => true,
            (err: unknown) => {
              req.log.warn({ err }, "readiness check failed: database");
              return false;
            },
          ),
          READY_TIMEOUT_MS,
          false,
        ),
        ready
          ? within(
              ready().catch((err: unknown) => {
                req.log.warn({ err }, "readiness check failed: jobs");
                return { jobs: false };
              }),
              READY_TIMEOUT_MS,
              { jobs: false },
            )
          : Promise.resolve(null),
      ]);
      const checks = { database, ...(extra ? { jobs: extra.jobs !== false } : {}) };
      if (Object.values(checks).every(Boolean)) return extra ? { ok: true, ...checks } : { ok: true };
      // A database outage keeps the answer every other route gives it (DB_UNAVAILABLE), checks added.
      const body = database ? { ok: false, ...checks } : { ...DB_UNAVAILABLE, ok: false, ...checks };
      return reply.code(503).header("retry-after", "5").send(body);
    });
  };
