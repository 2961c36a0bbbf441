/**
 * Request handling of the emulated Autotask API (server.ts): the URL prefix, body and parameter parsing,
 * authentication headers, the error answers for unknown routes and methods, response bodies.
 */
import type { FastifyRequest } from "fastify";
import { childEntity, entityByName } from "./entities.js";
import type { Row } from "./hooks.js";
import { ApiError, type ApiUser, aspNetError, type EmulatorStore, invalid, type Tenant } from "./store.js";

export const API_PREFIX = /^\/atservicesrest\/v1\.0\/(.*)$/i;
export const isId = (s: string | undefined): s is string => s !== undefined && /^-?\d+$/.test(s);

export interface Result {
  status: number;
  /** A JSON value, or a RawJson already serialised. */
  body: unknown;
}
export const ok = (body: unknown): Result => ({ status: 200, body });

/** A response body that is already JSON text. */
export class RawJson {
  constructor(readonly text: string) {}
}

/**
 * Stored rows are immutable (a write replaces the object), so each row's JSON is computed once and
 * reused by every GET and query page until the row changes: pages of 500 wide CI rows are mostly
 * string concatenation.
 */
const rowJsonCache = new WeakMap<Row, string>();
export function rowJson(row: Row): string {
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

export const notAllowed = (method: string) =>
  aspNetError(405, `The requested resource does not support http method '${method}'.`);
export const notFound = (path: string) =>
  aspNetError(404, `No HTTP resource was found that matches the request URI '${path}'.`);

export function parseJson(text: unknown): unknown {
  if (text === undefined || text === null || text === "") return undefined;
  if (typeof text !== "string") return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "The request body is not valid JSON.");
  }
}

export function jsonParam(params: URLSearchParams, name: string): unknown {
  const raw = params.get(name);
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ApiError(400, `The ${name} parameter is not valid JSON.`);
  }
}

/** Requests per tenant in a rolling hour, for ThresholdInformation when no gate is wired. */
export class PassThroughThreshold {
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

/** The `byOperation` key of a request: what it does, on which entity (see EmulatorStats). */
export function operationKey(method: string, segs: string[]): string {
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

export interface Authenticated {
  tenant: Tenant;
  user: ApiUser;
  integrationCode: string;
  personId: number;
}

export function authenticate(store: EmulatorStore, req: FastifyRequest): Authenticated {
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
}
