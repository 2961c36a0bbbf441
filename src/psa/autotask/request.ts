/**
 * The request pipeline of the Autotask REST client (client.ts): retries and backoff (docs/reliability.md,
 * Retries and backoff), the hourly-budget gate, the zone, one re-discovery after a 401, the per-endpoint
 * concurrency limiter (docs/autotask.md, Thresholds and limits), the HTTP exchange with its auth headers
 * (docs/autotask.md, Authentication) and the classification of failures (src/psa/errors.ts).
 */

import type { BudgetLedger } from "../budget-ledger.js";
import { classify, isPsaError, type PsaError } from "../errors.js";
import { type ConcurrencyLimiter, fetchWithTimeout, type HttpAnswer, withRetries } from "../http.js";
import { BudgetTracker } from "./budget-gate.js";
import type { AutotaskClientStats, BudgetOptions, Call, ClientContext, Zone } from "./client-types.js";
import { badResponse } from "./responses.js";
import { checkUrl } from "./shapes.js";
import type { ZoneResolver } from "./zone.js";

export class RequestPipeline {
  readonly budget: BudgetTracker;
  private readonly endpointNames = new Map<string, string>();

  constructor(
    private readonly ctx: ClientContext,
    private readonly limiter: ConcurrencyLimiter,
    readonly zones: ZoneResolver,
    budgetOpts: BudgetOptions | null,
    ledger?: BudgetLedger,
  ) {
    this.budget = new BudgetTracker(
      ctx,
      budgetOpts,
      () =>
        this.attempt({
          method: "GET",
          path: "ThresholdInformation",
          endpoint: "ThresholdInformation",
          write: false,
          blindRetry: true,
          skipBudget: true,
        }),
      ledger,
    );
  }

  /** Runs one call with retries; returns the parsed JSON body of the 2xx answer. */
  async send(call: Call, observe?: (e: PsaError) => void): Promise<unknown> {
    const ctx = this.ctx;
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
        policy: ctx.policy,
        now: ctx.now,
        sleep: ctx.sleep,
        random: ctx.random,
        shouldRetry: (e) => e.retryable && (call.blindRetry || !e.ambiguous),
        onRetry: ({ err, retry, delayMs }) => {
          ctx.counters.retries++;
          ctx.counters.backoffMs += delayMs;
          if (err.code === "RATE_LIMITED" || err.code === "THREAD_LIMIT") ctx.counters.throttledMs += delayMs;
          ctx.log?.debug(
            { operation: err.operation, code: err.code, status: err.status, retry, delayMs },
            "Autotask request failed; retrying",
          );
        },
      },
    );
  }

  /** What the client did: the counters, the limiter's peaks per endpoint and the budget view. */
  stats(): AutotaskClientStats {
    const peaks: Record<string, number> = {};
    for (const [key, n] of Object.entries(this.limiter.peaks()))
      peaks[this.endpointNames.get(key) ?? key] = n;
    return {
      ...structuredClone(this.ctx.counters),
      maxConcurrency: peaks,
      budget: this.budget.view(),
    };
  }

  /**
   * One attempt: budget gate, zone, the exchange, and one re-discovery after a 401 (docs/autotask.md,
   * Authentication).
   */
  private async attempt(call: Call): Promise<unknown> {
    if (!call.skipBudget) await this.budget.gate();
    const zone = await this.zones.current();
    let answer = await this.exchange(call, zone);
    // A tenant moved to another zone answers 401 there, or 500 "unknown user" (see docs/autotask-errors.md).
    const unknownUser =
      answer.status >= 500 && classify(answer.status, answer.body, answer.headers).code === "AUTH";
    if (answer.status === 401 || unknownUser) {
      const moved = await this.zones.rediscover(zone);
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
    const counters = this.ctx.counters;
    const err = classify(answer.status, answer.body, answer.headers, {
      operation: this.operation(call),
      write: call.write,
      nowMs: this.ctx.now(),
    });
    if (answer.status === 429) counters.rateLimited++;
    if (err.code === "THREAD_LIMIT") counters.threadLimited++;
    if (err.code === "SERVER") counters.serverErrors++;
    return err;
  }

  /** One HTTP request holding a slot of the endpoint's limiter. */
  private async exchange(call: Call, zone: Zone): Promise<HttpAnswer> {
    const { ctx } = this;
    const key = call.endpoint.toLowerCase();
    if (!this.endpointNames.has(key)) this.endpointNames.set(key, call.endpoint);
    const url = call.url ?? `${zone.base}V1.0/${call.path}`;
    const headers: Record<string, string> = {
      Accept: "application/json",
      ApiIntegrationCode: ctx.creds.integrationCode,
      UserName: ctx.creds.username,
      Secret: ctx.creds.secret,
    };
    const impersonate = call.impersonate === undefined ? ctx.creds.impersonationResourceId : call.impersonate;
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
      ctx.counters.requests++;
      const statKey = `${call.method} ${call.endpoint}`;
      ctx.counters.byEndpoint[statKey] = (ctx.counters.byEndpoint[statKey] ?? 0) + 1;
      checkUrl(ctx.urlPolicy, url, this.operation(call));
      this.budget.noteSent();
      return await fetchWithTimeout(ctx.fetchFn, url, init, {
        timeoutMs: ctx.timeoutMs,
        operation: this.operation(call),
        write: call.write,
        ...(ctx.maxResponseBytes !== undefined ? { maxResponseBytes: ctx.maxResponseBytes } : {}),
        ...(ctx.observe ? { onStatus: (status: number) => ctx.observe?.request(call.endpoint, status) } : {}),
      });
    } catch (e) {
      if (isPsaError(e)) {
        if (e.code === "TIMEOUT") ctx.counters.timeouts++;
        else if (e.code === "NETWORK") ctx.counters.networkErrors++;
      }
      throw e;
    } finally {
      release();
    }
  }
}
