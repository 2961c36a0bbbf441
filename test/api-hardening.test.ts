import { createHmac } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { RouteOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, buildApp } from "../src/api/app.js";
import type { Clock } from "../src/lib/clock.js";
import { createLogger, redactUrl } from "../src/lib/logger.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { migrate, openDb } from "../src/store/db.js";
import { openTestServices, STORES, snapshot, type TestEnv } from "./helpers/services.js";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";

const INTEGRATION = {
  ticketing: {
    enabled: false,
    nocMayEnterTickets: true,
    apiUrl: "http://127.0.0.1:9/ATServicesRest/",
    username: "noc@example.com",
    integrationCode: "INTCODE123",
    queueId: 1,
    billingCodeId: 2,
  },
  devices: { enabled: false, productId: 101, configurationItemTypeId: 5, advanced: false },
};

/** The routes that answer without a token, as METHOD path. */
const PUBLIC_ROUTES = [
  "GET /healthz",
  "HEAD /healthz",
  "GET /openapi.json",
  "HEAD /openapi.json",
  "GET /readyz",
  "HEAD /readyz",
  "POST /api/session",
  // One receiver for every PSA: /webhooks/autotask/:partnerId is Autotask's.
  "POST /webhooks/:system/:partnerId",
  "POST /webhooks/:system/:partnerId/deactivated",
];

/** A clock the test moves by hand. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = Date.parse("2026-03-01T10:00:00.000Z");
  return { now: () => new Date(now), advance: (ms) => (now += ms) };
}

describe.each(STORES)("API hardening on %s", (kind) => {
  let env: TestEnv;
  let app: App;
  const routes: RouteOptions[] = [];
  const logLines: string[] = [];
  const clock = manualClock();
  const webRoot = mkdtempSync(join(tmpdir(), "nb-hard-web-"));
  const t = { noc: "", adminA: "", techA: "", adminB: "" };
  const id = { partnerA: 0, partnerB: 0, clientA: 0, runA: 0, runA2: 0 };

  async function call(token: string, method: Method, url: string, body?: unknown) {
    const res = await app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read loosely-typed JSON answers
    let json: any;
    try {
      json = res.body ? res.json() : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, body: json, text: res.body, headers: res.headers };
  }
  const ok = async (token: string, method: Method, url: string, body?: unknown) => {
    const r = await call(token, method, url, body);
    if (r.status >= 300) throw new Error(`${method} ${url} → ${r.status} ${r.text}`);
    return r.body;
  };

  beforeAll(async () => {
    writeFileSync(
      join(webRoot, "index.html"),
      '<!doctype html><title>nocbridge</title><div id="root"></div>',
    );
    writeFileSync(join(webRoot, "app.js"), "console.log(1)");
    env = await openTestServices(kind, { clock });
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    });
    app = await buildApp({
      portal: env.services.portal,
      sync: env.services.sync,
      webRoot,
      logger: createLogger("trace", sink),
      onRoute: (r) => routes.push(r),
    });
    const portal = env.services.portal;
    t.noc = (await portal.createUser(SYSTEM_ACTOR, { name: "Nora", role: "noc-admin" })).token;
    id.partnerA = (await ok(t.noc, "POST", "/api/partners", { name: "Alpha IT" })).id;
    id.partnerB = (await ok(t.noc, "POST", "/api/partners", { name: "Bravo" })).id;
    const user = async (role: string, partnerId: number) =>
      (await ok(t.noc, "POST", "/api/users", { name: `${role} ${partnerId}`, role, partnerId }))
        .token as string;
    t.adminA = await user("partner-admin", id.partnerA);
    t.techA = await user("technician", id.partnerA);
    t.adminB = await user("partner-admin", id.partnerB);
    id.clientA = (
      await ok(t.adminA, "POST", `/api/partners/${id.partnerA}/clients`, { code: "A1", name: "Acme" })
    ).id;
    for (const hostname of ["AT1-PC001", "AT1_PC002", "AT1%PC003", "AT1!PC004"])
      await ok(t.adminA, "POST", `/api/clients/${id.clientA}/devices`, { state: "managed", hostname });
    const runs = env.services.sync.runs;
    for (const key of ["runA", "runA2"] as const) {
      const run = await runs.create(id.partnerA, "assets", "manual", false);
      await runs.line(run.id, `log of ${key}`);
      await runs.update(run.id, { status: "succeeded", finished: true });
      id[key] = run.id;
    }
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  describe("authentication is per route, deny by default", () => {
    it("answers 401 without a token on every route but the explicit public ones", async () => {
      const key = (r: RouteOptions, m: string) => `${m} ${r.url}`;
      const seen: string[] = [];
      const publicSeen: string[] = [];
      for (const r of routes) {
        for (const m of [r.method].flat() as Method[]) {
          const isStatic = r.url === "/" || r.url === "/index.html" || r.url === "/app.js";
          if (r.config?.public) {
            if (!isStatic) publicSeen.push(key(r, m));
            continue;
          }
          const url = r.url.replace(/:[A-Za-z]+/g, "1");
          // The same route spelled with a percent-encoded first letter must not slip through either.
          const encoded = url.replace(/^\/([a-z])/, (_x, c: string) => `/%${c.charCodeAt(0).toString(16)}`);
          for (const u of [url, encoded]) {
            const res = await app.inject({
              method: m,
              url: u,
              ...(m === "GET" || m === "HEAD" ? {} : { payload: {} }),
            });
            expect(res.statusCode, `${m} ${u}`).toBe(401);
          }
          seen.push(key(r, m));
        }
      }
      expect(publicSeen.sort()).toEqual([...PUBLIC_ROUTES].sort());
      expect(seen.length).toBeGreaterThan(40);
      expect(seen).toContain("GET /api/sync-runs/:runId/events");
      expect(seen).toContain("DELETE /api/session");
      // The UI's files and its client-side routes are public.
      expect((await app.inject({ method: "GET", url: "/" })).statusCode).toBe(200);
      expect((await app.inject({ method: "GET", url: "/app.js" })).statusCode).toBe(200);
      expect((await app.inject({ method: "GET", url: "/partners/1/sync" })).statusCode).toBe(200);
    });

    it("does not let a percent-encoded path skip authentication", async () => {
      expect((await call("", "GET", "/%61pi/me")).status).toBe(401);
      expect((await call("", "GET", "/api%2Fme")).status).not.toBe(200);
      const before = await snapshot(env);
      const r = await call("", "POST", "/%61pi/users", { name: "x", role: "noc-admin" });
      expect(r.status).toBe(401);
      expect(await snapshot(env)).toBe(before);
      // It is the same route: with a token it answers.
      expect((await call(t.adminA, "GET", "/%61pi/me")).body.partnerId).toBe(id.partnerA);
      expect((await call("", "GET", "/%61pi/nothing-here")).status).toBe(401);
    });

    it("checks the role before the body: a technician's settings PUT is 403 whatever its body", async () => {
      const url = `/api/partners/${id.partnerA}/integration`;
      for (const body of [{ nonsense: true }, { ticketing: 5 }, INTEGRATION]) {
        const r = await call(t.techA, "PUT", url, body);
        expect(r.status, JSON.stringify(body)).toBe(403);
        expect(r.body.code).toBe("FORBIDDEN");
      }
      // Another partner's settings stay not found, as before.
      expect((await call(t.techA, "PUT", `/api/partners/${id.partnerB}/integration`, { x: 1 })).status).toBe(
        404,
      );
      // Who may write them gets the validation answer.
      const admin = await call(t.adminA, "PUT", url, { ...INTEGRATION, nonsense: true });
      expect(admin.status).toBe(400);
      expect(admin.body.field).toBe("nonsense");
    });
  });

  describe("bad input is a 400 naming the field, on both stores", () => {
    it("rejects NUL characters anywhere in body, query or path, even on sign-in", async () => {
      const before = await snapshot(env);
      const cases: Array<[Method, string, unknown, string]> = [
        ["POST", "/api/session", { username: "a\u0000b", password: "whatever" }, "username"],
        ["POST", "/api/partners", { name: "Nul\u0000Partner" }, "name"],
        ["POST", `/api/clients/${id.clientA}/devices`, { state: "managed", hostname: "x\u0000" }, "hostname"],
        [
          "POST",
          `/api/clients/${id.clientA}/devices/import`,
          [
            { state: "managed", hostname: "ok" },
            { state: "managed", hostname: "b\u0000d" },
          ],
          "[1].hostname",
        ],
        ["GET", `/api/clients/${id.clientA}/devices?search=a%00b`, undefined, "search"],
        ["GET", `/api/partners/${id.partnerA}/audit?action=%00`, undefined, "action"],
      ];
      for (const [m, u, b, field] of cases) {
        const token = u === "/api/session" ? "" : u === "/api/partners" ? t.noc : t.adminA;
        const r = await call(token, m, u, b);
        expect(r.status, `${m} ${u}`).toBe(400);
        expect(r.body.field, `${m} ${u}`).toBe(field);
        expect(r.body.message).toContain(field);
      }
      expect(await snapshot(env)).toBe(before);
    });

    it("bounds integers: a huge offset or id is a 400 naming it, with no database detail", async () => {
      const cases: Array<[string, string]> = [
        [`/api/partners/${id.partnerA}/clients?offset=99999999999999999999`, "offset"],
        [`/api/clients/${id.clientA}/devices?offset=1000000001`, "offset"],
        ["/api/clients/99999999999", "clientId"],
        [`/api/partners/${id.partnerA}/tickets?clientId=3000000000`, "clientId"],
        ["/api/sync-runs/1e300", "runId"],
      ];
      for (const [u, field] of cases) {
        const r = await call(t.noc, "GET", u);
        expect(r.status, u).toBe(400);
        expect(r.body.field, u).toBe(field);
        expect(r.text).not.toMatch(/sqlite|postgres|22003|SQLITE_|out of range/i);
      }
      const body = { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, queueId: 2 ** 40 } };
      const r = await call(t.adminA, "PUT", `/api/partners/${id.partnerA}/integration`, body);
      expect(r.status).toBe(400);
      expect(r.body.field).toBe("ticketing.queueId");
      // The largest accepted offset is answered (an empty page).
      expect(
        (await ok(t.noc, "GET", `/api/partners/${id.partnerA}/clients?offset=1000000000`)).items,
      ).toEqual([]);
    });

    it("matches % and _ in a device search literally", async () => {
      const search = async (s: string) =>
        (
          (await ok(t.adminA, "GET", `/api/clients/${id.clientA}/devices?search=${encodeURIComponent(s)}`))
            .items as Array<{ hostname: string }>
        ).map((d) => d.hostname);
      expect(await search("_")).toEqual(["AT1_PC002"]);
      expect(await search("%")).toEqual(["AT1%PC003"]);
      expect(await search("!")).toEqual(["AT1!PC004"]);
      expect(await search("1_p")).toEqual(["AT1_PC002"]);
      expect((await search("at1")).length).toBe(4);
    });

    it("accepts webhook ids only as whole numbers a column can hold", async () => {
      const secret = "hook-secret-for-tests";
      await env.services.db.kysely
        .insertInto("psa_webhooks")
        .values({
          partner_id: id.partnerA,
          entity: "Ticket",
          psa_webhook_id: 77,
          secret_sealed: env.services.box.encrypt(secret, id.partnerA, "webhook-secret"),
          created_at: new Date().toISOString(),
        })
        .execute();
      const send = async (payload: string) => {
        const res = await app.inject({
          method: "POST",
          url: `/webhooks/autotask/${id.partnerA}`,
          headers: {
            "content-type": "application/json",
            "x-hook-signature": `sha1=${createHmac("sha1", secret).update(payload).digest("base64")}`,
          },
          payload,
        });
        return { status: res.statusCode, body: res.json() as { field?: string; message: string } };
      };
      const inbox = async () =>
        (await env.services.db.kysely.selectFrom("ticket_inbox").select("id").execute()).length;
      const before = await inbox();
      for (const [payload, field] of [
        ['{"Guid":"g1","EntityType":"Ticket","Id":1e300,"SequenceNumber":1}', "Id"],
        ['{"Guid":"g2","EntityType":"Ticket","Id":1.5,"SequenceNumber":1}', "Id"],
        ['{"Guid":"g3","EntityType":"Ticket","Id":4294967296,"SequenceNumber":1}', "Id"],
        ['{"Guid":"g4","EntityType":"Ticket","Id":-3,"SequenceNumber":1}', "Id"],
        ['{"Guid":"g5","EntityType":"Ticket","SequenceNumber":1}', "Id"],
        ['{"Guid":"g6","EntityType":"TicketNote","Id":5,"Fields":{"ticketID":1e300}}', "Fields.ticketID"],
        ['{"Guid":"g7","EntityType":"Contact","Id":5}', "EntityType"],
        ['{"Guid":"g\\u0000","EntityType":"Ticket","Id":5,"SequenceNumber":1}', "Guid"],
      ] as const) {
        const r = await send(payload);
        expect(r.status, payload).toBe(400);
        expect(r.body.field, payload).toBe(field);
        expect(r.body.message).toContain(field);
      }
      expect(await inbox()).toBe(before);
      const good = await send('{"Guid":"g8","EntityType":"Ticket","Id":12345,"SequenceNumber":1}');
      expect(good.status).toBe(200);
      expect(await inbox()).toBe(before + 1);
    });

    it("answers a delivery to an unknown system, or to a system that is not the partner's, 404 and stores nothing", async () => {
      const secret = "hook-secret-for-tests";
      const payload = '{"Guid":"sys1","EntityType":"Ticket","Id":4242,"SequenceNumber":1}';
      const signature = `sha1=${createHmac("sha1", secret).update(payload).digest("base64")}`;
      const inbox = async () =>
        (await env.services.db.kysely.selectFrom("ticket_inbox").select("id").execute()).length;
      const before = await inbox();
      for (const url of [
        `/webhooks/nosuchpsa/${id.partnerA}`,
        `/webhooks/connectwise/${id.partnerA}`,
        `/webhooks/AUTOTASK/${id.partnerA}`,
        `/webhooks/autotask/${id.partnerB + 1000}`,
        `/webhooks/nosuchpsa/${id.partnerA}/deactivated`,
      ]) {
        const res = await app.inject({
          method: "POST",
          url,
          headers: { "content-type": "application/json", "x-hook-signature": signature },
          payload,
        });
        expect(res.statusCode, url).toBe(404);
        expect(res.json().code, url).toBe("NOT_FOUND");
      }
      expect(await inbox()).toBe(before);
      // The partner's own system is the route that answers.
      const ok = await app.inject({
        method: "POST",
        url: `/webhooks/autotask/${id.partnerA}/deactivated`,
        headers: { "content-type": "application/json" },
        payload: "{}",
      });
      expect(ok.statusCode).toBe(200);
    });

    it("never answers with a database error's code or text", async () => {
      const extra = await buildApp({ portal: env.services.portal, sync: env.services.sync, webRoot: null });
      try {
        const dbError = (code: string, statusCode?: number) =>
          Object.assign(
            new Error(`duplicate key value violates unique constraint "users_username" ${code}`),
            {
              code,
              ...(statusCode ? { statusCode } : {}),
            },
          );
        extra.get("/api/test-pg", async () => {
          throw dbError("23505");
        });
        extra.get("/api/test-sqlite", async () => {
          throw dbError("SQLITE_CONSTRAINT_UNIQUE", 409);
        });
        const headers = { authorization: `Bearer ${t.noc}` };
        const pgAnswer = await extra.inject({ method: "GET", url: "/api/test-pg", headers });
        expect(pgAnswer.json()).toEqual({
          statusCode: 500,
          error: "Internal Server Error",
          code: "INTERNAL",
          message: "internal error",
        });
        // An error carrying a client status keeps it, but not its code or text.
        const sqliteAnswer = await extra.inject({ method: "GET", url: "/api/test-sqlite", headers });
        expect(sqliteAnswer.json()).toEqual({
          statusCode: 409,
          error: "Conflict",
          code: "CONFLICT",
          message: "Conflict",
        });
        // Fastify's own client errors keep their status and code.
        const bad = await extra.inject({
          method: "POST",
          url: "/api/partners",
          headers: { authorization: `Bearer ${t.noc}`, "content-type": "application/json" },
          payload: "{not json",
        });
        expect(bad.statusCode).toBe(400);
        expect(bad.json().code).toMatch(/^FST_/);
      } finally {
        await extra.close();
      }
    });
  });

  describe("tokens stay out of URLs and logs", () => {
    it("does not accept a token in the query, however spelled, and never logs it", async () => {
      logLines.length = 0;
      for (const u of [
        `/api/me?access_token=${t.adminA}`,
        `/api/me?access%5Ftoken=${t.adminA}`,
        `/api/me?%61ccess_token=${t.adminA}`,
        `/api/sync-runs/${id.runA}/events?access_token=${t.adminA}`,
        `/api/sync-runs/${id.runA}/events?access%5ftoken=${t.adminA}`,
      ]) {
        expect((await call("", "GET", u)).status, u).toBe(401);
      }
      expect(logLines.length).toBeGreaterThan(0);
      expect(logLines.filter((l) => l.includes(t.adminA))).toEqual([]);
    });

    it("masks credential parameters after percent-decoding", () => {
      expect(redactUrl("/x?access%5Ftoken=abc&a=1")).toBe("/x?access%5Ftoken=********&a=1");
      expect(redactUrl("/x?a=1&%61ccess_token=abc#f")).toBe("/x?a=1&%61ccess_token=********#f");
      expect(redactUrl("/x?ACCESS_TOKEN=abc")).toBe("/x?ACCESS_TOKEN=********");
      expect(redactUrl("/x?ticket=abc&access%ZZ=1")).toBe("/x?ticket=********&access%ZZ=1");
      expect(redactUrl("/x?tok%65n=abc")).toBe("/x?tok%65n=********");
      expect(redactUrl("/x?search=token")).toBe("/x?search=token");
    });

    it("follows a run's live log with a single-use stream ticket", async () => {
      const ticketFor = (token: string, runId: number) =>
        call(token, "POST", `/api/sync-runs/${runId}/stream-ticket`);
      const stream = (ticket: string, runId: number) =>
        app.inject({
          method: "GET",
          url: `/api/sync-runs/${runId}/events?ticket=${encodeURIComponent(ticket)}`,
        });

      logLines.length = 0;
      const issued = await ticketFor(t.adminA, id.runA);
      expect(issued.status).toBe(200);
      expect(issued.headers["cache-control"]).toBe("no-store");
      const { ticket } = issued.body as { ticket: string };
      const first = await stream(ticket, id.runA);
      expect(first.statusCode).toBe(200);
      expect(first.headers["content-type"]).toContain("text/event-stream");
      expect(first.body).toContain("log of runA");
      expect(first.body).toContain('"status":"succeeded"');
      // Used once: gone.
      expect((await stream(ticket, id.runA)).statusCode).toBe(401);
      expect(logLines.filter((l) => l.includes(ticket))).toEqual([]);

      // Only for the run it was issued for (and spent by the attempt).
      const other = (await ticketFor(t.adminA, id.runA)).body.ticket as string;
      expect((await stream(other, id.runA2)).statusCode).toBe(401);
      expect((await stream(other, id.runA)).statusCode).toBe(401);

      // Two streams racing for one ticket: exactly one gets it.
      const raced = (await ticketFor(t.adminA, id.runA)).body.ticket as string;
      const both = await Promise.all([stream(raced, id.runA), stream(raced, id.runA)]);
      expect(both.map((r) => r.statusCode).sort()).toEqual([200, 401]);

      // Expired after a minute.
      const late = (await ticketFor(t.adminA, id.runA)).body.ticket as string;
      clock.advance(60_001);
      expect((await stream(late, id.runA)).statusCode).toBe(401);
      const fresh = (await ticketFor(t.adminA, id.runA)).body.ticket as string;
      clock.advance(59_000);
      expect((await stream(fresh, id.runA)).statusCode).toBe(200);

      // Another partner's run: no ticket (not found), and garbage tickets are refused.
      expect((await ticketFor(t.adminB, id.runA)).status).toBe(404);
      expect((await ticketFor(t.adminA, 999_999)).status).toBe(404);
      expect((await ticketFor("", id.runA)).status).toBe(401);
      expect((await stream("nbt_not-a-ticket", id.runA)).statusCode).toBe(401);
      expect((await stream("", id.runA)).statusCode).toBe(401);
      // A header token still works for clients that can send one.
      const withHeader = await app.inject({
        method: "GET",
        url: `/api/sync-runs/${id.runA}/events`,
        headers: { authorization: `Bearer ${t.adminA}` },
      });
      expect(withHeader.statusCode).toBe(200);
    });
  });

  describe("security headers", () => {
    it("sends CSP, nosniff, no framing and no referrer on the UI and on API answers", async () => {
      for (const [token, url, status] of [
        ["", "/", 200],
        ["", "/partners/1/sync", 200],
        [t.adminA, "/api/me", 200],
        ["", "/api/me", 401],
        ["", "/healthz", 200],
      ] as const) {
        const r = await call(token, "GET", url);
        expect(r.status, url).toBe(status);
        const csp = String(r.headers["content-security-policy"]);
        expect(csp, url).toContain("default-src 'self'");
        expect(csp, url).toContain("frame-ancestors 'none'");
        expect(csp, url).not.toContain("unsafe-inline");
        expect(r.headers["x-content-type-options"], url).toBe("nosniff");
        expect(r.headers["referrer-policy"], url).toBe("no-referrer");
        expect(r.headers["x-frame-options"], url).toBe("DENY");
      }
    });
  });
});

describe("SQLite file permissions", () => {
  it("creates the data directory 0700 and the database and its WAL files 0600", async () => {
    const base = mkdtempSync(join(tmpdir(), "nb-mode-"));
    const dir = join(base, "data", "nested");
    const file = join(dir, "nocbridge.sqlite");
    const db = await openDb({ url: file });
    try {
      await migrate(db);
      await db.kysely
        .insertInto("partners")
        .values({ name: "x", time_zone: "UTC", created_at: "t", updated_at: "t" })
        .execute();
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(join(base, "data")).mode & 0o777).toBe(0o700);
      for (const f of [file, `${file}-wal`, `${file}-shm`]) {
        expect(existsSync(f), f).toBe(true);
        expect(statSync(f).mode & 0o777, f).toBe(0o600);
      }
    } finally {
      await db.close();
    }
  });

  it("narrows an existing database file to 0600", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nb-mode-"));
    mkdirSync(join(dir, "d"));
    const file = join(dir, "d", "old.sqlite");
    writeFileSync(file, "");
    chmodSync(file, 0o644);
    const db = await openDb({ url: file });
    try {
      await migrate(db);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      await db.close();
    }
  });
});
