/**
 * Low-level client of the Autotask PSA REST API (ATServicesRest/V1.0), contract in
 * docs/autotask.md: zone discovery, auth headers, CRUD, queries with paging, count,
 * entityInformation, ThresholdInformation — paced to the vendor's limits and retried by the rules of
 * docs/reliability.md (Idempotent creates; Retries and backoff; Rate-limit awareness).
 *
 * One instance per partner connection (one API user + integration code); it holds that connection's
 * zone, limiter, budget and statistics and nothing is shared between instances. Credentials are only
 * ever put in request headers — never in messages, errors or logs.
 *
 * This file keeps the public methods; the rest lives beside it, one role each: client-types.ts (options,
 * defaults, statistics), client-options.ts (options resolved), request.ts (retries, limiter, exchange),
 * zone.ts (zone discovery), budget-gate.ts (hourly budget), responses.ts and shapes.ts (what is read and
 * what is sent), idempotent.ts (creates safe to repeat).
 */

import { isPsaError } from "../errors.js";
import { resolveClientOptions } from "./client-options.js";
import type {
  AutotaskClientOptions,
  AutotaskClientStats,
  Call,
  ClientContext,
  WriteOptions,
} from "./client-types.js";
import { createWithLookup } from "./idempotent.js";
import { RequestPipeline } from "./request.js";
import { badResponse, isObject, parseThreshold, prop, ROUTE_MISS, writtenId } from "./responses.js";
import { checkEntity, checkId, childPath, queryBody } from "./shapes.js";
import {
  ALL_RECORDS,
  type AutotaskEntity,
  type EntityInformation,
  type EntityName,
  type FieldInfo,
  type QueryFilter,
  type QueryOptions,
  type ThresholdInformation,
  type UdfInfo,
} from "./types.js";
import { ZoneResolver } from "./zone.js";

export {
  type AutotaskClientOptions,
  type AutotaskClientStats,
  type AutotaskCredentials,
  type BudgetOptions,
  type ClientLogger,
  DEFAULT_BUDGET,
  DEFAULT_MAX_CONCURRENT_PER_ENDPOINT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_ZONE_DISCOVERY_URL,
  type WriteOptions,
} from "./client-types.js";
export { queryBody, restBase } from "./shapes.js";

export class AutotaskClient {
  private readonly ctx: ClientContext;
  private readonly pipe: RequestPipeline;

  constructor(options: AutotaskClientOptions) {
    const { ctx, limiter, initialZone, budget, ledger } = resolveClientOptions(options);
    this.ctx = ctx;
    this.pipe = new RequestPipeline(ctx, limiter, new ZoneResolver(ctx, initialZone), budget, ledger);
  }

  // ---- reads -------------------------------------------------------------------------------

  /**
   * `GET E/{id}` → the record, or null when there is none (`{"item": null}` or a 404, docs/autotask.md,
   * Reading records).
   */
  async get<T extends AutotaskEntity = AutotaskEntity>(entity: EntityName, id: number): Promise<T | null> {
    checkEntity(entity);
    checkId(id, "id");
    try {
      const body = await this.pipe.send({
        method: "GET",
        path: `${entity}/${id}`,
        endpoint: entity,
        write: false,
        blindRetry: true,
      });
      if (!isObject(body) || !("item" in body))
        throw badResponse(`GET ${entity}/${id}`, `{"item": …}`, body, false);
      return (body["item"] as T | null) ?? null;
    } catch (e) {
      // apigrate maps 404 to null (docs/autotask.md, Reading records); a route miss is a wrong entity name,
      // not a missing record.
      if (isPsaError(e) && e.status === 404 && !ROUTE_MISS.test(e.errors.join(" "))) return null;
      throw e;
    }
  }

  /**
   * `POST E/query`, then each `pageDetails.nextPageUrl` with the same body (docs/autotask.md, Paging and
   * counts), one page (≤ 500 records) per iteration.
   */
  async *query<T extends AutotaskEntity = AutotaskEntity>(
    entity: EntityName,
    options: QueryOptions = {},
  ): AsyncGenerator<T[], void, undefined> {
    checkEntity(entity);
    const body = queryBody(options);
    const op = `POST ${entity}/query`;
    let answer = await this.pipe.send({
      method: "POST",
      path: `${entity}/query`,
      endpoint: entity,
      body,
      write: false,
      blindRetry: true,
    });
    const seen = new Set<string>();
    for (;;) {
      if (!isObject(answer) || !Array.isArray(prop(answer, "items"))) {
        throw badResponse(op, `{"items": [...], "pageDetails": {...}}`, answer, false);
      }
      yield prop(answer, "items") as T[];
      const details = prop(answer, "pageDetails");
      const next = isObject(details) ? prop(details, "nextPageUrl") : null;
      if (typeof next !== "string" || next === "") return;
      const url = await this.pipe.zones.pagingUrl(next);
      if (seen.has(url)) throw badResponse(op, "a nextPageUrl that moves forward", next, false);
      seen.add(url);
      const path = new URL(url).pathname;
      answer = await this.pipe.send({
        method: "POST",
        path,
        url,
        endpoint: entity,
        body,
        write: false,
        blindRetry: true,
      });
    }
  }

  /** Every record of a query, all pages concatenated. */
  async queryAll<T extends AutotaskEntity = AutotaskEntity>(
    entity: EntityName,
    options: QueryOptions = {},
  ): Promise<T[]> {
    const all: T[] = [];
    for await (const page of this.query<T>(entity, options)) all.push(...page);
    return all;
  }

  /** `POST E/query/count` → `{"queryCount": n}` (docs/autotask.md, Paging and counts). */
  async count(entity: EntityName, filter: QueryFilter = ALL_RECORDS): Promise<number> {
    checkEntity(entity);
    const body = await this.pipe.send({
      method: "POST",
      path: `${entity}/query/count`,
      endpoint: entity,
      body: { filter },
      write: false,
      blindRetry: true,
    });
    const n = isObject(body) ? prop(body, "queryCount") : undefined;
    if (typeof n !== "number")
      throw badResponse(`POST ${entity}/query/count`, `{"queryCount": n}`, body, false);
    return n;
  }

  /** `GET E/entityInformation` → info (docs/autotask.md, Field information and UDFs). */
  async entityInformation(entity: EntityName): Promise<EntityInformation> {
    const body = await this.readInfo(entity, "entityInformation");
    const info = isObject(body) ? prop(body, "info") : undefined;
    if (!isObject(info)) throw badResponse(`GET ${entity}/entityInformation`, `{"info": {...}}`, body, false);
    return info as unknown as EntityInformation;
  }

  /**
   * `GET E/entityInformation/fields` → FieldInfo[] with picklist values (docs/autotask.md, Field information
   * and UDFs).
   */
  async fieldInfo(entity: EntityName): Promise<FieldInfo[]> {
    return this.fieldList(entity, "entityInformation/fields");
  }

  /**
   * `GET E/entityInformation/userDefinedFields` → the UDFs (name = display name, docs/autotask.md, Field
   * information and UDFs).
   */
  async udfInfo(entity: EntityName): Promise<UdfInfo[]> {
    return this.fieldList(entity, "entityInformation/userDefinedFields");
  }

  /**
   * `GET ThresholdInformation` (docs/autotask.md, Entities and fields used): the database's hourly threshold
   * and current usage. The call itself counts toward usage; it also refreshes the client's budget view.
   */
  async thresholdInformation(): Promise<ThresholdInformation> {
    const info = parseThreshold(
      await this.pipe.send({
        method: "GET",
        path: "ThresholdInformation",
        endpoint: "ThresholdInformation",
        write: false,
        blindRetry: true,
        skipBudget: true,
      }),
    );
    await this.pipe.budget.record(info);
    return info;
  }

  // ---- writes ------------------------------------------------------------------------------

  /**
   * `POST E` → the new id. Never retried after an ambiguous failure (timeout, connection lost, 5xx
   * after the request went out): it throws PsaError{ambiguous: true} and the caller decides — use
   * `createIdempotent` to look the record up first. Failures answered before anything was applied
   * (429, thread limit, 401 with a moved zone) are retried as usual.
   */
  async create(entity: EntityName, body: Record<string, unknown>, opts: WriteOptions = {}): Promise<number> {
    checkEntity(entity);
    return this.writeForId({
      method: "POST",
      path: entity,
      endpoint: entity,
      body,
      write: true,
      blindRetry: false,
      impersonate: opts.impersonationResourceId,
    });
  }

  /**
   * `POST P/{parentId}/C` (e.g. Tickets/100/Notes); the parent id field should be in the body too
   * (docs/autotask.md, Writes).
   */
  async createChild(
    parent: EntityName,
    parentId: number,
    child: string,
    body: Record<string, unknown>,
    opts: WriteOptions = {},
  ): Promise<number> {
    const path = childPath(parent, parentId, child);
    return this.writeForId({
      method: "POST",
      path,
      endpoint: parent,
      body,
      write: true,
      blindRetry: false,
      impersonate: opts.impersonationResourceId,
    });
  }

  /**
   * A create that is safe to repeat: after an ambiguous failure it calls `lookup` (e.g. find the CI
   * by its "Partner Portal Device Id" UDF, or the ticket by externalID) and returns the id found;
   * only when the lookup finds nothing is the create tried again (docs/reliability.md, Idempotent creates).
   * Before each lookup it waits a backoff delay, so a write still being applied has time to land.
   */
  async createIdempotent(
    entity: EntityName,
    body: Record<string, unknown>,
    lookup: () => Promise<number | null>,
    opts: WriteOptions = {},
  ): Promise<number> {
    return createWithLookup(this.ctx, () => this.create(entity, body, opts), lookup);
  }

  /** `createIdempotent` for a child entity (e.g. a ticket note found by its text). */
  async createChildIdempotent(
    parent: EntityName,
    parentId: number,
    child: string,
    body: Record<string, unknown>,
    lookup: () => Promise<number | null>,
    opts: WriteOptions = {},
  ): Promise<number> {
    return createWithLookup(this.ctx, () => this.createChild(parent, parentId, child, body, opts), lookup);
  }

  /**
   * `PATCH E` with `{id, …changed fields}` → the id (docs/autotask.md, Writes). Retried: it sets absolute
   * values.
   */
  async update(
    entity: EntityName,
    body: Record<string, unknown> & { id: number },
    opts: WriteOptions = {},
  ): Promise<number> {
    checkEntity(entity);
    checkId(body.id, "id in the PATCH body");
    return this.writeForId(
      {
        method: "PATCH",
        path: entity,
        endpoint: entity,
        body,
        write: true,
        blindRetry: true,
        impersonate: opts.impersonationResourceId,
      },
      body.id,
    );
  }

  /** `PATCH P/{parentId}/C`. */
  async updateChild(
    parent: EntityName,
    parentId: number,
    child: string,
    body: Record<string, unknown> & { id: number },
    opts: WriteOptions = {},
  ): Promise<number> {
    const path = childPath(parent, parentId, child);
    checkId(body.id, "id in the PATCH body");
    return this.writeForId(
      {
        method: "PATCH",
        path,
        endpoint: parent,
        body,
        write: true,
        blindRetry: true,
        impersonate: opts.impersonationResourceId,
      },
      body.id,
    );
  }

  /** `PUT E`: full replace — writable fields left out become null (docs/autotask.md, Writes). */
  async replace(
    entity: EntityName,
    body: Record<string, unknown> & { id: number },
    opts: WriteOptions = {},
  ): Promise<number> {
    checkEntity(entity);
    checkId(body.id, "id in the PUT body");
    return this.writeForId(
      {
        method: "PUT",
        path: entity,
        endpoint: entity,
        body,
        write: true,
        blindRetry: true,
        impersonate: opts.impersonationResourceId,
      },
      body.id,
    );
  }

  /**
   * `DELETE E/{id}` (only where the entity allows it). Retried; when a retry finds the record gone
   * after an attempt whose outcome was unknown, the earlier attempt deleted it and this succeeds.
   */
  async delete(entity: EntityName, id: number, opts: WriteOptions = {}): Promise<void> {
    checkEntity(entity);
    checkId(id, "id");
    await this.deleteCall({
      method: "DELETE",
      path: `${entity}/${id}`,
      endpoint: entity,
      write: true,
      blindRetry: true,
      impersonate: opts.impersonationResourceId,
    });
  }

  /** `DELETE P/{parentId}/C/{id}`. */
  async deleteChild(
    parent: EntityName,
    parentId: number,
    child: string,
    id: number,
    opts: WriteOptions = {},
  ): Promise<void> {
    checkId(id, "id");
    const path = `${childPath(parent, parentId, child)}/${id}`;
    await this.deleteCall({
      method: "DELETE",
      path,
      endpoint: parent,
      write: true,
      blindRetry: true,
      impersonate: opts.impersonationResourceId,
    });
  }

  // ---- zone --------------------------------------------------------------------------------

  /** The zone's REST base in use (discovering it first when needed). */
  async zoneUrl(): Promise<string> {
    return (await this.pipe.zones.current()).base;
  }

  // ---- statistics --------------------------------------------------------------------------

  stats(): AutotaskClientStats {
    return this.pipe.stats();
  }

  // ---- internals ---------------------------------------------------------------------------

  private async readInfo(entity: EntityName, sub: string): Promise<unknown> {
    checkEntity(entity);
    return this.pipe.send({
      method: "GET",
      path: `${entity}/${sub}`,
      endpoint: entity,
      write: false,
      blindRetry: true,
    });
  }

  private async fieldList(entity: EntityName, sub: string): Promise<FieldInfo[]> {
    const body = await this.readInfo(entity, sub);
    const fields = isObject(body) ? prop(body, "fields") : undefined;
    if (!Array.isArray(fields)) throw badResponse(`GET ${entity}/${sub}`, `{"fields": [...]}`, body, false);
    return fields as FieldInfo[];
  }

  private async writeForId(call: Call, fallbackId?: number): Promise<number> {
    const body = await this.pipe.send(call);
    return writtenId(`${call.method} ${call.path}`, body, fallbackId);
  }

  private async deleteCall(call: Call): Promise<void> {
    let ambiguousSeen = false;
    try {
      await this.pipe.send(call, (e) => {
        if (e.ambiguous) ambiguousSeen = true;
      });
    } catch (e) {
      if (isPsaError(e) && e.code === "NOT_FOUND" && ambiguousSeen) return;
      throw e;
    }
  }
}
