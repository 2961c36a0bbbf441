/**
 * Where a partner's ConnectWise API lives. The partner gives the site they log in to
 * ("na.myconnectwise.net", an on-premise host, or the emulator's origin); the codebase comes from
 * the unauthenticated `GET /login/companyinfo/{companyId}` (`Codebase: "v2025_1/"`), and a cloud
 * site's API is on its `api-` twin host (`api-na.myconnectwise.net`) whenever the codebase is not
 * the on-premise router `v4_6_release/` (docs/connectwise.md, Site and codebase).
 */
import { PsaError } from "../errors.js";
import {
  type ExchangeOptions,
  type FetchFn,
  fetchWithTimeout,
  type RetryHooks,
  withRetries,
} from "../http.js";
import { classifyConnectWise } from "./classify.js";

/** Cloud domains whose site hosts have an `api-` twin for the API. */
const CLOUD_DOMAINS = ["myconnectwise.net", "connectwisedev.com"];

/** The origin of the configured site: https only, host and port only (a pasted path is dropped). */
export function siteOrigin(siteUrl: string): string {
  const raw = siteUrl.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new PsaError({
      code: "INVALID_REQUEST",
      retryable: false,
      message: `expected the ConnectWise site as a host name or https URL, got ${JSON.stringify(raw.slice(0, 100))}`,
    });
  }
  if (u.protocol !== "https:") {
    throw new PsaError({
      code: "INVALID_REQUEST",
      retryable: false,
      message: `expected an https site URL (ConnectWise refuses plain http), got the scheme ${u.protocol}`,
    });
  }
  if (u.username || u.password || u.hostname === "") {
    throw new PsaError({
      code: "INVALID_REQUEST",
      retryable: false,
      message: "expected the ConnectWise site as a host name, without user name or password",
    });
  }
  return u.origin;
}

/** The API origin for a site origin and codebase: the `api-` twin of a cloud site, else the site. */
export function apiOrigin(site: string, codebase: string): string {
  const u = new URL(site);
  const host = u.hostname.toLowerCase();
  const cloud = CLOUD_DOMAINS.some((d) => host.endsWith(`.${d}`));
  if (!cloud || host.startsWith("api-") || /^v4_6_release\/?$/i.test(codebase)) return u.origin;
  return `${u.protocol}//api-${host}${u.port ? `:${u.port}` : ""}`;
}

/** A codebase as companyinfo gives it ("v2025_1/"), checked so it cannot add anything to a path. */
export function checkCodebase(value: unknown): string {
  if (typeof value !== "string" || !/^[A-Za-z0-9_.-]{1,40}\/?$/.test(value)) {
    throw new PsaError({
      code: "BAD_RESPONSE",
      retryable: false,
      operation: "GET login/companyinfo",
      message: 'GET login/companyinfo: expected a Codebase such as "v2025_1/", got an answer without one',
    });
  }
  return value.endsWith("/") ? value : `${value}/`;
}

/** The REST base: `https://{api host}/{codebase}apis/3.0/`. */
export function restBase(origin: string, codebase: string): string {
  return `${origin}/${codebase}apis/3.0/`;
}

export interface DiscoveryDeps {
  site: string;
  companyId: string;
  fetch: FetchFn;
  exchange(operation: string): ExchangeOptions;
  /** Throws URL_NOT_ALLOWED when the allow-list refuses the URL. */
  checkUrl(url: string, operation: string): void;
  counted(): void;
}

/**
 * `GET {site}/login/companyinfo/{companyId}` without credentials → the REST base of the tenant. An
 * unknown company id answers 404: that is an AUTH failure (the credentials name no tenant here).
 */
export async function discoverRestBase(d: DiscoveryDeps, retry: RetryHooks): Promise<string> {
  const operation = "GET login/companyinfo";
  const url = `${d.site}/login/companyinfo/${encodeURIComponent(d.companyId)}`;
  d.checkUrl(url, operation);
  const body = await withRetries(async () => {
    d.counted();
    const a = await fetchWithTimeout(
      d.fetch,
      url,
      { method: "GET", headers: { Accept: "application/json" } },
      d.exchange(operation),
    );
    if (a.status === 404) {
      throw new PsaError({
        code: "AUTH",
        status: 404,
        retryable: false,
        operation,
        message: `${operation}: expected the company id to be known to this ConnectWise site, got HTTP 404`,
      });
    }
    if (a.status < 200 || a.status >= 300)
      throw classifyConnectWise(a.status, a.body, a.headers, { operation });
    return a.body;
  }, retry);
  const info = body !== null && typeof body === "object" ? (body as Record<string, unknown>) : {};
  const codebase = checkCodebase(info["Codebase"] ?? info["codebase"]);
  const origin = apiOrigin(d.site, codebase);
  d.checkUrl(origin, operation);
  return restBase(origin, codebase);
}
