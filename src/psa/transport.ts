/**
 * The HTTP transport of PSA calls: node:http/https with the operator's URL policy applied at the
 * moment of connecting. The URL must match the allow-list, and unless an exact-origin entry names the
 * origin, the address connected to must not be internal — checked inside the socket's `lookup`, on
 * the very addresses the connection uses, so DNS cannot answer differently between check and connect.
 *
 * It never follows redirects (node:http does not) and hands the body over as a stream, so the caller
 * can stop reading at its size cap.
 */
import {
  lookup as dnsLookup,
  type LookupAddress,
  type LookupAllOptions,
  type LookupOneOptions,
} from "node:dns";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { Readable } from "node:stream";
import { PsaError } from "./errors.js";
import type { FetchFn } from "./http.js";
import { isInternalAddress, type PsaUrlPolicy } from "./url-policy.js";

/** Raised inside the socket's lookup; turned into a non-retryable PsaError by the caller. */
class InternalAddressError extends Error {
  readonly code = "EINTERNALADDRESS";
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`${host} resolves to an internal address`);
  }
}

function refused(message: string): PsaError {
  return new PsaError({ code: "URL_NOT_ALLOWED", retryable: false, message });
}

/** dns.lookup (or `resolve`) that refuses hosts resolving to internal addresses (any of them: no partial answers). */
export function guardedLookup(resolve: typeof dnsLookup = dnsLookup): LookupFunction {
  return (hostname, options, callback) => guardedResolve(resolve, hostname, options, callback);
}

function guardedResolve(
  resolve: typeof dnsLookup,
  hostname: string,
  options: unknown,
  callback: Parameters<LookupFunction>[2],
): void {
  resolve(hostname, { ...(options as LookupOneOptions), all: true } as LookupAllOptions, (err, addresses) => {
    if (err) {
      callback(err, "", 0);
      return;
    }
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isInternalAddress(a.address));
    if (bad || list.length === 0) {
      callback(new InternalAddressError(hostname, bad?.address ?? "none") as NodeJS.ErrnoException, "", 0);
      return;
    }
    if ((options as { all?: boolean }).all)
      (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    else callback(null, (list[0] as LookupAddress).address, (list[0] as LookupAddress).family);
  });
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function toHeaders(res: IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) h.append(k, one);
  }
  return h;
}

/**
 * A FetchFn for PSA calls under `policy`. Requests to URLs outside the allow-list, or to internal
 * addresses the allow-list does not name exactly, fail with URL_NOT_ALLOWED before anything is sent.
 * `ca`: the certificates https connections trust instead of Node's bundled ones (the demo passes
 * them plus its emulator's self-signed one).
 */
export function guardedFetch(
  policy: PsaUrlPolicy,
  opts: { lookup?: typeof dnsLookup; ca?: string | string[] } = {},
): FetchFn {
  const lookup = guardedLookup(opts.lookup);
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const why = policy.refusal(input);
      if (why !== null) {
        reject(refused(`expected a PSA URL on the allow-list, got one that ${why}`));
        return;
      }
      const u = new URL(input);
      const https = u.protocol === "https:";
      const port = u.port || (https ? "443" : "80");
      const exact = policy.isExactOrigin(u.protocol, u.hostname, port);
      const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
      if (!exact && isIP(host) !== 0 && isInternalAddress(host)) {
        reject(refused(`expected a public address for ${u.host}, got an internal one`));
        return;
      }
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((v, k) => {
        headers[k] = v;
      });
      // Strings and bytes (a multipart body serialized by the platform's FormData) are sent.
      const body = typeof init.body === "string" || init.body instanceof Uint8Array ? init.body : undefined;
      if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
      const req = (https ? httpsRequest : httpRequest)(u, {
        method: init.method ?? "GET",
        headers,
        // An exact-origin entry may be internal: resolved as usual (or by the given resolver).
        ...(exact ? (opts.lookup ? { lookup: opts.lookup as unknown as LookupFunction } : {}) : { lookup }),
        ...(init.signal ? { signal: init.signal } : {}),
        ...(https && opts.ca !== undefined ? { ca: opts.ca } : {}),
      });
      req.on("error", (e) => {
        if (
          e instanceof InternalAddressError ||
          (e as { cause?: unknown }).cause instanceof InternalAddressError
        ) {
          const err = e instanceof InternalAddressError ? e : (e as { cause: InternalAddressError }).cause;
          reject(refused(`expected ${err.host} to resolve to a public address, got an internal one`));
          return;
        }
        reject(e);
      });
      req.on("response", (res) => {
        const status = res.statusCode ?? 0;
        if (NULL_BODY.has(status) || status < 200 || status > 599) {
          res.resume();
          resolve(
            new Response(null, {
              status: status >= 200 && status <= 599 ? status : 502,
              headers: toHeaders(res),
            }),
          );
          return;
        }
        const stream = Readable.toWeb(res) as ReadableStream<Uint8Array>;
        resolve(
          new Response(stream, { status, statusText: res.statusMessage ?? "", headers: toHeaders(res) }),
        );
      });
      req.end(body);
    });
}
