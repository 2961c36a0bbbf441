/** The error answers of the emulated API (docs/autotask.md, Errors). */

/** An error answered as `{"errors":[message]}` with this HTTP status (docs/autotask.md, Errors). */
export class ApiError extends Error {
  readonly status: number;
  readonly errors: string[];
  /** ASP.NET's own answers (unknown routes, unsupported methods) are `{"Message": …}`, not `{"errors": […]}`. */
  aspNet = false;
  constructor(status: number, ...errors: string[]) {
    super(errors.join(" "));
    this.status = status;
    this.errors = errors;
  }

  /** The answer's body in the shape the real API uses for this error. */
  body(): Record<string, unknown> {
    return this.aspNet ? { Message: this.errors.join(" ") } : { errors: this.errors };
  }
}

/** An error answered in ASP.NET's `{"Message": …}` shape. */
export function aspNetError(status: number, message: string): ApiError {
  const e = new ApiError(status, message);
  e.aspNet = true;
  return e;
}

/** Validation and business-rule failures are HTTP 500 on the real API (docs/autotask.md, Errors). */
export const invalid = (message: string) => new ApiError(500, message);
