import { randomBytes } from "node:crypto";
import { type Migration, Migrator } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type App, buildApp } from "../src/api/app.js";
import { passwords } from "../src/lib/crypto.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { ENV_ADMIN_NAME } from "../src/portal/users.js";
import { migrate, openDb } from "../src/store/db.js";
import * as m0001 from "../src/store/migrations/0001_init.js";
import * as m0002 from "../src/store/migrations/0002_sync.js";
import * as m0003 from "../src/store/migrations/0003_tickets.js";
import * as m0004 from "../src/store/migrations/0004_sessions.js";
import { dropSchema, openTestServices, PG_URL, STORES, type TestEnv } from "./helpers/services.js";
import { until } from "./helpers/wait.js";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Real time plus an offset the tests move forward (lock windows, token expiry). */
const clock = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs) };

describe.each(STORES)("users, tokens and sign-in on %s", (kind) => {
  let env: TestEnv;
  let app: App;
  const t = { noc: "", adminA: "", techA: "", adminB: "" };
  const id = { partnerA: 0, partnerB: 0, adminA: 0, techA: 0, userB: 0, nocTech: 0 };
  let ip = 0;

  /** Each call comes from its own address unless one is given, so the per-address limit stays out of the way. */
  async function call(token: string, method: Method, url: string, body?: unknown, from?: string) {
    const res = await app.inject({
      method,
      url,
      remoteAddress: from ?? `10.1.${Math.floor(++ip / 250)}.${(ip % 250) + 1}`,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      // biome-ignore lint/suspicious/noExplicitAny: tests read loosely-typed JSON answers
      body: res.body ? (res.json() as any) : undefined,
    };
  }
  const ok = async (token: string, method: Method, url: string, body?: unknown) => {
    const r = await call(token, method, url, body);
    if (r.status >= 300) throw new Error(`${method} ${url} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const me = async (token: string) => (await call(token, "GET", "/api/me")).status;
  const signIn = (username: string, password: string, from?: string) =>
    call("", "POST", "/api/session", { username, password }, from);
  const audit = async (action: string) =>
    (
      await env.services.db.kysely
        .selectFrom("audit_log")
        .selectAll()
        .where("action", "=", action)
        .orderBy("id")
        .execute()
    ).map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  const userRow = (userId: number) =>
    env.services.db.kysely.selectFrom("users").selectAll().where("id", "=", userId).executeTakeFirstOrThrow();

  beforeAll(async () => {
    env = await openTestServices(kind, { clock });
    app = await buildApp({ portal: env.services.portal, sync: env.services.sync });
    const portal = env.services.portal;
    t.noc = (await portal.createUser(SYSTEM_ACTOR, { name: "Nora NOC", role: "noc-admin" })).token;
    id.partnerA = (await ok(t.noc, "POST", "/api/partners", { name: "Alpha IT" })).id;
    id.partnerB = (await ok(t.noc, "POST", "/api/partners", { name: "Bravo Systems" })).id;
    const adminA = await ok(t.noc, "POST", "/api/users", {
      name: "Ana Admin",
      role: "partner-admin",
      partnerId: id.partnerA,
      username: "ana",
      password: "ana-password-1",
    });
    t.adminA = adminA.token;
    id.adminA = adminA.id;
    const techA = await ok(t.noc, "POST", "/api/users", {
      name: "Tom Tech",
      role: "technician",
      partnerId: id.partnerA,
    });
    t.techA = techA.token;
    id.techA = techA.id;
    const adminB = await ok(t.noc, "POST", "/api/users", {
      name: "Bo Admin",
      role: "partner-admin",
      partnerId: id.partnerB,
    });
    t.adminB = adminB.token;
    id.userB = adminB.id;
    id.nocTech = (await ok(t.noc, "POST", "/api/users", { name: "Nick NOC tech", role: "technician" })).id;
  });

  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  // ---------------------------------------------------------------- sign-in

  describe("sign-in", () => {
    it("refuses a username with 429 and Retry-After after 5 failures, for a window that doubles", async () => {
      await ok(t.adminA, "POST", "/api/users", {
        name: "Lena Lock",
        role: "technician",
        username: "lena",
        password: "lena-password-1",
      });
      for (let i = 0; i < 5; i++) expect((await signIn("lena", `wrong-${i}`)).status).toBe(401);
      const refused = await signIn("lena", "lena-password-1");
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe("RATE_LIMITED");
      const first = Number(refused.headers["retry-after"]);
      expect(first).toBeGreaterThan(0);
      // The counter lives in the database: a second API process (its own in-memory limits) refuses too.
      const other = await buildApp({ portal: env.services.portal });
      try {
        const r = await other.inject({
          method: "POST",
          url: "/api/session",
          payload: { username: "lena", password: "lena-password-1" },
        });
        expect(r.statusCode).toBe(429);
        expect(Number(r.headers["retry-after"])).toBeGreaterThan(0);
      } finally {
        await other.close();
      }
      const row = await env.services.db.kysely
        .selectFrom("sign_in_failures")
        .selectAll()
        .where("username", "=", "lena")
        .executeTakeFirstOrThrow();
      expect(row.failures).toBe(5);

      // After the window one more failure locks again, for twice as long.
      clock.offsetMs += (first + 1) * 1000;
      expect((await signIn("lena", "wrong-again")).status).toBe(401);
      const again = await signIn("lena", "lena-password-1");
      expect(again.status).toBe(429);
      expect(Number(again.headers["retry-after"])).toBeGreaterThan(first);

      // Once the window passes the right password works and the count starts over.
      clock.offsetMs += (Number(again.headers["retry-after"]) + 1) * 1000;
      const s = await signIn("lena", "lena-password-1");
      expect(s.status).toBe(200);
      expect(await me(s.body.token)).toBe(200);
      expect(
        await env.services.db.kysely
          .selectFrom("sign_in_failures")
          .select("username")
          .where("username", "=", "lena")
          .executeTakeFirst(),
      ).toBeUndefined();
    });

    it("audits each failure with the username and the address, never the password", async () => {
      await signIn("ana", "not-anas-password", "192.0.2.77");
      await signIn("ghost-user", "ghost-password", "192.0.2.78");
      const rows = await audit("session.failed");
      const wrong = rows.find((r) => r.detail.ip === "192.0.2.77");
      expect(wrong?.detail).toMatchObject({ username: "ana", reason: "wrong password" });
      expect(wrong?.partner_id).toBe(id.partnerA);
      expect(wrong?.target).toBe(`user:${id.adminA}`);
      const unknown = rows.find((r) => r.detail.ip === "192.0.2.78");
      expect(unknown?.detail).toMatchObject({ username: "ghost-user", reason: "unknown user" });
      expect(unknown?.partner_id).toBeNull();
      const text = JSON.stringify(rows);
      expect(text).not.toContain("not-anas-password");
      expect(text).not.toContain("ghost-password");
      // The 429 refusals are audited too.
      expect(rows.some((r) => r.detail.username === "lena" && r.detail.reason === "locked")).toBe(true);
    });

    it("does the same scrypt work for an unknown username as for a known one", async () => {
      const verify = vi.spyOn(passwords, "verify");
      expect((await signIn("nobody-here", "some-password")).status).toBe(401);
      expect(verify).toHaveBeenCalledTimes(1);
      const dummy = verify.mock.calls[0]?.[1];
      expect(dummy).toMatch(/^scrypt\$32768\$8\$1\$/);
      expect((await signIn("ana", "wrong-password")).status).toBe(401);
      expect(verify).toHaveBeenCalledTimes(2);
      const real = verify.mock.calls[1]?.[1];
      expect(real).toBe((await userRow(id.adminA)).password_hash);
      expect(real?.split("$").slice(0, 4)).toEqual(dummy?.split("$").slice(0, 4));
      // A success clears the count of failures.
      expect((await signIn("ana", "ana-password-1")).status).toBe(200);
    });

    it("keeps the event loop free: /healthz answers while 20 sign-ins are hashing", async () => {
      const original = passwords.verify.bind(passwords);
      let started = 0;
      let finished = 0;
      vi.spyOn(passwords, "verify").mockImplementation(async (password, stored) => {
        started++;
        try {
          return await original(password, stored);
        } finally {
          finished++;
        }
      });
      const attempts = Array.from({ length: 20 }, (_, i) => signIn(`flood-${i}`, "flood-password"));
      await until(async () => started === 20, "20 sign-ins hashing");
      const health = await call("", "GET", "/healthz");
      const finishedAtHealth = finished;
      expect(health.status).toBe(200);
      // With hashing on the event loop every hash would be done before /healthz could answer.
      expect(finishedAtHealth).toBeLessThan(20);
      for (const r of await Promise.all(attempts)) expect(r.status).toBe(401);
      expect(finished).toBe(20);
    });

    it("limits sign-in attempts per client address and per username with 429 and Retry-After", async () => {
      const limited = await buildApp({
        portal: env.services.portal,
        signInLimits: { perIp: 3, perUsername: 2, windowSeconds: 60 },
      });
      try {
        const attempt = (username: string, from: string) =>
          limited.inject({
            method: "POST",
            url: "/api/session",
            remoteAddress: from,
            payload: { username, password: "whatever-password" },
          });
        for (let i = 0; i < 3; i++)
          expect((await attempt(`ip-user-${i}`, "198.51.100.1")).statusCode).toBe(401);
        const byIp = await attempt("ip-user-9", "198.51.100.1");
        expect(byIp.statusCode).toBe(429);
        expect(Number(byIp.headers["retry-after"])).toBeGreaterThan(0);
        expect(byIp.json()).toMatchObject({ statusCode: 429, code: "RATE_LIMITED" });
        // Another address is not held back by the first one.
        expect((await attempt("ip-user-9", "198.51.100.2")).statusCode).toBe(401);

        expect((await attempt("spray", "203.0.113.1")).statusCode).toBe(401);
        expect((await attempt("spray", "203.0.113.2")).statusCode).toBe(401);
        const byName = await attempt("spray", "203.0.113.3");
        expect(byName.statusCode).toBe(429);
        expect(Number(byName.headers["retry-after"])).toBeGreaterThan(0);
      } finally {
        await limited.close();
      }
    });
  });

  // ---------------------------------------------------------------- the environment's NOC admin

  describe("the environment's NOC admin", () => {
    it("is found by its reserved role, not by name: a look-alike neither breaks starts nor gets the token", async () => {
      const portal = env.services.portal;
      // A look-alike as data made before reserved names were refused would be.
      const lookAlike = await env.services.db.kysely
        .insertInto("users")
        .values({
          name: ENV_ADMIN_NAME,
          role: "partner-admin",
          partner_id: id.partnerA,
          token_hash: "look-alike-token-hash",
          created_at: new Date().toISOString(),
          disabled: 0,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      await portal.ensureAdminToken("nbt_first-env-token");
      await portal.ensureAdminToken("nbt_second-env-token");
      const reserved = await env.services.db.kysely
        .selectFrom("users")
        .selectAll()
        .where("system_role", "is not", null)
        .execute();
      expect(reserved).toHaveLength(1);
      expect(reserved[0]).toMatchObject({ name: ENV_ADMIN_NAME, role: "noc-admin", partner_id: null });
      expect(await me("nbt_first-env-token")).toBe(401);
      const envAdmin = await ok("nbt_second-env-token", "GET", "/api/me");
      expect(envAdmin).toMatchObject({ userId: reserved[0]?.id, role: "noc-admin", partnerId: null });
      expect((await userRow(lookAlike.id)).token_hash).toBe("look-alike-token-hash");

      const listed = await ok(t.noc, "GET", "/api/users?limit=500");
      // biome-ignore lint/suspicious/noExplicitAny: loosely-typed JSON
      expect(listed.items.find((u: any) => u.id === reserved[0]?.id)?.reserved).toBe(true);
    });

    it("is marked by the migration: the oldest NOC-wide NOC admin of that name, never a partner's look-alike", async () => {
      const schema = `t_${randomBytes(6).toString("hex")}`;
      const db = await openDb(kind === "postgres" ? { url: PG_URL, schema } : { url: ":memory:" });
      try {
        const dialect = db.dialect;
        const before: Record<string, Migration> = {
          "0001_init": { up: (k) => m0001.up(k, dialect) },
          "0002_sync": { up: (k) => m0002.up(k, dialect) },
          "0003_tickets": { up: (k) => m0003.up(k, dialect) },
          "0004_sessions": { up: (k) => m0004.up(k, dialect) },
        };
        const old = await new Migrator({
          db: db.kysely,
          provider: { getMigrations: async () => before },
          ...(db.schema ? { migrationTableSchema: db.schema } : {}),
        }).migrateToLatest();
        expect(old.error).toBeUndefined();
        const now = new Date().toISOString();
        const k = db.kysely;
        const partner = await k
          .insertInto("partners")
          .values({ name: "P", time_zone: "UTC", created_at: now, updated_at: now })
          .returning("id")
          .executeTakeFirstOrThrow();
        // biome-ignore lint/suspicious/noExplicitAny: the table as it was before 0005
        const users = (k as any).insertInto("users");
        const add = async (name: string, role: string, partnerId: number | null, hash: string) =>
          (
            await users
              .values({ name, role, partner_id: partnerId, token_hash: hash, created_at: now, disabled: 0 })
              .returning("id")
              .executeTakeFirstOrThrow()
          ).id as number;
        const lookAlike = await add(ENV_ADMIN_NAME, "partner-admin", partner.id, "h1");
        const real = await add(ENV_ADMIN_NAME, "noc-admin", null, "h2");
        await add(ENV_ADMIN_NAME, "noc-admin", null, "h3");
        expect((await migrate(db))[0]).toBe("0005_identity");
        const marked = await k
          .selectFrom("users")
          .select(["id"])
          .where("system_role", "=", "env-admin")
          .execute();
        expect(marked.map((r) => r.id)).toEqual([real]);
        expect(lookAlike).not.toBe(real);
      } finally {
        await db.close();
        if (kind === "postgres") await dropSchema(schema);
      }
    });

    it("refuses reserved names at user creation and rename (400 naming name)", async () => {
      for (const name of [ENV_ADMIN_NAME, "  NOC-Admin   (ENV) "]) {
        const r = await call(t.adminA, "POST", "/api/users", { name, role: "technician" });
        expect(r.status).toBe(400);
        expect(r.body.field).toBe("name");
      }
      const r = await call(t.noc, "PATCH", `/api/users/${id.techA}`, { name: ENV_ADMIN_NAME });
      expect(r.status).toBe(400);
      expect(r.body.field).toBe("name");
    });

    it("cannot be disabled, deleted, changed or re-keyed through the API, even by itself", async () => {
      const envId = (await ok("nbt_second-env-token", "GET", "/api/me")).userId as number;
      for (const token of [t.noc, "nbt_second-env-token"]) {
        expect((await call(token, "PATCH", `/api/users/${envId}`, { disabled: true })).status).toBe(403);
        expect((await call(token, "PATCH", `/api/users/${envId}`, { name: "Renamed" })).status).toBe(403);
        expect((await call(token, "POST", `/api/users/${envId}/token`, {})).status).toBe(403);
        expect((await call(token, "DELETE", `/api/users/${envId}`)).status).toBe(403);
      }
      // A partner admin does not even see it.
      expect((await call(t.adminA, "DELETE", `/api/users/${envId}`)).status).toBe(404);
      expect(await me("nbt_second-env-token")).toBe(200);
    });
  });

  // ---------------------------------------------------------------- managing users

  describe("managing users", () => {
    const make = async (token: string, body: Record<string, unknown>) =>
      (await ok(token, "POST", "/api/users", { role: "technician", ...body })) as {
        id: number;
        token: string;
      };

    it("disables a user: its token and its sessions stop at once; enabling brings the token back", async () => {
      const u = await make(t.adminA, { name: "Dee", username: "dee", password: "dee-password-1" });
      const session = (await signIn("dee", "dee-password-1")).body.token as string;
      expect(await me(u.token)).toBe(200);
      expect(await me(session)).toBe(200);
      const r = await ok(t.adminA, "PATCH", `/api/users/${u.id}`, { disabled: true });
      expect(r.disabled).toBe(true);
      expect(await me(u.token)).toBe(401);
      expect(await me(session)).toBe(401);
      expect((await signIn("dee", "dee-password-1")).status).toBe(401);
      expect((await ok(t.adminA, "PATCH", `/api/users/${u.id}`, { disabled: false })).disabled).toBe(false);
      expect(await me(u.token)).toBe(200);
      // A session ended by disabling stays ended.
      expect(await me(session)).toBe(401);
      const disabled = await audit("user.disable");
      expect(disabled.at(-1)).toMatchObject({ target: `user:${u.id}`, partner_id: id.partnerA });
      expect((await audit("user.enable")).at(-1)?.target).toBe(`user:${u.id}`);
    });

    it("changes a password with PATCH: the new one signs in, the old one and old sessions do not", async () => {
      const u = await make(t.adminA, { name: "Pia", username: "pia", password: "pia-password-1" });
      const old = (await signIn("pia", "pia-password-1")).body.token as string;
      await ok(t.adminA, "PATCH", `/api/users/${u.id}`, { password: "pia-password-2" });
      expect(await me(old)).toBe(401);
      expect((await signIn("pia", "pia-password-1")).status).toBe(401);
      expect((await signIn("pia", "pia-password-2")).status).toBe(200);
      const row = await userRow(u.id);
      expect(row.password_hash).toMatch(/^scrypt\$/);
      const a = (await audit("user.password.change")).at(-1);
      expect(a?.target).toBe(`user:${u.id}`);
      expect(JSON.stringify(a)).not.toContain("pia-password-2");
      // A password needs a username; a short one is refused.
      const noName = await make(t.adminA, { name: "Nameless" });
      const bad = await call(t.adminA, "PATCH", `/api/users/${noName.id}`, { password: "long-enough-1" });
      expect(bad.status).toBe(400);
      expect(bad.body.field).toBe("username");
      const short = await call(t.adminA, "PATCH", `/api/users/${u.id}`, { password: "short" });
      expect(short.status).toBe(400);
      expect(short.body.field).toBe("password");
    });

    it("renames and changes roles within the rules, audited", async () => {
      const u = await make(t.adminA, { name: "Rae" });
      const r = await ok(t.adminA, "PATCH", `/api/users/${u.id}`, { name: "Rae R.", role: "read-only" });
      expect(r).toMatchObject({ name: "Rae R.", role: "read-only", partnerId: id.partnerA });
      expect((await audit("user.update")).at(-1)?.detail).toEqual({ name: "Rae R.", role: "read-only" });
      const up = await call(t.adminA, "PATCH", `/api/users/${u.id}`, { role: "noc-admin" });
      expect(up.status).toBe(400);
      expect(up.body.field).toBe("role");
      const self = await call(t.adminA, "PATCH", `/api/users/${id.adminA}`, { role: "technician" });
      expect(self.status).toBe(400);
      expect(self.body.field).toBe("role");
      for (const body of [{}, { disabled: "yes" }, { token: "x" }]) {
        expect((await call(t.adminA, "PATCH", `/api/users/${u.id}`, body)).status).toBe(400);
      }
      expect((await call(t.adminA, "PATCH", `/api/users/${u.id}`, { disabled: "yes" })).body.field).toBe(
        "disabled",
      );
    });

    it("deletes a user: its token and sessions stop, and it is gone", async () => {
      const u = await make(t.adminA, { name: "Del", username: "del", password: "del-password-1" });
      const session = (await signIn("del", "del-password-1")).body.token as string;
      const r = await call(t.adminA, "DELETE", `/api/users/${u.id}`);
      expect(r.status).toBe(204);
      expect(await me(u.token)).toBe(401);
      expect(await me(session)).toBe(401);
      expect((await call(t.adminA, "GET", `/api/users/${u.id}`)).status).toBe(404);
      expect((await audit("user.delete")).at(-1)).toMatchObject({
        target: `user:${u.id}`,
        detail: { name: "Del", role: "technician", username: "del" },
      });
    });

    it("rotates a token: the new one is shown once and works, the old one stops at once", async () => {
      const u = await make(t.adminA, { name: "Rot" });
      const r = await ok(t.adminA, "POST", `/api/users/${u.id}/token`, {});
      expect(r.token).toMatch(/^nbt_/);
      expect(r.token).not.toBe(u.token);
      expect(await me(u.token)).toBe(401);
      expect(await me(r.token)).toBe(200);
      const shown = await ok(t.adminA, "GET", `/api/users/${u.id}`);
      expect(JSON.stringify(shown)).not.toContain(r.token);
      expect((await audit("user.token.rotate")).at(-1)?.target).toBe(`user:${u.id}`);
      // Without a body too.
      const bare = await app.inject({
        method: "POST",
        url: `/api/users/${u.id}/token`,
        remoteAddress: "10.9.9.9",
        headers: { authorization: `Bearer ${t.adminA}` },
      });
      expect(bare.statusCode).toBe(200);
      expect(await me(r.token)).toBe(401);
    });

    it("expires tokens made with expiresInDays (401 afterwards), at creation and at rotation", async () => {
      const u = await make(t.adminA, { name: "Exp", expiresInDays: 2 });
      expect((await ok(t.adminA, "GET", `/api/users/${u.id}`)).tokenExpiresAt).toBeTruthy();
      const rotated = await make(t.adminA, { name: "Exp2" });
      const r = await ok(t.adminA, "POST", `/api/users/${rotated.id}/token`, { expiresInDays: 1 });
      expect(r.user.tokenExpiresAt).toBeTruthy();
      expect(await me(u.token)).toBe(200);
      expect(await me(r.token)).toBe(200);
      clock.offsetMs += 25 * 3600_000;
      expect(await me(r.token)).toBe(401);
      expect(await me(u.token)).toBe(200);
      clock.offsetMs += 24 * 3600_000;
      expect(await me(u.token)).toBe(401);
      // Tokens without expiry are unaffected.
      expect(await me(t.adminA)).toBe(200);
      const bad = await call(t.adminA, "POST", `/api/users/${u.id}/token`, { expiresInDays: 0 });
      expect(bad.status).toBe(400);
      expect(bad.body.field).toBe("expiresInDays");
    });

    it("answers 404 for another partner's user or a NOC-wide one, 403 for a technician, and writes nothing", async () => {
      const before = await env.services.db.kysely.selectFrom("users").selectAll().orderBy("id").execute();
      const auditBefore = (await env.services.db.kysely.selectFrom("audit_log").select("id").execute())
        .length;
      for (const target of [id.userB, id.nocTech]) {
        expect((await call(t.adminA, "GET", `/api/users/${target}`)).status).toBe(404);
        expect((await call(t.adminA, "PATCH", `/api/users/${target}`, { disabled: true })).status).toBe(404);
        expect(
          (await call(t.adminA, "PATCH", `/api/users/${target}`, { password: "new-password-1" })).status,
        ).toBe(404);
        expect((await call(t.adminA, "POST", `/api/users/${target}/token`, {})).status).toBe(404);
        expect((await call(t.adminA, "DELETE", `/api/users/${target}`)).status).toBe(404);
      }
      expect((await call(t.adminA, "GET", `/api/users?partnerId=${id.partnerB}`)).status).toBe(404);
      const victim = id.adminA;
      expect((await call(t.techA, "GET", `/api/users/${victim}`)).status).toBe(403);
      expect((await call(t.techA, "PATCH", `/api/users/${victim}`, { disabled: true })).status).toBe(403);
      expect((await call(t.techA, "POST", `/api/users/${victim}/token`, {})).status).toBe(403);
      expect((await call(t.techA, "DELETE", `/api/users/${victim}`)).status).toBe(403);
      expect((await call(t.techA, "GET", "/api/users")).status).toBe(403);
      expect((await call(t.techA, "GET", `/api/users/${id.userB}`)).status).toBe(404);
      expect(await env.services.db.kysely.selectFrom("users").selectAll().orderBy("id").execute()).toEqual(
        before,
      );
      expect((await env.services.db.kysely.selectFrom("audit_log").select("id").execute()).length).toBe(
        auditBefore,
      );
      expect(await me(t.adminB)).toBe(200);
    });

    it("lets the NOC admin manage every partner's users, and nobody disable or delete themselves", async () => {
      const listed = await ok(t.noc, "GET", `/api/users?partnerId=${id.partnerB}`);
      // biome-ignore lint/suspicious/noExplicitAny: loosely-typed JSON
      expect(listed.items.map((u: any) => u.id)).toEqual([id.userB]);
      const own = await ok(t.adminA, "GET", "/api/users?limit=500");
      // biome-ignore lint/suspicious/noExplicitAny: loosely-typed JSON
      expect(own.items.every((u: any) => u.partnerId === id.partnerA)).toBe(true);
      await ok(t.noc, "PATCH", `/api/users/${id.userB}`, { disabled: true });
      expect(await me(t.adminB)).toBe(401);
      await ok(t.noc, "PATCH", `/api/users/${id.userB}`, { disabled: false });
      expect(await me(t.adminB)).toBe(200);
      const self = await call(t.adminA, "PATCH", `/api/users/${id.adminA}`, { disabled: true });
      expect(self.status).toBe(400);
      expect(self.body.field).toBe("disabled");
      expect((await call(t.adminA, "DELETE", `/api/users/${id.adminA}`)).status).toBe(409);
      expect(await me(t.adminA)).toBe(200);
    });
  });
});
