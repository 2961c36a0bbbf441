import type { Actor } from "../../portal/access.js";
import { PortalError } from "../../portal/errors.js";
import type { PsaResource } from "../../psa/connector.js";
import type { Db } from "../../store/db.js";
import type { SyncPortal } from "../portal-port.js";
import type { PsaSessions } from "../sessions.js";

/** One portal user's line of the resource map, as Setup shows it. */
export interface ResourceMapLine {
  userId: number;
  userName: string;
  psaResourceId: number | null;
  psaRoleId: number | null;
  psaLabel: string;
  /** true: not stored, proposed because an e-mail address (or the name) matches a PSA resource. */
  suggested: boolean;
}

export interface ResourceMapInput {
  userId: number;
  /** null: the user has no resource (their entries go as the Setup default). */
  psaResourceId: number | null;
  psaRoleId: number | null;
}

const norm = (s: string | null | undefined) => (s ?? "").trim().toLowerCase();

/**
 * The portal-user ↔ PSA-resource map of a partner. Portal users have no e-mail field: a user whose
 * sign-in name is an e-mail address is matched to the resource with that address, else a user whose
 * name equals a resource's full name.
 */
export class ResourceMap {
  constructor(private readonly o: { db: Db; portal: SyncPortal; sessions: PsaSessions }) {}

  get #k() {
    return this.o.db.kysely;
  }

  /** The PSA's resources, or [] when the partner's PSA lists none (no session, no time-entry port). */
  async resources(partnerId: number): Promise<PsaResource[]> {
    const { session } = await this.o.sessions.forPartner(partnerId);
    return (await session?.timeEntries?.resources()) ?? [];
  }

  /** Every enabled user of the partner with their stored resource, or a suggestion. */
  async suggest(partnerId: number): Promise<ResourceMapLine[]> {
    const [users, stored, resources] = await Promise.all([
      this.o.portal.partnerUsers(partnerId),
      this.#k.selectFrom("resource_map").selectAll().where("partner_id", "=", partnerId).execute(),
      this.resources(partnerId),
    ]);
    const byUser = new Map(stored.map((r) => [r.user_id, r]));
    const active = resources.filter((r) => r.active);
    return users.map((u): ResourceMapLine => {
      const s = byUser.get(u.id);
      if (s)
        return {
          userId: u.id,
          userName: u.name,
          psaResourceId: s.psa_resource_id,
          psaRoleId: s.psa_role_id,
          psaLabel: s.psa_label,
          suggested: false,
        };
      const match =
        (u.username?.includes("@") ? active.find((r) => norm(r.email) === norm(u.username)) : undefined) ??
        active.find((r) => norm(r.name) === norm(u.name));
      return {
        userId: u.id,
        userName: u.name,
        psaResourceId: match?.id ?? null,
        psaRoleId: null,
        psaLabel: match?.name ?? "",
        suggested: match !== undefined,
      };
    });
  }

  /** Replaces the given users' lines (a null resource removes the line). */
  async put(partnerId: number, lines: ResourceMapInput[]): Promise<ResourceMapLine[]> {
    const users = new Set((await this.o.portal.partnerUsers(partnerId)).map((u) => u.id));
    const unknown = lines.find((l) => !users.has(l.userId));
    if (unknown)
      throw new PortalError(
        "INVALID",
        400,
        `user ${unknown.userId} is not an enabled user of partner ${partnerId}`,
        "lines",
      );
    const resources = lines.some((l) => l.psaResourceId !== null) ? await this.resources(partnerId) : [];
    await this.#k.transaction().execute(async (tx) => {
      for (const l of lines) {
        await tx
          .deleteFrom("resource_map")
          .where("partner_id", "=", partnerId)
          .where("user_id", "=", l.userId)
          .execute();
        if (l.psaResourceId === null) continue;
        await tx
          .insertInto("resource_map")
          .values({
            partner_id: partnerId,
            user_id: l.userId,
            psa_resource_id: l.psaResourceId,
            psa_role_id: l.psaRoleId,
            psa_label: resources.find((r) => r.id === l.psaResourceId)?.name ?? String(l.psaResourceId),
          })
          .execute();
      }
    });
    return this.suggest(partnerId);
  }

  /** GET …/resource-map: for anyone who sees the partner. */
  async view(
    actor: Actor,
    partnerId: number,
  ): Promise<{ lines: ResourceMapLine[]; resources: PsaResource[] }> {
    await this.o.portal.authorize(actor, partnerId);
    const [lines, resources] = await Promise.all([this.suggest(partnerId), this.resources(partnerId)]);
    return { lines, resources };
  }

  /** PUT …/resource-map: mapping writers only. */
  async save(
    actor: Actor,
    partnerId: number,
    lines: ResourceMapInput[],
  ): Promise<{ lines: ResourceMapLine[] }> {
    await this.o.portal.authorize(actor, partnerId, "mapping:write");
    return { lines: await this.put(partnerId, lines) };
  }
}
