import type { Kysely, Selectable, Transaction, Updateable } from "kysely";
import type { Clock } from "../lib/clock.js";
import { hashToken, newToken, passwords } from "../lib/crypto.js";
import type { Db } from "../store/db.js";
import type { Database, UserRow } from "../store/schema.js";
import { type Actor, partnerScope, requirePartner, requirePermission, requireVisible } from "./access.js";
import type { Role } from "./catalog.js";
import { toUser } from "./convert.js";
import { conflict, forbidden, invalid } from "./errors.js";
import { DEFAULT_SIGN_IN_POLICY, type SignInPolicy, SignIns } from "./sign-in.js";
import type { Page, User } from "./types.js";

type Q = Kysely<Database> | Transaction<Database>;

/** The display name and system role of the NOC admin whose token comes from NOCBRIDGE_ADMIN_TOKEN. */
export const ENV_ADMIN_NAME = "noc-admin (env)";
const ENV_ADMIN_ROLE = "env-admin";
/** The longest API token validity one may ask for. */
const MAX_TOKEN_DAYS = 3650;

export interface UserInput {
  name: string;
  role: Role;
  partnerId?: number | null;
  username?: string;
  password?: string;
  /** The API token stops working after this many days; omitted = never. */
  expiresInDays?: number;
}

export interface UserPatch {
  name?: string;
  role?: Role;
  username?: string;
  password?: string;
  disabled?: boolean;
}

/**
 * Users, their API tokens, web UI sessions and sign-in. Partner admins manage their own partner's
 * users; NOC admins manage everyone; another partner's user is "not found". The environment's NOC
 * admin is found by its reserved system role, never by name, and cannot be changed through the API.
 */
export class Users {
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #signIns: SignIns;

  constructor(db: Db, clock: Clock, policy: SignInPolicy = DEFAULT_SIGN_IN_POLICY) {
    this.#db = db;
    this.#clock = clock;
    this.#signIns = new SignIns(db, clock, policy);
  }

  get #k(): Kysely<Database> {
    return this.#db.kysely;
  }

  #now(): string {
    return this.#clock.now().toISOString();
  }

  // ---------------------------------------------------------------- authentication

  /** The actor a bearer token (API token or session token) belongs to, or null. Disabled users: null. */
  async authenticate(token: string): Promise<Actor | null> {
    const hash = hashToken(token);
    const now = this.#now();
    let row = await this.#k
      .selectFrom("users")
      .selectAll()
      .where("token_hash", "=", hash)
      .where("disabled", "=", 0)
      .where((eb) => eb.or([eb("token_expires_at", "is", null), eb("token_expires_at", ">", now)]))
      .executeTakeFirst();
    if (!row) {
      // A web UI session token (from signIn), valid until it expires or is revoked.
      row = await this.#k
        .selectFrom("sessions")
        .innerJoin("users", "users.id", "sessions.user_id")
        .selectAll("users")
        .where("sessions.token_hash", "=", hash)
        .where("sessions.revoked_at", "is", null)
        .where("sessions.expires_at", ">", now)
        .where("users.disabled", "=", 0)
        .executeTakeFirst();
    }
    if (!row) return null;
    return { userId: row.id, name: row.name, role: row.role as Role, partnerId: row.partner_id };
  }

  /**
   * Username + password sign-in (the web UI): a new session token, or null; 429 while the username
   * is refused (sign-in.ts).
   */
  signIn(
    username: string,
    password: string,
    from: { ip: string },
  ): Promise<{ token: string; user: User } | null> {
    return this.#signIns.signIn(username, password, from);
  }

  /** Ends a session (sign-out). API tokens are not sessions and stay valid. */
  async signOut(token: string): Promise<boolean> {
    const r = await this.#k
      .updateTable("sessions")
      .set({ revoked_at: this.#now() })
      .where("token_hash", "=", hashToken(token))
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Makes `token` the environment NOC admin's token (NOCBRIDGE_ADMIN_TOKEN), replacing the one set at
   * the last start. The admin is the user with the reserved system role; one upsert, so processes
   * starting together cannot make two.
   */
  async ensureAdminToken(token: string): Promise<void> {
    const hash = hashToken(token);
    await this.#k
      .insertInto("users")
      .values({
        name: ENV_ADMIN_NAME,
        role: "noc-admin",
        partner_id: null,
        token_hash: hash,
        created_at: this.#now(),
        disabled: 0,
        system_role: ENV_ADMIN_ROLE,
      })
      .onConflict((oc) =>
        oc
          .column("system_role")
          .doUpdateSet({ token_hash: hash, disabled: 0, token_expires_at: null, role: "noc-admin" }),
      )
      .execute();
  }

  // ---------------------------------------------------------------- management

  async create(actor: Actor, input: UserInput): Promise<{ user: User; token: string }> {
    requirePermission(actor, "user:create");
    checkName(input.name);
    if (input.password !== undefined && input.username === undefined)
      throw invalid("username", "a password needs a username to sign in with");
    checkPassword(input.password);
    if (input.username !== undefined) await this.#checkUsername(input.username);
    let partnerId = input.partnerId ?? null;
    const own = partnerScope(actor);
    if (own !== null) {
      // A partner admin creates users of its own partner only, never NOC-wide ones.
      if (input.role === "noc-admin") throw invalid("role", "a partner admin may not create NOC admins");
      if (partnerId !== null) requirePartner(actor, partnerId);
      partnerId = own;
    }
    checkRole(input.role, partnerId);
    if (partnerId !== null) {
      const p = await this.#k
        .selectFrom("partners")
        .select("id")
        .where("id", "=", partnerId)
        .executeTakeFirst();
      if (!p) throw invalid("partnerId", `partner ${partnerId} does not exist`);
    }
    const tokenExpiresAt = this.#expiry(input.expiresInDays);
    const passwordHash = input.password === undefined ? null : await passwords.hash(input.password);
    const token = newToken();
    return this.#k.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto("users")
        .values({
          name: input.name,
          role: input.role,
          partner_id: partnerId,
          token_hash: hashToken(token),
          created_at: this.#now(),
          disabled: 0,
          username: input.username ?? null,
          password_hash: passwordHash,
          token_expires_at: tokenExpiresAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.#audit(trx, actor, partnerId, "user.create", row.id, {
        role: input.role,
        name: input.name,
        ...(tokenExpiresAt ? { tokenExpiresAt } : {}),
      });
      return { user: toUser(row), token };
    });
  }

  /** Users the actor manages: a partner admin its partner's, a NOC admin everyone's (or one partner's). */
  async list(
    actor: Actor,
    q: { limit?: number; offset?: number; partnerId?: number } = {},
  ): Promise<Page<User>> {
    requirePermission(actor, "user:manage");
    if (q.partnerId !== undefined) requirePartner(actor, q.partnerId);
    const partnerId = partnerScope(actor) ?? q.partnerId;
    let base = this.#k.selectFrom("users");
    if (partnerId !== undefined) base = base.where("partner_id", "=", partnerId);
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const offset = Math.max(q.offset ?? 0, 0);
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy("id").limit(limit).offset(offset).execute(),
      base.select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(toUser), total: Number(count.n), limit, offset };
  }

  async get(actor: Actor, userId: number): Promise<User> {
    return toUser(await this.#managed(actor, userId));
  }

  /**
   * Changes name, role, username, password or the disabled flag. Disabling a user or changing its
   * password ends its sessions at once (its own password change keeps the caller's sessions).
   */
  async update(actor: Actor, userId: number, patch: UserPatch): Promise<User> {
    const row = await this.#managed(actor, userId, true);
    const self = actor.userId === row.id;
    const set: Updateable<UserRow> = {};
    const changed: Record<string, unknown> = {};
    if (patch.name !== undefined && patch.name !== row.name) {
      checkName(patch.name);
      set.name = patch.name;
      changed.name = patch.name;
    }
    if (patch.role !== undefined && patch.role !== row.role) {
      if (self) throw invalid("role", "you cannot change your own role");
      if (patch.role === "noc-admin" && partnerScope(actor) !== null)
        throw invalid("role", "a partner admin may not make NOC admins");
      checkRole(patch.role, row.partner_id, "role");
      set.role = patch.role;
      changed.role = patch.role;
    }
    if (patch.username !== undefined && patch.username !== row.username) {
      await this.#checkUsername(patch.username);
      set.username = patch.username;
      changed.username = patch.username;
    }
    if (patch.password !== undefined) {
      checkPassword(patch.password);
      if ((set.username ?? row.username) === null)
        throw invalid("username", "a password needs a username to sign in with");
      set.password_hash = await passwords.hash(patch.password);
    }
    const disabled = patch.disabled === undefined ? undefined : patch.disabled ? 1 : 0;
    if (disabled !== undefined && disabled !== row.disabled) {
      if (self && disabled) throw invalid("disabled", "you cannot disable yourself");
      set.disabled = disabled;
    }
    return this.#k.transaction().execute(async (trx) => {
      if (Object.keys(set).length > 0)
        await trx.updateTable("users").set(set).where("id", "=", row.id).execute();
      if (set.disabled !== undefined)
        await this.#audit(trx, actor, row.partner_id, set.disabled ? "user.disable" : "user.enable", row.id, {
          name: row.name,
        });
      if (set.password_hash !== undefined)
        await this.#audit(trx, actor, row.partner_id, "user.password.change", row.id, { name: row.name });
      if (Object.keys(changed).length > 0)
        await this.#audit(trx, actor, row.partner_id, "user.update", row.id, changed);
      if (set.disabled === 1 || (set.password_hash !== undefined && !self))
        await this.#endSessions(trx, row.id);
      return toUser(
        await trx.selectFrom("users").selectAll().where("id", "=", row.id).executeTakeFirstOrThrow(),
      );
    });
  }

  /** Deletes a user; its sessions go with it. */
  async remove(actor: Actor, userId: number): Promise<void> {
    const row = await this.#managed(actor, userId, true);
    if (actor.userId === row.id) throw conflict("you cannot delete yourself");
    await this.#k.transaction().execute(async (trx) => {
      await trx.deleteFrom("sessions").where("user_id", "=", row.id).execute();
      await trx.deleteFrom("users").where("id", "=", row.id).execute();
      await this.#audit(trx, actor, row.partner_id, "user.delete", row.id, {
        name: row.name,
        role: row.role,
        ...(row.username ? { username: row.username } : {}),
      });
    });
  }

  /** A new API token for the user (shown once); the old one stops working at once. */
  async rotateToken(
    actor: Actor,
    userId: number,
    opts: { expiresInDays?: number } = {},
  ): Promise<{ user: User; token: string }> {
    const row = await this.#managed(actor, userId, true);
    const tokenExpiresAt = this.#expiry(opts.expiresInDays);
    const token = newToken();
    return this.#k.transaction().execute(async (trx) => {
      await trx
        .updateTable("users")
        .set({ token_hash: hashToken(token), token_expires_at: tokenExpiresAt })
        .where("id", "=", row.id)
        .execute();
      await this.#audit(trx, actor, row.partner_id, "user.token.rotate", row.id, {
        name: row.name,
        ...(tokenExpiresAt ? { tokenExpiresAt } : {}),
      });
      const updated = await trx
        .selectFrom("users")
        .selectAll()
        .where("id", "=", row.id)
        .executeTakeFirstOrThrow();
      return { user: toUser(updated), token };
    });
  }

  // ---------------------------------------------------------------- helpers

  /**
   * The user row if the actor may manage it: another partner's user is not found (404), a role
   * without user management is forbidden (403); with `write`, the reserved admin is forbidden too.
   */
  async #managed(actor: Actor, userId: number, write = false): Promise<Selectable<UserRow>> {
    const row = requireVisible(
      actor,
      await this.#k.selectFrom("users").selectAll().where("id", "=", userId).executeTakeFirst(),
      "user",
    );
    requirePermission(actor, "user:manage");
    if (write && row.system_role !== null)
      throw forbidden("change the environment's NOC admin (it is managed by NOCBRIDGE_ADMIN_TOKEN)");
    return row;
  }

  async #checkUsername(username: string): Promise<void> {
    if (!/^[A-Za-z0-9._@-]{2,100}$/.test(username))
      throw invalid("username", "2–100 letters, digits or . _ @ -");
    const taken = await this.#k
      .selectFrom("users")
      .select("id")
      .where("username", "=", username)
      .executeTakeFirst();
    if (taken) throw conflict(`username: "${username}" is taken`, "username");
  }

  #expiry(days: number | undefined): string | null {
    if (days === undefined) return null;
    if (!Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS)
      throw invalid("expiresInDays", `must be a whole number of days from 1 to ${MAX_TOKEN_DAYS}`);
    return new Date(this.#clock.now().getTime() + days * 86_400_000).toISOString();
  }

  async #endSessions(q: Q, userId: number): Promise<void> {
    await q
      .updateTable("sessions")
      .set({ revoked_at: this.#now() })
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .execute();
  }

  async #audit(q: Q, actor: Actor, partnerId: number | null, action: string, userId: number, detail: object) {
    await q
      .insertInto("audit_log")
      .values({
        partner_id: partnerId,
        actor_user_id: actor.userId,
        actor_name: actor.name,
        action,
        target: `user:${userId}`,
        detail: JSON.stringify(detail),
        created_at: this.#now(),
      })
      .execute();
  }
}

/** Display names that would pass for the environment's NOC admin are refused. */
function checkName(name: string): void {
  const normal = name.trim().replace(/\s+/g, " ").toLowerCase();
  if (normal === "") throw invalid("name", "must not be empty");
  if (normal === ENV_ADMIN_NAME) throw invalid("name", `"${ENV_ADMIN_NAME}" is reserved`);
}

function checkPassword(password: string | undefined): void {
  if (password !== undefined && password.length < 8)
    throw invalid("password", "must be at least 8 characters");
}

function checkRole(role: Role, partnerId: number | null, field = "partnerId"): void {
  if (role === "noc-admin" && partnerId !== null)
    throw invalid(field, "a NOC admin is not tied to a partner; omit partnerId");
  if (role === "partner-admin" && partnerId === null)
    throw invalid(field, "a partner admin needs the partner it administers");
}
