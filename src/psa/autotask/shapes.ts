/**
 * What the Autotask REST client (client.ts) checks and builds before anything is sent: the REST base,
 * entity names and ids, child paths, the query body and the URL allow-list (docs/autotask.md).
 */

import { PsaError } from "../errors.js";
import type { PsaUrlPolicy } from "../url-policy.js";
import { ALL_RECORDS, type EntityName, type QueryOptions } from "./types.js";

const ENTITY_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/**
 * Normalises a REST base to "scheme://host[:port]/…/ATServicesRest/": adds the segment when a bare
 * host is given, strips a trailing "V1.0", adds the trailing slash apigrate relies on (docs/autotask.md, Zone
 * discovery; The public npm client).
 */
export function restBase(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PsaError({
      code: "ZONE",
      retryable: false,
      message: `expected an http(s) URL for the Autotask REST base, got ${JSON.stringify(url)}`,
    });
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    throw new PsaError({
      code: "ZONE",
      retryable: false,
      message: `expected an http(s) URL for the Autotask REST base, got the scheme ${u.protocol}`,
    });
  }
  let path = u.pathname.replace(/\/+$/, "").replace(/\/v1\.0$/i, "");
  if (!/\/atservicesrest$/i.test(path)) path = `${path}/ATServicesRest`;
  return `${u.origin}${path}/`;
}

export function checkEntity(name: string): string {
  if (!ENTITY_NAME.test(name)) {
    throw new PsaError({
      code: "INVALID_REQUEST",
      retryable: false,
      message: `expected an Autotask entity name such as "ConfigurationItems", got ${JSON.stringify(name)}`,
    });
  }
  return name;
}

export function checkId(id: number, what: string): number {
  if (!Number.isSafeInteger(id)) {
    throw new PsaError({
      code: "INVALID_REQUEST",
      retryable: false,
      message: `expected an integer ${what}, got ${JSON.stringify(id)}`,
    });
  }
  return id;
}

/** `P/{parentId}/C` after checking each part. */
export function childPath(parent: EntityName, parentId: number, child: string): string {
  checkEntity(parent);
  checkEntity(child);
  checkId(parentId, "parent id");
  return `${parent}/${parentId}/${child}`;
}

/** Refuses a URL outside the allow-list before anything is sent (whatever the transport). */
export function checkUrl(urlPolicy: PsaUrlPolicy, url: string, operation: string): void {
  const why = urlPolicy.refusal(url);
  if (why !== null) {
    throw new PsaError({
      code: "URL_NOT_ALLOWED",
      retryable: false,
      operation,
      message: `${operation}: expected a PSA URL on the allow-list, got one that ${why}`,
    });
  }
}

/**
 * The query body of docs/autotask.md, Queries; `id` is added to IncludeFields (required once results span
 * pages).
 */
export function queryBody(options: QueryOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {
    filter: options.filter && options.filter.length > 0 ? options.filter : ALL_RECORDS,
  };
  if (options.includeFields && options.includeFields.length > 0) {
    const fields = [...options.includeFields];
    if (!fields.some((f) => f.toLowerCase() === "id")) fields.unshift("id");
    body["IncludeFields"] = fields;
  }
  if (options.maxRecords !== undefined) {
    if (!Number.isInteger(options.maxRecords) || options.maxRecords < 1 || options.maxRecords > 500) {
      throw new PsaError({
        code: "INVALID_REQUEST",
        retryable: false,
        message: `expected maxRecords (the page size) from 1 to 500, got ${options.maxRecords}`,
      });
    }
    body["MaxRecords"] = options.maxRecords;
  }
  return body;
}
