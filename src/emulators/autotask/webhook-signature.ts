/** Serialisation and signature of webhook deliveries (docs/autotask.md, Signature; webhooks.ts). */
import { createHmac, timingSafeEqual } from "node:crypto";

/** How the delivery body is serialised. */
export type JsonEscaping = "aspnet" | "none";

const ASPNET_ESCAPES: Record<string, string> = {
  "&": "\\u0026",
  "<": "\\u003C",
  ">": "\\u003E",
  "'": "\\u0027",
  "`": "\\u0060",
  "+": "\\u002B",
};

function hex4(code: number): string {
  return code.toString(16).toUpperCase().padStart(4, "0");
}

/**
 * Re-escapes the string literals of a JSON text the way Autotask's (ASP.NET) serialiser does,
 * docs/autotask.md, Signature: `& < > ' \` +` and `"` as `\uXXXX` (upper-case hex), every
 * non-ASCII UTF-16 unit as `\uXXXX` (astral characters become a surrogate pair of escapes). Other
 * escapes JSON.stringify produced (`\\`, `\n`, `\u001F`, …) are kept. Only string literals are
 * touched — a `+` in a number such as `1e+21` is structural. The result parses to the same value.
 */
export function aspNetEscapeJson(json: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const ch = json[i] as string;
    if (!inString) {
      if (ch === '"') inString = true;
      out += ch;
      continue;
    }
    if (ch === "\\") {
      const next = json[i + 1];
      if (next === '"') out += "\\u0022";
      else if (next === "u") {
        out += json.slice(i, i + 6);
        i += 4;
      } else out += `\\${next}`;
      i++;
      continue;
    }
    if (ch === '"') {
      inString = false;
      out += ch;
      continue;
    }
    const code = ch.charCodeAt(0);
    const esc = ASPNET_ESCAPES[ch];
    if (esc) out += esc;
    else if (code > 0x7f) out += `\\u${hex4(code)}`;
    else out += ch;
  }
  return out;
}

/** The exact bytes of a delivery body. */
export function serializeWebhookBody(payload: unknown, escaping: JsonEscaping = "aspnet"): Buffer {
  const json = JSON.stringify(payload);
  return Buffer.from(escaping === "aspnet" ? aspNetEscapeJson(json) : json, "utf8");
}

/**
 * `sha1=<base64 HMAC-SHA1(secretKey, body bytes)>`, the X-Hook-Signature value (docs/autotask.md, Signature).
 */
export function signHookBody(secretKey: string, body: Uint8Array | string): string {
  return `sha1=${createHmac("sha1", Buffer.from(secretKey, "utf8")).update(body).digest("base64")}`;
}

/**
 * Checks an X-Hook-Signature header against the raw body bytes as received, in constant time
 * (docs/reliability.md, Signature verification). Accepts the header with or without the `sha1=` prefix.
 */
export function verifyHookSignature(
  secretKey: string,
  rawBody: Uint8Array | string,
  header: string | string[] | null | undefined,
): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== "string" || value.length === 0) return false;
  const b64 = value.replace(/^sha1=/i, "").trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return false;
  const got = Buffer.from(b64, "base64");
  const want = createHmac("sha1", Buffer.from(secretKey, "utf8")).update(rawBody).digest();
  return got.length === want.length && timingSafeEqual(got, want);
}
