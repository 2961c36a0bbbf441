/**
 * The emulated Autotask REST API over HTTP (docs/autotask.md): zone discovery, auth headers, CRUD on the
 * entities of entities.ts, queries and paging, entityInformation; plus the /_emulator admin API
 * (admin.ts). `buildAutotaskEmulator` returns an unstarted Fastify app;
 * `startAutotaskEmulator` listens and wires the behaviours (thresholds, faults, webhook delivery:
 * limits.ts, faults.ts, webhooks.ts) through the seam of hooks.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import type { Socket } from "node:net";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { registerAdminRoutes } from "./admin.js";
import { withoutData } from "./attachments.js";
import { childEntity, type EntityDef, entityByName } from "./entities.js";
import { createFaults, type FaultOptions, type Faults, INJECTED_500_MESSAGE } from "./faults.js";
import { entityFields, entityInformation, userDefinedFields } from "./fields.js";
import { createGate } from "./gate.js";
import type {
  ChangeListener,
  RejectReason,
  RequestGate,
  RequestInfo,
  Row,
  WebhookRegistryView,
} from "./hooks.js";
import { createLimits, type Limits, type LimitsOptions } from "./limits.js";
import {
  type Cursor,
  compileQuery,
  countQuery,
  DEFAULT_QUERY_LIMITS,
  MAX_PAGE_SIZE,
  project,
  type QueryLimits,
  runPage,
} from "./query.js";
import { createRegistryView } from "./registry.js";
import { DEFAULT_CREDENTIALS, DEFAULT_TENANT_ID, type SeedName, seedTenant } from "./seed.js";
import {
  ApiError,
  type ApiUser,
  aspNetError,
  EmulatorStore,
  invalid,
  type StateFile,
  StatePersister,
  type Tenant,
  type WriteContext,
} from "./store.js";
import { registerWebPages } from "./web-pages.js";
import {
  checkWebhookCreate,
  checkWebhookUpdate,
  isWebhookRoot,
  registerWebhookPolicyRoutes,
  type WebhookPolicy,
  webhookCreateAccess,
  webhookCreated,
} from "./webhook-policy.js";
import { createWebhookEngine, type WebhookEngine, type WebhookEngineOptions } from "./webhooks.js";

/** Options of the core: what it serves and how it is wired. */
export interface AutotaskEmulatorOptions {
  /** Seed of the first tenant when there is no state file: "demo" (default) or "empty". */
  seed?: SeedName;
  /** Id of the first tenant (default "default"). */
  tenantId?: string;
  /** Credentials of the first tenant's API user (defaults: DEFAULT_CREDENTIALS). */
  username?: string;
  secret?: string;
  integrationCode?: string;
  /** JSON file: loaded at start when it exists, saved after writes (debounced) and on close. */
  state?: string;
  /** Debounce of state saves, ms (default 250). */
  stateSaveDelayMs?: number;
  /**
   * Origin advertised in the zone `url` and in paging URLs (e.g. "http://127.0.0.1:8787"). Default:
   * the origin the client used (its Host header), so the zone always points back at this server.
   */
  publicUrl?: string;
  /** Wraps every Autotask API request (thresholds, faults). Omitted: requests run at once. */
  gate?: RequestGate;
  /** Told about every committed create/update/delete of Tickets, TicketNotes, ConfigurationItems. */
  listener?: ChangeListener;
  /** The behaviours' objects, for the admin API (/_emulator/limits, /faults, /webhooks). */
  behaviours?: Behaviours;
  /** Use this store instead of building one from `seed`/`state`. */
  store?: EmulatorStore;
  /** Clock for maintained timestamps (createDate, lastActivityDate, ticket numbers). */
  now?: () => Date;
  queryLimits?: Partial<QueryLimits>;
  /** Fastify request logging (default off). */
  logger?: boolean;
  /**
   * Accept webhook URLs that are not https on port 443 (default false: Autotask delivers to port 443
   * only). Tests and the demo, whose receivers listen on http://127.0.0.1:<port>, turn it on.
   */
  allowHttpWebhooks?: boolean;
  /** What an API user's maximum number of webhooks counts (webhook-policy.ts); default "live". */
  webhookLimitCounts?: WebhookPolicy["limitCounts"];
}

export interface Behaviours {
  limits?: Limits;
  faults?: Faults;
  webhooks?: WebhookEngine;
}

/** Options of `startAutotaskEmulator`: the core's plus listening and the behaviours' defaults. */
export interface StartAutotaskEmulatorOptions extends AutotaskEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the admin API has no auth. */
  host?: string;
  /**
   * Multiplies every nominal delay of the behaviours (threshold latency, injected latency and
   * timeouts, webhook timeout/retry/delay); tests use a small value. Default 1.
   */
  timeScale?: number;
  /** Threshold and thread limits (limits.ts); `false` lifts them (no threshold, latency or thread limit). */
  limits?: Partial<LimitsOptions> | false;
  /** Injected faults (faults.ts); none by default. */
  faults?: Partial<FaultOptions>;
  /** Seed of the fault streams (same seed + same traffic → same faults). */
  randomSeed?: number | string;
  /** Webhook delivery tunables (webhooks.ts); `false` disables delivery. */
  webhooks?: Omit<WebhookEngineOptions, "registry" | "faults"> | false;
}

/** `GET /_emulator/stats`: the independent request count benchmarks use. */
export interface EmulatorStats {
  requests: number;
  /** `"<METHOD> <Entity>"` → count; child URLs count against the parent, as the thread limit does. */
  byEndpoint: Record<string, number>;
  /**
   * `"<operation> <Entity>"` → count, operation one of get, query, count, create, update, delete,
   * info; child URLs count against the child entity ("create TicketNotes"). Unlike byEndpoint, it
   * tells a query (`POST E/query`) from a create (`POST E`).
   */
  byOperation: Record<string, number>;
  rejected: Record<RejectReason, number>;
  /** Requests that were applied and then failed by an injected fault. */
  afterApply: { timeout: number; error500: number };
}

export class StatsCounter {
  private s: EmulatorStats = StatsCounter.empty();
  private static empty(): EmulatorStats {
    return {
      requests: 0,
      byEndpoint: {},
      byOperation: {},
      rejected: { threshold: 0, thread: 0, fault: 0 },
      afterApply: { timeout: 0, error500: 0 },
    };
  }
  count(endpointKey: string, operationKey: string): void {
    this.s.requests++;
    this.s.byEndpoint[endpointKey] = (this.s.byEndpoint[endpointKey] ?? 0) + 1;
    this.s.byOperation[operationKey] = (this.s.byOperation[operationKey] ?? 0) + 1;
  }
  rejected(reason: RejectReason): void {
    this.s.rejected[reason]++;
  }
  afterApply(kind: "timeout" | "error500"): void {
    this.s.afterApply[kind]++;
  }
  reset(): void {
    this.s = StatsCounter.empty();
  }
  snapshot(): EmulatorStats {
    return structuredClone(this.s);
  }
}

export interface AutotaskEmulator {
  /** The unstarted Fastify app. */
  readonly app: FastifyInstance;
  readonly store: EmulatorStore;
  readonly stats: StatsCounter;
  readonly registry: WebhookRegistryView;
  readonly behaviours: Behaviours;
  /** Id of the first tenant. */
  readonly tenantId: string;
  /** Credentials of the first tenant's API user. */
  readonly credentials: { username: string; secret: string; integrationCode: string };
  /** Saves the state file (when there is one) now. */
  saveState(): Promise<void>;
  /** Drops held connections, closes the app and the webhook engine, saves the state. */
  close(): Promise<void>;
}

export interface RunningAutotaskEmulator extends AutotaskEmulator {
  /** Origin, e.g. "http://127.0.0.1:40123". */
  readonly url: string;
  /**
   * The REST base clients use: `${url}/ATServicesRest/` (docs/autotask.md, The public npm client: with the
   * trailing slash).
   */
  readonly baseUrl: string;
  readonly port: number;
}

const API_PREFIX = /^\/atservicesrest\/v1\.0\/(.*)$/i;
const isId = (s: string | undefined): s is string => s !== undefined && /^-?\d+$/.test(s);

interface Result {
  status: number;
  /** A JSON value, or a RawJson already serialised. */
  body: unknown;
}
const ok = (body: unknown): Result => ({ status: 200, body });

/** A response body that is already JSON text. */
class RawJson {
  constructor(readonly text: string) {}
}

/**
 * Stored rows are immutable (a write replaces the object), so each row's JSON is computed once and
 * reused by every GET and query page until the row changes: pages of 500 wide CI rows are mostly
 * string concatenation.
 */
const rowJsonCache = new WeakMap<Row, string>();
function rowJson(row: Row): string {
  let text = rowJsonCache.get(row);
  if (text === undefined) {
    text = JSON.stringify(row);
    rowJsonCache.set(row, text);
  }
  return text;
}

/** 405 with the ASP.NET wording (docs/autotask.md, Writes — unconfirmed). */
/** The emulator's text for an unknown API username on a normal call (the real text is not documented). */
export const UNKNOWN_USER_MESSAGE = "Unauthorized: the API user is unknown.";

const notAllowed = (method: string) =>
  aspNetError(405, `The requested resource does not support http method '${method}'.`);
const notFound = (path: string) =>
  aspNetError(404, `No HTTP resource was found that matches the request URI '${path}'.`);

function parseJson(text: unknown): unknown {
  if (text === undefined || text === null || text === "") return undefined;
  if (typeof text !== "string") return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "The request body is not valid JSON.");
  }
}

function jsonParam(params: URLSearchParams, name: string): unknown {
  const raw = params.get(name);
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ApiError(400, `The ${name} parameter is not valid JSON.`);
  }
}

/** Requests per tenant in a rolling hour, for ThresholdInformation when no gate is wired. */
class PassThroughThreshold {
  private readonly times = new Map<string, number[]>();
  add(tenantId: string, now: number): void {
    const list = this.times.get(tenantId);
    if (list) list.push(now);
    else this.times.set(tenantId, [now]);
  }
  info(tenantId: string, now: number) {
    const list = this.times.get(tenantId) ?? [];
    const from = now - 3_600_000;
    let i = 0;
    while (i < list.length && (list[i] as number) <= from) i++;
    list.splice(0, i);
    return {
      externalRequestThreshold: 10_000,
      requestThresholdTimeframe: 60,
      currentTimeframeRequestCount: list.length,
    };
  }
}

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

/** The `byOperation` key of a request: what it does, on which entity (see EmulatorStats). */
function operationKey(method: string, segs: string[]): string {
  const root = entityByName(segs[0] ?? "");
  const name = root?.name ?? segs[0] ?? "";
  const second = segs[1]?.toLowerCase();
  const write = (m: string) =>
    m === "POST" ? "create" : m === "DELETE" ? "delete" : m === "GET" ? "get" : "update";
  if (!root || second === undefined) return `${root?.singleton ? "get" : write(method)} ${name}`;
  if (second === "query") return `${segs[2]?.toLowerCase() === "count" ? "count" : "query"} ${name}`;
  if (second === "entityinformation") return `info ${name}`;
  if (segs.length === 2) return `${write(method)} ${name}`;
  const child = childEntity(root, segs[2] ?? "");
  const childName = child?.name ?? name;
  if (segs[3]?.toLowerCase() === "entityinformation") return `info ${childName}`;
  if (segs.length === 3 && method === "GET") return `query ${childName}`;
  return `${write(method)} ${childName}`;
}

interface Authenticated {
  tenant: Tenant;
  user: ApiUser;
  integrationCode: string;
  personId: number;
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

  const authenticate = (req: FastifyRequest): Authenticated => {
    // Node lower-cases header names, so ApiIntegrationcode, APIIntegrationcode … all arrive alike
    // (docs/autotask.md, Authentication).
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const username = header("username");
    const secret = header("secret");
    const code = header("apiintegrationcode");
    const found = username ? store.findUser(username) : undefined;
    // An unknown username is answered 500, not 401; a known user with a wrong secret 401
    // (docs/autotask-errors.md). The 500's text is not documented.
    if (username && !found) throw new ApiError(500, UNKNOWN_USER_MESSAGE);
    if (!found || secret !== found.user.secret) {
      throw new ApiError(401, "Authentication failed: the UserName or Secret is not valid.");
    }
    // A bad integration code is a 500 with this text (docs/autotask.md, Authentication).
    if (code !== found.user.integrationCode) throw new ApiError(500, "IntegrationCode is invalid.");
    let personId = found.user.resourceId;
    const imp = header("impersonationresourceid");
    if (imp !== undefined && imp !== "") {
      const id = Number(imp);
      const res = Number.isInteger(id) ? found.tenant.table("Resources").get(id) : undefined;
      if (!res || res["isActive"] === false) {
        // n8n recognises impersonation failures by this text (docs/autotask.md, Authentication); the status
        // is unconfirmed.
        throw invalid(`Resource ${imp} does not have the adequate permissions to be impersonated.`);
      }
      personId = id;
    }
    return { tenant: found.tenant, user: found.user, integrationCode: code, personId };
  };

  const writeContext = (a: Authenticated): WriteContext => ({
    personId: a.personId,
    apiResourceId: a.user.resourceId,
    now: store.clock(),
  });

  /** One page of results with its pageDetails (docs/autotask.md, Paging and counts). */
  const queryPage = (
    req: FastifyRequest,
    tenant: Tenant,
    def: EntityDef,
    search: unknown,
    cursor: Cursor,
    pageSize?: number,
  ): Result => {
    const q = compileQuery(tenant, def, search, queryLimits);
    if (pageSize !== undefined) q.pageSize = pageSize;
    const page = runPage(tenant.table(def.name), q, cursor);
    if (q.includeFields && !q.includeFields.includes("id") && (page.hasNext || page.hasPrev)) {
      // "When a result set has >500 rows and IncludeFields is used, id must be among the fields"
      // (docs/autotask.md, Queries).
      throw invalid("IncludeFields must include id when the query returns more than one page.");
    }
    const link = (dir: "next" | "prev", paging: Record<string, number>) =>
      `${restBase(req)}V1.0/${def.name}/query/${dir}?paging=${encodeURIComponent(JSON.stringify(paging))}` +
      `&search=${encodeURIComponent(JSON.stringify(search))}`;
    const first = page.rows[0]?.["id"] as number | undefined;
    const last = page.rows[page.rows.length - 1]?.["id"] as number | undefined;
    // An empty page reached through a cursor still links back to the rows before its position.
    const prevAnchor = first ?? (cursor && "afterId" in cursor ? cursor.afterId + 1 : undefined);
    const pageDetails = {
      count: page.rows.length,
      requestCount: q.pageSize,
      prevPageUrl:
        page.hasPrev && prevAnchor !== undefined
          ? link("prev", { pageSize: q.pageSize, firstId: prevAnchor })
          : null,
      nextPageUrl:
        page.hasNext && last !== undefined ? link("next", { pageSize: q.pageSize, lastId: last }) : null,
    };
    const items = q.includeFields
      ? page.rows.map((r) => JSON.stringify(project(r, q.includeFields)))
      : page.rows.map((r) =>
          def.name === "TicketAttachments" ? JSON.stringify(withoutData(r)) : rowJson(r),
        );
    return ok(new RawJson(`{"items":[${items.join(",")}],"pageDetails":${JSON.stringify(pageDetails)}}`));
  };

  /** Search JSON from `?search=` (GET) or the body (POST). */
  const searchOf = (method: string, params: URLSearchParams, body: unknown): unknown => {
    const fromUrl = jsonParam(params, "search");
    if (fromUrl !== undefined) return fromUrl;
    if (method === "GET") throw new ApiError(400, "The search parameter is required.");
    return body;
  };

  const dispatch = (
    req: FastifyRequest,
    a: Authenticated,
    root: EntityDef,
    segs: string[],
    params: URLSearchParams,
  ): Result => {
    const method = req.method.toUpperCase();
    const { tenant } = a;
    const body = () => parseJson(req.body);
    const path = req.url.split("?")[0] ?? req.url;

    if (root.singleton) {
      // ThresholdInformation: GET only (docs/autotask.md, Entities and fields used).
      if (segs.length !== 1) throw notFound(path);
      if (method !== "GET") throw notAllowed(method);
      const now = store.clock().getTime();
      return ok(gate ? gate.thresholdInformation(tenant.id) : fallbackThreshold.info(tenant.id, now));
    }

    if (segs.length === 1) {
      if (method === "POST") {
        // A child entity is created through its parent's URL only; its root answers 404
        // (POST /TicketNotes, docs/autotask-errors.md).
        if (root.parent) throw notFound(path);
        if (!root.verbs.create) throw notAllowed(method);
        if (isWebhookRoot(root)) {
          checkWebhookCreate(webhookPolicy, tenant, a.user, body());
          const created = store.create(tenant, root, body(), writeContext(a));
          webhookCreated(a.user);
          return ok({ itemId: created["id"] });
        }
        return ok({ itemId: store.create(tenant, root, body(), writeContext(a))["id"] });
      }
      if (method === "PATCH" || method === "PUT") {
        if (!root.verbs.update || root.parent) throw notAllowed(method);
        const mode = method === "PATCH" ? "patch" : "put";
        if (isWebhookRoot(root)) checkWebhookUpdate(webhookPolicy, body());
        return ok({ itemId: store.update(tenant, root, body(), mode, writeContext(a))["id"] });
      }
      throw notAllowed(method);
    }

    const second = (segs[1] as string).toLowerCase();
    if (second === "query") {
      if (!root.verbs.query) throw notAllowed(method);
      if (method !== "GET" && method !== "POST") throw notAllowed(method);
      const third = segs[2]?.toLowerCase();
      if (segs.length > 3) throw notFound(path);
      if (third === undefined) return queryPage(req, tenant, root, searchOf(method, params, body()), null);
      if (third === "count") {
        const q = compileQuery(tenant, root, searchOf(method, params, body()), queryLimits);
        return ok({ queryCount: countQuery(tenant.table(root.name), q) });
      }
      if (third === "next" || third === "prev") {
        // The cursor lives in `paging`, so POST with or without a body and GET all work (docs/autotask.md,
        // Paging and counts).
        const paging = jsonParam(params, "paging") as Record<string, unknown> | undefined;
        const lastId = Number(paging?.["lastId"]);
        const firstId = Number(paging?.["firstId"]);
        const cursor: Cursor =
          third === "next" && Number.isFinite(lastId)
            ? { afterId: lastId }
            : third === "prev" && Number.isFinite(firstId)
              ? { beforeId: firstId }
              : null;
        if (!cursor) throw new ApiError(400, "The paging parameter is missing or not valid.");
        const size = Number(paging?.["pageSize"]);
        const pageSize = Number.isInteger(size) && size >= 1 && size <= MAX_PAGE_SIZE ? size : undefined;
        const fromUrl = jsonParam(params, "search");
        return queryPage(req, tenant, root, fromUrl !== undefined ? fromUrl : body(), cursor, pageSize);
      }
      throw notFound(path);
    }

    if (second === "entityinformation") {
      const r = entityInfo(method, tenant, root, segs.slice(2), path);
      // The user's own create access to webhooks follows its security level ([U], webhook-policy.ts).
      if (segs.length === 2 && isWebhookRoot(root) && !webhookCreateAccess(a.user)) {
        const info = (r.body as { info: Record<string, unknown> }).info;
        return ok({ info: { ...info, userAccessForCreate: "None" } });
      }
      return r;
    }

    if (!isId(segs[1])) throw notFound(path);
    const id = Number(segs[1]);
    if (segs.length === 2) {
      if (method === "GET") {
        const row = tenant.table(root.name).get(id);
        return ok(new RawJson(`{"item":${row ? rowJson(row) : "null"}}`));
      }
      if (method === "DELETE") {
        if (!root.verbs.delete || root.parent) throw notAllowed(method);
        store.remove(tenant, root, id, writeContext(a));
        return ok({ itemId: id });
      }
      throw notAllowed(method);
    }

    // Child URLs: P/{parentId}/C[/{id}] (docs/autotask.md, Entities and URLs).
    const child = childEntity(root, segs[2] as string);
    if (!child?.parent) throw notFound(path);
    const parentField = child.parent.field;
    if (segs.length === 3) {
      if (method === "GET") {
        const filter = [{ op: "eq", field: parentField, value: id }];
        return queryPage(req, tenant, child, { filter }, null);
      }
      if (method === "POST") {
        if (!child.verbs.create) throw notAllowed(method);
        return ok({ itemId: store.create(tenant, child, body(), writeContext(a), id)["id"] });
      }
      if (method === "PATCH" || method === "PUT") {
        if (!child.verbs.update) throw notAllowed(method);
        const mode = method === "PATCH" ? "patch" : "put";
        return ok({ itemId: store.update(tenant, child, body(), mode, writeContext(a), id)["id"] });
      }
      throw notAllowed(method);
    }
    const fourth = segs[3] as string;
    if (fourth.toLowerCase() === "entityinformation")
      return entityInfo(method, tenant, child, segs.slice(4), path);
    if (!isId(fourth) || segs.length > 4) throw notFound(path);
    const childId = Number(fourth);
    if (method === "GET") {
      const row: Row | undefined = tenant.table(child.name).get(childId);
      return ok({ item: row && row[parentField] === id ? row : null });
    }
    if (method === "DELETE") {
      if (!child.verbs.delete) throw notAllowed(method);
      store.remove(tenant, child, childId, writeContext(a), id);
      return ok({ itemId: childId });
    }
    throw notAllowed(method);
  };

  const entityInfo = (
    method: string,
    tenant: Tenant,
    def: EntityDef,
    rest: string[],
    path: string,
  ): Result => {
    if (method !== "GET") throw notAllowed(method);
    if (rest.length === 0) return ok(entityInformation(def));
    if (rest.length === 1 && rest[0]?.toLowerCase() === "fields") return ok(entityFields(tenant, def));
    if (rest.length === 1 && rest[0]?.toLowerCase() === "userdefinedfields")
      return ok(userDefinedFields(tenant, def));
    throw notFound(path);
  };

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
      a = authenticate(req);
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
