/**
 * What the ConnectWise ports need of a client: reads (one record, pages, all, counts), the three
 * writes, an idempotent create, and the pinned fetch of a callback signing key. ConnectWiseClient
 * (client.ts) is the real one; tests may pass another.
 */
import type { PatchOp } from "./types.js";

export interface ListOptions {
  conditions?: string | undefined;
  childConditions?: string | undefined;
  customFieldConditions?: string | undefined;
  /** "id desc", "_info/lastUpdated asc"; navigable paging is used when set (forward-only otherwise). */
  orderBy?: string | undefined;
  /** Only these paths are returned ("id", "status/id", "_info/lastUpdated"); `id` is always added. */
  fields?: readonly string[] | undefined;
  /** Rows per page, 1–1000 (default 1000). */
  pageSize?: number | undefined;
  /** Stop after this many rows. */
  limit?: number | undefined;
  /** Other query parameters an endpoint needs (the documents list: recordType, recordId). */
  params?: Record<string, string> | undefined;
}

export interface ConnectWiseStats {
  /** HTTP requests sent to the API (retries and signing-key fetches included, discovery excluded). */
  requests: number;
  /** Requests by "METHOD path" with ids as {id}, e.g. "GET service/tickets/{id}/notes". */
  byOperation: Record<string, number>;
  retries: number;
  rateLimited: number;
  serverErrors: number;
  networkErrors: number;
  timeouts: number;
  /** Waits after 429s. */
  throttledMs: number;
  backoffMs: number;
  discoveries: number;
  ambiguousCreates: number;
  recoveredByLookup: number;
}

export interface ConnectWiseApi {
  /** `GET path` → the record, or null when ConnectWise answers 404 NotFound. */
  get<T>(path: string, fields?: readonly string[]): Promise<T | null>;
  /** `GET path` page by page (forward-only unless ordered), following the `Link` header. */
  pages<T>(path: string, o?: ListOptions): AsyncGenerator<T[], void, undefined>;
  all<T>(path: string, o?: ListOptions): Promise<T[]>;
  /** `GET path/count` → `{count}`. */
  count(path: string, conditions?: string): Promise<number>;
  /** `POST path` (JSON, or a RawBody as it is) → the created record. Never sent again after an ambiguous failure. */
  create<T>(path: string, body: unknown): Promise<T>;
  /**
   * A create that looks first: after an ambiguous failure it waits a backoff, calls `lookup`, and
   * sends again only when nothing was found.
   */
  createIdempotent<T>(path: string, body: unknown, lookup: () => Promise<T | null>): Promise<T>;
  /** `GET path` → a file's bytes and content type, or null when ConnectWise answers 404 NotFound. */
  download(path: string): Promise<{ data: Buffer; contentType: string } | null>;
  /** `PATCH path` with JSON-Patch operations → the record. Retried: the operations set absolute values. */
  patch<T>(path: string, ops: PatchOp[]): Promise<T>;
  /** `DELETE path`; a record already gone after an attempt of unknown outcome counts as deleted. */
  delete(path: string): Promise<void>;
  /**
   * The callback signing key behind a `key_url`, fetched only when the URL is on the configured site
   * (or its API host), with the API's credentials; throws otherwise.
   */
  signingKey(keyUrl: string): Promise<string>;
  /** The origins a key_url may name: the configured site's and its API host's. */
  trustedOrigins(): Promise<string[]>;
  stats(): ConnectWiseStats;
}

/** A request body already serialized, sent as it is: a multipart/form-data upload. */
export class RawBody {
  constructor(
    readonly bytes: Buffer,
    readonly contentType: string,
  ) {}
}

/**
 * A form serialized once by the platform (boundary and part headers), so that a retry or a
 * look-up-then-resend sends the same bytes.
 */
export async function formBody(form: FormData): Promise<RawBody> {
  const r = new Response(form);
  return new RawBody(Buffer.from(await r.arrayBuffer()), String(r.headers.get("content-type")));
}

export interface ConnectWiseCredentials {
  /** The site the partner logs in to: "na.myconnectwise.net", "https://cw.example.com", … */
  siteUrl: string;
  companyId: string;
  publicKey: string;
  privateKey: string;
  /** The integration's clientId (developer.connectwise.com), sent on every call. */
  clientId: string;
}

/** pino-compatible subset; objects logged never contain credentials. */
export interface ClientLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}
