import { type Selectable, sql } from "kysely";
import type { Clock } from "../lib/clock.js";
import { hashToken, newToken, passwords } from "../lib/crypto.js";
import type { Db } from "../store/db.js";
import type { UserRow } from "../store/schema.js";
import { toUser } from "./convert.js";
import { tooManyRequests } from "./errors.js";
import type { User } from "./types.js";

/** Sign-in back-off: per username, counted in the database so every API process sharing it agrees. */
export interface SignInPolicy {
  /** Failures allowed before sign-in for the username is refused for a while. */
  freeFailures: number;
  /** The first refusal window; it doubles with every further failure. */
  lockSeconds: number;
  /** The longest refusal window. */
  maxLockSeconds: number;
  /** A username whose last failure is older than this starts counting again from zero. */
  forgetAfterSeconds: number;
}

export const DEFAULT_SIGN_IN_POLICY: SignInPolicy = {
  freeFailures: 5,
  lockSeconds: 30,
  maxLockSeconds: 3600,
  forgetAfterSeconds: 24 * 3600,
};

/** How long a web UI session lasts. */
const SESSION_HOURS = 12;

/** Compared against when a username does not exist, so a sign-in costs the same either way (made on first use). */
let dummyPasswordHash: Promise<string> | undefined;
const dummyHash = () => {
  dummyPasswordHash ??= passwords.hash("nocbridge-no-such-user");
  return dummyPasswordHash;
};

/**
 * Password sign-in for the web UI: one scrypt per attempt in the thread pool (against a dummy hash
 * for unknown usernames), a per-username failure count and refusal window kept in the database, and
 * an audit row per failure.
 */
export class SignIns {
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #policy: SignInPolicy;

  constructor(db: Db, clock: Clock, policy: SignInPolicy = DEFAULT_SIGN_IN_POLICY) {
    this.#db = db;
    this.#clock = clock;
    this.#policy = policy;
  }

  /**
   * Username + password sign-in (the web UI): a new session token, or null for a wrong password, an
   * unknown or disabled username. Every attempt costs one scrypt in the thread pool, known user or
   * not. After `freeFailures` failures the username is refused (429) for a window that doubles with
   * each further failure; failures are audited with the username and the client's address.
   */
  async signIn(
    username: string,
    password: string,
    from: { ip: string },
  ): Promise<{ token: string; user: User } | null> {
    const now = this.#clock.now();
    const failures = await this.#db.kysely
      .selectFrom("sign_in_failures")
      .select(["locked_until"])
      .where("username", "=", username)
      .executeTakeFirst();
    const lockedMs = failures?.locked_until ? Date.parse(failures.locked_until) - now.getTime() : 0;
    if (lockedMs > 0) {
      await this.#auditFailure(null, username, from.ip, "locked");
      throw tooManyRequests("too many failed sign-ins for this username; try again later", lockedMs / 1000);
    }
    const row = await this.#db.kysely
      .selectFrom("users")
      .selectAll()
      .where("username", "=", username)
      .where("disabled", "=", 0)
      .executeTakeFirst();
    // The hash is computed even for an unknown user, so the work (and timing) is the same.
    const ok = await passwords.verify(password, row?.password_hash ?? (await dummyHash()));
    if (!row?.password_hash || !ok) {
      const lockedUntil = await this.#countFailure(username);
      await this.#auditFailure(row ?? null, username, from.ip, row ? "wrong password" : "unknown user", {
        ...(lockedUntil ? { lockedUntil } : {}),
      });
      return null;
    }
    const token = newToken();
    await this.#db.kysely.transaction().execute(async (trx) => {
      await trx.deleteFrom("sign_in_failures").where("username", "=", username).execute();
      await trx
        .insertInto("sessions")
        .values({
          user_id: row.id,
          token_hash: hashToken(token),
          created_at: now.toISOString(),
          expires_at: new Date(now.getTime() + SESSION_HOURS * 3600_000).toISOString(),
        })
        .execute();
    });
    return { token, user: toUser(row) };
  }

  /** Counts one failure for the username (atomically); returns the end of the refusal window it starts, if any. */
  async #countFailure(username: string): Promise<string | null> {
    const p = this.#policy;
    const now = this.#clock.now();
    const forgetBefore = new Date(now.getTime() - p.forgetAfterSeconds * 1000).toISOString();
    const counted = await this.#db.kysely
      .insertInto("sign_in_failures")
      .values({ username, failures: 1, last_failure_at: now.toISOString(), locked_until: null })
      .onConflict((oc) =>
        oc.column("username").doUpdateSet({
          failures: sql<number>`CASE WHEN sign_in_failures.last_failure_at < ${forgetBefore} THEN 1 ELSE sign_in_failures.failures + 1 END`,
          last_failure_at: now.toISOString(),
        }),
      )
      .returning("failures")
      .executeTakeFirstOrThrow();
    // Rows of usernames nobody has tried for a day go, so guessed names do not pile up.
    await this.#db.kysely
      .deleteFrom("sign_in_failures")
      .where("last_failure_at", "<", forgetBefore)
      .where((eb) => eb.or([eb("locked_until", "is", null), eb("locked_until", "<", now.toISOString())]))
      .execute();
    const n = Number(counted.failures);
    if (n < p.freeFailures) return null;
    const seconds = Math.min(p.maxLockSeconds, p.lockSeconds * 2 ** Math.min(n - p.freeFailures, 30));
    const until = new Date(now.getTime() + seconds * 1000).toISOString();
    await this.#db.kysely
      .updateTable("sign_in_failures")
      .set({ locked_until: until })
      .where("username", "=", username)
      // A concurrent failure may have set a longer window already: never shorten it.
      .where((eb) => eb.or([eb("locked_until", "is", null), eb("locked_until", "<", until)]))
      .execute();
    return until;
  }

  async #auditFailure(
    row: Selectable<UserRow> | null,
    username: string,
    ip: string,
    reason: string,
    extra: object = {},
  ): Promise<void> {
    await this.#db.kysely
      .insertInto("audit_log")
      .values({
        partner_id: row?.partner_id ?? null,
        actor_user_id: null,
        actor_name: "anonymous",
        action: "session.failed",
        target: row ? `user:${row.id}` : "user:unknown",
        detail: JSON.stringify({ username, ip, reason, ...extra }),
        created_at: this.#clock.now().toISOString(),
      })
      .execute();
  }
}
