/**
 * Small pieces of the ConnectWise client's wire handling: resource paths checked before use, the
 * statistics key of a call, and the error for a 2xx answer that is not what the API promises (its
 * body is never quoted).
 */
import { PsaError } from "../errors.js";

const PATH = /^[A-Za-z]+(\/[A-Za-z0-9]+)*$/;

export function checkPath(path: string): string {
  if (!PATH.test(path)) {
    throw new PsaError({
      code: "INVALID_REQUEST",
      retryable: false,
      message: `expected a ConnectWise resource path such as "service/tickets/5", got ${JSON.stringify(path.slice(0, 80))}`,
    });
  }
  return path;
}

/** "GET service/tickets/{id}/notes": the statistics key (never a URL or a query). */
export const opKey = (method: string, path: string) => `${method} ${path.replace(/\/\d+(?=\/|$)/g, "/{id}")}`;

export function badResponse(operation: string, expected: string, body: unknown, write: boolean): PsaError {
  const got =
    body === undefined
      ? "an empty body"
      : typeof body === "string"
        ? "a body that is not JSON"
        : "JSON of another shape";
  return new PsaError({
    code: "BAD_RESPONSE",
    retryable: !write,
    ambiguous: write,
    operation,
    message: `${operation}: expected ${expected}, got ${got}`,
  });
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** The fields parameter with `id` first (paging and every reader need it). */
export function withId(fields: readonly string[]): string {
  return ["id", ...fields.filter((f) => f.toLowerCase() !== "id")].join(",");
}

/** Paging links are absolute; credentials only ever go to the API's own origin. */
export function sameOrigin(link: string, base: string): string {
  const origin = new URL(base).origin;
  let u: URL;
  try {
    u = new URL(link, base);
  } catch {
    throw badResponse("paging", "an absolute Link URL", link, false);
  }
  return u.origin === origin ? u.href : `${origin}${u.pathname}${u.search}`;
}

/** The next page when an answer had no Link: the next pageId (forward-only) or page number. */
export function nextPage(url: string, forwardOnly: boolean, lastId: number, page: number): string {
  const u = new URL(url);
  if (forwardOnly) u.searchParams.set("pageId", String(lastId));
  else u.searchParams.set("page", String(page));
  return u.href;
}
