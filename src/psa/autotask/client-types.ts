/**
 * Options, defaults and statistics of the Autotask REST client (client.ts), and the internal shapes its
 * modules share: one call, the zone in use, the budget view, the counters and the per-instance context.
 */

import type { PsaRequestMetrics } from "../../lib/metrics.js";
import { BUDGET_SHARES } from "../budget.js";
import type { BudgetLedger } from "../budget-ledger.js";
import type { FetchFn, Now, Random, RetryPolicy, Sleep } from "../http.js";
import type { PsaUrlPolicy } from "../url-policy.js";

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
  /**
   * Re-read ThresholdInformation after this many requests since the last reading (counted over every
   * process sharing the `budgetLedger`) or this much time.
   */
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
  /**
   * Where the processes serving this partner count its requests between two ThresholdInformation
   * readings, so each one's budget gate sees the others' traffic (docs/scale-out.md, The hourly API
   * budget). Without one the client counts its own requests only. Unused when `budget` is false.
   */
  budgetLedger?: BudgetLedger;
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
  /** Told of every answer and of the budget share used, labelled with `partner`. */
  metrics?: PsaRequestMetrics;
  /** The partner this connection serves, as a metrics label (default "unknown"). */
  partner?: string;
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
  /**
   * Budget view: last ThresholdInformation plus the requests sent since (by every process sharing the
   * ledger, as of the last sync); null before the first read.
   */
  budget: {
    threshold: number;
    timeframeMinutes: number;
    reportedCount: number;
    sentSince: number;
    share: number;
  } | null;
}

export type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export interface Call {
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

export interface Zone {
  base: string;
}

/** The client's running counts (the scalar part of AutotaskClientStats). */
export type Counters = Omit<AutotaskClientStats, "maxConcurrency" | "budget">;

/**
 * What one client instance resolved from its options and shares between its modules; nothing in it is
 * shared between instances.
 */
export interface ClientContext {
  readonly creds: AutotaskCredentials;
  readonly discoveryUrl: string;
  readonly policy: RetryPolicy;
  readonly timeoutMs: number;
  readonly urlPolicy: PsaUrlPolicy;
  readonly maxResponseBytes: number | undefined;
  readonly fetchFn: FetchFn;
  readonly sleep: Sleep;
  readonly now: Now;
  readonly random: Random;
  readonly log: ClientLogger | undefined;
  readonly counters: Counters;
  /** The metrics of this connection's answers and budget, when the client was given metrics. */
  readonly observe: ClientObserver | undefined;
}

/** A client's metrics with its partner label bound. */
export interface ClientObserver {
  /** One answer of the PSA; `endpoint` is the entity (or "ZoneInformation"). */
  request(endpoint: string, status: number): void;
  budget(share: number): void;
}
