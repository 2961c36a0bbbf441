/**
 * The signature of a ConnectWise callback (docs/connectwise.md, Callbacks): the header
 * `x-content-signature` is base64(HMAC-SHA256(key = SHA-256(UTF-8(signing_key)), the raw body)),
 * where the signing key is served at the payload's `Metadata.key_url`. That URL comes from an
 * unauthenticated body, so it is used only when it is on the partner's own site (the client
 * refuses any other origin), and keys are cached so a delivery costs no extra request. A mismatch
 * fetches the key once more (it may have changed), at most once a minute per URL.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { ConnectWiseApi } from "./api.js";
import type { ConnectWiseCache } from "./cache.js";

/** How long a fetched key is used without asking again, and the least time between two fetches. */
export const KEY_TTL_MS = 60 * 60_000;
const REFETCH_AFTER_MS = 60_000;

export function callbackSignature(raw: Buffer, signingKey: string): Buffer {
  const k = createHash("sha256").update(signingKey, "utf8").digest();
  return createHmac("sha256", k).update(raw).digest();
}

export function header(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  for (const [k, v] of Object.entries(headers))
    if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  return undefined;
}

function keyUrlOf(raw: Buffer): string | null {
  try {
    const body = JSON.parse(raw.toString("utf8")) as unknown;
    const meta = body && typeof body === "object" ? (body as Record<string, unknown>)["Metadata"] : undefined;
    const url = meta && typeof meta === "object" ? (meta as Record<string, unknown>)["key_url"] : undefined;
    return typeof url === "string" && url !== "" ? url : null;
  } catch {
    return null;
  }
}

export async function verifyCallback(
  api: ConnectWiseApi,
  cache: ConnectWiseCache,
  raw: Buffer,
  headers: Record<string, string | string[] | undefined>,
  now: () => number,
): Promise<{ ok: true } | { ok: false; error: string }> {
  const sig = header(headers, "x-content-signature")?.trim();
  if (!sig) return { ok: false, error: "missing x-content-signature" };
  const given = Buffer.from(sig, "base64");
  if (given.length !== 32) return { ok: false, error: "invalid x-content-signature" };
  const keyUrl = keyUrlOf(raw);
  if (keyUrl === null) return { ok: false, error: "Metadata.key_url: expected the URL of the signing key" };
  const matches = (key: string) => timingSafeEqual(given, callbackSignature(raw, key));
  const fetchKey = async (): Promise<string> => {
    const key = await api.signingKey(keyUrl);
    cache.signingKeys.set(keyUrl, { key, at: now() });
    return key;
  };
  try {
    const cached = cache.signingKeys.get(keyUrl);
    if (cached && now() - cached.at < KEY_TTL_MS) {
      if (matches(cached.key)) return { ok: true };
      if (now() - cached.at < REFETCH_AFTER_MS) return { ok: false, error: "invalid x-content-signature" };
    }
    return matches(await fetchKey()) ? { ok: true } : { ok: false, error: "invalid x-content-signature" };
  } catch (e) {
    // The reason is ours (a refused key_url, an unreachable site); the key itself is never shown.
    const why = e instanceof Error ? e.message : String(e);
    return { ok: false, error: `the signing key could not be read: ${why.slice(0, 300)}` };
  }
}
