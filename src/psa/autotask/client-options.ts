/**
 * The Autotask REST client's options resolved (client.ts): credentials checked, REST bases normalised,
 * defaults filled in, in the order the constructor has always checked them.
 */

import { endpointLabel } from "../../lib/metrics.js";
import type { BudgetLedger } from "../budget-ledger.js";
import { PsaError } from "../errors.js";
import { ConcurrencyLimiter, DEFAULT_RETRY, realSleep, systemNow } from "../http.js";
import { guardedFetch } from "../transport.js";
import { PsaUrlPolicy } from "../url-policy.js";
import {
  type AutotaskClientOptions,
  type BudgetOptions,
  type ClientContext,
  type ClientObserver,
  type Counters,
  DEFAULT_BUDGET,
  DEFAULT_MAX_CONCURRENT_PER_ENDPOINT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_ZONE_DISCOVERY_URL,
  type Zone,
} from "./client-types.js";
import { restBase } from "./shapes.js";

export interface ResolvedClientOptions {
  ctx: ClientContext;
  limiter: ConcurrencyLimiter;
  /** The configured zone (credentials.apiUrl), or null to discover it. */
  initialZone: Zone | null;
  /** Hourly-budget pacing; null when off. */
  budget: BudgetOptions | null;
  /** Where the partner's processes count its requests together; undefined: this client by itself. */
  ledger: BudgetLedger | undefined;
}

export function resolveClientOptions(options: AutotaskClientOptions): ResolvedClientOptions {
  const c = options.credentials;
  if (!c.username || !c.secret || !c.integrationCode) {
    throw new PsaError({
      code: "AUTH",
      retryable: false,
      message: "expected an API username, secret and integration code, got an incomplete set",
    });
  }
  const discoveryUrl = restBase(options.zoneDiscoveryUrl ?? DEFAULT_ZONE_DISCOVERY_URL);
  const initialZone = c.apiUrl !== "" ? { base: restBase(c.apiUrl) } : null;
  const limiter = new ConcurrencyLimiter(
    options.maxConcurrentPerEndpoint ?? DEFAULT_MAX_CONCURRENT_PER_ENDPOINT,
  );
  const policy = { ...DEFAULT_RETRY, ...options.retry };
  const budget = budgetOptions(options.budget);
  const urlPolicy = options.urlPolicy ?? PsaUrlPolicy.default;
  const ctx: ClientContext = {
    creds: { ...c },
    discoveryUrl,
    policy,
    timeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    urlPolicy,
    maxResponseBytes: options.maxResponseBytes,
    fetchFn: options.fetch ?? guardedFetch(urlPolicy),
    sleep: options.sleep ?? realSleep,
    now: options.now ?? systemNow,
    random: options.random ?? Math.random,
    log: options.logger,
    counters: newCounters(),
    observe: observerOf(options),
  };
  return { ctx, limiter, initialZone, budget, ledger: options.budgetLedger };
}

/** The options' budget with defaults filled in; null when pacing is off. */
export function budgetOptions(budget: AutotaskClientOptions["budget"]): BudgetOptions | null {
  if (budget === false) return null;
  const b = budget ?? {};
  const opts: BudgetOptions = {
    slowdownShare: b.slowdownShare ?? DEFAULT_BUDGET.slowdownShare,
    stopShare: b.stopShare ?? DEFAULT_BUDGET.stopShare,
    ticketStopShare: Math.max(b.stopShare ?? 0, b.ticketStopShare ?? DEFAULT_BUDGET.ticketStopShare),
    slowdownMaxDelayMs: b.slowdownMaxDelayMs ?? DEFAULT_BUDGET.slowdownMaxDelayMs,
    refreshEvery: { ...DEFAULT_BUDGET.refreshEvery, ...b.refreshEvery },
  };
  const { slowdownShare, stopShare } = opts;
  if (!(slowdownShare >= 0 && slowdownShare <= stopShare && stopShare <= 1)) {
    throw new RangeError(`budget shares must satisfy 0 ≤ slowdownShare ≤ stopShare ≤ 1`);
  }
  return opts;
}

export function newCounters(): Counters {
  return {
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
}

/** The client's metrics with its partner label bound; undefined without metrics. */
function observerOf(options: AutotaskClientOptions): ClientObserver | undefined {
  const metrics = options.metrics;
  if (!metrics) return undefined;
  const partner = options.partner ?? "unknown";
  return {
    request: (endpoint, status) => metrics.request(partner, endpointLabel(endpoint), status),
    budget: (share) => metrics.budget(partner, share),
  };
}
