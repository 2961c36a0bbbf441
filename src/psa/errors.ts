/**
 * Errors of the PSA connectors, classified once at the HTTP boundary :
 * every failure has a stable `code`, a message that says what was expected and what came, and a retry
 * class — `retryable` (worth trying again after a backoff) and `ambiguous` (a write whose outcome is
 * unknown: it may have been applied, so it must not be repeated blindly — docs/reliability.md, Idempotent
 * creates).
 *
 * Everything here is pure: `classify` looks only at the status, body and headers it is given.
 */

export type PsaErrorCode =
  /** 401/403, unknown user, or an impersonation the tenant refuses. */
  | "AUTH"
  /** Autotask's "IntegrationCode is invalid." (a 500, docs/autotask.md, Authentication). */
  | "INTEGRATION_CODE"
  /** Zone discovery failed ("Zone information could not be determined", docs/autotask.md, Zone discovery). */
  | "ZONE"
  /** 404, or Autotask's "No matching records found" (a 500, docs/autotask.md, Writes). */
  | "NOT_FOUND"
  /**
   * Other 4xx, and the 500s Autotask uses for validation and business-rule failures (docs/autotask.md,
   * Errors).
   */
  | "INVALID_REQUEST"
  /** 405 "The requested resource does not support http method …" (docs/autotask.md, Writes). */
  | "METHOD_NOT_ALLOWED"
  /** 429: the hourly request threshold (or another rate limit) was hit. */
  | "RATE_LIMITED"
  /**
   * "Thread Threshold Exceeded": more concurrent requests on one endpoint than allowed (docs/autotask.md,
   * Thresholds and limits).
   */
  | "THREAD_LIMIT"
  /** Our own refusal: the share of the hourly budget this connection may use is spent. */
  | "BUDGET_EXHAUSTED"
  /** 5xx without a recognised business meaning. */
  | "SERVER"
  /** The connection failed (refused, reset, closed before an answer). */
  | "NETWORK"
  /** No answer within the request timeout. */
  | "TIMEOUT"
  /** A 2xx whose body is not what the contract describes. */
  | "BAD_RESPONSE"
  /** The URL (or the address it resolves to) is not allowed by the operator's allow-list of PSA URLs. */
  | "URL_NOT_ALLOWED"
  /** The PSA answered with a redirect; PSA calls follow none. */
  | "REDIRECT"
  /** The answer was larger than the response size cap; reading stopped there. */
  | "TOO_LARGE";

export interface PsaErrorInit {
  code: PsaErrorCode;
  message: string;
  status?: number | undefined;
  retryable: boolean;
  ambiguous?: boolean;
  errors?: string[];
  retryAfterMs?: number | undefined;
  /** "POST ConfigurationItems", "GET Tickets/123" … (never a URL with credentials). */
  operation?: string | undefined;
  cause?: unknown;
}

export class PsaError extends Error {
  override readonly name = "PsaError";
  readonly code: PsaErrorCode;
  readonly status: number | undefined;
  readonly retryable: boolean;
  /** True when a write may have been applied although it failed (timeout, network, 5xx after send). */
  readonly ambiguous: boolean;
  /**
   * The vendor's messages, sanitised (control characters removed, each truncated): only when the body
   * had the vendor's error shape (`{"errors": [...]}`, or ASP.NET's `{"Message": ...}`); otherwise
   * empty — an upstream body is never quoted.
   */
  readonly errors: string[];
  /** What Retry-After asked for, in ms (also set on BUDGET_EXHAUSTED when known). */
  readonly retryAfterMs: number | undefined;
  readonly operation: string | undefined;
  /** Attempts made before this error was thrown (set by the retry loop). */
  attempts = 1;

  constructor(init: PsaErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.retryable = init.retryable;
    this.ambiguous = init.ambiguous ?? false;
    this.errors = init.errors ?? [];
    this.retryAfterMs = init.retryAfterMs;
    this.operation = init.operation;
  }
}

export const isPsaError = (e: unknown): e is PsaError => e instanceof PsaError;

/** Header access for both `Headers` and plain objects (any name casing). */
export type HeaderSource = Headers | Record<string, string | string[] | undefined> | undefined;

function header(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === lower) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

/**
 * Retry-After as ms: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). Autotask documents no
 * rate-limit headers (docs/autotask.md, Thresholds and limits — unconfirmed), but clients honour the header
 * when it is sent and the emulator sends it, so we do too. Invalid or negative values are ignored.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at) || !/[a-z]/i.test(v)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Longest vendor message kept, and how many are kept. */
export const VENDOR_MESSAGE_MAX = 300;
const VENDOR_MESSAGES_MAX = 10;

/** One vendor message made safe to show: control characters stripped, whitespace collapsed, truncated. */
export function sanitizeVendorText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g, " ");
  const one = clean.replace(/\s+/g, " ").trim();
  return one.length > VENDOR_MESSAGE_MAX ? `${one.slice(0, VENDOR_MESSAGE_MAX - 1)}…` : one;
}

/** The shape of an error body: Autotask's `errors` array, ASP.NET's `Message`, or neither. */
export type ErrorShape = "errors" | "message" | "none";

export function errorShape(body: unknown): ErrorShape {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return "none";
  const o = body as Record<string, unknown>;
  const raw = o["errors"] ?? o["Errors"];
  if (Array.isArray(raw) && raw.length > 0) return "errors";
  const m = o["Message"] ?? o["message"];
  if (typeof m === "string" && m.trim() !== "") return "message";
  return "none";
}

/**
 * The vendor's messages of an error body, sanitised: the `errors` array of strings (objects with a
 * `message` are accepted defensively, as n8n and go-autotask do), or ASP.NET's `Message`. Any other
 * body — HTML, plain text, an unknown JSON shape — gives none: upstream bodies are never quoted.
 */
export function vendorErrors(body: unknown): string[] {
  const shape = errorShape(body);
  if (shape === "none") return [];
  const o = body as Record<string, unknown>;
  if (shape === "message") return [sanitizeVendorText(String(o["Message"] ?? o["message"]))];
  const raw = (o["errors"] ?? o["Errors"]) as unknown[];
  return raw
    .map((e) => {
      if (typeof e === "string") return e;
      if (e && typeof e === "object") {
        const m = (e as Record<string, unknown>)["message"] ?? (e as Record<string, unknown>)["Message"];
        if (typeof m === "string") return m;
      }
      return "";
    })
    .map(sanitizeVendorText)
    .filter((s) => s !== "")
    .slice(0, VENDOR_MESSAGES_MAX);
}

/** Text used only to recognise well-known refusals (never shown): vendor messages, else the body's start. */
function matchText(body: unknown): string {
  const vendor = vendorErrors(body);
  if (vendor.length > 0) return vendor.join(" ");
  return typeof body === "string" ? body.slice(0, 2000) : "";
}

/**
 * The thread-limit rejection text seen in production: "Thread Threshold Exceeded — The Autotask API
 * thread threshold of 3 threads has been exceeded." (internal code Itgenatr005). It "may arrive with a
 * non-429 HTTP status", so it is recognised by its text whatever the status (docs/autotask.md, Thresholds and
 * limits; n8n-nodes-autotask's retry handler).
 */
const THREAD_LIMIT_TEXT = /thread threshold (of \d+ threads has been )?exceeded|itgenatr005/i;

/** "IntegrationCode is invalid." — answered with HTTP 500 (docs/autotask.md, Authentication). */
const INTEGRATION_CODE_TEXT = /integration\s*code is invalid/i;

/** Unknown username at zone discovery — HTTP 500 (docs/autotask.md, Zone discovery). */
const ZONE_TEXT = /zone information could not be determined/i;

/**
 * Impersonation refused; n8n recognises this text (docs/autotask.md, Authentication); its status is
 * unconfirmed.
 */
const IMPERSONATION_TEXT = /does not have the adequate permissions/i;

/**
 * Deleting/updating a record that is gone: HTTP 500 "No matching records found" (docs/autotask.md, Writes).
 */
const NO_MATCH_TEXT = /no matching records found/i;

/**
 * Autotask answers validation and business-rule failures with HTTP 500 and its `errors` array (a
 * company without CompanyName, a reference to a missing or inactive record, a required field left
 * out). Such a 500 means "refused, nothing applied": retrying cannot help and it is not ambiguous. A 500
 * in that shape is therefore final unless its text reads like a server fault (TRANSIENT_TEXT); a 5xx
 * without that shape (HTML, plain text, ASP.NET's generic `{"Message":"An error has occurred."}`) is a
 * transient server fault, unless its text is one of the refusals below.
 */
const VALIDATION_TEXT =
  /missing required field|invalid value for field|is not a valid|does not exist|does not reference|cannot be changed|unable to find|is not queryable|not queryable|exceeds the maximum length|does not match|is required|is used by|already exists|must be|not valid|is read-?only|not allowed|does not support|reference value on field/i;

/** Texts of server faults that may pass: never final, whatever the shape. */
const TRANSIENT_TEXT =
  /unexpected error|an error has occurred|timed? ?out|deadlock|try again|temporar|unavailable|too busy|database/i;

/**
 * An unknown API username on a normal call is answered with HTTP 500, not 401 (apigrate's maintainer,
 * see docs/autotask-errors.md); the text is not documented, so it is recognised loosely.
 */
const UNKNOWN_USER_TEXT =
  /\b(api ?user|user ?name|user)( was| is)? (not found|unknown)|unknown (api )?user|invalid (api )?user ?name|unauthori[sz]ed|authentication failed|not authenticated/i;

export interface ClassifyContext {
  /** "PATCH ConfigurationItems" etc., named in the message. */
  operation?: string;
  /** True for create/update/delete: a transient 5xx then leaves the outcome unknown (ambiguous). */
  write?: boolean;
  /** Clock for HTTP-date Retry-After values (epoch ms); default Date.now(). */
  nowMs?: number;
}

/**
 * Classifies a non-2xx HTTP answer. 4xx are never retryable except 429 and the thread-limit text;
 * a 500 in Autotask's `errors` shape is final unless it reads as a server fault; other 5xx are
 * retryable unless their text is a known refusal; a retryable 5xx on a write is ambiguous (the server
 * may have applied it before failing). The message quotes the vendor's sanitised messages only, never
 * a body of another shape.
 */
export function classify(
  status: number,
  body: unknown,
  headers?: HeaderSource,
  ctx: ClassifyContext = {},
): PsaError {
  const errors = vendorErrors(body);
  const shape = errorShape(body);
  const text = matchText(body);
  const op = ctx.operation ? `${ctx.operation}: ` : "";
  const came =
    errors.length > 0
      ? `got HTTP ${status}: ${errors.map((e) => JSON.stringify(e)).join("; ")}`
      : body === undefined
        ? `got HTTP ${status} with no error text`
        : `got HTTP ${status} (its body is not Autotask's error format and is not shown)`;
  const retryAfterMs = parseRetryAfter(header(headers, "retry-after"), ctx.nowMs ?? Date.now());
  const base = { status, errors, retryAfterMs, operation: ctx.operation };
  const make = (code: PsaErrorCode, expected: string, retryable: boolean, ambiguous = false) =>
    new PsaError({ ...base, code, retryable, ambiguous, message: `${op}expected ${expected}, ${came}` });

  // Checked first: the text decides, whatever the status.
  if (THREAD_LIMIT_TEXT.test(text)) {
    return make("THREAD_LIMIT", "at most the allowed concurrent requests on this endpoint", true);
  }
  if (status === 429) return make("RATE_LIMITED", "a request within the API rate limits", true);
  if (INTEGRATION_CODE_TEXT.test(text)) {
    return make("INTEGRATION_CODE", "a valid API tracking identifier (integration code)", false);
  }
  if (ZONE_TEXT.test(text)) return make("ZONE", "the zone of this API username", false);
  if (IMPERSONATION_TEXT.test(text)) {
    return make("AUTH", "a resource the API user may impersonate", false);
  }
  if (status === 401 || status === 403) {
    return make("AUTH", "the API user's UserName and Secret to be accepted", false);
  }
  if (status === 404) return make("NOT_FOUND", "an existing resource", false);
  if (status === 405) return make("METHOD_NOT_ALLOWED", "a method this entity supports", false);
  if (status >= 400 && status < 500) return make("INVALID_REQUEST", "a valid request", false);
  if (status >= 500) {
    if (NO_MATCH_TEXT.test(text)) return make("NOT_FOUND", "an existing record", false);
    if (shape !== "none" && UNKNOWN_USER_TEXT.test(text)) {
      return make("AUTH", "the API username to be known to Autotask", false);
    }
    if (TRANSIENT_TEXT.test(text)) return make("SERVER", "a successful answer", true, ctx.write === true);
    if (shape === "errors" || (shape === "message" && VALIDATION_TEXT.test(text)))
      return make("INVALID_REQUEST", "a valid request", false);
    return make("SERVER", "a successful answer", true, ctx.write === true);
  }
  return make("BAD_RESPONSE", "a 2xx answer", false, ctx.write === true);
}

/** Connection errors that prove the request never left (nothing can have been applied). */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH"]);

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface NetworkContext extends ClassifyContext {
  /** The request was aborted by our own timeout. */
  timedOut?: boolean;
  timeoutMs?: number;
}

/**
 * Classifies a failure to get any answer. Always retryable; ambiguous for writes unless the
 * connection provably never opened (ECONNREFUSED, DNS failures).
 */
export function classifyNetworkError(err: unknown, ctx: NetworkContext = {}): PsaError {
  const op = ctx.operation ? `${ctx.operation}: ` : "";
  if (ctx.timedOut) {
    return new PsaError({
      code: "TIMEOUT",
      retryable: true,
      ambiguous: ctx.write === true,
      operation: ctx.operation,
      cause: err,
      message: `${op}expected an answer within ${ctx.timeoutMs ?? "the request timeout"} ms, got none`,
    });
  }
  const code = errorCode(err);
  const detail = code ?? (err instanceof Error ? err.message : String(err));
  const sent = !(code !== undefined && NOT_SENT_CODES.has(code));
  return new PsaError({
    code: "NETWORK",
    retryable: true,
    ambiguous: ctx.write === true && sent,
    operation: ctx.operation,
    cause: err,
    message: `${op}expected an HTTP answer, got a connection failure (${detail})`,
  });
}
