import { type Logger, pino } from "pino";

export type { Logger };

/**
 * Paths never written to a log: PSA secrets, API tokens and auth headers, wherever they appear in a
 * logged object (request bodies, headers, integration settings).
 */
export const REDACT_PATHS = [
  "secret",
  "*.secret",
  "*.*.secret",
  "token",
  "*.token",
  "password",
  "*.password",
  "req.headers.authorization",
  "req.headers.secret",
  "headers.authorization",
  "headers.Secret",
  "headers.secret",
];

/** A URL with any `access_token=` query value masked (the live log's EventSource carries its token there). */
export function redactUrl(url: string): string {
  return url.replace(/([?&]access_token=)[^&#]*/gi, "$1********");
}

/** Requests are logged by method, URL (token masked), host and remote address — never their headers. */
const serializers = {
  req(req: {
    method?: string;
    url?: string;
    headers?: Record<string, unknown>;
    socket?: { remoteAddress?: string };
  }) {
    return {
      method: req.method,
      url: redactUrl(req.url ?? ""),
      host: req.headers?.host,
      remoteAddress: req.socket?.remoteAddress,
    };
  },
};

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const opts = { level, redact: { paths: REDACT_PATHS, censor: "********" }, serializers };
  return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts);
}
