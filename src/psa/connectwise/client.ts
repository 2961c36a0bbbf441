/**
 * Low-level client of the ConnectWise PSA (Manage) REST API 3.0 (docs/connectwise.md): the site's
 * codebase from companyinfo, Basic auth `companyId+publicKey:privateKey` with the `clientId` header,
 * JSON reads with conditions and paging (forward-only, else navigable, by the `Link` header), counts,
 * JSON-Patch updates, document uploads (a RawBody: multipart) and downloads (bytes), and retries
 * with full-jitter backoff that honour Retry-After.
 *
 * One instance per partner connection. Requests go through the shared guarded transport (the
 * operator's allow-list, no redirects, capped bodies). Credentials are only ever put in request
 * headers — never in messages, errors or logs.
 */
import { endpointLabel, type PsaRequestMetrics } from "../../lib/metrics.js";
import { isPsaError, PsaError } from "../errors.js";
import {
  ConcurrencyLimiter,
  DEFAULT_RETRY,
  type FetchFn,
  fetchWithTimeout,
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
import type {
  ClientLogger,
  ConnectWiseApi,
  ConnectWiseCredentials,
  ConnectWiseStats,
  ListOptions,
} from "./api.js";
import { RawBody } from "./api.js";
import { checkKeyUrl, signingKeyOf } from "./callback-key.js";
import { classifyConnectWise, isRouteMissError } from "./classify.js";
import { idempotentCreate } from "./idempotent.js";
import { nextLink } from "./query.js";
import { discoverRestBase, siteOrigin } from "./site.js";
import type { PatchOp } from "./types.js";
import { badResponse, checkPath, isObject, nextPage, opKey, sameOrigin, withId } from "./wire.js";

/** ConnectWise's cloud hosts, for an allow-list (docs/connectwise.md, Site and codebase). */
export const CONNECTWISE_CLOUD_ALLOWLIST = "https://*.myconnectwise.net,https://*.connectwisedev.com";

export interface ConnectWiseClientOptions {
  credentials: ConnectWiseCredentials;
  /** The model version asked for in Accept (docs/connectwise.md, Versions). */
  apiVersion?: string;
  retry?: Partial<RetryPolicy>;
  /** Timeout of one HTTP exchange (default 60 s). */
  requestTimeoutMs?: number;
  /** Where requests may go; default: ConnectWise's cloud hosts only. */
  urlPolicy?: PsaUrlPolicy;
  maxResponseBytes?: number;
  /** Requests in flight at once (default 4; ConnectWise asks integrations to limit parallel calls). */
  maxConcurrent?: number;
  fetch?: FetchFn;
  sleep?: Sleep;
  now?: Now;
  random?: Random;
  logger?: ClientLogger;
  /** Told of every answer, labelled with `partner` and the path family ("service/tickets/:id"). */
  metrics?: PsaRequestMetrics;
  /** The partner this connection serves, as a metrics label (default "unknown"). */
  partner?: string;
}

export const DEFAULT_API_VERSION = "2025.1";
export const MAX_PAGE_SIZE = 1000;
/** Beyond this a URL is too long for some servers: conditions then go in a `/search` body. */
const MAX_URL = 2000;
/** Largest signing-key answer read. */
const KEY_MAX_BYTES = 64 * 1024;
const KEY_TIMEOUT_MS = 10_000;

type Method = "GET" | "POST" | "PATCH" | "DELETE";

interface Call {
  method: Method;
  /** Relative to the REST base, or an absolute URL already checked (paging links, key_url). */
  path: string;
  url?: string;
  body?: unknown;
  /** The answer is a file, not JSON. */
  binary?: boolean;
  headers?: Record<string, string>;
  write: boolean;
  /** False for creates: an ambiguous failure is not retried here. */
  blindRetry: boolean;
  maxBytes?: number;
  timeoutMs?: number;
}

export class ConnectWiseClient implements ConnectWiseApi {
  readonly #creds: ConnectWiseCredentials;
  readonly #site: string;
  readonly #policy: RetryPolicy;
  readonly #urlPolicy: PsaUrlPolicy;
  readonly #fetch: FetchFn;
  readonly #limiter: ConcurrencyLimiter;
  readonly #o: ConnectWiseClientOptions;
  readonly #sleep: Sleep;
  readonly #now: Now;
  readonly #random: Random;
  #base: Promise<string> | null = null;
  readonly #counters: ConnectWiseStats = {
    requests: 0,
    byOperation: {},
    retries: 0,
    rateLimited: 0,
    serverErrors: 0,
    networkErrors: 0,
    timeouts: 0,
    throttledMs: 0,
    backoffMs: 0,
    discoveries: 0,
    ambiguousCreates: 0,
    recoveredByLookup: 0,
  };

  constructor(o: ConnectWiseClientOptions) {
    const c = o.credentials;
    if (!c.siteUrl || !c.companyId || !c.publicKey || !c.privateKey || !c.clientId) {
      throw new PsaError({
        code: "AUTH",
        retryable: false,
        message: "expected a site, company id, public and private key and clientId, got an incomplete set",
      });
    }
    this.#creds = { ...c };
    this.#site = siteOrigin(c.siteUrl);
    this.#o = o;
    this.#policy = { ...DEFAULT_RETRY, ...o.retry };
    this.#urlPolicy = o.urlPolicy ?? PsaUrlPolicy.parse(CONNECTWISE_CLOUD_ALLOWLIST);
    this.#fetch = o.fetch ?? guardedFetch(this.#urlPolicy);
    this.#limiter = new ConcurrencyLimiter(o.maxConcurrent ?? 4);
    this.#sleep = o.sleep ?? realSleep;
    this.#now = o.now ?? systemNow;
    this.#random = o.random ?? Math.random;
  }

  // ---- reads -------------------------------------------------------------------------------

  async get<T>(path: string, fields?: readonly string[]): Promise<T | null> {
    checkPath(path);
    const q = fields?.length ? `?${new URLSearchParams({ fields: withId(fields) })}` : "";
    try {
      const body = await this.#send({ method: "GET", path: `${path}${q}`, write: false, blindRetry: true });
      if (!isObject(body)) throw badResponse(opKey("GET", path), "a record", body, false);
      return body as T;
    } catch (e) {
      // A missing record is null; a missing route (a wrong path, or cloud's answer to bad keys) is not.
      if (isPsaError(e) && e.code === "NOT_FOUND" && !isRouteMissError(e)) return null;
      throw e;
    }
  }

  async *pages<T>(path: string, o: ListOptions = {}): AsyncGenerator<T[], void, undefined> {
    checkPath(path);
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, o.pageSize ?? MAX_PAGE_SIZE));
    const forwardOnly = !o.orderBy;
    const params = new URLSearchParams();
    if (o.fields?.length) params.set("fields", withId(o.fields));
    params.set("pageSize", String(pageSize));
    for (const [k, v] of Object.entries(o.params ?? {})) params.set(k, v);
    const filters: Record<string, string> = {};
    if (o.conditions) filters["conditions"] = o.conditions;
    if (o.childConditions) filters["childConditions"] = o.childConditions;
    if (o.customFieldConditions) filters["customFieldConditions"] = o.customFieldConditions;
    if (o.orderBy) filters["orderBy"] = o.orderBy;
    const base = await this.#baseUrl();
    const inQuery = new URLSearchParams({ ...filters, ...Object.fromEntries(params) });
    // Long conditions go in the body of POST …/search; paging stays in the query string.
    const search = `${base}${path}?${inQuery}`.length > MAX_URL;
    let url = search ? `${base}${path}/search?${params}` : `${base}${path}?${inQuery}`;
    const headers: Record<string, string> = forwardOnly ? { "pagination-type": "forward-only" } : {};
    const seen = new Set<string>();
    let rows = 0;
    let page = 1;
    let lastId = 0;
    for (;;) {
      seen.add(url);
      let link: string | null = null;
      const answer = await this.#send(
        {
          method: search ? "POST" : "GET",
          path: search ? `${path}/search` : path,
          url,
          headers,
          write: false,
          blindRetry: true,
          ...(search ? { body: filters } : {}),
        },
        (a) => {
          link = nextLink(a.headers.get("link"));
        },
      );
      if (!Array.isArray(answer)) throw badResponse(opKey("GET", path), "a JSON array", answer, false);
      const items = answer as Array<T & { id?: unknown }>;
      const take = o.limit === undefined ? items : items.slice(0, Math.max(0, o.limit - rows));
      if (take.length > 0) yield take;
      rows += take.length;
      if (items.length < pageSize || (o.limit !== undefined && rows >= o.limit)) return;
      const last = Number(items[items.length - 1]?.id);
      if (forwardOnly && !(last > lastId))
        throw badResponse(opKey("GET", path), "rows in id order", answer, false);
      lastId = last;
      page++;
      const next = link ? sameOrigin(link, base) : nextPage(url, forwardOnly, lastId, page);
      if (seen.has(next))
        throw badResponse(opKey("GET", path), "a next page that moves forward", answer, false);
      url = next;
    }
  }

  async all<T>(path: string, o: ListOptions = {}): Promise<T[]> {
    const out: T[] = [];
    for await (const page of this.pages<T>(path, o)) out.push(...page);
    return out;
  }

  async count(path: string, conditions?: string): Promise<number> {
    checkPath(path);
    const q = conditions ? `?${new URLSearchParams({ conditions })}` : "";
    const body = await this.#send({
      method: "GET",
      path: `${path}/count${q}`,
      write: false,
      blindRetry: true,
    });
    const n = isObject(body) ? body["count"] : undefined;
    if (typeof n !== "number") throw badResponse(opKey("GET", `${path}/count`), '{"count": n}', body, false);
    return n;
  }

  // ---- writes ------------------------------------------------------------------------------

  async create<T>(path: string, body: unknown): Promise<T> {
    checkPath(path);
    const answer = await this.#send({ method: "POST", path, body, write: true, blindRetry: false });
    if (!isObject(answer) || typeof answer["id"] !== "number")
      throw badResponse(opKey("POST", path), "the created record", answer, true);
    return answer as T;
  }

  async createIdempotent<T>(path: string, body: unknown, lookup: () => Promise<T | null>): Promise<T> {
    const c = this.#counters;
    return idempotentCreate(() => this.create<T>(path, body), lookup, {
      policy: this.#policy,
      now: this.#now,
      sleep: this.#sleep,
      random: this.#random,
      logger: this.#o.logger,
      count: (what, ms = 0) => {
        if (what === "ambiguous") c.ambiguousCreates++;
        else if (what === "backoff") c.backoffMs += ms;
        else if (what === "recovered") c.recoveredByLookup++;
        else c.retries++;
      },
    });
  }

  async download(path: string): Promise<{ data: Buffer; contentType: string } | null> {
    checkPath(path);
    let got: { data: Buffer; contentType: string } | null = null;
    try {
      await this.#send({ method: "GET", path, write: false, blindRetry: true, binary: true }, (a) => {
        const contentType = a.headers.get("content-type") ?? "application/octet-stream";
        got = { data: a.raw, contentType: contentType.split(";")[0]?.trim() || "application/octet-stream" };
      });
    } catch (e) {
      if (isPsaError(e) && e.code === "NOT_FOUND" && !isRouteMissError(e)) return null;
      throw e;
    }
    return got;
  }

  async patch<T>(path: string, ops: PatchOp[]): Promise<T> {
    checkPath(path);
    const answer = await this.#send({ method: "PATCH", path, body: ops, write: true, blindRetry: true });
    if (!isObject(answer)) throw badResponse(opKey("PATCH", path), "the updated record", answer, true);
    return answer as T;
  }

  async delete(path: string): Promise<void> {
    checkPath(path);
    let ambiguous = false;
    try {
      await this.#send({ method: "DELETE", path, write: true, blindRetry: true }, undefined, (e) => {
        if (e.ambiguous) ambiguous = true;
      });
    } catch (e) {
      if (isPsaError(e) && e.code === "NOT_FOUND" && ambiguous) return;
      throw e;
    }
  }

  // ---- callbacks' signing key ----------------------------------------------------------------

  async trustedOrigins(): Promise<string[]> {
    const api = new URL(await this.#baseUrl()).origin;
    return [...new Set([this.#site, api])];
  }

  async signingKey(keyUrl: string): Promise<string> {
    const u = checkKeyUrl(keyUrl, await this.trustedOrigins());
    const body = await this.#send({
      method: "GET",
      path: "system/callbackkey",
      url: u.href,
      write: false,
      blindRetry: true,
      maxBytes: KEY_MAX_BYTES,
      timeoutMs: KEY_TIMEOUT_MS,
    });
    return signingKeyOf(body);
  }

  stats(): ConnectWiseStats {
    return structuredClone(this.#counters);
  }

  // ---- internals ---------------------------------------------------------------------------

  #baseUrl(): Promise<string> {
    this.#base ??= this.#discover().catch((e: unknown) => {
      this.#base = null;
      throw e;
    });
    return this.#base;
  }

  /** `GET {site}/login/companyinfo/{companyId}` (no credentials) → the REST base. */
  async #discover(): Promise<string> {
    const base = await discoverRestBase(
      {
        site: this.#site,
        companyId: this.#creds.companyId,
        fetch: this.#fetch,
        exchange: (operation) => this.#exchangeOptions(operation, false, "login/companyinfo"),
        checkUrl: (url, operation) => this.#checkUrl(url, operation),
        counted: () => {
          this.#counters.discoveries++;
        },
      },
      this.#retryHooks(() => true),
    );
    return base;
  }

  #retryHooks(may: (e: PsaError) => boolean) {
    return {
      policy: this.#policy,
      now: this.#now,
      sleep: this.#sleep,
      random: this.#random,
      shouldRetry: (e: PsaError) => e.retryable && may(e),
      onRetry: ({ err, retry, delayMs }: { err: PsaError; retry: number; delayMs: number }) => {
        this.#counters.retries++;
        this.#counters.backoffMs += delayMs;
        if (err.code === "RATE_LIMITED") this.#counters.throttledMs += delayMs;
        this.#o.logger?.debug(
          { operation: err.operation, code: err.code, status: err.status, retry, delayMs },
          "ConnectWise request failed; retrying",
        );
      },
    };
  }

  /** One call with retries; returns the parsed JSON of the 2xx answer. */
  async #send(
    call: Call,
    onAnswer?: (a: HttpAnswer) => void,
    observe?: (e: PsaError) => void,
  ): Promise<unknown> {
    return withRetries(
      async () => {
        try {
          const a = await this.#attempt(call);
          onAnswer?.(a);
          return a.body;
        } catch (e) {
          if (isPsaError(e)) observe?.(e);
          throw e;
        }
      },
      this.#retryHooks((e) => call.blindRetry || !e.ambiguous),
    );
  }

  async #attempt(call: Call): Promise<HttpAnswer> {
    const operation = opKey(call.method, call.path.replace(/\?.*$/, ""));
    const url = call.url ?? `${await this.#baseUrl()}${call.path}`;
    const auth = Buffer.from(
      `${this.#creds.companyId}+${this.#creds.publicKey}:${this.#creds.privateKey}`,
    ).toString("base64");
    const headers: Record<string, string> = {
      Accept: `application/vnd.connectwise.com+json; version=${this.#o.apiVersion ?? DEFAULT_API_VERSION}`,
      Authorization: `Basic ${auth}`,
      clientId: this.#creds.clientId,
      ...call.headers,
    };
    const init: RequestInit = { method: call.method, headers };
    if (call.body instanceof RawBody) {
      headers["Content-Type"] = call.body.contentType;
      init.body = new Uint8Array(call.body.bytes);
    } else if (call.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(call.body);
    }
    const release = await this.#limiter.acquire("api");
    let a: HttpAnswer;
    try {
      this.#counters.requests++;
      this.#counters.byOperation[operation] = (this.#counters.byOperation[operation] ?? 0) + 1;
      this.#checkUrl(url, operation);
      a = await fetchWithTimeout(this.#fetch, url, init, {
        ...this.#exchangeOptions(operation, call.write, call.path),
        ...(call.maxBytes !== undefined ? { maxResponseBytes: call.maxBytes } : {}),
        ...(call.timeoutMs !== undefined ? { timeoutMs: call.timeoutMs } : {}),
      });
    } catch (e) {
      if (isPsaError(e) && e.code === "TIMEOUT") this.#counters.timeouts++;
      else if (isPsaError(e) && e.code === "NETWORK") this.#counters.networkErrors++;
      throw e;
    } finally {
      release();
    }
    if (a.status >= 200 && a.status < 300) {
      if (!a.json && !call.binary) throw badResponse(operation, "a JSON body", a.body, call.write);
      return a;
    }
    const err = classifyConnectWise(a.status, a.body, a.headers, {
      operation,
      write: call.write,
      nowMs: this.#now(),
    });
    if (a.status === 429) this.#counters.rateLimited++;
    if (err.code === "SERVER") this.#counters.serverErrors++;
    throw err;
  }

  /** `path`: the request's path under the REST base, whose family labels the answer in the metrics. */
  #exchangeOptions(operation: string, write: boolean, path: string) {
    const metrics = this.#o.metrics;
    const partner = this.#o.partner ?? "unknown";
    return {
      timeoutMs: this.#o.requestTimeoutMs ?? 60_000,
      operation,
      write,
      ...(this.#o.maxResponseBytes !== undefined ? { maxResponseBytes: this.#o.maxResponseBytes } : {}),
      ...(metrics ? { onStatus: (s: number) => metrics.request(partner, endpointLabel(path), s) } : {}),
    };
  }

  #checkUrl(url: string, operation: string): void {
    const why = this.#urlPolicy.refusal(url);
    if (why !== null) {
      throw new PsaError({
        code: "URL_NOT_ALLOWED",
        retryable: false,
        operation,
        message: `${operation}: expected a PSA URL on the allow-list, got one that ${why}`,
      });
    }
  }
}
