/**
 * The Autotask API's entity routes (server.ts): CRUD, queries and paging, entityInformation, and the
 * child-entity URLs `P/{parentId}/C[/{id}]` (docs/autotask.md, Entities and URLs).
 */
import type { FastifyRequest } from "fastify";
import { withoutData } from "./attachments.js";
import { childEntity, type EntityDef } from "./entities.js";
import { entityFields, entityInformation, userDefinedFields } from "./fields.js";
import type { RequestGate, Row } from "./hooks.js";
import {
  type Cursor,
  compileQuery,
  countQuery,
  MAX_PAGE_SIZE,
  project,
  type QueryLimits,
  runPage,
} from "./query.js";
import {
  type Authenticated,
  isId,
  jsonParam,
  notAllowed,
  notFound,
  ok,
  type PassThroughThreshold,
  parseJson,
  RawJson,
  type Result,
  rowJson,
} from "./request.js";
import { ApiError, type EmulatorStore, invalid, type Tenant, type WriteContext } from "./store.js";
import {
  checkWebhookCreate,
  checkWebhookUpdate,
  isWebhookRoot,
  type WebhookPolicy,
  webhookCreateAccess,
  webhookCreated,
} from "./webhook-policy.js";

/** What the entity routes read from the server they are part of. */
export interface DispatchContext {
  store: EmulatorStore;
  gate: RequestGate | undefined;
  fallbackThreshold: PassThroughThreshold;
  queryLimits: QueryLimits;
  webhookPolicy: WebhookPolicy;
  restBase: (req: FastifyRequest) => string;
}

/** The handler of one authenticated API request below `/ATServicesRest/V1.0/`. */
export function createDispatch({
  store,
  gate,
  fallbackThreshold,
  queryLimits,
  webhookPolicy,
  restBase,
}: DispatchContext) {
  const writeContext = (a: Authenticated): WriteContext => ({
    personId: a.personId,
    apiResourceId: a.user.resourceId,
    now: store.clock(),
  });

  /** One page of results with its pageDetails (docs/autotask.md, Paging and counts). */
  const queryPage = (
    req: FastifyRequest,
    tenant: Tenant,
    def: EntityDef,
    search: unknown,
    cursor: Cursor,
    pageSize?: number,
  ): Result => {
    const q = compileQuery(tenant, def, search, queryLimits);
    if (pageSize !== undefined) q.pageSize = pageSize;
    const page = runPage(tenant.table(def.name), q, cursor);
    if (q.includeFields && !q.includeFields.includes("id") && (page.hasNext || page.hasPrev)) {
      // "When a result set has >500 rows and IncludeFields is used, id must be among the fields"
      // (docs/autotask.md, Queries).
      throw invalid("IncludeFields must include id when the query returns more than one page.");
    }
    const link = (dir: "next" | "prev", paging: Record<string, number>) =>
      `${restBase(req)}V1.0/${def.name}/query/${dir}?paging=${encodeURIComponent(JSON.stringify(paging))}` +
      `&search=${encodeURIComponent(JSON.stringify(search))}`;
    const first = page.rows[0]?.["id"] as number | undefined;
    const last = page.rows[page.rows.length - 1]?.["id"] as number | undefined;
    // An empty page reached through a cursor still links back to the rows before its position.
    const prevAnchor = first ?? (cursor && "afterId" in cursor ? cursor.afterId + 1 : undefined);
    const pageDetails = {
      count: page.rows.length,
      requestCount: q.pageSize,
      prevPageUrl:
        page.hasPrev && prevAnchor !== undefined
          ? link("prev", { pageSize: q.pageSize, firstId: prevAnchor })
          : null,
      nextPageUrl:
        page.hasNext && last !== undefined ? link("next", { pageSize: q.pageSize, lastId: last }) : null,
    };
    const items = q.includeFields
      ? page.rows.map((r) => JSON.stringify(project(r, q.includeFields)))
      : page.rows.map((r) =>
          def.name === "TicketAttachments" ? JSON.stringify(withoutData(r)) : rowJson(r),
        );
    return ok(new RawJson(`{"items":[${items.join(",")}],"pageDetails":${JSON.stringify(pageDetails)}}`));
  };

  /** Search JSON from `?search=` (GET) or the body (POST). */
  const searchOf = (method: string, params: URLSearchParams, body: unknown): unknown => {
    const fromUrl = jsonParam(params, "search");
    if (fromUrl !== undefined) return fromUrl;
    if (method === "GET") throw new ApiError(400, "The search parameter is required.");
    return body;
  };

  const dispatch = (
    req: FastifyRequest,
    a: Authenticated,
    root: EntityDef,
    segs: string[],
    params: URLSearchParams,
  ): Result => {
    const method = req.method.toUpperCase();
    const { tenant } = a;
    const body = () => parseJson(req.body);
    const path = req.url.split("?")[0] ?? req.url;

    if (root.singleton) {
      // ThresholdInformation: GET only (docs/autotask.md, Entities and fields used).
      if (segs.length !== 1) throw notFound(path);
      if (method !== "GET") throw notAllowed(method);
      const now = store.clock().getTime();
      return ok(gate ? gate.thresholdInformation(tenant.id) : fallbackThreshold.info(tenant.id, now));
    }

    if (segs.length === 1) {
      if (method === "POST") {
        // A child entity is created through its parent's URL only; its root answers 404
        // (POST /TicketNotes, docs/autotask-errors.md).
        if (root.parent) throw notFound(path);
        if (!root.verbs.create) throw notAllowed(method);
        if (isWebhookRoot(root)) {
          checkWebhookCreate(webhookPolicy, tenant, a.user, body());
          const created = store.create(tenant, root, body(), writeContext(a));
          webhookCreated(a.user);
          return ok({ itemId: created["id"] });
        }
        return ok({ itemId: store.create(tenant, root, body(), writeContext(a))["id"] });
      }
      if (method === "PATCH" || method === "PUT") {
        if (!root.verbs.update || root.parent) throw notAllowed(method);
        const mode = method === "PATCH" ? "patch" : "put";
        if (isWebhookRoot(root)) checkWebhookUpdate(webhookPolicy, body());
        return ok({ itemId: store.update(tenant, root, body(), mode, writeContext(a))["id"] });
      }
      throw notAllowed(method);
    }

    const second = (segs[1] as string).toLowerCase();
    if (second === "query") {
      if (!root.verbs.query) throw notAllowed(method);
      if (method !== "GET" && method !== "POST") throw notAllowed(method);
      const third = segs[2]?.toLowerCase();
      if (segs.length > 3) throw notFound(path);
      if (third === undefined) return queryPage(req, tenant, root, searchOf(method, params, body()), null);
      if (third === "count") {
        const q = compileQuery(tenant, root, searchOf(method, params, body()), queryLimits);
        return ok({ queryCount: countQuery(tenant.table(root.name), q) });
      }
      if (third === "next" || third === "prev") {
        // The cursor lives in `paging`, so POST with or without a body and GET all work (docs/autotask.md,
        // Paging and counts).
        const paging = jsonParam(params, "paging") as Record<string, unknown> | undefined;
        const lastId = Number(paging?.["lastId"]);
        const firstId = Number(paging?.["firstId"]);
        const cursor: Cursor =
          third === "next" && Number.isFinite(lastId)
            ? { afterId: lastId }
            : third === "prev" && Number.isFinite(firstId)
              ? { beforeId: firstId }
              : null;
        if (!cursor) throw new ApiError(400, "The paging parameter is missing or not valid.");
        const size = Number(paging?.["pageSize"]);
        const pageSize = Number.isInteger(size) && size >= 1 && size <= MAX_PAGE_SIZE ? size : undefined;
        const fromUrl = jsonParam(params, "search");
        return queryPage(req, tenant, root, fromUrl !== undefined ? fromUrl : body(), cursor, pageSize);
      }
      throw notFound(path);
    }

    if (second === "entityinformation") {
      const r = entityInfo(method, tenant, root, segs.slice(2), path);
      // The user's own create access to webhooks follows its security level ([U], webhook-policy.ts).
      if (segs.length === 2 && isWebhookRoot(root) && !webhookCreateAccess(a.user)) {
        const info = (r.body as { info: Record<string, unknown> }).info;
        return ok({ info: { ...info, userAccessForCreate: "None" } });
      }
      return r;
    }

    if (!isId(segs[1])) throw notFound(path);
    const id = Number(segs[1]);
    if (segs.length === 2) {
      if (method === "GET") {
        const row = tenant.table(root.name).get(id);
        return ok(new RawJson(`{"item":${row ? rowJson(row) : "null"}}`));
      }
      if (method === "DELETE") {
        if (!root.verbs.delete || root.parent) throw notAllowed(method);
        store.remove(tenant, root, id, writeContext(a));
        return ok({ itemId: id });
      }
      throw notAllowed(method);
    }

    // Child URLs: P/{parentId}/C[/{id}] (docs/autotask.md, Entities and URLs).
    const child = childEntity(root, segs[2] as string);
    if (!child?.parent) throw notFound(path);
    const parentField = child.parent.field;
    if (segs.length === 3) {
      if (method === "GET") {
        const filter = [{ op: "eq", field: parentField, value: id }];
        return queryPage(req, tenant, child, { filter }, null);
      }
      if (method === "POST") {
        if (!child.verbs.create) throw notAllowed(method);
        return ok({ itemId: store.create(tenant, child, body(), writeContext(a), id)["id"] });
      }
      if (method === "PATCH" || method === "PUT") {
        if (!child.verbs.update) throw notAllowed(method);
        const mode = method === "PATCH" ? "patch" : "put";
        return ok({ itemId: store.update(tenant, child, body(), mode, writeContext(a), id)["id"] });
      }
      throw notAllowed(method);
    }
    const fourth = segs[3] as string;
    if (fourth.toLowerCase() === "entityinformation")
      return entityInfo(method, tenant, child, segs.slice(4), path);
    if (!isId(fourth) || segs.length > 4) throw notFound(path);
    const childId = Number(fourth);
    if (method === "GET") {
      const row: Row | undefined = tenant.table(child.name).get(childId);
      return ok({ item: row && row[parentField] === id ? row : null });
    }
    if (method === "DELETE") {
      if (!child.verbs.delete) throw notAllowed(method);
      store.remove(tenant, child, childId, writeContext(a), id);
      return ok({ itemId: childId });
    }
    throw notAllowed(method);
  };

  const entityInfo = (
    method: string,
    tenant: Tenant,
    def: EntityDef,
    rest: string[],
    path: string,
  ): Result => {
    if (method !== "GET") throw notAllowed(method);
    if (rest.length === 0) return ok(entityInformation(def));
    if (rest.length === 1 && rest[0]?.toLowerCase() === "fields") return ok(entityFields(tenant, def));
    if (rest.length === 1 && rest[0]?.toLowerCase() === "userdefinedfields")
      return ok(userDefinedFields(tenant, def));
    throw notFound(path);
  };

  return dispatch;
}
