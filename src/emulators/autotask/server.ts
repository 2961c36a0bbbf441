/**
 * The emulated Autotask REST API over HTTP (docs/autotask.md): zone discovery, auth headers, CRUD on the
 * entities of entities.ts, queries and paging, entityInformation; plus the /_emulator admin API
 * (admin.ts). `buildAutotaskEmulator` returns an unstarted Fastify app;
 * `startAutotaskEmulator` listens and wires the behaviours (thresholds, faults, webhook delivery:
 * limits.ts, faults.ts, webhooks.ts) through the seam of hooks.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import type { Socket } from "node:net";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { registerAdminRoutes } from "./admin.js";
import { createDispatch } from "./api-routes.js";
import { entityByName } from "./entities.js";
import { createFaults, type FaultOptions, INJECTED_500_MESSAGE } from "./faults.js";
import { createGate } from "./gate.js";
import type { RequestInfo } from "./hooks.js";
import { createLimits, type LimitsOptions } from "./limits.js";
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from "./query.js";
import { createRegistryView } from "./registry.js";
import {
  API_PREFIX,
  type Authenticated,
  authenticate,
  notFound,
  operationKey,
  PassThroughThreshold,
  RawJson,
  type Result,
} from "./request.js";
import { DEFAULT_CREDENTIALS, DEFAULT_TENANT_ID, seedTenant } from "./seed.js";
import type {
  AutotaskEmulator,
  AutotaskEmulatorOptions,
  Behaviours,
  RunningAutotaskEmulator,
  StartAutotaskEmulatorOptions,
} from "./server-types.js";
import { StatsCounter } from "./stats.js";
import { ApiError, EmulatorStore, type StateFile, StatePersister } from "./store.js";
import { registerWebPages } from "./web-pages.js";
import { registerWebhookPolicyRoutes, type WebhookPolicy } from "./webhook-policy.js";
import { createWebhookEngine, type WebhookEngineOptions } from "./webhooks.js";

// The modules the server is made of; importers use this module path.
export { UNKNOWN_USER_MESSAGE } from "./request.js";
export type {
  AutotaskEmulator,
  AutotaskEmulatorOptions,
  Behaviours,
  RunningAutotaskEmulator,
  StartAutotaskEmulatorOptions,
} from "./server-types.js";
export { type EmulatorStats, StatsCounter } from "./stats.js";

/** Loads the state file when it exists, else seeds the first tenant. */
export function createEmulatorStore(o: AutotaskEmulatorOptions = {}): EmulatorStore {
  const store = new EmulatorStore(o.now ? { now: o.now } : {});
  if (o.state && existsSync(o.state)) {
    store.load(JSON.parse(readFileSync(o.state, "utf8")) as StateFile);
  } else {
    store.addTenant(seedTenant(o.seed ?? "demo", seedOptions(o, store.clock())), false);
  }
  return store;
}

function seedOptions(o: AutotaskEmulatorOptions, now: Date) {
  return {
    tenantId: o.tenantId ?? DEFAULT_TENANT_ID,
    username: o.username ?? DEFAULT_CREDENTIALS.username,
    secret: o.secret ?? DEFAULT_CREDENTIALS.secret,
    integrationCode: o.integrationCode ?? DEFAULT_CREDENTIALS.integrationCode,
    now,
  };
}

/**
 * Builds the emulator without starting it. Requests to `/ATServicesRest/V1.0/…` (any casing) are the
 * Autotask API; `/_emulator/…` is the admin API.
 */
export function buildAutotaskEmulator(options: AutotaskEmulatorOptions = {}): AutotaskEmulator {
  const store = options.store ?? createEmulatorStore(options);
  const gate = options.gate;
  const behaviours = options.behaviours ?? {};
  const registry = createRegistryView(store);
  const stats = new StatsCounter();
  const queryLimits: QueryLimits = { ...DEFAULT_QUERY_LIMITS, ...options.queryLimits };
  const webhookPolicy: WebhookPolicy = {
    allowHttp: options.allowHttpWebhooks === true,
    limitCounts: options.webhookLimitCounts ?? "live",
  };
  const fallbackThreshold = new PassThroughThreshold();
  const tenantId = [...store.tenants.keys()][0] ?? options.tenantId ?? DEFAULT_TENANT_ID;
  // The first API user of the first tenant: from the state file when one was loaded, else the seed's.
  const firstUser = store.tenant(tenantId)?.apiUsers[0];
  const credentials = {
    username: firstUser?.username ?? options.username ?? DEFAULT_CREDENTIALS.username,
    secret: firstUser?.secret ?? options.secret ?? DEFAULT_CREDENTIALS.secret,
    integrationCode:
      firstUser?.integrationCode ?? options.integrationCode ?? DEFAULT_CREDENTIALS.integrationCode,
  };

  if (options.listener) store.listener = options.listener;
  if (behaviours.webhooks) {
    const engine = behaviours.webhooks;
    store.onWebhookDeactivated = (t, type, row) => engine.webhookDeactivated(t, type, row);
  }
  const persister = options.state
    ? new StatePersister(store, options.state, options.stateSaveDelayMs)
    : undefined;
  if (persister) store.onCommit = () => persister.schedule();

  const app = Fastify({
    logger: options.logger ?? false,
    // Paths are matched case-insensitively: clients spell ATServicesRest, V1.0 and entity names in
    // several ways (docs/autotask.md, Zone discovery; Authentication).
    routerOptions: { caseSensitive: false },
    bodyLimit: 50 * 1024 * 1024,
    // Paging URLs carry the whole search JSON (docs/autotask.md, Paging and counts), which can exceed the
    // default 16 KB.
    http: { maxHeaderSize: 256 * 1024 },
    forceCloseConnections: true,
  });

  // Bodies are parsed by the handlers so that a malformed body gets the contract's error shape, and
  // so that a body-less POST (go-autotask's query/next) is accepted whatever its Content-Type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) => done(null, body));

  const origin = (req: FastifyRequest) =>
    options.publicUrl?.replace(/\/+$/, "") ?? `${req.protocol}://${req.headers.host ?? "127.0.0.1"}`;
  const restBase = (req: FastifyRequest) => `${origin(req)}/ATServicesRest/`;

  const sendError = (reply: FastifyReply, err: unknown) => {
    if (err instanceof ApiError) return reply.code(err.status).send(err.body());
    app.log.error(err);
    return reply.code(500).send({ errors: ["An unexpected error has occurred."] });
  };

  // ---- zone discovery and versions (docs/autotask.md, Zone discovery): no auth, no gate, not counted ------

  app.get("/ATServicesRest/V1.0/ZoneInformation", async (req, reply) => {
    const user = (req.query as Record<string, unknown>)["user"];
    const found = typeof user === "string" ? store.findUser(user) : undefined;
    if (!found) return reply.code(500).send({ errors: ["Zone information could not be determined"] });
    return {
      zoneName: found.tenant.zone.zoneName,
      url: restBase(req),
      webUrl: `${origin(req)}/`,
      ci: found.tenant.zone.ci,
    };
  });
  app.get("/ATServicesRest/VersionInformation", async () => ({ apiVersions: ["1.0"] }));

  // ---- the Autotask API ------------------------------------------------------------------------

  const dispatch = createDispatch({ store, gate, fallbackThreshold, queryLimits, webhookPolicy, restBase });

  /** Responses held by a timeout-after-apply fault, dropped on close. */
  const held = new Set<{ timer: NodeJS.Timeout; socket: Socket; release: () => void }>();

  app.all("/ATServicesRest/V1.0/*", async (req, reply) => {
    const url = new URL(req.url, "http://emulator");
    const m = API_PREFIX.exec(url.pathname);
    const segs = (m?.[1] ?? "")
      .split("/")
      .filter((s) => s !== "")
      .map((s) => decodeURIComponent(s));
    const method = req.method.toUpperCase();
    const root = entityByName(segs[0] ?? "");
    stats.count(`${method} ${root?.name ?? segs[0] ?? ""}`, operationKey(method, segs));

    let a: Authenticated;
    try {
      a = authenticate(store, req);
      if (!root) throw notFound(url.pathname);
    } catch (err) {
      return sendError(reply, err);
    }
    if (!gate) fallbackThreshold.add(a.tenant.id, store.clock().getTime());

    const second = segs[1]?.toLowerCase();
    const isWrite =
      method === "DELETE" ||
      method === "PUT" ||
      method === "PATCH" ||
      (method === "POST" && second !== "query");
    const info: RequestInfo = {
      tenantId: a.tenant.id,
      integrationCode: a.integrationCode,
      username: a.user.username,
      method,
      entity: root.name,
      endpointKey: `${method} ${root.name}`,
      isWrite,
    };
    const admission = gate ? await gate.admit(info) : undefined;
    let releaseLater = false;
    try {
      if (admission?.reject) {
        const r = admission.reject;
        stats.rejected(r.reason);
        if (r.headers) reply.headers(r.headers);
        return reply.code(r.status).send(r.body);
      }
      let result: Result;
      try {
        result = dispatch(req, a, root, segs, url.searchParams);
      } catch (err) {
        if (!(err instanceof ApiError)) app.log.error(err);
        result =
          err instanceof ApiError
            ? { status: err.status, body: err.body() }
            : { status: 500, body: { errors: ["An unexpected error has occurred."] } };
      }
      const fault = admission?.afterApply;
      if (fault?.kind === "timeout") {
        // The write is applied; the client never hears back (the ambiguous create: docs/reliability.md,
        // Idempotent creates).
        stats.afterApply("timeout");
        reply.hijack();
        const socket = req.raw.socket;
        const release = admission?.release ?? (() => {});
        const entry = {
          socket,
          release,
          timer: setTimeout(() => {
            held.delete(entry);
            socket.destroy();
            release();
          }, fault.afterMs),
        };
        held.add(entry);
        releaseLater = true;
        return reply;
      }
      if (fault?.kind === "error500") {
        stats.afterApply("error500");
        result = { status: 500, body: { errors: [INJECTED_500_MESSAGE] } };
      }
      if (result.body instanceof RawJson) {
        return reply.code(result.status).type("application/json; charset=utf-8").send(result.body.text);
      }
      return reply.code(result.status).send(result.body);
    } finally {
      if (!releaseLater) admission?.release();
    }
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(notFound(req.url).body());
  });
  app.setErrorHandler((err, _req, reply) => sendError(reply, err));

  let closed = false;
  const emulator: AutotaskEmulator = {
    app,
    store,
    stats,
    registry,
    behaviours,
    tenantId,
    credentials,
    saveState: async () => {
      await persister?.flush();
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const h of held) {
        clearTimeout(h.timer);
        h.socket.destroy();
        h.release();
      }
      held.clear();
      await app.close();
      await behaviours.webhooks?.close();
      await persister?.flush();
    },
  };

  registerWebhookPolicyRoutes(app, store, webhookPolicy);
  registerWebPages(app, store);
  registerAdminRoutes(app, {
    store,
    stats,
    behaviours,
    seedDefaults: () => ({ seed: options.seed ?? "demo", ...seedOptions(options, store.clock()) }),
  });

  return emulator;
}

/** What `limits: false` means: a threshold and a thread count no client reaches, no added latency. */
const UNLIMITED: Partial<LimitsOptions> = {
  requestThreshold: Number.MAX_SAFE_INTEGER,
  maxThreads: Number.MAX_SAFE_INTEGER,
  latencyTiers: [],
};

/**
 * Starts the emulator on `host:port` with the behaviours wired by default: thresholds and thread
 * limits (limits.ts), injected faults (faults.ts, none unless configured) and webhook delivery
 * (webhooks.ts). Explicit `gate`/`listener` options replace the defaults.
 */
export async function startAutotaskEmulator(
  options: StartAutotaskEmulatorOptions = {},
): Promise<RunningAutotaskEmulator> {
  const store = options.store ?? createEmulatorStore(options);
  const timeScale = options.timeScale ?? 1;
  const behaviours: Behaviours = { ...options.behaviours };
  let gate = options.gate;
  let listener = options.listener;

  if (!gate) {
    // `limits: false` lifts the limits but keeps the gate, so injected faults still apply.
    const limits = options.limits === false ? UNLIMITED : options.limits;
    behaviours.limits ??= createLimits({ timeScale, ...limits });
    const faultOpts: Partial<FaultOptions> = { timeScale, ...options.faults };
    if (options.randomSeed !== undefined) faultOpts.seed = options.randomSeed;
    behaviours.faults ??= createFaults(faultOpts);
    gate = createGate({ limits: behaviours.limits, faults: behaviours.faults });
  }
  if (!listener && options.webhooks !== false) {
    const engineOpts: WebhookEngineOptions = {
      timeScale,
      ...(options.webhooks || {}),
      registry: createRegistryView(store),
    };
    if (behaviours.faults) engineOpts.faults = behaviours.faults;
    behaviours.webhooks ??= createWebhookEngine(engineOpts);
    listener = behaviours.webhooks;
  }

  const core: AutotaskEmulatorOptions = { ...options, store, behaviours };
  if (gate) core.gate = gate;
  if (listener) core.listener = listener;
  const emulator = buildAutotaskEmulator(core);
  await emulator.app.listen({ port: options.port ?? 0, host: options.host ?? "127.0.0.1" });
  const address = emulator.app.server.address();
  const port = typeof address === "object" && address ? address.port : (options.port ?? 0);
  const host =
    options.host && options.host !== "0.0.0.0" && options.host !== "::" ? options.host : "127.0.0.1";
  const url =
    options.publicUrl?.replace(/\/+$/, "") ?? `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return { ...emulator, url, baseUrl: `${url}/ATServicesRest/`, port };
}
