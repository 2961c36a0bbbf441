import { createHash } from "node:crypto";

/** A stable hash of a JSON-able value (object keys sorted), for "did this change since last time?". */
export function fingerprint(value: unknown): string {
  return createHash("sha256").update(stableJson(value)).digest("base64url").slice(0, 22);
}

export function stableJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
}
