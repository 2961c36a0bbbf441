import { PsaError } from "../errors.js";
import { badResponse, isObject } from "./wire.js";

const OPERATION = "GET system/callbackkey";

/**
 * A callback's `key_url`, checked before it is fetched: an absolute URL without credentials or
 * fragment, on one of the configured site's origins, naming ConnectWise's callback key endpoint
 * (docs/connectwise.md, Callbacks). Anything else is refused, so a delivery cannot make nocbridge
 * fetch a key (or anything) from elsewhere.
 */
export function checkKeyUrl(keyUrl: string, trustedOrigins: readonly string[]): URL {
  const refuse = (why: string) =>
    new PsaError({
      code: "URL_NOT_ALLOWED",
      retryable: false,
      operation: OPERATION,
      message: `${OPERATION}: ${why}`,
    });
  let u: URL;
  try {
    u = new URL(keyUrl);
  } catch {
    throw refuse("expected key_url to be an absolute URL");
  }
  if (u.username || u.password || u.hash)
    throw refuse("expected key_url without user name, password or fragment");
  if (!trustedOrigins.includes(u.origin))
    throw refuse("expected key_url on the configured ConnectWise site, got another origin");
  if (!/\/system\/callbackkey\/index\.rails$/i.test(u.pathname))
    throw refuse("expected key_url to name ConnectWise's callback key endpoint");
  return u;
}

/** The signing key in the key endpoint's answer. */
export function signingKeyOf(body: unknown): string {
  const key = isObject(body) ? body["signing_key"] : undefined;
  if (typeof key !== "string" || key === "")
    throw badResponse(OPERATION, '{"signing_key": "…"}', body, false);
  return key;
}
