import type { Role } from "./catalog.js";
import { forbidden, notFound } from "./errors.js";

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
