/**
 * Whether an error means the database could not be reached (as opposed to a bad query): the
 * server answers 503 for these and background work waits and retries. PostgreSQL SQLSTATE class 08
 * (connection exception) and 57P01–57P03 (admin shutdown, crash shutdown, cannot connect now) are
 * listed in https://www.postgresql.org/docs/current/errcodes-appendix.html; the socket codes and
 * messages are those of Node and node-postgres (pg, pg-pool) when the server is gone or restarting.
 */
export function isDbUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string") {
      if (SOCKET_CODES.has(code)) return true;
      if (code === "57P01" || code === "57P02" || code === "57P03") return true;
      if (/^08[0-9A-Z]{3}$/.test(code)) return true;
    }
    if (typeof message === "string" && UNAVAILABLE_TEXT.some((re) => re.test(message))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

const UNAVAILABLE_TEXT = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /Client has encountered a connection error and is not queryable/,
  /the database system is (starting up|shutting down|in recovery mode)/,
];
