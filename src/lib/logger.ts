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

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const opts = { level, redact: { paths: REDACT_PATHS, censor: "********" } };
  return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts);
}
