/**
 * How the Autotask REST client (client.ts) reads answers: the BAD_RESPONSE error (which never quotes
 * the body), case-insensitive keys, ThresholdInformation and the id a write returns (docs/autotask.md).
 */

import { PsaError } from "../errors.js";
import type { ThresholdInformation } from "./types.js";

/** "ASP.NET route miss" — the path itself does not exist (not a missing record). */
export const ROUTE_MISS = /no http resource was found/i;

export function badResponse(operation: string, expected: string, body: unknown, write: boolean): PsaError {
  // The body itself is never quoted: only what kind of answer it was.
  const got =
    body === undefined
      ? "an empty body"
      : typeof body === "string"
        ? "a body that is not JSON"
        : `JSON of another shape (${Array.isArray(body) ? "an array" : typeof body === "object" && body ? `keys ${Object.keys(body).slice(0, 5).map(sanitizeKey).join(", ")}` : typeof body})`;
  return new PsaError({
    code: "BAD_RESPONSE",
    retryable: !write,
    // A 2xx to a write means it was applied, but we cannot tell what it produced.
    ambiguous: write,
    operation,
    message: `${operation}: expected ${expected}, got ${got}`,
  });
}

const sanitizeKey = (k: string) => JSON.stringify(k.replace(/[^\w.-]/g, "").slice(0, 40));

export const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Reads a key case-insensitively (the Swagger models are PascalCase, the wire camelCase, docs/autotask.md,
 * Paging and counts).
 */
export function prop(obj: Record<string, unknown>, key: string): unknown {
  if (key in obj) return obj[key];
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

export function parseThreshold(body: unknown): ThresholdInformation {
  const get = (k: string) => (isObject(body) ? prop(body, k) : undefined);
  const threshold = get("externalRequestThreshold");
  const timeframe = get("requestThresholdTimeframe");
  const count = get("currentTimeframeRequestCount");
  if (typeof threshold !== "number" || typeof count !== "number") {
    throw badResponse(
      "GET ThresholdInformation",
      "{externalRequestThreshold, requestThresholdTimeframe, currentTimeframeRequestCount}",
      body,
      false,
    );
  }
  return {
    externalRequestThreshold: threshold,
    requestThresholdTimeframe: typeof timeframe === "number" ? timeframe : 60,
    currentTimeframeRequestCount: count,
  };
}

/**
 * The id a write answered: create → {"itemId": n} (docs/autotask.md, Writes); PATCH/PUT bodies are
 * unconfirmed: n8n accepts itemId or id. `fallbackId` (the id written) stands when the body has none.
 */
export function writtenId(operation: string, body: unknown, fallbackId?: number): number {
  const id = isObject(body) ? (prop(body, "itemId") ?? prop(body, "id")) : undefined;
  if (typeof id === "number" && Number.isSafeInteger(id)) return id;
  if (fallbackId !== undefined && (body === undefined || isObject(body))) return fallbackId;
  throw badResponse(operation, `{"itemId": n}`, body, true);
}
