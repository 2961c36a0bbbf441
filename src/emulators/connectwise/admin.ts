/**
 * The admin API under /_emulator/: what a test or a developer needs and the ConnectWise API cannot
 * do — reset and seed tenants, add tenants (company ids), members and their API keys, act as a
 * technician, define custom fields, rotate the callback signing key, set fault and callback knobs
 * and API modes, and read request statistics and callback deliveries. No auth: bind to loopback.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ApiOptions } from "./api.js";
import type { CallbackEngine } from "./callbacks.js";
import type { CwFaults } from "./faults.js";
import { SEED_NAMES, type SeedName, seedTenant } from "./seed.js";
import type { CwStatsCounter } from "./server.js";
import { type CustomFieldDef, type CwStore, stamp, type Tenant, type TenantData } from "./store.js";

export interface AdminContext {
  store: CwStore;
  stats: CwStatsCounter;
  faults: CwFaults;
  callbacks: CallbackEngine;
  apiOptions: ApiOptions;
  now: () => Date;
  /** The first tenant as the emulator started with it. */
  seedFirst: () => TenantData;
  /** Puts API, fault and callback options back to what the emulator started with. */
  restoreOptions: () => void;
  credentials: { companyId: string; publicKey: string; privateKey: string; clientId: string };
}

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
const bad = (m: string) => new AdminError(400, m);

type Body = Record<string, unknown>;

function parseBody(req: FastifyRequest): Body {
  const raw = req.body;
  if (raw === undefined || raw === null || raw === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(String(raw));
  } catch {
    throw bad("The request body is not valid JSON.");
  }
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw bad("The request body must be a JSON object.");
  return v as Body;
}

const str = (b: Body, k: string): string | undefined => {
  const v = b[k];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.trim() === "") throw bad(`${k} must be a non-empty string.`);
  return v;
};

function seedName(v: unknown): SeedName {
  if (v === undefined) return "demo";
  if (typeof v === "string" && (SEED_NAMES as readonly string[]).includes(v)) return v as SeedName;
  throw bad(`Unknown seed ${JSON.stringify(v)}; use one of ${SEED_NAMES.join(", ")}.`);
}

function summary(t: Tenant) {
  return {
    companyId: t.companyId,
    companyName: t.companyName,
    codebase: t.codebase,
    members: t
      .rows("members")
      .map((m) => ({ id: m.id, identifier: m["identifier"], apiMemberFlag: m["apiMemberFlag"] })),
    apiKeys: t.apiKeys.length,
    callbacks: t.rows("callbacks").length,
  };
}

export function registerAdminRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store } = ctx;
  const route = (
    method: "GET" | "POST" | "PUT" | "DELETE",
    url: string,
    fn: (req: FastifyRequest, p: Record<string, string>) => unknown,
  ) => {
    app.route({
      method,
      url: `/_emulator${url}`,
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        try {
          const out = await fn(req, req.params as Record<string, string>);
          return reply
            .code(200)
            .type("application/json")
            .send(JSON.stringify(out ?? { ok: true }));
        } catch (err) {
          const status = err instanceof AdminError ? err.status : err instanceof RangeError ? 400 : 500;
          return reply
            .code(status)
            .type("application/json")
            .send(JSON.stringify({ errors: [err instanceof Error ? err.message : String(err)] }));
        }
      },
    });
  };
  const tenantOf = (p: Record<string, string>): Tenant => {
    const t = store.tenant(p["tenant"] ?? "");
    if (!t) throw new AdminError(404, `No tenant ${p["tenant"]}.`);
    return t;
  };
  const memberOf = (t: Tenant, b: Body) => {
    const ident = str(b, "member");
    const m = t.rows("members").find((x) => String(x["identifier"]).toLowerCase() === ident?.toLowerCase());
    if (!m) throw new AdminError(404, `No member ${JSON.stringify(ident)} in ${t.companyId}.`);
    return m;
  };

  // ---- tenants and seeds -----------------------------------------------------------------------

  /**
   * Back to the start: only the first tenant, freshly seeded (or with `seed`), stats and deliveries
   * cleared, API/fault/callback options as started (the fault streams restart from their seed).
   */
  route("POST", "/reset", (req) => {
    const b = parseBody(req);
    store.clear();
    const first = ctx.seedFirst();
    const data =
      b["seed"] === undefined
        ? first
        : seedTenant(seedName(b["seed"]), {
            ...ctx.credentials,
            companyName: first.companyName,
            codebase: first.codebase,
            now: ctx.now(),
          });
    store.add(data);
    ctx.stats.reset();
    ctx.callbacks.reset();
    ctx.restoreOptions();
    return store.tenants().map(summary);
  });
  /** Reseeds one tenant, keeping its keys. */
  route("POST", "/tenants/:tenant/seed", (req, p) => {
    const t = tenantOf(p);
    const b = parseBody(req);
    const key = t.apiKeys[0];
    const data = seedTenant(seedName(b["seed"]), {
      companyId: t.companyId,
      companyName: t.companyName,
      codebase: t.codebase,
      publicKey: key?.publicKey,
      privateKey: key?.privateKey,
      now: ctx.now(),
    });
    return summary(store.replace(data));
  });
  route("GET", "/tenants", () => store.tenants().map(summary));
  route("POST", "/tenants", (req) => {
    const b = parseBody(req);
    const companyId = str(b, "companyId");
    if (!companyId) throw bad("companyId is required.");
    if (store.tenant(companyId)) throw new AdminError(409, `Tenant ${companyId} exists.`);
    const t = store.add(
      seedTenant(seedName(b["seed"]), {
        companyId,
        companyName: str(b, "companyName"),
        publicKey: str(b, "publicKey"),
        privateKey: str(b, "privateKey"),
        codebase: str(b, "codebase"),
        now: ctx.now(),
      }),
    );
    return { ...summary(t), publicKey: t.apiKeys[0]?.publicKey, privateKey: t.apiKeys[0]?.privateKey };
  });
  /** The tenant's data; private keys and the signing key are not echoed. */
  route("GET", "/tenants/:tenant", (_req, p) => {
    const d = tenantOf(p).toData();
    return {
      ...d,
      signingKey: "(hidden)",
      apiKeys: d.apiKeys.map((k) => ({ publicKey: k.publicKey, memberId: k.memberId })),
    };
  });
  route("DELETE", "/tenants/:tenant", (_req, p) => {
    const t = tenantOf(p);
    store.remove(t.companyId);
    return { deleted: t.companyId };
  });

  // ---- members, keys, acting as a technician ---------------------------------------------------

  route("GET", "/tenants/:tenant/members", (_req, p) => tenantOf(p).rows("members"));
  route("POST", "/tenants/:tenant/members", (req, p) => {
    const t = tenantOf(p);
    const b = parseBody(req);
    const identifier = str(b, "identifier");
    if (!identifier || identifier.length > 15) throw bad("identifier is required (at most 15 characters).");
    if (t.rows("members").some((m) => String(m["identifier"]).toLowerCase() === identifier.toLowerCase()))
      throw new AdminError(409, `Member ${identifier} exists.`);
    const firstName = str(b, "firstName") ?? identifier;
    const lastName = str(b, "lastName") ?? "";
    const apiMember = b["apiMember"] === true;
    const s = stamp(ctx.now());
    const m = {
      id: t.nextId("members"),
      identifier,
      firstName,
      lastName,
      name: `${firstName} ${lastName}`.trim(),
      apiMemberFlag: apiMember,
      inactiveFlag: false,
      _info: { lastUpdated: s, updatedBy: "emulator", dateEntered: s, enteredBy: "emulator" },
    };
    t.put("members", m);
    const key = apiMember ? t.addKey(m.id, str(b, "publicKey"), str(b, "privateKey")) : undefined;
    return { ...m, ...(key ? { publicKey: key.publicKey, privateKey: key.privateKey } : {}) };
  });
  /**
   * Keys to act as a member, e.g. a technician editing a ticket in the product: writes made with
   * them carry that member as `_info.updatedBy` and as the callbacks' `MemberId`.
   */
  route("POST", "/tenants/:tenant/actAs", (req, p) => {
    const t = tenantOf(p);
    const m = memberOf(t, parseBody(req));
    const key = t.apiKeys.find((k) => k.memberId === m.id) ?? t.addKey(m.id);
    const authorization = `Basic ${Buffer.from(`${t.companyId}+${key.publicKey}:${key.privateKey}`).toString("base64")}`;
    return {
      companyId: t.companyId,
      memberId: m.id,
      identifier: m["identifier"],
      publicKey: key.publicKey,
      privateKey: key.privateKey,
      authorization,
    };
  });

  // ---- custom fields, signing key, clientIds -------------------------------------------------

  route("GET", "/tenants/:tenant/customFields", (_req, p) => tenantOf(p).customFields);
  route("POST", "/tenants/:tenant/customFields", (req, p) => {
    const t = tenantOf(p);
    const b = parseBody(req);
    const entity = b["entity"];
    if (entity !== "Ticket" && entity !== "Configuration" && entity !== "Company")
      throw bad("entity must be Ticket, Configuration or Company.");
    const caption = str(b, "caption");
    if (!caption) throw bad("caption is required.");
    const type = (b["type"] ?? "Text") as CustomFieldDef["type"];
    if (
      ![
        "Text",
        "TextArea",
        "Number",
        "Checkbox",
        "Date",
        "Currency",
        "Percent",
        "Hyperlink",
        "IPAddress",
      ].includes(type)
    )
      throw bad("Unsupported custom field type.");
    const def: CustomFieldDef = {
      id: Math.max(0, ...t.customFields.map((c) => c.id)) + 1,
      entity,
      caption,
      type,
      entryMethod: type === "Date" ? "Date" : "EntryField",
      numberOfDecimals: typeof b["numberOfDecimals"] === "number" ? b["numberOfDecimals"] : 0,
    };
    t.customFields.push(def);
    return def;
  });
  route("POST", "/tenants/:tenant/signingKey/rotate", (_req, p) => {
    const t = tenantOf(p);
    t.rotateSigningKey();
    return { signingKeyId: t.signingKeyId };
  });
  route("GET", "/clientIds", () => [...store.clientIds]);
  route("POST", "/clientIds", (req) => {
    const id = str(parseBody(req), "clientId");
    if (!id) throw bad("clientId is required.");
    store.clientIds.add(id.toLowerCase());
    return [...store.clientIds];
  });

  // ---- behaviours ------------------------------------------------------------------------------

  route("GET", "/faults", () => ctx.faults.snapshot());
  route("PUT", "/faults", (req) => ctx.faults.configure(parseBody(req)));
  route("GET", "/callbacks", () => ctx.callbacks.snapshot());
  route("PUT", "/callbacks", (req) => ctx.callbacks.configure(parseBody(req)).valueOf());
  route("POST", "/callbacks/flush", async () => {
    await ctx.callbacks.flush();
    return ctx.callbacks.snapshot().stats;
  });
  route("GET", "/options", () => ctx.apiOptions);
  route("PUT", "/options", (req) => {
    const b = parseBody(req);
    for (const k of Object.keys(b)) if (!(k in ctx.apiOptions)) throw bad(`Unknown option ${k}.`);
    if (b["authFailureStatus"] !== undefined) {
      if (b["authFailureStatus"] !== 401 && b["authFailureStatus"] !== 404)
        throw bad("authFailureStatus must be 401 or 404.");
      ctx.apiOptions.authFailureStatus = b["authFailureStatus"];
    }
    if (b["keyUrlRequiresAuth"] !== undefined) {
      if (typeof b["keyUrlRequiresAuth"] !== "boolean")
        throw bad("keyUrlRequiresAuth must be true or false.");
      ctx.apiOptions.keyUrlRequiresAuth = b["keyUrlRequiresAuth"];
    }
    if (b["forwardOnlyLinkOnLastPage"] !== undefined) {
      if (typeof b["forwardOnlyLinkOnLastPage"] !== "boolean")
        throw bad("forwardOnlyLinkOnLastPage must be true or false.");
      ctx.apiOptions.forwardOnlyLinkOnLastPage = b["forwardOnlyLinkOnLastPage"];
    }
    return ctx.apiOptions;
  });

  // ---- stats -----------------------------------------------------------------------------------

  route("GET", "/stats", () => ctx.stats.snapshot());
  route("POST", "/stats/reset", () => {
    ctx.stats.reset();
    return ctx.stats.snapshot();
  });
}
