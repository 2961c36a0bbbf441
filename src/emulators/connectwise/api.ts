/**
 * The REST operations under /{codebase}/apis/3.0: authentication (Basic `companyId+publicKey:
 * privateKey` plus the clientId header), resolution of a URL to a resource, and list, count, search,
 * get, create, replace (PUT), update (PATCH), delete; plus the ticket children that are not plain
 * resources (configurations links, allNotes, timeentries). Writes notify the callback engine.
 */
import type { CallbackAction, CallbackEngine } from "./callbacks.js";
import { CwError, notFound, routeNotFound } from "./errors.js";
import { filterRows, listQuery, pageOf, projector } from "./listing.js";
import {
  applyPatch,
  applyRules,
  buildRecord,
  stampRecord,
  type WriteContext,
  writableBody,
} from "./records.js";
import { childTyperOf, RESOURCES, type ResourceDef, typerOf } from "./schema.js";
import type { CwStore, Rec, Tenant } from "./store.js";

export interface ApiOptions {
  /** Status of a bad key pair: 401, or 404 as cloud tenants sometimes answer. */
  authFailureStatus: 401 | 404;
  /** Forward-only pages carry a Link to the next pageId even when shorter than pageSize. */
  forwardOnlyLinkOnLastPage: boolean;
  /** The callbacks' key_url needs the same Basic auth and clientId as the API (of the key's tenant). */
  keyUrlRequiresAuth: boolean;
}

export interface ApiContext {
  store: CwStore;
  now: () => Date;
  callbacks?: CallbackEngine;
  options: ApiOptions;
}

export interface ApiRequest {
  method: string;
  /** Segments after /apis/3.0/. */
  segs: string[];
  params: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  selfUrl: URL;
}

export interface ApiAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Caller {
  tenant: Tenant;
  member: Rec;
}

const header = (h: ApiRequest["headers"], name: string): string | undefined => {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

/** Checks the Authorization and clientId headers; throws 401 (or the cloud-style 404). */
export function authenticate(ctx: ApiContext, headers: ApiRequest["headers"]): Caller {
  const unauthorized = (message: string) => new CwError(401, { code: "Unauthorized", message });
  const auth = header(headers, "authorization") ?? "";
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(auth);
  if (!m)
    throw unauthorized("Authorization has been denied for this request: Basic credentials are required.");
  const decoded = Buffer.from(m[1] as string, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  const plus = user.indexOf("+");
  const tenant = plus > 0 ? ctx.store.tenant(user.slice(0, plus)) : undefined;
  const member =
    tenant && colon >= 0 ? tenant.memberByKey(user.slice(plus + 1), decoded.slice(colon + 1)) : undefined;
  if (!tenant || !member || member["inactiveFlag"] === true) {
    if (ctx.options.authFailureStatus === 404) throw routeNotFound();
    throw unauthorized("Authorization has been denied for this request.");
  }
  const clientId = header(headers, "clientid");
  if (!clientId) throw unauthorized("A clientId header is required on every request.");
  if (ctx.store.clientIds.size > 0 && !ctx.store.clientIds.has(clientId.toLowerCase()))
    throw unauthorized("The clientId is not recognised.");
  return { tenant, member };
}

interface Resolved {
  def: ResourceDef;
  parentId?: number | undefined;
  rest: string[];
}

const isId = (s: string | undefined) => s !== undefined && /^\d+$/.test(s);

function resolve(segs: string[]): Resolved | undefined {
  let best: Resolved | undefined;
  let bestLen = -1;
  for (const def of RESOURCES) {
    const pat = def.path.split("/");
    if (segs.length < pat.length) continue;
    let parentId: number | undefined;
    const ok = pat.every((p, i) => {
      const s = segs[i] as string;
      if (p === ":parent") {
        parentId = Number(s);
        return isId(s);
      }
      return p.toLowerCase() === s.toLowerCase();
    });
    if (ok && pat.length > bestLen) {
      bestLen = pat.length;
      best = { def, parentId, rest: segs.slice(pat.length) };
    }
  }
  return best;
}

/** Operation name for statistics: "list service/tickets", "update service/tickets/notes". */
export function operationName(method: string, segs: string[]): string {
  const r = resolve(segs);
  const resource = r ? r.def.path.replace("/:parent", "") : segs.filter((s) => !isId(s)).join("/");
  const last = r?.rest[r.rest.length - 1]?.toLowerCase();
  if (method === "GET") return `${last === "count" ? "count" : r && isId(last) ? "get" : "list"} ${resource}`;
  if (method === "POST") return `${last === "search" ? "search" : "create"} ${resource}`;
  return `${method === "PATCH" ? "update" : method === "PUT" ? "replace" : "delete"} ${resource}`;
}

const methodNotAllowed = (method: string) =>
  new CwError(405, {
    code: "ConnectWiseApi",
    message: `The requested resource does not support http method '${method}'.`,
  });

export class Api {
  constructor(private readonly ctx: ApiContext) {}

  handle(req: ApiRequest, caller: Caller): ApiAnswer {
    const special = this.ticketChild(req, caller);
    if (special) return special;
    const r = resolve(req.segs);
    if (!r || r.rest.length > 1) throw routeNotFound();
    const { def, parentId } = r;
    const t = caller.tenant;
    if (def.parent && parentId !== undefined && !t.get(def.parent.table, parentId))
      throw notFound(def.parent.label, parentId);
    const [tail] = r.rest;
    const m = req.method;
    if (tail === undefined || tail.toLowerCase() === "search" || tail.toLowerCase() === "count") {
      const t2 = tail?.toLowerCase();
      if (t2 === "search" && m !== "POST") throw methodNotAllowed(m);
      if (t2 === "count" && m !== "GET") throw methodNotAllowed(m);
      if (t2 === undefined && m !== "GET" && m !== "POST") throw methodNotAllowed(m);
      if (t2 === undefined && m === "POST") return this.create(def, parentId, req, caller);
      const body = t2 === "search" ? this.objectBody(req.body) : undefined;
      return this.list(def, this.scoped(def, t, parentId), req, body, t2 === "count");
    }
    if (!isId(tail)) throw routeNotFound();
    const id = Number(tail);
    const existing = t.get(def.table, id);
    if (!existing || (def.parent && parentId !== undefined && !this.inParent(def, existing, parentId)))
      throw notFound(def.label, id);
    if (m === "GET") return { status: 200, body: projector(listQuery(req.params))(this.view(existing)) };
    if (def.readOnly) throw methodNotAllowed(m);
    if (m === "DELETE") return this.remove(def, existing, caller);
    if (m === "PUT") return this.write(def, existing, this.objectBody(req.body), caller, req);
    if (m === "PATCH") {
      const { body, nestedPath } = applyPatch(def, writableBody(def, existing), req.body);
      // Only paths inside references: nothing applied, yet 200 (the "false 200").
      if (nestedPath && JSON.stringify(body) === JSON.stringify(writableBody(def, existing)))
        return { status: 200, body: this.view(existing) };
      return this.write(def, existing, body, caller, req);
    }
    throw methodNotAllowed(m);
  }

  view(rec: Rec): Record<string, unknown> {
    return structuredClone(rec);
  }

  private objectBody(body: unknown): Record<string, unknown> {
    if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body))
      throw new CwError(400, {
        code: "InvalidObject",
        message: "The request body must be a JSON object.",
        errors: null,
      });
    return body as Record<string, unknown>;
  }

  private inParent(def: ResourceDef, rec: Rec, parentId: number): boolean {
    if (!def.parent) return true;
    const v = rec[def.parent.field];
    return def.parent.asId ? v === parentId : (v as { id?: number } | null)?.id === parentId;
  }

  private scoped(def: ResourceDef, t: Tenant, parentId: number | undefined): Rec[] {
    const rows = t.rows(def.table);
    return parentId === undefined ? rows : rows.filter((r) => this.inParent(def, r, parentId));
  }

  private list(
    def: ResourceDef,
    rows: Rec[],
    req: ApiRequest,
    body: Record<string, unknown> | undefined,
    count: boolean,
  ): ApiAnswer {
    const q = listQuery(req.params, body);
    const typer = typerOf(def);
    const matched = filterRows(rows, q, { fields: typer, child: childTyperOf(def) });
    if (count) return { status: 200, body: { count: matched.length } };
    const forwardOnly = header(req.headers, "pagination-type")?.toLowerCase() === "forward-only";
    const page = pageOf(
      matched,
      q,
      typer,
      req.selfUrl,
      forwardOnly,
      this.ctx.options.forwardOnlyLinkOnLastPage,
    );
    const project = projector(q);
    return {
      status: 200,
      body: page.rows.map((r) => project(this.view(r))),
      headers: page.link ? { link: page.link } : {},
    };
  }

  private wctx(caller: Caller): WriteContext {
    return { tenant: caller.tenant, member: caller.member, now: this.ctx.now() };
  }

  private create(def: ResourceDef, parentId: number | undefined, req: ApiRequest, caller: Caller): ApiAnswer {
    if (def.readOnly) throw methodNotAllowed("POST");
    const body = this.objectBody(req.body);
    const t = caller.tenant;
    const ctx = this.wctx(caller);
    const rec = buildRecord(ctx, def, body, undefined, 0);
    if (def.parent && parentId !== undefined) {
      const parent = t.get(def.parent.table, parentId) as Rec;
      rec[def.parent.field] = def.parent.asId ? parentId : { id: parentId, name: parent["name"] };
    }
    applyRules(ctx, def, rec, undefined);
    rec.id = t.nextId(def.table);
    stampRecord(ctx, rec, undefined);
    t.put(def.table, rec);
    if (def.table === "tickets") this.initialNotes(rec, body, caller);
    this.changed(def, "added", rec, caller);
    return { status: 201, body: projector(listQuery(req.params))(this.view(rec)) };
  }

  /** `initialDescription` & co. become the ticket's first notes; they are never returned. */
  private initialNotes(ticket: Rec, body: Record<string, unknown>, caller: Caller): void {
    const notes = RESOURCES.find((d) => d.table === "notes") as ResourceDef;
    const flags = {
      initialDescription: "detailDescriptionFlag",
      initialInternalAnalysis: "internalAnalysisFlag",
      initialResolution: "resolutionFlag",
    } as const;
    for (const [field, flag] of Object.entries(flags)) {
      const text = body[field];
      if (typeof text !== "string" || text.trim() === "") continue;
      const ctx = this.wctx(caller);
      const note = buildRecord(ctx, notes, { text, [flag]: true }, undefined, 0);
      note["ticketId"] = ticket.id;
      applyRules(ctx, notes, note, undefined);
      note.id = caller.tenant.nextId("notes");
      stampRecord(ctx, note, undefined);
      caller.tenant.put("notes", note);
    }
  }

  private write(
    def: ResourceDef,
    existing: Rec,
    body: Record<string, unknown>,
    caller: Caller,
    req: ApiRequest,
  ): ApiAnswer {
    const ctx = this.wctx(caller);
    const rec = buildRecord(ctx, def, body, existing, existing.id);
    if (def.parent) rec[def.parent.field] = existing[def.parent.field];
    applyRules(ctx, def, rec, existing);
    stampRecord(ctx, rec, existing);
    caller.tenant.put(def.table, rec);
    this.changed(def, "updated", rec, caller);
    return { status: 200, body: projector(listQuery(req.params))(this.view(rec)) };
  }

  private remove(def: ResourceDef, existing: Rec, caller: Caller): ApiAnswer {
    const t = caller.tenant;
    if (def.table === "timeEntries" && existing["status"] !== "Open")
      throw new CwError(400, {
        code: "InvalidObject",
        message: `Time entry ${existing.id} is ${String(existing["status"])} and cannot be deleted.`,
        errors: null,
      });
    t.delete(def.table, existing.id);
    if (def.table === "tickets") {
      for (const n of t.rows("notes")) if (n["ticketId"] === existing.id) t.delete("notes", n.id);
      t.ticketConfigurations.delete(existing.id);
    }
    this.changed(def, "deleted", existing, caller);
    return { status: 204 };
  }

  /** Notifies callbacks; a note's write also stamps and reports its ticket as updated. */
  private changed(def: ResourceDef, action: CallbackAction, rec: Rec, caller: Caller): void {
    const cb = this.ctx.callbacks;
    if (def.callbackType)
      cb?.notify({ ...caller, type: def.callbackType, action, record: rec, entity: this.view(rec) });
    if (def.table === "notes") {
      const ticket = caller.tenant.get("tickets", rec["ticketId"] as number);
      if (!ticket) return;
      const next = { ...ticket };
      stampRecord(this.wctx(caller), next, ticket);
      caller.tenant.put("tickets", next);
      cb?.notify({ ...caller, type: "ticket", action: "updated", record: next, entity: this.view(next) });
    }
  }

  // ---- ticket children that are views or links ------------------------------------------------

  private ticketChild(req: ApiRequest, caller: Caller): ApiAnswer | undefined {
    const [a, b, p, child, ...rest] = req.segs.map((s) => s.toLowerCase());
    if (a !== "service" || b !== "tickets" || !isId(p) || !child) return undefined;
    if (!["configurations", "allnotes", "timeentries"].includes(child)) return undefined;
    const t = caller.tenant;
    const ticketId = Number(p);
    if (!t.get("tickets", ticketId)) throw notFound("Ticket", ticketId);
    const tail = rest[0];
    if (rest.length > 1) throw routeNotFound();
    const configs = RESOURCES.find((d) => d.table === "configurations") as ResourceDef;
    if (child === "configurations") {
      const ids = t.ticketConfigurations.get(ticketId) ?? [];
      const asRef = (c: Rec) => ({
        id: c.id,
        deviceIdentifier: c["deviceIdentifier"] ?? null,
        name: c["name"],
        _info: {},
      });
      if (tail === undefined && req.method === "POST") {
        const body = this.objectBody(req.body);
        const cid = body["id"];
        const c = typeof cid === "number" ? t.get("configurations", cid) : undefined;
        if (!c)
          throw new CwError(400, {
            code: "InvalidObject",
            message: "configurationReference object is invalid",
            errors: [
              {
                code: "InvalidField",
                message: "The configuration id is not valid.",
                resource: "configurationReference",
                field: "id",
              },
            ],
          });
        if (!ids.includes(c.id)) t.ticketConfigurations.set(ticketId, [...ids, c.id]);
        return { status: 201, body: asRef(c) };
      }
      const rows = ids.map((id) => t.get("configurations", id)).filter((c): c is Rec => c !== undefined);
      if (tail === undefined || tail === "count") {
        if (req.method !== "GET") throw methodNotAllowed(req.method);
        const ans = this.list(configs, rows, req, undefined, tail === "count");
        return tail === "count" ? ans : { ...ans, body: (ans.body as Rec[]).map((c) => asRef(c)) };
      }
      if (!isId(tail) || !ids.includes(Number(tail))) throw notFound("Configuration", tail);
      if (req.method === "GET")
        return { status: 200, body: asRef(t.get("configurations", Number(tail)) as Rec) };
      if (req.method === "DELETE") {
        t.ticketConfigurations.set(
          ticketId,
          ids.filter((x) => x !== Number(tail)),
        );
        return { status: 204 };
      }
      throw methodNotAllowed(req.method);
    }
    if (req.method !== "GET") throw methodNotAllowed(req.method);
    if (tail !== undefined && tail !== "count") throw routeNotFound();
    const time = RESOURCES.find((d) => d.table === "timeEntries") as ResourceDef;
    const entries = t
      .rows("timeEntries")
      .filter((e) => e["chargeToType"] === "ServiceTicket" && e["chargeToId"] === ticketId);
    if (child === "timeentries") return this.list(time, entries, req, undefined, tail === "count");
    const notes = RESOURCES.find((d) => d.table === "notes") as ResourceDef;
    const fromNotes = t
      .rows("notes")
      .filter((n) => n["ticketId"] === ticketId)
      .map((n) => ({ ...n, noteType: "TicketNote", ticket: { id: ticketId } }));
    const fromTime = entries
      .filter((e) => typeof e["notes"] === "string" && e["notes"] !== "")
      .map((e) => ({
        id: e.id,
        noteType: "TimeEntryNote",
        ticket: { id: ticketId },
        text: e["notes"],
        detailDescriptionFlag: e["addToDetailDescriptionFlag"],
        internalAnalysisFlag: e["addToInternalAnalysisFlag"],
        resolutionFlag: e["addToResolutionFlag"],
        timeStart: e["timeStart"],
        timeEnd: e["timeEnd"],
        member: e["member"],
        _info: e["_info"],
      }));
    return this.list(notes, [...fromNotes, ...fromTime] as Rec[], req, undefined, tail === "count");
  }
}
