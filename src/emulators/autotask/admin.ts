/**
 * The admin API under /_emulator/: tenant admin data that the Autotask API cannot
 * create (UDF definitions, queues, statuses, priorities, any picklist, resources, API users), whole
 * state read/load/reset, seeds, faults and limits of the behaviours, and request statistics.
 * It has no Autotask auth: the CLI binds to 127.0.0.1 by default.
 */
import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type EntityDef, entityByName } from "./entities.js";
import type { Row } from "./hooks.js";
import { SEED_NAMES, type SeedName, type SeedOptions, seedTenant, TEXT_UDF_LENGTH } from "./seed.js";
import type { Behaviours, StatsCounter } from "./server.js";
import {
  ApiError,
  type ApiUser,
  type EmulatorStore,
  type PicklistValue,
  type StateFile,
  type Tenant,
  type UdfDataType,
  type UdfDefinition,
} from "./store.js";

export interface AdminContext {
  store: EmulatorStore;
  stats: StatsCounter;
  behaviours: Behaviours;
  /** Seed and credentials the emulator started with (what `reset` goes back to). */
  seedDefaults: () => Required<Omit<SeedOptions, "ci">> & { seed: SeedName };
}

const bad = (message: string) => new ApiError(400, message);
const missing = (message: string) => new ApiError(404, message);

type Body = Record<string, unknown>;

function parseBody(req: FastifyRequest): Body {
  const raw = req.body;
  if (raw === undefined || raw === null || raw === "") return {};
  let v: unknown = raw;
  if (typeof raw === "string") {
    try {
      v = JSON.parse(raw);
    } catch {
      throw bad("The request body is not valid JSON.");
    }
  }
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw bad("The request body must be a JSON object.");
  return v as Body;
}

const str = (b: Body, k: string): string | undefined =>
  typeof b[k] === "string" ? (b[k] as string) : undefined;
const bool = (b: Body, k: string): boolean | undefined =>
  typeof b[k] === "boolean" ? (b[k] as boolean) : undefined;
const num = (b: Body, k: string): number | undefined => {
  const v = b[k];
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
};

function seedName(v: unknown): SeedName {
  if (v === undefined) return "demo";
  if (typeof v === "string" && (SEED_NAMES as readonly string[]).includes(v)) return v as SeedName;
  throw bad(`Unknown seed ${JSON.stringify(v)}; use one of ${SEED_NAMES.join(", ")}.`);
}

/** Picklist aliases for the admin data the seed document asks partners to set up. */
const PICKLIST_ALIASES: Record<string, [string, string]> = {
  queues: ["Tickets", "queueID"],
  statuses: ["Tickets", "status"],
  priorities: ["Tickets", "priority"],
};

export function registerAdminRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store, stats, behaviours } = ctx;

  /** Runs a handler and answers its result, or `{"errors": [...]}` like the API does. */
  const route = (
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    url: string,
    handler: (req: FastifyRequest, params: Record<string, string>) => unknown | Promise<unknown>,
  ) => {
    app.route({
      method,
      url: `/_emulator${url}`,
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        try {
          const out = await handler(req, req.params as Record<string, string>);
          return reply.code(200).send(out ?? { ok: true });
        } catch (err) {
          if (err instanceof ApiError) return reply.code(err.status).send({ errors: err.errors });
          // configure() of the behaviours throws RangeError for out-of-range options.
          if (err instanceof RangeError || err instanceof TypeError)
            return reply.code(400).send({ errors: [err.message] });
          if (err instanceof Error) return reply.code(500).send({ errors: [err.message] });
          throw err;
        }
      },
    });
  };

  const tenantOf = (params: Record<string, string>): Tenant => {
    const t = store.tenant(params["tenant"] ?? "");
    if (!t) throw missing(`No tenant ${params["tenant"]}.`);
    return t;
  };
  const entityOf = (params: Record<string, string>): EntityDef => {
    const def = entityByName(params["entity"] ?? "");
    if (!def || def.singleton) throw missing(`No entity ${params["entity"]}.`);
    return def;
  };

  // ---- state, seeds, tenants --------------------------------------------------------------

  route("GET", "/state", () => store.toState());
  route("PUT", "/state", (req) => {
    const body = parseBody(req) as unknown as StateFile;
    try {
      store.load(body);
    } catch (err) {
      throw bad(err instanceof Error ? err.message : String(err));
    }
    return { tenants: [...store.tenants.keys()] };
  });

  route("POST", "/reset", (req) => {
    const body = parseBody(req);
    const defaults = ctx.seedDefaults();
    const seed = body["seed"] === undefined ? defaults.seed : seedName(body["seed"]);
    store.load({ version: 1, tenants: [seedTenant(seed, { ...defaults, now: store.clock() })] });
    stats.reset();
    behaviours.limits?.reset();
    behaviours.faults?.reset();
    behaviours.webhooks?.reset();
    return { tenants: [...store.tenants.keys()], seed };
  });

  /** Loads a seed into one tenant (replacing it when it exists, keeping its first API user). */
  route("POST", "/seed", (req) => {
    const body = parseBody(req);
    const defaults = ctx.seedDefaults();
    const seed = seedName(body["seed"]);
    const tenantId = str(body, "tenantId") ?? defaults.tenantId;
    const existing = store.tenant(tenantId)?.apiUsers[0];
    const opts: SeedOptions = {
      tenantId,
      username: str(body, "username") ?? existing?.username ?? defaults.username,
      secret: str(body, "secret") ?? existing?.secret ?? defaults.secret,
      integrationCode: str(body, "integrationCode") ?? existing?.integrationCode ?? defaults.integrationCode,
      now: store.clock(),
    };
    store.removeTenant(tenantId);
    store.addTenant(seedTenant(seed, opts));
    return { tenantId, seed };
  });

  route("GET", "/tenants", () =>
    [...store.tenants.values()].map((t) => ({
      id: t.id,
      zone: t.zone,
      apiUsers: t.apiUsers.map((u) => ({ username: u.username, resourceId: u.resourceId })),
      rows: Object.fromEntries(
        [...t.tables].filter(([, tb]) => tb.ids.length > 0).map(([n, tb]) => [n, tb.ids.length]),
      ),
    })),
  );

  /** Adds a tenant (another Autotask database) with its own API user. */
  route("POST", "/tenants", (req) => {
    const body = parseBody(req);
    const id = str(body, "id");
    const username = str(body, "username");
    if (!id || !username) throw bad("A tenant needs an id and a username.");
    const opts: SeedOptions = {
      tenantId: id,
      username,
      secret: str(body, "secret") ?? randomBytes(12).toString("base64url"),
      integrationCode: str(body, "integrationCode") ?? ctx.seedDefaults().integrationCode,
      ci: num(body, "ci") ?? 900000 + store.tenants.size + 1,
      now: store.clock(),
    };
    const t = store.addTenant(seedTenant(seedName(body["seed"] ?? "empty"), opts));
    return { id: t.id, apiUser: t.apiUsers[0] };
  });

  route("GET", "/tenants/:tenant", (_req, p) => tenantOf(p).toData());
  route("DELETE", "/tenants/:tenant", (_req, p) => {
    if (!store.removeTenant(tenantOf(p).id)) throw missing(`No tenant ${p["tenant"]}.`);
  });

  // ---- UDF definitions --------------------------------------------------------------------

  const udfEntity = (p: Record<string, string>): { tenant: Tenant; def: EntityDef } => {
    const def = entityOf(p);
    if (!def.hasUserDefinedFields) throw bad(`${def.name} do not have user-defined fields.`);
    return { tenant: tenantOf(p), def };
  };
  const findUdf = (tenant: Tenant, def: EntityDef, name: string): UdfDefinition => {
    const u = tenant.udfDefs(def.name).find((d) => d.name.toLowerCase() === name.toLowerCase());
    if (!u) throw missing(`No user-defined field ${name} on ${def.name}.`);
    return u;
  };
  const udfTypes: readonly UdfDataType[] = ["string", "integer", "decimal", "datetime", "boolean"];

  route("GET", "/tenants/:tenant/udfs/:entity", (_req, p) => {
    const { tenant, def } = udfEntity(p);
    return tenant.udfDefs(def.name);
  });
  route("POST", "/tenants/:tenant/udfs/:entity", (req, p) => {
    const { tenant, def } = udfEntity(p);
    const b = parseBody(req);
    const name = str(b, "name")?.trim();
    if (!name) throw bad("A user-defined field needs a name.");
    if (tenant.udfDefs(def.name).some((u) => u.name.toLowerCase() === name.toLowerCase())) {
      throw bad(`${def.name} already have a user-defined field named ${name}.`);
    }
    const dataType = (str(b, "dataType") ?? "string") as UdfDataType;
    if (!udfTypes.includes(dataType)) throw bad(`dataType must be one of ${udfTypes.join(", ")}.`);
    const list = tenant.udfDefs(def.name);
    const udf: UdfDefinition = {
      id: tenant.nextUdfId++,
      name,
      dataType,
      length: num(b, "length") ?? (dataType === "string" ? TEXT_UDF_LENGTH : 0),
      isRequired: bool(b, "isRequired") ?? false,
      isActive: bool(b, "isActive") ?? true,
      isProtected: bool(b, "isProtected") ?? false,
      description: str(b, "description") ?? "",
      sortOrder: num(b, "sortOrder") ?? list.length + 1,
      defaultValue: str(b, "defaultValue") ?? null,
    };
    tenant.udfs[def.name] = [...list, udf];
    tenant.realignUdfs(def.name);
    store.commit();
    return udf;
  });
  route("PATCH", "/tenants/:tenant/udfs/:entity/:name", (req, p) => {
    const { tenant, def } = udfEntity(p);
    const u = findUdf(tenant, def, p["name"] ?? "");
    const b = parseBody(req);
    const rename = str(b, "name")?.trim();
    const next: UdfDefinition = {
      ...u,
      name: rename || u.name,
      isRequired: bool(b, "isRequired") ?? u.isRequired,
      isActive: bool(b, "isActive") ?? u.isActive,
      isProtected: bool(b, "isProtected") ?? u.isProtected,
      description: str(b, "description") ?? u.description,
      length: num(b, "length") ?? u.length,
      sortOrder: num(b, "sortOrder") ?? u.sortOrder,
      defaultValue: b["defaultValue"] === null ? null : (str(b, "defaultValue") ?? u.defaultValue),
    };
    tenant.udfs[def.name] = tenant.udfDefs(def.name).map((d) => (d.id === u.id ? next : d));
    if (next.name !== u.name) {
      // Values follow the field across a rename.
      const table = tenant.table(def.name);
      for (const id of table.ids) {
        const row = table.get(id) as Row;
        const udfs = (row["userDefinedFields"] as { name: string; value: unknown }[]).map((x) =>
          x.name === u.name ? { name: next.name, value: x.value } : x,
        );
        table.put({ ...row, userDefinedFields: udfs });
      }
    }
    tenant.realignUdfs(def.name);
    store.commit();
    return next;
  });
  route("DELETE", "/tenants/:tenant/udfs/:entity/:name", (_req, p) => {
    const { tenant, def } = udfEntity(p);
    const u = findUdf(tenant, def, p["name"] ?? "");
    tenant.udfs[def.name] = tenant.udfDefs(def.name).filter((d) => d.id !== u.id);
    tenant.realignUdfs(def.name);
    store.commit();
  });

  // ---- picklists (queues, statuses, priorities, any tenant picklist) --------------------------

  const picklistKey = (entity: string, field: string): { key: string; def: EntityDef; field: string } => {
    const def = entityByName(entity);
    const fd = def?.byLowerName.get(field.toLowerCase());
    if (!def || !fd) throw missing(`No field ${entity}.${field}.`);
    if (fd.picklist?.kind !== "tenant") throw bad(`${def.name}.${fd.name} is not a tenant picklist.`);
    return { key: `${def.name}.${fd.name}`, def, field: fd.name };
  };

  const picklistRoutes = (prefix: string, resolve: (p: Record<string, string>) => [string, string]) => {
    const list = (p: Record<string, string>) => {
      const tenant = tenantOf(p);
      const [entity, field] = resolve(p);
      const { key } = picklistKey(entity, field);
      return { tenant, key, values: tenant.picklists[key] ?? [] };
    };
    const pickValue = (p: Record<string, string>) => {
      const v = Number(p["value"]);
      if (!Number.isInteger(v)) throw bad(`Picklist values are integers, not ${p["value"]}.`);
      return v;
    };
    const apply = (pv: PicklistValue, b: Body, values: PicklistValue[]): PicklistValue => {
      const next: PicklistValue = {
        ...pv,
        label: str(b, "label") ?? pv.label,
        isActive: bool(b, "isActive") ?? pv.isActive,
        isSystem: bool(b, "isSystem") ?? pv.isSystem,
        isDefaultValue: bool(b, "isDefaultValue") ?? pv.isDefaultValue,
        sortOrder: num(b, "sortOrder") ?? pv.sortOrder,
        parentValue: b["parentValue"] === null ? null : (num(b, "parentValue") ?? pv.parentValue),
      };
      if (next.isDefaultValue) for (const o of values) if (o.value !== next.value) o.isDefaultValue = false;
      return next;
    };

    route("GET", prefix, (_req, p) => list(p).values);
    route("POST", prefix, (req, p) => {
      const { tenant, key, values } = list(p);
      const b = parseBody(req);
      const value = num(b, "value");
      const label = str(b, "label");
      if (value === undefined || !Number.isInteger(value) || !label) {
        throw bad("A picklist value needs an integer value and a label.");
      }
      if (values.some((v) => v.value === value)) throw bad(`Value ${value} already exists in ${key}.`);
      const copy = values.map((v) => ({ ...v }));
      const pv = apply(
        {
          value,
          label,
          isActive: true,
          isSystem: false,
          isDefaultValue: false,
          sortOrder: copy.length + 1,
          parentValue: null,
        },
        b,
        copy,
      );
      tenant.picklists[key] = [...copy, pv];
      store.commit();
      return pv;
    });
    route("PATCH", `${prefix}/:value`, (req, p) => {
      const { tenant, key, values } = list(p);
      const value = pickValue(p);
      const copy = values.map((v) => ({ ...v }));
      const i = copy.findIndex((v) => v.value === value);
      if (i < 0) throw missing(`No value ${value} in ${key}.`);
      const pv = apply(copy[i] as PicklistValue, parseBody(req), copy);
      copy[i] = pv;
      tenant.picklists[key] = copy;
      store.commit();
      return pv;
    });
    route("DELETE", `${prefix}/:value`, (_req, p) => {
      const { tenant, key, values } = list(p);
      const value = pickValue(p);
      if (!values.some((v) => v.value === value)) throw missing(`No value ${value} in ${key}.`);
      tenant.picklists[key] = values.filter((v) => v.value !== value);
      store.commit();
    });
  };

  picklistRoutes("/tenants/:tenant/picklists/:entity/:field", (p) => [p["entity"] ?? "", p["field"] ?? ""]);
  for (const [alias, target] of Object.entries(PICKLIST_ALIASES)) {
    picklistRoutes(`/tenants/:tenant/${alias}`, () => target);
  }

  // ---- resources, API users, fixture rows --------------------------------------------------

  const resourcesDef = entityByName("Resources") as EntityDef;

  /** Resources cannot be created through the API (docs/autotask.md, Entities and URLs); the admin API can. */
  route("POST", "/tenants/:tenant/resources", (req, p) => {
    const tenant = tenantOf(p);
    const b = parseBody(req);
    if (!str(b, "firstName") || !str(b, "lastName"))
      throw bad("A resource needs a firstName and a lastName.");
    const row = store.insertFixture(tenant, resourcesDef, { isActive: true, resourceType: "Employee", ...b });
    return { itemId: row["id"], item: row };
  });

  const addApiUser = (tenant: Tenant, b: Body): ApiUser => {
    const resourceId = num(b, "resourceId");
    if (resourceId === undefined) throw bad("An API user needs a resourceId.");
    const user: ApiUser = {
      username:
        str(b, "username") ??
        `api-${resourceId}-${randomBytes(3).toString("hex")}@${tenant.id}.emulator.example`,
      secret: str(b, "secret") ?? randomBytes(12).toString("base64url"),
      integrationCode: str(b, "integrationCode") ?? tenant.apiUsers[0]?.integrationCode ?? "",
      resourceId,
    };
    store.addApiUser(tenant, user);
    return user;
  };

  route("POST", "/tenants/:tenant/apiUsers", (req, p) => addApiUser(tenantOf(p), parseBody(req)));

  /**
   * Credentials to act as a resource (e.g. a partner technician): the API user tied to that resource,
   * created when there is none. Its edits carry the technician's id as PersonID, so webhooks that
   * exclude the integration's own resource still report them.
   */
  route("POST", "/tenants/:tenant/actAs", (req, p) => {
    const tenant = tenantOf(p);
    const b = parseBody(req);
    const resourceId = num(b, "resourceId");
    if (resourceId === undefined) throw bad("actAs needs a resourceId.");
    const existing = tenant.apiUsers.find((u) => u.resourceId === resourceId);
    const user = existing ?? addApiUser(tenant, { resourceId });
    return { tenantId: tenant.id, ...user };
  });

  /**
   * Inserts rows as they are (read-only fields and ids included; types are checked): data that was
   * in the tenant before, e.g. billing codes (read-only through the API) or 10,000 CIs for a bench.
   * No webhook events.
   */
  route("POST", "/tenants/:tenant/rows/:entity", (req, p) => {
    const tenant = tenantOf(p);
    const def = entityOf(p);
    const b = parseBody(req);
    const rows = Array.isArray(b["rows"]) ? (b["rows"] as Row[]) : [b];
    const ids = rows.map((r) => store.insertFixture(tenant, def, r)["id"]);
    return { ids };
  });

  /**
   * An entity's rows as stored, in id order, without going through the API: a benchmark watching a
   * tenant neither spends its thread slots and hourly threshold nor shows in the request stats.
   */
  route("GET", "/tenants/:tenant/rows/:entity", (_req, p) => {
    const table = tenantOf(p).table(entityOf(p).name);
    return { items: table.ids.map((id) => table.get(id)) };
  });

  // ---- behaviours: limits, faults, webhooks ----------------------------------------------------

  const need = <T>(v: T | undefined, what: string): T => {
    if (!v) throw missing(`No ${what} are wired in this emulator.`);
    return v;
  };
  route("GET", "/limits", () => need(behaviours.limits, "limits").snapshot());
  route("PUT", "/limits", (req) => need(behaviours.limits, "limits").configure(parseBody(req)));
  // The rolling window moves on at once: every tenant's request count starts again from zero.
  route("POST", "/limits/reset", () => {
    const limits = need(behaviours.limits, "limits");
    limits.reset();
    return limits.snapshot();
  });
  route("GET", "/faults", () => need(behaviours.faults, "faults").snapshot());
  route("PUT", "/faults", (req) => need(behaviours.faults, "faults").configure(parseBody(req)));
  route("GET", "/webhooks", () => need(behaviours.webhooks, "webhook deliveries").stats());
  route("PUT", "/webhooks", (req) =>
    need(behaviours.webhooks, "webhook deliveries").configure(parseBody(req)),
  );
  route("POST", "/webhooks/flush", async () => {
    const engine = need(behaviours.webhooks, "webhook deliveries");
    await engine.flush();
    return engine.stats();
  });

  // ---- stats ---------------------------------------------------------------------------------

  route("GET", "/stats", () => stats.snapshot());
  route("DELETE", "/stats", () => {
    stats.reset();
    return stats.snapshot();
  });
  route("POST", "/stats/reset", () => {
    stats.reset();
    return stats.snapshot();
  });
}
