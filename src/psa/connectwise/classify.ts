/**
 * ConnectWise's failure answers as PsaErrors (docs/connectwise.md, Errors). The API answers with
 * the status that means what happened (400 invalid, 401 bad credentials, 403 the security role
 * forbids, 404 missing, 409 record in use, 429 too many requests with Retry-After, 500 server fault)
 * and a body `{code, message, errors: [{code, message, resource, field}]}` — or, for a 429,
 * `{error, message}`. Only those messages are quoted, sanitised; a body of another shape never is.
 */
import {
  type HeaderSource,
  PsaError,
  type PsaErrorCode,
  parseRetryAfter,
  sanitizeVendorText,
} from "../errors.js";

const MAX_MESSAGES = 10;

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

function header(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

/** The `code` of a ConnectWise error body ("InvalidObject", "NotFound", "ConnectWiseApi"…), if any. */
export function vendorCode(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const c = body["code"] ?? body["error"];
  return typeof c === "string" ? sanitizeVendorText(c).slice(0, 60) : undefined;
}

/**
 * The messages of a ConnectWise error body, sanitised: the top-level `message`, then each field
 * error as "field: message". Any other body gives none.
 */
export function vendorMessages(body: unknown): string[] {
  if (!isObject(body)) return [];
  const out: string[] = [];
  if (typeof body["message"] === "string" && body["message"].trim() !== "")
    out.push(sanitizeVendorText(body["message"]));
  if (Array.isArray(body["errors"])) {
    for (const e of body["errors"]) {
      if (!isObject(e) || typeof e["message"] !== "string") continue;
      const field = typeof e["field"] === "string" ? `${sanitizeVendorText(e["field"]).slice(0, 60)}: ` : "";
      out.push(sanitizeVendorText(`${field}${e["message"]}`));
    }
  }
  return out.filter((s) => s !== "").slice(0, MAX_MESSAGES);
}

export interface CwClassifyContext {
  /** "GET service/tickets", "POST company/configurations" (never a URL). */
  operation?: string;
  /** Create/update/delete: a server fault then leaves the outcome unknown (ambiguous). */
  write?: boolean;
  nowMs?: number;
}

/** "The endpoint does not exist." — a route ConnectWise does not have (or, on cloud, bad credentials). */
export function isRouteMiss(body: unknown): boolean {
  return (
    vendorCode(body) === "ConnectWiseApi" && /endpoint does not exist/i.test(vendorMessages(body).join(" "))
  );
}

/** A 404 for a route rather than a record (see isRouteMiss). */
export function isRouteMissError(e: PsaError): boolean {
  return e.status === 404 && e.errors.some((m) => /endpoint does not exist/i.test(m));
}

/**
 * Classifies a non-2xx answer. 429 and 5xx are retryable (a 5xx on a write is ambiguous: it may have
 * been applied); 409 ("record possibly in use") is retryable and not ambiguous (nothing was changed);
 * other 4xx are final.
 */
export function classifyConnectWise(
  status: number,
  body: unknown,
  headers?: HeaderSource,
  ctx: CwClassifyContext = {},
): PsaError {
  const errors = vendorMessages(body);
  const code = vendorCode(body);
  const op = ctx.operation ? `${ctx.operation}: ` : "";
  const came =
    errors.length > 0
      ? `got HTTP ${status}${code ? ` ${code}` : ""}: ${errors.map((e) => JSON.stringify(e)).join("; ")}`
      : body === undefined
        ? `got HTTP ${status} with no error text`
        : `got HTTP ${status} (its body is not ConnectWise's error format and is not shown)`;
  const retryAfterMs = parseRetryAfter(header(headers, "retry-after"), ctx.nowMs ?? Date.now());
  const make = (c: PsaErrorCode, expected: string, retryable: boolean, ambiguous = false) =>
    new PsaError({
      code: c,
      status,
      errors,
      retryAfterMs,
      operation: ctx.operation,
      retryable,
      ambiguous,
      message: `${op}expected ${expected}, ${came}`,
    });
  const text = errors.join(" ");
  if (status === 429) return make("RATE_LIMITED", "a request within ConnectWise's rate limits", true);
  if (status === 401 || code === "Unauthorized" || /UserNotAuthenticated/i.test(text))
    return make("AUTH", "the company id, public and private key and clientId to be accepted", false);
  if (status === 403) return make("AUTH", "a request the API member's security role allows", false);
  if (code === "Security" && /ssl is required/i.test(text))
    return make("INVALID_REQUEST", "an https request to the API host", false);
  if (status === 404) {
    return isRouteMiss(body)
      ? make(
          "NOT_FOUND",
          "an endpoint of this ConnectWise site (cloud sites also answer so for bad credentials)",
          false,
        )
      : make("NOT_FOUND", "an existing record", false);
  }
  if (status === 405) return make("METHOD_NOT_ALLOWED", "a method this resource supports", false);
  if (status === 409) return make("INVALID_REQUEST", "a record that is not in use", true);
  if (status >= 400 && status < 500) return make("INVALID_REQUEST", "a valid request", false);
  if (status >= 500) return make("SERVER", "a successful answer", true, ctx.write === true);
  return make("BAD_RESPONSE", "a 2xx answer", false, ctx.write === true);
}
