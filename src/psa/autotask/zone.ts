/**
 * Zone discovery of the Autotask REST client (client.ts), docs/autotask.md, Zone discovery: the zone
 * in use, discovered once when not configured, and one re-discovery after a 401 (a tenant moved to
 * another zone is followed; many callers seeing the same 401 share one confirmation).
 */

import { classify, isPsaError, PsaError } from "../errors.js";
import { fetchWithTimeout, withRetries } from "../http.js";
import type { ClientContext, Zone } from "./client-types.js";
import { badResponse, isObject } from "./responses.js";
import { checkUrl, restBase } from "./shapes.js";
import type { ZoneInformation } from "./types.js";

/** How long a re-discovery that found the zone unchanged stands for further 401s on that zone. */
const ZONE_CONFIRMATION_MS = 60_000;

export class ZoneResolver {
  private zone: Zone | null = null;
  private discovering: Promise<Zone> | null = null;
  /** The zone a re-discovery after a 401 found unchanged, and when. */
  private zoneConfirmed: { zone: Zone; at: number } | null = null;

  /** `initial`: the configured zone (credentials.apiUrl), or null to discover it. */
  constructor(
    private readonly ctx: ClientContext,
    initial: Zone | null,
  ) {
    this.zone = initial;
  }

  async current(): Promise<Zone> {
    if (this.zone) return this.zone;
    this.discovering ??= this.discover(this.ctx.discoveryUrl).finally(() => {
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
  async rediscover(used: Zone): Promise<Zone | null> {
    if (this.zone && this.zone !== used) return this.zone; // someone already followed a move
    // Many callers may see the same 401 at once: one confirmation that the zone did not move serves all.
    const c = this.zoneConfirmed;
    if (c && c.zone === used && this.ctx.now() - c.at < ZONE_CONFIRMATION_MS) return null;
    if (!this.discovering) {
      const host = this.ctx.creds.apiUrl !== "" ? restBase(this.ctx.creds.apiUrl) : this.ctx.discoveryUrl;
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
      this.zoneConfirmed = { zone: used, at: this.ctx.now() };
      return null;
    }
    this.ctx.log?.warn({ zone: zone.base }, "Autotask zone changed after a 401; following it");
    this.zone = zone;
    return zone;
  }

  /** Paging links are absolute; credentials are only ever sent to the zone's own origin. */
  async pagingUrl(next: string): Promise<string> {
    const zone = await this.current();
    let u: URL;
    try {
      u = new URL(next, zone.base);
    } catch {
      throw badResponse("query paging", "an absolute nextPageUrl", next, false);
    }
    const origin = new URL(zone.base).origin;
    return u.origin === origin ? u.href : `${origin}${u.pathname}${u.search}`;
  }

  /** `GET {host}V1.0/ZoneInformation?user=…` — no auth headers, exempt from thread limits. */
  private async discover(host: string): Promise<Zone> {
    const ctx = this.ctx;
    const operation = "GET ZoneInformation";
    const url = `${host}V1.0/ZoneInformation?user=${encodeURIComponent(ctx.creds.username)}`;
    checkUrl(ctx.urlPolicy, url, operation);
    const body = await withRetries(
      async () => {
        ctx.counters.zoneDiscoveries++;
        const answer = await fetchWithTimeout(
          ctx.fetchFn,
          url,
          { method: "GET", headers: { Accept: "application/json" } },
          {
            timeoutMs: ctx.timeoutMs,
            operation,
            write: false,
            ...(ctx.maxResponseBytes !== undefined ? { maxResponseBytes: ctx.maxResponseBytes } : {}),
            ...(ctx.observe ? { onStatus: (s: number) => ctx.observe?.request("ZoneInformation", s) } : {}),
          },
        );
        if (answer.status < 200 || answer.status >= 300) {
          // An unknown username is a 500 "Zone information could not be determined" → ZONE, not retried.
          throw classify(answer.status, answer.body, answer.headers, { operation, nowMs: ctx.now() });
        }
        return answer.body;
      },
      {
        policy: ctx.policy,
        now: ctx.now,
        sleep: ctx.sleep,
        random: ctx.random,
        shouldRetry: (e) => e.retryable,
        onRetry: ({ delayMs }) => {
          ctx.counters.retries++;
          ctx.counters.backoffMs += delayMs;
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
    const why = ctx.urlPolicy.refusal(info.url);
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
}
