/**
 * Errors the portal raises, each with a stable code and the HTTP status the API answers with.
 * Messages say what was wrong and, for bad input, name the field.
 */
export class PortalError extends Error {
  constructor(
    readonly code:
      | "NOT_FOUND"
      | "FORBIDDEN"
      | "INVALID"
      | "CONFLICT"
      | "UNAUTHORIZED"
      | "RATE_LIMITED"
      | "TOO_LARGE"
      | "UNAVAILABLE",
    readonly status: number,
    message: string,
    readonly field?: string,
    /** Seconds the client should wait before trying again (sent as Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "PortalError";
  }
}

export const notFound = (what: string) => new PortalError("NOT_FOUND", 404, `${what} not found`);
export const forbidden = (what: string) => new PortalError("FORBIDDEN", 403, `your role may not ${what}`);
export const invalid = (field: string, message: string) =>
  new PortalError("INVALID", 400, `${field}: ${message}`, field);
export const conflict = (message: string, field?: string) => new PortalError("CONFLICT", 409, message, field);
export const tooManyRequests = (message: string, retryAfterSeconds: number) =>
  new PortalError("RATE_LIMITED", 429, message, undefined, Math.max(1, Math.ceil(retryAfterSeconds)));
/** Something the answer depends on (the partner's PSA) cannot be reached now: 503, try again later. */
export const unavailable = (message: string, retryAfterSeconds: number) =>
  new PortalError("UNAVAILABLE", 503, message, undefined, Math.max(1, Math.ceil(retryAfterSeconds)));
