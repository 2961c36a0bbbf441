import { PortalError } from "../portal/errors.js";
import { BUDGET_WAIT_MS } from "../psa/budget.js";
import { isPsaError, type PsaError, type PsaErrorCode } from "../psa/errors.js";
import { BUILTIN_MANIFESTS } from "../psa/manifests.js";
import { isDbUnavailable } from "../store/availability.js";
import { TicketSyncError } from "../sync/tickets/errors.js";

/**
 * The one place where an error of any family becomes an HTTP answer: a status, a stable code and a
 * message that is safe to show. The error handler in app.ts only sends what this returns.
 */
export interface HttpError {
  status: number;
  body: { statusCode: number; error: string; code: string; message: string; field?: string };
  headers?: Record<string, string>;
  /** How the handler should log it: "error" for the unexpected, "warn" for an outage, none otherwise. */
  log?: "error" | "warn";
}

/** The answer while the database cannot be reached: the client may retry after a pause. */
export const DB_UNAVAILABLE = {
  statusCode: 503,
  error: "database unavailable",
  code: "DB_UNAVAILABLE",
  message: "the database cannot be reached; try again shortly",
};

/**
 * How a PSA failure is answered. It is never a 500: the fault is upstream or in the partner's
 * settings, not here. Transient failures (no answer, a server fault, a rate or thread limit, our own
 * spent budget) are 503 with Retry-After when a wait is known; answers that are not what the contract
 * describes are 502; refusals the partner's settings must fix (credentials, integration code, zone,
 * allow-list, a request Autotask rejects) are 409.
 */
const PSA_STATUS: Record<PsaErrorCode, number> = {
  AUTH: 409,
  INTEGRATION_CODE: 409,
  ZONE: 409,
  NOT_FOUND: 409,
  INVALID_REQUEST: 409,
  METHOD_NOT_ALLOWED: 409,
  URL_NOT_ALLOWED: 409,
  RATE_LIMITED: 503,
  THREAD_LIMIT: 503,
  BUDGET_EXHAUSTED: 503,
  SERVER: 503,
  NETWORK: 503,
  TIMEOUT: 503,
  BAD_RESPONSE: 502,
  REDIRECT: 502,
  TOO_LARGE: 502,
};

const DEFAULT_PSA_LABEL: string = BUILTIN_MANIFESTS[0].label;

/** Longest PSA error message answered (it quotes only sanitised vendor messages; this bounds it). */
const PSA_MESSAGE_MAX = 1000;

/**
 * The answer to an error. `psaLabel` names the PSA a PSA failure came from ("ConnectWise"); without
 * it, the first built-in connector's name.
 */
export function toHttpError(err: unknown, psaLabel: string = DEFAULT_PSA_LABEL): HttpError {
  if (err instanceof PortalError) {
    return answer(
      err.status,
      err.code,
      err.message,
      err.field,
      err.retryAfter !== undefined ? { "retry-after": String(err.retryAfter) } : undefined,
    );
  }
  if (isPsaError(err)) return psaAnswer(err, psaLabel);
  if (err instanceof TicketSyncError) return answer(409, err.code, err.message);
  const e = err as {
    validation?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }>;
    validationContext?: string;
    statusCode?: number;
    code?: string;
    message?: string;
  } | null;
  if (e?.validation) {
    const v = e.validation[0];
    const field = fieldOf(v?.instancePath ?? "", v?.params);
    return answer(400, "INVALID", `${field || e.validationContext || "request"}: ${describe(v)}`, field);
  }
  if (isDbUnavailable(err)) {
    return { status: 503, body: DB_UNAVAILABLE, headers: { "retry-after": "5" }, log: "warn" };
  }
  // A client error keeps its status; only Fastify's own (bad JSON, wrong content type, body too
  // large) keep their code and message. Anything else, a database error above all, is answered
  // without its code or text.
  const s = e?.statusCode;
  const status = typeof s === "number" && s >= 400 && s < 500 ? s : 500;
  const known = status !== 500 && typeof e?.code === "string" && e.code.startsWith("FST_");
  if (known) return answer(status, e?.code as string, String(e?.message ?? reasonOf(status)));
  if (status === 500) return { ...answer(500, "INTERNAL", "internal error"), log: "error" };
  return answer(status, reasonOf(status).toUpperCase().replace(/ /g, "_"), reasonOf(status));
}

function psaAnswer(err: PsaError, label: string): HttpError {
  const status = PSA_STATUS[err.code] ?? 502;
  const waitMs =
    err.code === "BUDGET_EXHAUSTED"
      ? (err.retryAfterMs ?? BUDGET_WAIT_MS)
      : status === 503
        ? err.retryAfterMs
        : undefined;
  const headers =
    waitMs !== undefined ? { "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))) } : undefined;
  return answer(status, `PSA_${err.code}`, `${label}: ${safeText(err.message)}`, undefined, headers);
}

/** PSA messages quote only sanitised vendor text; control characters are stripped again and the length bounded. */
function safeText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  const one = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ").trim();
  return one.length > PSA_MESSAGE_MAX ? `${one.slice(0, PSA_MESSAGE_MAX - 1)}…` : one;
}

function answer(
  status: number,
  code: string,
  message: string,
  field?: string,
  headers?: Record<string, string>,
): HttpError {
  return {
    status,
    body: { statusCode: status, error: reasonOf(status), code, message, ...(field ? { field } : {}) },
    ...(headers ? { headers } : {}),
  };
}

/** Turns Ajv's instance path (/ticketing/queueId, /0/hostname) into ticketing.queueId, [0].hostname. */
function fieldOf(instancePath: string, params?: Record<string, unknown>): string {
  const parts = instancePath.split("/").filter(Boolean);
  const extra = (params?.missingProperty ?? params?.additionalProperty) as string | undefined;
  if (extra) parts.push(extra);
  return parts
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join("")
    .replace(/^\./, "");
}

function describe(
  v: { message?: string; keyword?: string; params?: Record<string, unknown> } | undefined,
): string {
  if (!v) return "invalid";
  if (v.params?.additionalProperty) return "is not a known field";
  if (v.params?.missingProperty) return "is required";
  if (v.params?.allowedValues) return `must be one of ${(v.params.allowedValues as unknown[]).join(", ")}`;
  return v.message ?? "invalid";
}

export function reasonOf(status: number): string {
  return (
    {
      400: "Bad Request",
      401: "Unauthorized",
      403: "Forbidden",
      404: "Not Found",
      409: "Conflict",
      413: "Payload Too Large",
      415: "Unsupported Media Type",
      429: "Too Many Requests",
      502: "Bad Gateway",
      503: "Service Unavailable",
    }[status] ?? (status >= 400 && status < 500 ? "Bad Request" : "Internal Server Error")
  );
}
