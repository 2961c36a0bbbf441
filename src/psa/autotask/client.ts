/**
 * Low-level client of the Autotask PSA REST API (ATServicesRest/V1.0), contract in
 * docs/autotask.md: zone discovery, auth headers, CRUD, queries with paging, count,
 * entityInformation, ThresholdInformation — paced to the vendor's limits and retried by the rules of
 * docs/reliability.md (Idempotent creates; Retries and backoff; Rate-limit awareness).
 *
 * One instance per partner connection (one API user + integration code); it holds that connection's
 * zone, limiter, budget and statistics and nothing is shared between instances. Credentials are only
 * ever put in request headers — never in messages, errors or logs.
 */

import { BUDGET_SHARES, budgetFigures, currentBudgetLane } from "../budget.js";
import { classify, isPsaError, PsaError } from "../errors.js";
import {
  ConcurrencyLimiter,
  DEFAULT_RETRY,
  type FetchFn,
  fetchWithTimeout,
  fullJitterDelay,
  type HttpAnswer,
  type Now,
  type Random,
  type RetryPolicy,
  realSleep,
  type Sleep,
  systemNow,
  withRetries,
} from "../http.js";
import { guardedFetch } from "../transport.js";
import { PsaUrlPolicy } from "../url-policy.js";
import {
  ALL_RECORDS,
  type AutotaskEntity,
  type EntityInformation,
  type EntityName,
  type FieldInfo,
  type QueryFilter,
  type QueryOptions,
  type ThresholdInformation,
  type UdfInfo,
  type ZoneInformation,
} from "./types.js";

export interface AutotaskCredentials {
  /**
   * The zone's REST base, e.g. "https://webservices5.autotask.net/ATServicesRest/" (a missing
   * "ATServicesRest/" or trailing slash is added). Used directly, without discovery. It also serves as
   * the discovery host after a 401 (any zone host answers ZoneInformation, docs/autotask.md, Zone discovery),
   * so a tenant moved to another zone is followed. "" = discover the zone at `zoneDiscoveryUrl`.
   */
  apiUrl: string;
  /** The API-only user's username (email form). */
  username: string;
  secret: string;
  /** The API tracking identifier ("integration code", docs/autotask.md, Authentication). */
  integrationCode: string;
  /** Resource to attribute creates/updates to (docs/autotask.md, Authentication); sent on writes only. */
  impersonationResourceId?: number | undefined;
}

export interface BudgetOptions {
  /** Usage share of the hourly threshold from which requests are delayed (default BUDGET_SHARES.slowdown). */
  slowdownShare: number;
  /** Usage share from which new requests are refused with BUDGET_EXHAUSTED (default BUDGET_SHARES.reads). */
  stopShare: number;
  /** The same for ticket traffic (`asTicketTraffic`), which keeps the rest (default BUDGET_SHARES.tickets). */
  ticketStopShare: number;
  /** Delay per request just below `stopShare`; it grows linearly from 0 at `slowdownShare` (default 1000). */
  slowdownMaxDelayMs: number;
  /** Re-read ThresholdInformation after this many of our own requests or this much time. */
  refreshEvery: { requests: number; ms: number };
}

export const DEFAULT_BUDGET: Readonly<BudgetOptions> = Object.freeze({
  slowdownShare: BUDGET_SHARES.slowdown,
  stopShare: BUDGET_SHARES.reads,
  ticketStopShare: BUDGET_SHARES.tickets,
  slowdownMaxDelayMs: 1000,
  refreshEvery: Object.freeze({ requests: 2000, ms: 5 * 60_000 }),
});

/** pino-compatible subset; objects logged never contain credentials. */
export interface ClientLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AutotaskClientOptions {
  credentials: AutotaskCredentials;
  /** Where to ask for the zone when `credentials.apiUrl` is "" (default: Autotask's global host). */
  zoneDiscoveryUrl?: string;
  /**
   * Concurrent requests per endpoint; Autotask allows 3 per integration and endpoint (docs/autotask.md,
   * Thresholds and limits).
   */
  maxConcurrentPerEndpoint?: number;
  /** Hourly-budget pacing; `false` turns it off (no ThresholdInformation calls). */
  budget?:
    | (Partial<Omit<BudgetOptions, "refreshEvery">> & {
        refreshEvery?: Partial<BudgetOptions["refreshEvery"]>;
      })
    | false;
  retry?: Partial<RetryPolicy>;
  /** Timeout of one HTTP exchange (default 60 s). */
  requestTimeoutMs?: number;
  /**
   * Where requests may go (the operator's NOCBRIDGE_PSA_URL_ALLOWLIST); default: Autotask's hosts
   * only. The configured URL, every zone discovery answer and every request URL are checked.
   */
  urlPolicy?: PsaUrlPolicy;
  /** Largest answer read, in bytes (default 16 MiB); a larger one is an error. */
  maxResponseBytes?: number;
  /** Transport; default: node:http under `urlPolicy` (internal addresses refused when connecting). */
  fetch?: FetchFn;
  sleep?: Sleep;
  now?: Now;
  random?: Random;
  logger?: ClientLogger;
}

/** Default discovery host (apigrate's default, docs/autotask.md, Zone discovery). */
export const DEFAULT_ZONE_DISCOVERY_URL = "https://webservices.autotask.net/ATServicesRest/";
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_CONCURRENT_PER_ENDPOINT = 3;

export interface WriteOptions {
  /** Overrides the connection's impersonation for this write; null sends none. */
  impersonationResourceId?: number | null;
}

/** What the client did, for tests, run records and diagnostics. */
export interface AutotaskClientStats {
  /** HTTP requests sent to the API (retries included, zone discovery excluded). */
  requests: number;
  /** Requests by `${METHOD} ${Endpoint}`, the key /_emulator/stats uses. */
  byEndpoint: Record<string, number>;
  /** Retries started after a failed attempt (plus creates retried by createIdempotent). */
  retries: number;
  /** HTTP 429 answers (the thread-limit text may come with 429 too; it is counted in both). */
  rateLimited: number;
  /** "Thread Threshold Exceeded" answers, whatever their status. */
  threadLimited: number;
  serverErrors: number;
  networkErrors: number;
  timeouts: number;
  /** Time spent waiting because of limits: slowdown delays plus backoff after 429/thread limit. */
  throttledMs: number;
  /** All backoff waits (any cause). */
  backoffMs: number;
  zoneDiscoveries: number;
  /** Creates whose outcome was unknown, and how many of them a lookup found. */
  ambiguousCreates: number;
  recoveredByLookup: number;
  /** Highest number of simultaneous requests seen per endpoint. */
  maxConcurrency: Record<string, number>;
  /** Budget view: last ThresholdInformation plus our requests since; null before the first read. */
  budget: {
    threshold: number;
    timeframeMinutes: number;
    reportedCount: number;
    sentSince: number;
    share: number;
  } | null;
}

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

interface Call {
  method: Method;
  /** Relative to `{zone}V1.0/` (no query string), or `url` for paging links. */
  path: string;
  /** Absolute URL (pageDetails.nextPageUrl), already checked to be on the zone's origin. */
  url?: string;
  /**
   * Limiter and statistics key: the first path segment after V1.0/ (docs/autotask.md, Thresholds and limits).
   */
  endpoint: string;
  body?: unknown;
  write: boolean;
  /**
   * False for creates: an ambiguous failure is never retried here (docs/reliability.md, Idempotent creates).
   */
  blindRetry: boolean;
  impersonate?: number | null | undefined;
  /** ThresholdInformation reads bypass the budget gate (they are how the budget is known). */
  skipBudget?: boolean;
}

interface Zone {
  base: string;
}

interface BudgetState {
  info: ThresholdInformation;
  fetchedAt: number;
  sentSince: number;
}

/** How long a re-discovery that found the zone unchanged stands for further 401s on that zone. */
const ZONE_CONFIRMATION_MS = 60_000;

const ENTITY_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/** "ASP.NET route miss" — the path itself does not exist (not a missing record). */
const ROUTE_MISS = /no http resource was found/i;

/**
 * Normalises a REST base to "scheme://host[:port]/…/ATServicesRest/": adds the segment when a bare
 * host is given, strips a trailing "V1.0", adds the trailing slash apigrate relies on (docs/autotask.md, Zone
 * discovery; The public npm client).
 */
export function restBase(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PsaError({
      code: "ZONE",
      retryable: false,
      message: `expected an http(s) URL for the Autotask REST base, got ${JSON.stringify(url)}`,
    });
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    throw new PsaError({
      code: "ZONE",
      retryable: false,
      message: `expected an http(s) URL for the Autotask REST base, got the scheme ${u.protocol}`,
    });
  }
  let path = u.pathname.replace(/\/+$/, "").replace(/\/v1\.0$/i, "");
  if (!/\/atservicesrest$/i.test(path)) path = `${path}/ATServicesRest`;
  return `${u.origin}${path}/`;
}

function checkEntity(name: string): string {
  if (!ENTITY_NAME.test(name)) {
    throw new PsaError({
      code: "INVALID_REQUEST",
      retryable: false,
      message: `expected an Autotask entity name such as "ConfigurationItems", got ${JSON.stringify(name)}`,
    });
  }
  return name;
}

function checkId(id: number, what: string): number {
  if (!Number.isSafeInteger(id)) {
    throw new PsaError({
      code: "INVALID_REQUEST",
      retryable: false,
      message: `expected an integer ${what}, got ${JSON.stringify(id)}`,
    });
  }
  return id;
}

function badResponse(operation: string, expected: string, body: unknown, write: boolean): PsaError {
  // The body itself is never quoted: only what kind of answer it was.
  const got =
    body === undefined
      ? "an empty body"
      : typeof body === "string"
        ? "a body that is not JSON"
        : `JSON of another shape (${Array.isArray(body) ? "an array" : typeof body === "object" && body ? `keys ${Object.keys(body).slice(0, 5).map(sanitizeKey).join(", ")}` : typeof body})`;
  return new PsaError({
    code: "BAD_RESPONSE",
    retryable: !write,
    // A 2xx to a write means it was applied, but we cannot tell what it produced.
    ambiguous: write,
    operation,
    message: `${operation}: expected ${expected}, got ${got}`,
  });
}

const sanitizeKey = (k: string) => JSON.stringify(k.replace(/[^\w.-]/g, "").slice(0, 40));

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Reads a key case-insensitively (the Swagger models are PascalCase, the wire camelCase, docs/autotask.md,
 * Paging and counts).
 */
function prop(obj: Record<string, unknown>, key: string): unknown {
  if (key in obj) return obj[key];
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

export class AutotaskClient {
  private readonly creds: AutotaskCredentials;
  private readonly discoveryUrl: string;
  private readonly limiter: ConcurrencyLimiter;
  private readonly policy: RetryPolicy;
  private readonly budgetOpts: BudgetOptions | null;
  private readonly timeoutMs: number;
  private readonly urlPolicy: PsaUrlPolicy;
  private readonly maxResponseBytes: number | undefined;
  private readonly fetchFn: FetchFn;
  private readonly sleep: Sleep;
  private readonly now: Now;
  private readonly random: Random;
  private readonly log: ClientLogger | undefined;

  private zone: Zone | null = null;
  private discovering: Promise<Zone> | null = null;
  /** The zone a re-discovery after a 401 found unchanged, and when. */
  private zoneConfirmed: { zone: Zone; at: number } | null = null;
  private budget: BudgetState | null = null;
  private refreshing: Promise<void> | null = null;
  private readonly endpointNames = new Map<string, string>();
  private readonly counters = {
    requests: 0,
    byEndpoint: {} as Record<string, number>,
    retries: 0,
    rateLimited: 0,
    threadLimited: 0,
    serverErrors: 0,
    networkErrors: 0,
    timeouts: 0,
    throttledMs: 0,
    backoffMs: 0,
    zoneDiscoveries: 0,
    ambiguousCreates: 0,
    recoveredByLookup: 0,
  };

  constructor(options: AutotaskClientOptions) {
    const c = options.credentials;
    if (!c.username || !c.secret || !c.integrationCode) {
      throw new PsaError({
        code: "AUTH",
        retryable: false,
        message: "expected an API username, secret and integration code, got an incomplete set",
      });
    }
    this.creds = { ...c };
    this.discoveryUrl = restBase(options.zoneDiscoveryUrl ?? DEFAULT_ZONE_DISCOVERY_URL);
    if (c.apiUrl !== "") this.zone = { base: restBase(c.apiUrl) };
    this.limiter = new ConcurrencyLimiter(
      options.maxConcurrentPerEndpoint ?? DEFAULT_MAX_CONCURRENT_PER_ENDPOINT,
    );
    this.policy = { ...DEFAULT_RETRY, ...options.retry };
    if (options.budget === false) {
      this.budgetOpts = null;
    } else {
      const b = options.budget ?? {};
      this.budgetOpts = {
        slowdownShare: b.slowdownShare ?? DEFAULT_BUDGET.slowdownShare,
        stopShare: b.stopShare ?? DEFAULT_BUDGET.stopShare,
        ticketStopShare: Math.max(b.stopShare ?? 0, b.ticketStopShare ?? DEFAULT_BUDGET.ticketStopShare),
        slowdownMaxDelayMs: b.slowdownMaxDelayMs ?? DEFAULT_BUDGET.slowdownMaxDelayMs,
        refreshEvery: { ...DEFAULT_BUDGET.refreshEvery, ...b.refreshEvery },
      };
      const { slowdownShare, stopShare } = this.budgetOpts;
      if (!(slowdownShare >= 0 && slowdownShare <= stopShare && stopShare <= 1)) {
        throw new RangeError(`budget shares must satisfy 0 ≤ slowdownShare ≤ stopShare ≤ 1`);
      }
    }
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.urlPolicy = options.urlPolicy ?? PsaUrlPolicy.default;
    this.maxResponseBytes = options.maxResponseBytes;
    this.fetchFn = options.fetch ?? guardedFetch(this.urlPolicy);
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? systemNow;
    this.random = options.random ?? Math.random;
    this.log = options.logger;
  }

  // ---- reads -------------------------------------------------------------------------------

  /**
   * `GET E/{id}` → the record, or null when there is none (`{"item": null}` or a 404, docs/autotask.md,
   * Reading records).
   */
  async get<T extends AutotaskEntity = AutotaskEntity>(entity: EntityName, id: number): Promise<T | null> {
    checkEntity(entity);
    checkId(id, "id");
    try {
      const body = await this.send({
        method: "GET",
        path: `${entity}/${id}`,
        endpoint: entity,
        write: false,
        blindRetry: true,
      });
      if (!isObject(body) || !("item" in body))
        throw badResponse(`GET ${entity}/${id}`, `{"item": …}`, body, false);
      return (body["item"] as T | null) ?? null;
    } catch (e) {
      // apigrate maps 404 to null (docs/autotask.md, Reading records); a route miss is a wrong entity name,
      // not a missing record.
      if (isPsaError(e) && e.status === 404 && !ROUTE_MISS.test(e.errors.join(" "))) return null;
      throw e;
    }
  }

  /**
   * `POST E/query`, then each `pageDetails.nextPageUrl` with the same body (docs/autotask.md, Paging and
   * counts), one page (≤ 500 records) per iteration.
   */
  async *query<T extends AutotaskEntity = AutotaskEntity>(
    entity: EntityName,
    options: QueryOptions = {},
  ): AsyncGenerator<T[], void, undefined> {
    checkEntity(entity);
    const body = queryBody(options);
    const op = `POST ${entity}/query`;
    let answer = await this.send({
      method: "POST",
      path: `${entity}/query`,
      endpoint: entity,
      body,
      write: false,
      blindRetry: true,
    });
    const seen = new Set<string>();
    for (;;) {
      if (!isObject(answer) || !Array.isArray(prop(answer, "items"))) {
        throw badResponse(op, `{"items": [...], "pageDetails": {...}}`, answer, false);
      }
      yield prop(answer, "items") as T[];
      const details = prop(answer, "pageDetails");
      const next = isObject(details) ? prop(details, "nextPageUrl") : null;
      if (typeof next !== "string" || next === "") return;
      const url = await this.pagingUrl(next);
      if (seen.has(url)) throw badResponse(op, "a nextPageUrl that moves forward", next, false);
      seen.add(url);
      const path = new URL(url).pathname;
      answer = await this.send({
        method: "POST",
        path,
        url,
        endpoint: entity,
        body,
        write: false,
        blindRetry: true,
      });
    }
  }

  /** Every record of a query, all pages concatenated. */
  async queryAll<T extends AutotaskEntity = AutotaskEntity>(
    entity: EntityName,
    options: QueryOptions = {},
  ): Promise<T[]> {
    const all: T[] = [];
    for await (const page of this.query<T>(entity, options)) all.push(...page);
    return all;
  }

  /** `POST E/query/count` → `{"queryCount": n}` (docs/autotask.md, Paging and counts). */
  async count(entity: EntityName, filter: QueryFilter = ALL_RECORDS): Promise<number> {
    checkEntity(entity);
    const body = await this.send({
      method: "POST",
      path: `${entity}/query/count`,
      endpoint: entity,
      body: { filter },
      write: false,
      blindRetry: true,
    });
    const n = isObject(body) ? prop(body, "queryCount") : undefined;
    if (typeof n !== "number")
      throw badResponse(`POST ${entity}/query/count`, `{"queryCount": n}`, body, false);
    return n;
  }

  /** `GET E/entityInformation` → info (docs/autotask.md, Field information and UDFs). */
  async entityInformation(entity: EntityName): Promise<EntityInformation> {
    const body = await this.readInfo(entity, "entityInformation");
    const info = isObject(body) ? prop(body, "info") : undefined;
    if (!isObject(info)) throw badResponse(`GET ${entity}/entityInformation`, `{"info": {...}}`, body, false);
    return info as unknown as EntityInformation;
  }

  /**
   * `GET E/entityInformation/fields` → FieldInfo[] with picklist values (docs/autotask.md, Field information
   * and UDFs).
   */
  async fieldInfo(entity: EntityName): Promise<FieldInfo[]> {
    return this.fieldList(entity, "entityInformation/fields");
  }

  /**
   * `GET E/entityInformation/userDefinedFields` → the UDFs (name = display name, docs/autotask.md, Field
   * information and UDFs).
   */
  async udfInfo(entity: EntityName): Promise<UdfInfo[]> {
    return this.fieldList(entity, "entityInformation/userDefinedFields");
  }

  /**
   * `GET ThresholdInformation` (docs/autotask.md, Entities and fields used): the database's hourly threshold
   * and current usage. The call itself counts toward usage; it also refreshes the client's budget view.
   */
  async thresholdInformation(): Promise<ThresholdInformation> {
    const info = parseThreshold(
      await this.send({
        method: "GET",
        path: "ThresholdInformation",
        endpoint: "ThresholdInformation",
        write: false,
        blindRetry: true,
        skipBudget: true,
      }),
    );
    this.budget = { info, fetchedAt: this.now(), sentSince: 0 };
    return info;
  }

  // ---- writes ------------------------------------------------------------------------------

  /**
   * `POST E` → the new id. Never retried after an ambiguous failure (timeout, connection lost, 5xx
   * after the request went out): it throws PsaError{ambiguous: true} and the caller decides — use
   * `createIdempotent` to look the record up first. Failures answered before anything was applied
   * (429, thread limit, 401 with a moved zone) are retried as usual.
   */
  async create(entity: EntityName, body: Record<string, unknown>, opts: WriteOptions = {}): Promise<number> {
    checkEntity(entity);
    return this.writeForId({
      method: "POST",
      path: entity,
      endpoint: entity,
      body,
      write: true,
      blindRetry: false,
      impersonate: opts.impersonationResourceId,
    });
  }

  /**
   * `POST P/{parentId}/C` (e.g. Tickets/100/Notes); the parent id field should be in the body too
   * (docs/autotask.md, Writes).
   */
  async createChild(
    parent: EntityName,
    parentId: number,
    child: string,
    body: Record<string, unknown>,
    opts: WriteOptions = {},
  ): Promise<number> {
    const path = this.childPath(parent, parentId, child);
    return this.writeForId({
      method: "POST",
      path,
      endpoint: parent,
      body,
      write: true,
      blindRetry: false,
      impersonate: opts.impersonationResourceId,
    });
  }

  /**
   * A create that is safe to repeat: after an ambiguous failure it calls `lookup` (e.g. find the CI
   * by its "Partner Portal Device Id" UDF, or the ticket by externalID) and returns the id found;
   * only when the lookup finds nothing is the create tried again (docs/reliability.md, Idempotent creates).
   * Before each lookup it waits a backoff delay, so a write still being applied has time to land.
   */
  async createIdempotent(
    entity: EntityName,
    body: Record<string, unknown>,
    lookup: () => Promise<number | null>,
    opts: WriteOptions = {},
  ): Promise<number> {
    return this.idempotent(() => this.create(entity, body, opts), lookup);
  }

  /** `createIdempotent` for a child entity (e.g. a ticket note found by its text). */
  async createChildIdempotent(
    parent: EntityName,
    parentId: number,
    child: string,
    body: Record<string, unknown>,
    lookup: () => Promise<number | null>,
    opts: WriteOptions = {},
  ): Promise<number> {
    return this.idempotent(() => this.createChild(parent, parentId, child, body, opts), lookup);
  }

  /**
   * `PATCH E` with `{id, …changed fields}` → the id (docs/autotask.md, Writes). Retried: it sets absolute
   * values.
   */
  async update(
    entity: EntityName,
    body: Record<string, unknown> & { id: number },
    opts: WriteOptions = {},
  ): Promise<number> {
    checkEntity(entity);
    checkId(body.id, "id in the PATCH body");
    return this.writeForId(
      {
        method: "PATCH",
        path: entity,
        endpoint: entity,
        body,
        write: true,
        blindRetry: true,
        impersonate: opts.impersonationResourceId,
      },
      body.id,
    );
  }

  /** `PATCH P/{parentId}/C`. */
  async updateChild(
    parent: EntityName,
    parentId: number,
    child: string,
    body: Record<string, unknown> & { id: number },
    opts: WriteOptions = {},
  ): Promise<number> {
    const path = this.childPath(parent, parentId, child);
    checkId(body.id, "id in the PATCH body");
    return this.writeForId(
      {
        method: "PATCH",
        path,
        endpoint: parent,
        body,
        write: true,
        blindRetry: true,
        impersonate: opts.impersonationResourceId,
      },
      body.id,
    );
  }

  /** `PUT E`: full replace — writable fields left out become null (docs/autotask.md, Writes). */
  async replace(
    entity: EntityName,
    body: Record<string, unknown> & { id: number },
    opts: WriteOptions = {},
  ): Promise<number> {
    checkEntity(entity);
    checkId(body.id, "id in the PUT body");
    return this.writeForId(
      {
        method: "PUT",
        path: entity,
        endpoint: entity,
        body,
        write: true,
        blindRetry: true,
        impersonate: opts.impersonationResourceId,
      },
      body.id,
    );
  }

  /**
   * `DELETE E/{id}` (only where the entity allows it). Retried; when a retry finds the record gone
   * after an attempt whose outcome was unknown, the earlier attempt deleted it and this succeeds.
   */
  async delete(entity: EntityName, id: number, opts: WriteOptions = {}): Promise<void> {
    checkEntity(entity);
    checkId(id, "id");
    await this.deleteCall({
      method: "DELETE",
      path: `${entity}/${id}`,
      endpoint: entity,
      write: true,
      blindRetry: true,
      impersonate: opts.impersonationResourceId,
    });
  }

  /** `DELETE P/{parentId}/C/{id}`. */
  async deleteChild(
    parent: EntityName,
    parentId: number,
    child: string,
    id: number,
    opts: WriteOptions = {},
  ): Promise<void> {
    checkId(id, "id");
    const path = `${this.childPath(parent, parentId, child)}/${id}`;
    await this.deleteCall({
      method: "DELETE",
      path,
      endpoint: parent,
      write: true,
      blindRetry: true,
      impersonate: opts.impersonationResourceId,
    });
  }

  // ---- zone --------------------------------------------------------------------------------

  /** The zone's REST base in use (discovering it first when needed). */
  async zoneUrl(): Promise<string> {
    return (await this.currentZone()).base;
  }

  // ---- statistics --------------------------------------------------------------------------

  stats(): AutotaskClientStats {
    const peaks: Record<string, number> = {};
    for (const [key, n] of Object.entries(this.limiter.peaks()))
      peaks[this.endpointNames.get(key) ?? key] = n;
    const b = this.budget;
    return {
      ...structuredClone(this.counters),
      maxConcurrency: peaks,
      budget: b
        ? {
            threshold: b.info.externalRequestThreshold,
            timeframeMinutes: b.info.requestThresholdTimeframe,
            reportedCount: b.info.currentTimeframeRequestCount,
            sentSince: b.sentSince,
            share: this.usageShare(b),
          }
        : null,
    };
  }

  // ---- internals ---------------------------------------------------------------------------

  private childPath(parent: EntityName, parentId: number, child: string): string {
    checkEntity(parent);
    checkEntity(child);
    checkId(parentId, "parent id");
    return `${parent}/${parentId}/${child}`;
  }

  private async readInfo(entity: EntityName, sub: string): Promise<unknown> {
    checkEntity(entity);
    return this.send({
      method: "GET",
      path: `${entity}/${sub}`,
      endpoint: entity,
      write: false,
      blindRetry: true,
    });
  }

  private async fieldList(entity: EntityName, sub: string): Promise<FieldInfo[]> {
    const body = await this.readInfo(entity, sub);
    const fields = isObject(body) ? prop(body, "fields") : undefined;
    if (!Array.isArray(fields)) throw badResponse(`GET ${entity}/${sub}`, `{"fields": [...]}`, body, false);
    return fields as FieldInfo[];
  }

  private async writeForId(call: Call, fallbackId?: number): Promise<number> {
    const body = await this.send(call);
    // Create → {"itemId": n} (docs/autotask.md, Writes); PATCH/PUT bodies are unconfirmed: n8n accepts itemId
    // or id.
    const id = isObject(body) ? (prop(body, "itemId") ?? prop(body, "id")) : undefined;
    if (typeof id === "number" && Number.isSafeInteger(id)) return id;
    if (fallbackId !== undefined && (body === undefined || isObject(body))) return fallbackId;
    throw badResponse(`${call.method} ${call.path}`, `{"itemId": n}`, body, true);
  }

  private async deleteCall(call: Call): Promise<void> {
    let ambiguousSeen = false;
    try {
      await this.send(call, (e) => {
        if (e.ambiguous) ambiguousSeen = true;
      });
    } catch (e) {
      if (isPsaError(e) && e.code === "NOT_FOUND" && ambiguousSeen) return;
      throw e;
    }
  }

  private async idempotent(
    create: () => Promise<number>,
    lookup: () => Promise<number | null>,
  ): Promise<number> {
    const started = this.now();
    for (let n = 1; ; n++) {
      try {
        return await create();
      } catch (e) {
        if (!isPsaError(e) || !e.ambiguous) throw e;
        this.counters.ambiguousCreates++;
        const delayMs = fullJitterDelay(n, this.policy, this.random);
        const outOfBudget = this.now() - started + delayMs > this.policy.timeBudgetMs;
        if (!outOfBudget) {
          this.counters.backoffMs += delayMs;
          await this.sleep(delayMs);
        }
        let found: number | null;
        try {
          found = await lookup();
        } catch (lookupErr) {
          // The create's outcome is still unknown: that, not the lookup's failure, is what the caller must know.
          this.log?.warn(
            {
              operation: e.operation,
              lookupError: lookupErr instanceof Error ? lookupErr.message : String(lookupErr),
            },
            "lookup after an ambiguous create failed",
          );
          throw e;
        }
        this.log?.warn(
          { operation: e.operation, code: e.code, found },
          "create failed with an unknown outcome; looked the record up",
        );
        if (found !== null) {
          this.counters.recoveredByLookup++;
          return found;
        }
        if (n >= this.policy.maxAttempts || outOfBudget) throw e;
        this.counters.retries++;
      }
    }
  }

  /** Runs one call with retries; returns the parsed JSON body of the 2xx answer. */
  private async send(call: Call, observe?: (e: PsaError) => void): Promise<unknown> {
    return withRetries(
      async () => {
        try {
          return await this.attempt(call);
        } catch (e) {
          if (isPsaError(e)) observe?.(e);
          throw e;
        }
      },
      {
        policy: this.policy,
        now: this.now,
        sleep: this.sleep,
        random: this.random,
        shouldRetry: (e) => e.retryable && (call.blindRetry || !e.ambiguous),
        onRetry: ({ err, retry, delayMs }) => {
          this.counters.retries++;
          this.counters.backoffMs += delayMs;
          if (err.code === "RATE_LIMITED" || err.code === "THREAD_LIMIT")
            this.counters.throttledMs += delayMs;
          this.log?.debug(
            { operation: err.operation, code: err.code, status: err.status, retry, delayMs },
            "Autotask request failed; retrying",
          );
        },
      },
    );
  }

  /**
   * One attempt: budget gate, zone, the exchange, and one re-discovery after a 401 (docs/autotask.md,
   * Authentication).
   */
  private async attempt(call: Call): Promise<unknown> {
    if (!call.skipBudget) await this.budgetGate();
    const zone = await this.currentZone();
    let answer = await this.exchange(call, zone);
    // A tenant moved to another zone answers 401 there, or 500 "unknown user" (see docs/autotask-errors.md).
    const unknownUser =
      answer.status >= 500 && classify(answer.status, answer.body, answer.headers).code === "AUTH";
    if (answer.status === 401 || unknownUser) {
      const moved = await this.rediscover(zone);
      if (moved) answer = await this.exchange(call, moved);
    }
    if (answer.status >= 200 && answer.status < 300) {
      if (!answer.json) throw badResponse(this.operation(call), "a JSON body", answer.body, call.write);
      return answer.body;
    }
    throw this.failure(call, answer);
  }

  private operation(call: Call): string {
    return `${call.method} ${call.path.replace(/^.*\/v1\.0\//i, "")}`;
  }

  private failure(call: Call, answer: HttpAnswer): PsaError {
    const err = classify(answer.status, answer.body, answer.headers, {
      operation: this.operation(call),
      write: call.write,
      nowMs: this.now(),
    });
    if (answer.status === 429) this.counters.rateLimited++;
    if (err.code === "THREAD_LIMIT") this.counters.threadLimited++;
    if (err.code === "SERVER") this.counters.serverErrors++;
    return err;
  }

  /** One HTTP request holding a slot of the endpoint's limiter. */
  private async exchange(call: Call, zone: Zone): Promise<HttpAnswer> {
    const key = call.endpoint.toLowerCase();
    if (!this.endpointNames.has(key)) this.endpointNames.set(key, call.endpoint);
    const url = call.url ?? `${zone.base}V1.0/${call.path}`;
    const headers: Record<string, string> = {
      Accept: "application/json",
      ApiIntegrationCode: this.creds.integrationCode,
      UserName: this.creds.username,
      Secret: this.creds.secret,
    };
    const impersonate =
      call.impersonate === undefined ? this.creds.impersonationResourceId : call.impersonate;
    if (call.write && impersonate !== undefined && impersonate !== null) {
      headers["ImpersonationResourceId"] = String(impersonate);
    }
    const init: RequestInit = { method: call.method, headers };
    if (call.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(call.body);
    }
    const release = await this.limiter.acquire(key);
    try {
      this.counters.requests++;
      const statKey = `${call.method} ${call.endpoint}`;
      this.counters.byEndpoint[statKey] = (this.counters.byEndpoint[statKey] ?? 0) + 1;
      this.checkUrl(url, this.operation(call));
      if (this.budget) this.budget.sentSince++;
      return await fetchWithTimeout(this.fetchFn, url, init, {
        timeoutMs: this.timeoutMs,
        operation: this.operation(call),
        write: call.write,
        ...(this.maxResponseBytes !== undefined ? { maxResponseBytes: this.maxResponseBytes } : {}),
      });
    } catch (e) {
      if (isPsaError(e)) {
        if (e.code === "TIMEOUT") this.counters.timeouts++;
        else if (e.code === "NETWORK") this.counters.networkErrors++;
      }
      throw e;
    } finally {
      release();
    }
  }

  /** Refuses a URL outside the allow-list before anything is sent (whatever the transport). */
  private checkUrl(url: string, operation: string): void {
    const why = this.urlPolicy.refusal(url);
    if (why !== null) {
      throw new PsaError({
        code: "URL_NOT_ALLOWED",
        retryable: false,
        operation,
        message: `${operation}: expected a PSA URL on the allow-list, got one that ${why}`,
      });
    }
  }

  /** Paging links are absolute; credentials are only ever sent to the zone's own origin. */
  private async pagingUrl(next: string): Promise<string> {
    const zone = await this.currentZone();
    let u: URL;
    try {
      u = new URL(next, zone.base);
    } catch {
      throw badResponse("query paging", "an absolute nextPageUrl", next, false);
    }
    const origin = new URL(zone.base).origin;
    return u.origin === origin ? u.href : `${origin}${u.pathname}${u.search}`;
  }

  // ---- zone discovery (docs/autotask.md, Zone discovery) ----------------------------------------

  private async currentZone(): Promise<Zone> {
    if (this.zone) return this.zone;
    this.discovering ??= this.discover(this.discoveryUrl).finally(() => {
      this.discovering = null;
    });
    const zone = await this.discovering;
    this.zone = zone;
    return zone;
  }

  /**
   * After a 401 on `used`: asks for the zone again (once for all callers that saw the same zone) and
   * returns the new zone when it moved, or null when it did not (then the 401 stands: AUTH).
   */
  private async rediscover(used: Zone): Promise<Zone | null> {
    if (this.zone && this.zone !== used) return this.zone; // someone already followed a move
    // Many callers may see the same 401 at once: one confirmation that the zone did not move serves all.
    const c = this.zoneConfirmed;
    if (c && c.zone === used && this.now() - c.at < ZONE_CONFIRMATION_MS) return null;
    if (!this.discovering) {
      const host = this.creds.apiUrl !== "" ? restBase(this.creds.apiUrl) : this.discoveryUrl;
      this.discovering = this.discover(host).finally(() => {
        this.discovering = null;
      });
    }
    let zone: Zone;
    try {
      zone = await this.discovering;
    } catch (e) {
      // An unknown username is the likelier reason for the 401: say so.
      if (isPsaError(e) && e.code === "ZONE") {
        throw new PsaError({
          code: "AUTH",
          status: 401,
          retryable: false,
          errors: e.errors,
          operation: e.operation,
          message: `expected the API user to be known to Autotask, got HTTP 401 and no zone for the username (${e.message})`,
        });
      }
      throw e;
    }
    if (zone.base === used.base) {
      this.zoneConfirmed = { zone: used, at: this.now() };
      return null;
    }
    this.log?.warn({ zone: zone.base }, "Autotask zone changed after a 401; following it");
    this.zone = zone;
    return zone;
  }

  /** `GET {host}V1.0/ZoneInformation?user=…` — no auth headers, exempt from thread limits. */
  private async discover(host: string): Promise<Zone> {
    const operation = "GET ZoneInformation";
    const url = `${host}V1.0/ZoneInformation?user=${encodeURIComponent(this.creds.username)}`;
    this.checkUrl(url, operation);
    const body = await withRetries(
      async () => {
        this.counters.zoneDiscoveries++;
        const answer = await fetchWithTimeout(
          this.fetchFn,
          url,
          { method: "GET", headers: { Accept: "application/json" } },
          {
            timeoutMs: this.timeoutMs,
            operation,
            write: false,
            ...(this.maxResponseBytes !== undefined ? { maxResponseBytes: this.maxResponseBytes } : {}),
          },
        );
        if (answer.status < 200 || answer.status >= 300) {
          // An unknown username is a 500 "Zone information could not be determined" → ZONE, not retried.
          throw classify(answer.status, answer.body, answer.headers, { operation, nowMs: this.now() });
        }
        return answer.body;
      },
      {
        policy: this.policy,
        now: this.now,
        sleep: this.sleep,
        random: this.random,
        shouldRetry: (e) => e.retryable,
        onRetry: ({ delayMs }) => {
          this.counters.retries++;
          this.counters.backoffMs += delayMs;
        },
      },
    );
    const info = body as Partial<ZoneInformation> | undefined;
    if (!isObject(info) || typeof info.url !== "string" || info.url === "") {
      throw new PsaError({
        code: "ZONE",
        retryable: false,
        operation,
        message: `${operation}: expected {"url": "<zone REST base>"}, got an answer without it`,
      });
    }
    const why = this.urlPolicy.refusal(info.url);
    if (why !== null) {
      throw new PsaError({
        code: "URL_NOT_ALLOWED",
        retryable: false,
        operation,
        message: `${operation}: expected a zone URL on the allow-list of PSA URLs, got one that ${why}`,
      });
    }
    return { base: restBase(info.url) };
  }

  // ---- hourly budget (docs/autotask.md, Thresholds and limits; docs/reliability.md, Rate-limit awareness) ----

  private usageShare(b: BudgetState): number {
    const threshold = Math.max(1, b.info.externalRequestThreshold);
    return (b.info.currentTimeframeRequestCount + b.sentSince) / threshold;
  }

  private async refreshBudget(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const body = await this.attempt({
          method: "GET",
          path: "ThresholdInformation",
          endpoint: "ThresholdInformation",
          write: false,
          blindRetry: true,
          skipBudget: true,
        });
        this.budget = { info: parseThreshold(body), fetchedAt: this.now(), sentSince: 0 };
      } finally {
        this.refreshing = null;
      }
    })();
    await this.refreshing;
  }

  /**
   * Before each request: keep the usage view fresh (ThresholdInformation at start, then every
   * `refreshEvery`), add a growing delay past `slowdownShare`, and refuse past `stopShare` — leaving
   * the rest of the tenant's hourly allowance to ticket traffic and other integrations. Autotask itself
   * slows every request by 0.5–1 s past 50 % usage and refuses at 100 % (docs/autotask.md, Thresholds and
   * limits).
   */
  private async budgetGate(): Promise<void> {
    const opts = this.budgetOpts;
    if (!opts) return;
    const stale = (b: BudgetState) =>
      b.sentSince >= opts.refreshEvery.requests || this.now() - b.fetchedAt >= opts.refreshEvery.ms;
    if (!this.budget || stale(this.budget)) await this.refreshBudget();
    let b = this.budget as BudgetState | null;
    if (!b) return;
    const tickets = currentBudgetLane() === "tickets";
    const stopShare = tickets ? opts.ticketStopShare : opts.stopShare;
    let share = this.usageShare(b);
    if (share >= stopShare && b.sentSince > 0) {
      // Our own count only grows; the window also forgets old requests. Confirm before refusing.
      await this.refreshBudget();
      b = this.budget as BudgetState | null;
      if (!b) return;
      share = this.usageShare(b);
    }
    if (share >= stopShare) {
      const used = b.info.currentTimeframeRequestCount + b.sentSince;
      const figures = budgetFigures(used, b.info.externalRequestThreshold, b.info.requestThresholdTimeframe);
      const pct = Math.round(stopShare * 100);
      throw new PsaError({
        code: "BUDGET_EXHAUSTED",
        retryable: false,
        // When to look again: the usage view is re-read then (the hour's window moves on meanwhile).
        retryAfterMs: opts.refreshEvery.ms,
        message: tickets
          ? `${figures}; ticket sync waits at ${pct} % and goes on by itself as the hour's window moves on`
          : `${figures}; asset syncs and live reads stop at ${pct} % to keep the rest for ticket sync`,
      });
    }
    if (share > opts.slowdownShare) {
      const span = Math.max(1e-9, stopShare - opts.slowdownShare);
      const delay = Math.round(opts.slowdownMaxDelayMs * Math.min(1, (share - opts.slowdownShare) / span));
      if (delay > 0) {
        this.counters.throttledMs += delay;
        await this.sleep(delay);
      }
    }
  }
}

function parseThreshold(body: unknown): ThresholdInformation {
  const get = (k: string) => (isObject(body) ? prop(body, k) : undefined);
  const threshold = get("externalRequestThreshold");
  const timeframe = get("requestThresholdTimeframe");
  const count = get("currentTimeframeRequestCount");
  if (typeof threshold !== "number" || typeof count !== "number") {
    throw badResponse(
      "GET ThresholdInformation",
      "{externalRequestThreshold, requestThresholdTimeframe, currentTimeframeRequestCount}",
      body,
      false,
    );
  }
  return {
    externalRequestThreshold: threshold,
    requestThresholdTimeframe: typeof timeframe === "number" ? timeframe : 60,
    currentTimeframeRequestCount: count,
  };
}

/**
 * The query body of docs/autotask.md, Queries; `id` is added to IncludeFields (required once results span
 * pages).
 */
export function queryBody(options: QueryOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {
    filter: options.filter && options.filter.length > 0 ? options.filter : ALL_RECORDS,
  };
  if (options.includeFields && options.includeFields.length > 0) {
    const fields = [...options.includeFields];
    if (!fields.some((f) => f.toLowerCase() === "id")) fields.unshift("id");
    body["IncludeFields"] = fields;
  }
  if (options.maxRecords !== undefined) {
    if (!Number.isInteger(options.maxRecords) || options.maxRecords < 1 || options.maxRecords > 500) {
      throw new PsaError({
        code: "INVALID_REQUEST",
        retryable: false,
        message: `expected maxRecords (the page size) from 1 to 500, got ${options.maxRecords}`,
      });
    }
    body["MaxRecords"] = options.maxRecords;
  }
  return body;
}
