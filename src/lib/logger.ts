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

/** Query parameters whose values are credentials, by their decoded, lower-cased name. */
const SECRET_PARAMS = new Set(["access_token", "token", "ticket", "secret", "password"]);

/**
 * A URL with the value of every credential-bearing query parameter masked. Names are compared after
 * percent-decoding (`access%5Ftoken` is `access_token`), since that is how the server reads them.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const hash = url.indexOf("#", q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const masked = query
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const name = decodeLoosely(eq < 0 ? pair : pair.slice(0, eq));
      return SECRET_PARAMS.has(name.trim().toLowerCase())
        ? `${pair.slice(0, eq < 0 ? undefined : eq)}=********`
        : pair;
    })
    .join("&");
  return `${url.slice(0, q + 1)}${masked}${hash < 0 ? "" : url.slice(hash)}`;
}

/** Percent-decoding that never throws: a malformed escape is left as it is. */
function decodeLoosely(s: string): string {
  const plus = s.replace(/\+/g, " ");
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus.replace(/%([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  }
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

/**
 * The process's logger. `onLevel` is told the level of every line written (the console summary counts
 * warnings and errors with it).
 */
export function createLogger(
  level: string,
  destination?: NodeJS.WritableStream,
  o: { onLevel?: (level: number) => void } = {},
): Logger {
  const onLevel = o.onLevel;
  const hooks = onLevel
    ? {
        logMethod(this: Logger, args: Parameters<Logger["info"]>, method: Logger["info"], lvl: number) {
          onLevel(lvl);
          return method.apply(this, args);
        },
      }
    : undefined;
  const opts = {
    level,
    redact: { paths: REDACT_PATHS, censor: "********" },
    serializers,
    ...(hooks ? { hooks } : {}),
  };
  return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts);
}
