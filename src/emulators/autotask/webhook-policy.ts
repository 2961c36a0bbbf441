/**
 * Who may register webhooks, how many, and where they may point (docs/emulator.md, "Webhook
 * permissions, limits, field labels and HTTPS"):
 * - creating webhooks is a per-API-user permission ("Can create WebHooks" on the security level),
 *   off unless granted, with a maximum number of webhooks;
 * - Autotask delivers on port 443 only, so a webhookUrl/deactivationUrl that is not https on port
 *   443 is refused unless the emulator's allow-http knob is on (tests and the demo receive on
 *   http://127.0.0.1:<port>).
 * The admin API sets both: `PUT /_emulator/api-users/:username`, `PUT /_emulator/webhook-policy`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { EntityDef } from "./entities.js";
import type { Row } from "./hooks.js";
import { ApiError, type ApiUser, type EmulatorStore, invalid, type Tenant } from "./store.js";

export interface WebhookPolicy {
  /** Accept webhook URLs that are not https on port 443 (default false: as strict as the real one). */
  allowHttp: boolean;
  /** What the per-user maximum counts: webhooks that exist now ("live", default) or every webhook the user ever created ("lifetime"). */
  limitCounts: "live" | "lifetime";
}

const WEBHOOK_ROOTS = ["TicketWebhooks", "TicketNoteWebhooks", "ConfigurationItemWebhooks"] as const;

export const isWebhookRoot = (def: EntityDef): boolean =>
  (WEBHOOK_ROOTS as readonly string[]).includes(def.name);

/** True when Autotask would call this URL: https on the default port 443. */
export function deliverableUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === "https:" && (u.port === "" || u.port === "443");
  } catch {
    return false;
  }
}

/** Webhooks of the tenant (every webhook entity) owned by the user's resource. */
function ownedWebhooks(tenant: Tenant, user: ApiUser): number {
  let n = 0;
  for (const name of WEBHOOK_ROOTS) {
    const table = tenant.table(name);
    n += table.lookup("ownerResourceID", user.resourceId).length;
  }
  return n;
}

const lowerKeyValue = (body: unknown, key: string): unknown => {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return undefined;
  for (const [k, v] of Object.entries(body as Record<string, unknown>))
    if (k.toLowerCase() === key.toLowerCase()) return v;
  return undefined;
};

function checkUrls(policy: WebhookPolicy, body: unknown): void {
  if (policy.allowHttp) return;
  for (const key of ["webhookUrl", "deactivationUrl"]) {
    const v = lowerKeyValue(body, key);
    if (typeof v === "string" && v !== "" && !deliverableUrl(v))
      // [U] The real API's answer to a non-443 URL is not public; 500 with an errors array is how it
      // answers other business-rule failures.
      throw invalid(`${key} must be an https URL on port 443; Autotask delivers webhooks to port 443 only.`);
  }
}

/** Checks a create of a {X}Webhooks row by this user; throws the API's error when refused. */
export function checkWebhookCreate(
  policy: WebhookPolicy,
  tenant: Tenant,
  user: ApiUser,
  body: unknown,
): void {
  if (user.canCreateWebhooks !== true)
    // [U] wording and status unconfirmed (docs/emulator.md).
    throw invalid(
      "The logged in Resource does not have the permission to create webhooks (security level: Can create WebHooks).",
    );
  const max = user.maxWebhooks ?? 0;
  const used = policy.limitCounts === "lifetime" ? (user.webhooksCreated ?? 0) : ownedWebhooks(tenant, user);
  if (used >= max)
    throw invalid(
      `The maximum number of webhooks (${max}) allowed for the logged in Resource's security level has been reached.`,
    );
  checkUrls(policy, body);
}

/** Checks a PATCH/PUT of a {X}Webhooks row: the URLs it sets must be deliverable. */
export function checkWebhookUpdate(policy: WebhookPolicy, body: unknown): void {
  checkUrls(policy, body);
}

/** Counts a created webhook against the user's lifetime total. */
export function webhookCreated(user: ApiUser): void {
  user.webhooksCreated = (user.webhooksCreated ?? 0) + 1;
}

/** The user's create access to webhook entities as entityInformation reports it ([U]: "All"/"None"). */
export function webhookCreateAccess(user: ApiUser): boolean {
  return user.canCreateWebhooks === true;
}

type Body = Record<string, unknown>;

/** `/_emulator/api-users/:username` and `/_emulator/webhook-policy`. */
export function registerWebhookPolicyRoutes(
  app: FastifyInstance,
  store: EmulatorStore,
  policy: WebhookPolicy,
): void {
  const send = (reply: FastifyReply, fn: () => unknown) => {
    try {
      return reply.code(200).send(fn());
    } catch (err) {
      if (err instanceof ApiError) return reply.code(err.status).send({ errors: err.errors });
      throw err;
    }
  };
  const bodyOf = (req: FastifyRequest): Body => {
    let v: unknown = req.body;
    if (typeof v === "string") {
      try {
        v = v === "" ? {} : JSON.parse(v);
      } catch {
        throw new ApiError(400, "The request body is not valid JSON.");
      }
    }
    if (v === undefined || v === null) return {};
    if (typeof v !== "object" || Array.isArray(v))
      throw new ApiError(400, "The request body must be a JSON object.");
    return v as Body;
  };
  const userOf = (req: FastifyRequest): ApiUser => {
    const name = (req.params as Record<string, string>)["username"] ?? "";
    const found = store.findUser(name);
    if (!found) throw new ApiError(404, `No API user ${name}.`);
    return found.user;
  };
  const view = (u: ApiUser) => ({
    username: u.username,
    resourceId: u.resourceId,
    canCreateWebhooks: u.canCreateWebhooks === true,
    maxWebhooks: u.maxWebhooks ?? 0,
    webhooksCreated: u.webhooksCreated ?? 0,
  });

  app.get("/_emulator/api-users/:username", async (req, reply) => send(reply, () => view(userOf(req))));
  app.put("/_emulator/api-users/:username", async (req, reply) =>
    send(reply, () => {
      const u = userOf(req);
      const b = bodyOf(req);
      const can = b["canCreateWebhooks"];
      const max = b["maxWebhooks"];
      if (can !== undefined && typeof can !== "boolean")
        throw new ApiError(400, "canCreateWebhooks must be true or false.");
      if (max !== undefined && !(typeof max === "number" && Number.isInteger(max) && max >= 0))
        throw new ApiError(400, "maxWebhooks must be an integer ≥ 0.");
      if (can !== undefined) u.canCreateWebhooks = can;
      if (max !== undefined) u.maxWebhooks = max;
      store.commit();
      return view(u);
    }),
  );
  app.get("/_emulator/webhook-policy", async (_req, reply) => send(reply, () => ({ ...policy })));
  app.put("/_emulator/webhook-policy", async (req, reply) =>
    send(reply, () => {
      const b = bodyOf(req);
      if (b["allowHttp"] !== undefined) {
        if (typeof b["allowHttp"] !== "boolean") throw new ApiError(400, "allowHttp must be true or false.");
        policy.allowHttp = b["allowHttp"];
      }
      if (b["limitCounts"] !== undefined) {
        if (b["limitCounts"] !== "live" && b["limitCounts"] !== "lifetime")
          throw new ApiError(400, 'limitCounts must be "live" or "lifetime".');
        policy.limitCounts = b["limitCounts"];
      }
      return { ...policy };
    }),
  );
}

export type { Row };
