import type { Kysely, Selectable, Transaction } from "kysely";
import type { Database, PartnerRow } from "../store/schema.js";
import type { Role } from "./catalog.js";
import { forbidden, invalid, notFound } from "./errors.js";

/**
 * The portal's one access layer: who may see which partner's records, and what each role may do.
 * Every portal module checks through these functions, in the same order: first that the record is
 * the actor's to see (404 otherwise, exactly as a record that does not exist), then the permission
 * (403).
 */

/** Who is asking: a user of the portal, or the system itself (CLI, scheduler). */
export interface Actor {
  userId: number | null;
  name: string;
  role: Role;
  /** null = NOC-wide (noc-admin, or a NOC technician / read-only user not tied to one partner). */
  partnerId: number | null;
}

export const SYSTEM_ACTOR: Actor = { userId: null, name: "system", role: "noc-admin", partnerId: null };

export type Permission =
  | "read"
  | "data:write"
  | "partner:create"
  | "partner:update"
  | "integration:write"
  | "secret:read"
  | "mapping:write"
  | "user:create"
  | "user:manage"
  | "audit:read";

const PARTNER_ADMIN: Permission[] = [
  "read",
  "data:write",
  "partner:update",
  "integration:write",
  "secret:read",
  "mapping:write",
  "user:create",
  "user:manage",
  "audit:read",
];

const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  "noc-admin": new Set<Permission>([...PARTNER_ADMIN, "partner:create"]),
  "partner-admin": new Set(PARTNER_ADMIN),
  technician: new Set<Permission>(["read", "data:write"]),
  "read-only": new Set<Permission>(["read"]),
};

const VERBS: Record<Permission, string> = {
  read: "read this",
  "data:write": "change clients, devices or tickets",
  "partner:create": "create partners",
  "partner:update": "change partner details",
  "integration:write": "change integration settings",
  "secret:read": "view the PSA secret",
  "mapping:write": "change mapping tables",
  "user:create": "create users",
  "user:manage": "manage users",
  "audit:read": "read the audit log",
};

export function can(actor: Actor, permission: Permission): boolean {
  return GRANTS[actor.role].has(permission);
}

/** Throws 403 unless the actor's role grants the permission. Call after the record was found visible. */
export function requirePermission(actor: Actor, permission: Permission): void {
  if (!can(actor, permission)) throw forbidden(VERBS[permission]);
}

/** The one partner whose records a list may show the actor, or null when it sees every partner's. */
export function partnerScope(actor: Actor): number | null {
  return actor.partnerId;
}

/** Whether the actor may see anything of this partner. */
export function seesPartner(actor: Actor, partnerId: number): boolean {
  return actor.partnerId === null || actor.partnerId === partnerId;
}

/**
 * Throws 404 when the partner is not the actor's: a record of another partner is answered exactly as
 * one that does not exist, so its existence is never revealed.
 */
export function requirePartner(actor: Actor, partnerId: number, what = "partner"): void {
  if (!seesPartner(actor, partnerId)) throw notFound(what);
}

/**
 * The partner's row: 404 unless it exists and the actor sees it (the same answer for both), then 403
 * unless the actor's role grants `permission`.
 */
export async function requirePartnerRow(
  q: Kysely<Database> | Transaction<Database>,
  actor: Actor,
  partnerId: number,
  permission?: Permission,
): Promise<Selectable<PartnerRow>> {
  requirePartner(actor, partnerId);
  const row = await q.selectFrom("partners").selectAll().where("id", "=", partnerId).executeTakeFirst();
  if (!row) throw notFound("partner");
  if (permission) requirePermission(actor, permission);
  return row;
}

/**
 * A record of one partner (a client, device, ticket or user) as the actor may see it: a missing one,
 * or another partner's, is 404 `what` — or, when the record was named by a request field (`ref`), a
 * 400 on that field. A record of no partner (a NOC-wide user) is seen by NOC-wide actors only.
 */
export function requireVisible<R extends { partner_id: number | null }>(
  actor: Actor,
  row: R | undefined,
  what: string,
  ref?: { field: string; id: number },
): R {
  if (!row || (actor.partnerId !== null && actor.partnerId !== row.partner_id)) {
    throw ref ? invalid(ref.field, `${what} ${ref.id} not found`) : notFound(what);
  }
  return row;
}

/** Records of every partner at once (the whole audit log): 404 `what` for an actor tied to one partner. */
export function requireNocWide(actor: Actor, what: string): void {
  if (actor.partnerId !== null) throw notFound(what);
}
