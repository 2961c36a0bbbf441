import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, buildApp } from "../src/api/app.js";
import { createLogger } from "../src/lib/logger.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { openTestServices, STORES, snapshot, type TestEnv, testApp } from "./helpers/services.js";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

const INTEGRATION = {
  ticketing: {
    enabled: true,
    nocMayEnterTickets: true,
    system: "autotask",
    apiUrl: "http://127.0.0.1:9/ATServicesRest/",
    username: "noc@example.com",
    secret: "s3cr3t-Value-42",
    integrationCode: "INTCODE123",
    queueId: 18151451,
    queueName: "NOC",
    billingCodeId: 78955512,
    billingCodeName: "Remote Support",
  },
  devices: { enabled: true, productId: 101, configurationItemTypeId: 5, advanced: true, schedule: null },
};

describe.each(STORES)("REST API on %s", (kind) => {
  let env: TestEnv;
  let app: App;
  const t = { noc: "", adminA: "", techA: "", roA: "", adminB: "", nocTech: "" };
  const id = {
    partnerA: 0,
    partnerB: 0,
    clientA: 0,
    clientA2: 0,
    clientB: 0,
    deviceA: 0,
    deviceA2: 0,
    deviceB: 0,
    ticketA: 0,
    ticketB: 0,
    mapB: 0,
  };

  async function call(token: string, method: Method, url: string, body?: unknown) {
    const res = await app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read loosely-typed JSON answers
    return { status: res.statusCode, body: res.body ? (res.json() as any) : undefined };
  }
  const ok = async (token: string, method: Method, url: string, body?: unknown) => {
    const r = await call(token, method, url, body);
    if (r.status >= 300) throw new Error(`${method} ${url} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };

  beforeAll(async () => {
    env = await openTestServices(kind, { psaOrigins: ["http://127.0.0.1:9"] });
    app = await testApp(env);
    const portal = env.services.portal;
    t.noc = (await portal.createUser(SYSTEM_ACTOR, { name: "Nora NOC", role: "noc-admin" })).token;
    id.partnerA = (
      await ok(t.noc, "POST", "/api/partners", { name: "Alpha IT", timeZone: "Asia/Kolkata" })
    ).id;
    id.partnerB = (await ok(t.noc, "POST", "/api/partners", { name: "Bravo Systems" })).id;
    const user = async (role: string, partnerId?: number) =>
      (
        await ok(t.noc, "POST", "/api/users", {
          name: `${role} ${partnerId ?? "noc"}`,
          role,
          ...(partnerId ? { partnerId } : {}),
        })
      ).token as string;
    t.adminA = await user("partner-admin", id.partnerA);
    t.techA = await user("technician", id.partnerA);
    t.roA = await user("read-only", id.partnerA);
    t.adminB = await user("partner-admin", id.partnerB);
    t.nocTech = await user("technician");
    id.clientA = (
      await ok(t.adminA, "POST", `/api/partners/${id.partnerA}/clients`, { code: "AT1", name: "Acme" })
    ).id;
    id.clientA2 = (
      await ok(t.adminA, "POST", `/api/partners/${id.partnerA}/clients`, { code: "AT2", name: "Brightline" })
    ).id;
    id.clientB = (
      await ok(t.adminB, "POST", `/api/partners/${id.partnerB}/clients`, { code: "B1", name: "Bravo Client" })
    ).id;
    id.deviceA = (
      await ok(t.techA, "POST", `/api/clients/${id.clientA}/devices`, {
        state: "managed",
        hostname: "AT1-PC001",
        serialNumber: "SN1",
      })
    ).id;
    id.deviceA2 = (
      await ok(t.techA, "POST", `/api/clients/${id.clientA}/devices`, {
        state: "discovered",
        hostname: "AT1-PC002",
      })
    ).id;
    id.deviceB = (
      await ok(t.adminB, "POST", `/api/clients/${id.clientB}/devices`, {
        state: "managed",
        hostname: "B1-SRV01",
      })
    ).id;
    id.ticketA = (
      await ok(t.techA, "POST", `/api/partners/${id.partnerA}/tickets`, {
        clientId: id.clientA,
        title: "Disk full",
        statusId: 1,
        priorityId: 9,
      })
    ).id;
    id.ticketB = (
      await ok(t.adminB, "POST", `/api/partners/${id.partnerB}/tickets`, {
        clientId: id.clientB,
        title: "B ticket",
        statusId: 1,
        priorityId: 9,
      })
    ).id;
    id.mapB = (await ok(t.adminB, "GET", `/api/partners/${id.partnerB}/mappings/priority`)).rows[0].id;
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  describe("basics", () => {
    it("answers /healthz and /openapi.json without a token, and documents the fixed paths", async () => {
      expect((await call("", "GET", "/healthz")).status).toBe(200);
      const doc = (await call("", "GET", "/openapi.json")).body;
      for (const p of [
        "/api/users",
        "/api/partners",
        "/api/partners/{partnerId}",
        "/api/partners/{partnerId}/integration",
        "/api/partners/{partnerId}/integration/secret",
        "/api/partners/{partnerId}/mappings/status-forward",
        "/api/partners/{partnerId}/mappings/status-reverse",
        "/api/partners/{partnerId}/mappings/priority",
        "/api/partners/{partnerId}/clients",
        "/api/clients/{clientId}",
        "/api/clients/{clientId}/devices",
        "/api/clients/{clientId}/devices/import",
        "/api/devices/{deviceId}",
        "/api/partners/{partnerId}/tickets",
        "/api/tickets/{ticketId}",
        "/api/tickets/{ticketId}/notes",
      ]) {
        expect(doc.paths, p).toHaveProperty([p]);
      }
    });

    it("refuses requests without a valid bearer token", async () => {
      expect((await call("", "GET", "/api/partners")).status).toBe(401);
      expect((await call("nbt_not-a-real-token", "GET", "/api/partners")).status).toBe(401);
      const r = await app.inject({
        method: "GET",
        url: "/api/partners",
        headers: { authorization: `Basic ${t.noc}` },
      });
      expect(r.statusCode).toBe(401);
    });
  });

  describe("users and roles", () => {
    it("creates a user whose token works once shown, and stores only its hash", async () => {
      const r = await call(t.noc, "POST", "/api/users", {
        name: "Tara Tech",
        role: "technician",
        partnerId: id.partnerA,
      });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ id: expect.any(Number), token: expect.stringMatching(/^nbt_/) });
      expect((await ok(r.body.token, "GET", "/api/me")).role).toBe("technician");
      const row = await env.services.db.kysely
        .selectFrom("users")
        .selectAll()
        .where("id", "=", r.body.id)
        .executeTakeFirstOrThrow();
      expect(row.token_hash).not.toContain(r.body.token);
      expect(JSON.stringify(await call(t.noc, "GET", "/api/users?limit=500"))).not.toContain(r.body.token);
    });

    it("lets a partner admin create users for its own partner only, never NOC admins", async () => {
      const r = await call(t.adminA, "POST", "/api/users", { name: "A tech", role: "technician" });
      expect(r.status).toBe(201);
      expect((await ok(r.body.token, "GET", "/api/me")).partnerId).toBe(id.partnerA);
      expect((await call(t.adminA, "POST", "/api/users", { name: "x", role: "noc-admin" })).body.field).toBe(
        "role",
      );
      expect(
        (
          await call(t.adminA, "POST", "/api/users", {
            name: "x",
            role: "technician",
            partnerId: id.partnerB,
          })
        ).status,
      ).toBe(404);
      expect((await call(t.techA, "POST", "/api/users", { name: "x", role: "technician" })).status).toBe(403);
      const listed = (await ok(t.adminA, "GET", "/api/users?limit=500")).items as Array<{
        partnerId: number;
      }>;
      expect(listed.every((u) => u.partnerId === id.partnerA)).toBe(true);
    });

    it("requires a partner for a partner admin and none for a NOC admin", async () => {
      expect((await call(t.noc, "POST", "/api/users", { name: "x", role: "partner-admin" })).body.field).toBe(
        "partnerId",
      );
      expect(
        (await call(t.noc, "POST", "/api/users", { name: "x", role: "noc-admin", partnerId: id.partnerA }))
          .body.field,
      ).toBe("partnerId");
      expect((await call(t.noc, "POST", "/api/users", { name: "x", role: "wizard" })).body.field).toBe(
        "role",
      );
    });

    it("a technician works tickets but cannot change integration settings or mappings", async () => {
      expect(
        (await call(t.techA, "PUT", `/api/partners/${id.partnerA}/integration`, INTEGRATION)).status,
      ).toBe(403);
      expect((await call(t.techA, "PUT", `/api/partners/${id.partnerA}/mappings/priority`, [])).status).toBe(
        403,
      );
      expect((await call(t.techA, "PATCH", `/api/partners/${id.partnerA}`, { name: "x" })).status).toBe(403);
      expect((await call(t.techA, "GET", `/api/partners/${id.partnerA}/integration/secret`)).status).toBe(
        403,
      );
      expect((await call(t.techA, "GET", `/api/partners/${id.partnerA}/integration`)).status).toBe(200);
      expect((await call(t.techA, "PATCH", `/api/tickets/${id.ticketA}`, { priorityId: 10 })).status).toBe(
        200,
      );
    });

    it("read-only reads everything of its partner and writes nothing", async () => {
      const before = await snapshot(env);
      for (const [m, u, b] of [
        [
          "POST",
          `/api/partners/${id.partnerA}/tickets`,
          { clientId: id.clientA, title: "x", statusId: 1, priorityId: 9 },
        ],
        ["PATCH", `/api/tickets/${id.ticketA}`, { title: "x" }],
        ["POST", `/api/tickets/${id.ticketA}/notes`, { text: "x", published: true }],
        ["POST", `/api/partners/${id.partnerA}/clients`, { code: "RO", name: "x" }],
        ["PATCH", `/api/clients/${id.clientA}`, { name: "x" }],
        ["POST", `/api/clients/${id.clientA}/devices`, { state: "managed", hostname: "x" }],
        ["POST", `/api/clients/${id.clientA}/devices/import`, [{ state: "managed", hostname: "x" }]],
        ["PATCH", `/api/devices/${id.deviceA}`, { state: "unmanaged" }],
        ["PUT", `/api/partners/${id.partnerA}/integration`, INTEGRATION],
        [
          "POST",
          `/api/partners/${id.partnerA}/mappings/priority`,
          { psaPriorityId: 99, portalPriorityId: 8 },
        ],
        ["POST", "/api/users", { name: "x", role: "read-only" }],
        ["POST", "/api/partners", { name: "x" }],
      ] as Array<[Method, string, unknown]>) {
        expect((await call(t.roA, m, u, b)).status, `${m} ${u}`).toBe(403);
      }
      expect(await snapshot(env)).toBe(before);
      expect((await call(t.roA, "GET", `/api/tickets/${id.ticketA}`)).status).toBe(200);
      expect((await call(t.roA, "GET", `/api/partners/${id.partnerA}/mappings/status-forward`)).status).toBe(
        200,
      );
    });

    it("a NOC-wide technician (no partner) works every partner's tickets but cannot create partners", async () => {
      expect((await call(t.nocTech, "GET", `/api/tickets/${id.ticketB}`)).status).toBe(200);
      expect(
        (
          await call(t.nocTech, "POST", `/api/tickets/${id.ticketA}/notes`, {
            text: "NOC looked",
            published: false,
          })
        ).status,
      ).toBe(201);
      expect((await call(t.nocTech, "POST", "/api/partners", { name: "x" })).status).toBe(403);
    });
  });

  describe("web sign-in", () => {
    it("signs in with username and password, and signs out", async () => {
      const created = await call(t.noc, "POST", "/api/users", {
        name: "Pat",
        role: "partner-admin",
        partnerId: id.partnerA,
        username: "pat",
        password: "correct horse",
      });
      expect(created.status).toBe(201);
      const row = await env.services.db.kysely
        .selectFrom("users")
        .selectAll()
        .where("id", "=", created.body.id)
        .executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^scrypt\$/);
      expect(row.password_hash).not.toContain("correct horse");
      expect(
        (await call("", "POST", "/api/session", { username: "pat", password: "wrong horse" })).status,
      ).toBe(401);
      expect(
        (await call("", "POST", "/api/session", { username: "nobody", password: "correct horse" })).status,
      ).toBe(401);
      const s = await call("", "POST", "/api/session", { username: "pat", password: "correct horse" });
      expect(s.status).toBe(200);
      expect(s.body.user).toMatchObject({ role: "partner-admin", partnerId: id.partnerA });
      expect((await ok(s.body.token, "GET", "/api/me")).name).toBe("Pat");
      expect((await ok(s.body.token, "DELETE", "/api/session")).revoked).toBe(true);
      expect((await call(s.body.token, "GET", "/api/me")).status).toBe(401);
      // The user's API token is not a session and stays valid.
      expect((await call(created.body.token, "GET", "/api/me")).status).toBe(200);
    });

    it("rejects a taken username, a short password, and a password without a username", async () => {
      expect(
        (
          await call(t.noc, "POST", "/api/users", {
            name: "x",
            role: "technician",
            username: "pat",
            password: "12345678",
          })
        ).status,
      ).toBe(409);
      expect(
        (
          await call(t.noc, "POST", "/api/users", {
            name: "x",
            role: "technician",
            username: "shorty",
            password: "1234",
          })
        ).body.field,
      ).toBe("password");
      expect(
        (await call(t.noc, "POST", "/api/users", { name: "x", role: "technician", password: "12345678" }))
          .body.field,
      ).toBe("username");
    });
  });

  describe("partners", () => {
    it("creates, lists (scoped), reads and patches partners", async () => {
      const created = await call(t.noc, "POST", "/api/partners", {
        name: "Charlie MSP",
        timeZone: "Europe/Berlin",
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: "Charlie MSP", timeZone: "Europe/Berlin" });
      expect((await ok(t.noc, "GET", "/api/partners")).total).toBeGreaterThanOrEqual(3);
      const mine = await ok(t.adminA, "GET", "/api/partners");
      expect(mine.items.map((p: { id: number }) => p.id)).toEqual([id.partnerA]);
      expect(mine.total).toBe(1);
      const patched = await ok(t.adminA, "PATCH", `/api/partners/${id.partnerA}`, {
        timeZone: "America/New_York",
      });
      expect(patched.timeZone).toBe("America/New_York");
      expect((await ok(t.noc, "GET", `/api/partners/${id.partnerA}`)).timeZone).toBe("America/New_York");
      expect((await call(t.noc, "GET", "/api/partners/999999")).status).toBe(404);
    });

    it("pages lists", async () => {
      const p1 = await ok(t.noc, "GET", "/api/partners?limit=1&offset=0");
      const p2 = await ok(t.noc, "GET", "/api/partners?limit=1&offset=1");
      expect(p1.items).toHaveLength(1);
      expect(p2.items).toHaveLength(1);
      expect(p1.items[0].id).not.toBe(p2.items[0].id);
      expect(p1.limit).toBe(1);
      expect((await call(t.noc, "GET", "/api/partners?limit=0")).body.field).toBe("limit");
    });
  });

  describe("integration settings and the PSA secret", () => {
    it("stores the secret encrypted, shows it masked, and reveals it only through an audited read", async () => {
      const put = await call(t.adminA, "PUT", `/api/partners/${id.partnerA}/integration`, INTEGRATION);
      expect(put.status).toBe(200);
      expect(put.body.ticketing.secret).toBe("********");
      expect(put.body.ticketing).toMatchObject({
        queueId: 18151451,
        billingCodeId: 78955512,
        username: "noc@example.com",
      });
      expect(put.body.devices).toMatchObject({ enabled: true, advanced: true, schedule: "0 2 10,25 * *" });
      const got = await ok(t.techA, "GET", `/api/partners/${id.partnerA}/integration`);
      expect(JSON.stringify(got)).not.toContain("s3cr3t");
      expect(got.ticketing.secret).toBe("********");

      // Nowhere in the database in plain text.
      expect(await snapshot(env)).not.toContain("s3cr3t-Value-42");

      const before = (
        await ok(t.adminA, "GET", `/api/partners/${id.partnerA}/audit?action=integration.secret.read`)
      ).total;
      const read = await call(t.adminA, "GET", `/api/partners/${id.partnerA}/integration/secret`);
      expect(read.status).toBe(200);
      expect(read.body.secret).toBe("s3cr3t-Value-42");
      const audit = await ok(
        t.adminA,
        "GET",
        `/api/partners/${id.partnerA}/audit?action=integration.secret.read`,
      );
      expect(audit.total).toBe(before + 1);
      expect(audit.items[0]).toMatchObject({
        action: "integration.secret.read",
        actorName: `partner-admin ${id.partnerA}`,
      });
      // A NOC admin may read it too; a denied read is not a read.
      expect((await call(t.noc, "GET", `/api/partners/${id.partnerA}/integration/secret`)).body.secret).toBe(
        "s3cr3t-Value-42",
      );
      expect((await call(t.roA, "GET", `/api/partners/${id.partnerA}/integration/secret`)).status).toBe(403);
      expect(
        (await ok(t.noc, "GET", `/api/partners/${id.partnerA}/audit?action=integration.secret.read`)).total,
      ).toBe(before + 2);
    });

    it('keeps the stored secret when the PUT omits it or sends "********", and clears it on null', async () => {
      await ok(t.adminA, "PUT", `/api/partners/${id.partnerA}/integration`, INTEGRATION);
      const { secret: _omit, ...noSecret } = INTEGRATION.ticketing;
      await ok(t.adminA, "PUT", `/api/partners/${id.partnerA}/integration`, {
        ...INTEGRATION,
        ticketing: { ...noSecret, queueName: "NOC2" },
      });
      await ok(t.adminA, "PUT", `/api/partners/${id.partnerA}/integration`, {
        ...INTEGRATION,
        ticketing: { ...INTEGRATION.ticketing, secret: "********" },
      });
      expect((await ok(t.adminA, "GET", `/api/partners/${id.partnerA}/integration/secret`)).secret).toBe(
        "s3cr3t-Value-42",
      );
      const off = {
        ticketing: { ...INTEGRATION.ticketing, enabled: false, secret: null },
        devices: { ...INTEGRATION.devices, enabled: false },
      };
      expect(
        (await ok(t.adminA, "PUT", `/api/partners/${id.partnerA}/integration`, off)).ticketing.secret,
      ).toBe("");
      expect(
        (await ok(t.adminA, "GET", `/api/partners/${id.partnerA}/integration/secret`)).secret,
      ).toBeNull();
      await ok(t.adminA, "PUT", `/api/partners/${id.partnerA}/integration`, INTEGRATION);
    });

    it("never writes the secret to the log", async () => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      });
      const logged = await buildApp({
        portal: env.services.portal,
        sync: env.services.sync,
        logger: createLogger("trace", sink),
      });
      try {
        const headers = { authorization: `Bearer ${t.adminA}` };
        const body = { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, secret: "log-canary-9931" } };
        expect(
          (
            await logged.inject({
              method: "PUT",
              url: `/api/partners/${id.partnerA}/integration`,
              headers,
              payload: body,
            })
          ).statusCode,
        ).toBe(200);
        expect(
          (
            await logged.inject({
              method: "GET",
              url: `/api/partners/${id.partnerA}/integration/secret`,
              headers,
            })
          ).json().secret,
        ).toBe("log-canary-9931");
        // A token in the live log's query string (EventSource) is masked too.
        await logged.inject({ method: "GET", url: `/api/sync-runs/999999/events?access_token=${t.adminA}` });
        expect(lines.length).toBeGreaterThan(0);
        expect(lines.join("")).not.toContain("log-canary-9931");
        expect(lines.filter((l) => l.includes(t.adminA)).join("")).toBe("");
      } finally {
        await logged.close();
        await ok(t.adminA, "PUT", `/api/partners/${id.partnerA}/integration`, INTEGRATION);
      }
    });
  });

  describe("mapping tables", () => {
    it("reads, replaces, adds and removes rows", async () => {
      const url = `/api/partners/${id.partnerA}/mappings/status-reverse`;
      const start = await ok(t.adminA, "GET", url);
      expect(start.rows[0]).toMatchObject({
        psaStatusId: 30,
        psaStatusName: "Assigned to NOC",
        portalStatusId: 19,
        portalStatusName: "Response due",
      });
      const put = await ok(t.adminA, "PUT", url, {
        rows: [{ psaStatusId: 5, portalStatusId: 3, psaStatusName: "Complete" }],
      });
      expect(put.rows).toHaveLength(1);
      const added = await call(t.adminA, "POST", url, {
        psaStatusId: 30,
        portalStatusId: 19,
        psaStatusName: "Assigned to NOC",
      });
      expect(added.status).toBe(201);
      expect(added.body.rows.map((r: { psaStatusId: number }) => r.psaStatusId)).toEqual([5, 30]);
      const removed = await ok(t.adminA, "DELETE", `${url}/${added.body.rows[0].id}`);
      expect(removed.rows.map((r: { psaStatusId: number }) => r.psaStatusId)).toEqual([30]);
      const restore = start.rows.map(
        ({ psaStatusId, portalStatusId, psaStatusName }: Record<string, unknown>) => ({
          psaStatusId,
          portalStatusId,
          psaStatusName,
        }),
      );
      expect((await ok(t.adminA, "PUT", url, restore)).rows).toHaveLength(4);
      expect((await call(t.adminA, "DELETE", `${url}/999999`)).status).toBe(404);
    });

    it("records mapping changes in the audit log", async () => {
      const audit = await ok(t.adminA, "GET", `/api/partners/${id.partnerA}/audit?action=mapping.update`);
      expect(audit.total).toBeGreaterThan(0);
      expect(audit.items[0].target).toContain("mappings/status-reverse");
    });
  });

  describe("clients, devices and tickets", () => {
    it("creates, reads and patches clients; a duplicate code is a conflict", async () => {
      expect((await ok(t.techA, "GET", `/api/clients/${id.clientA}`)).code).toBe("AT1");
      // The company id is checked in the partner's Autotask first: this one cannot be reached, so
      // nothing is saved (test/api-companies.test.ts checks ids against the emulators).
      const unchecked = await call(t.techA, "PATCH", `/api/clients/${id.clientA}`, { psaCompanyId: 174 });
      expect(unchecked.status).toBe(503);
      expect(unchecked.body.message).toMatch(/could not be asked to check company 174 for client AT1/);
      expect((await ok(t.techA, "GET", `/api/clients/${id.clientA}`)).psaCompanyId).toBeNull();
      expect(
        (await ok(t.techA, "PATCH", `/api/clients/${id.clientA}`, { psaCompanyId: null })).psaCompanyName,
      ).toBeNull();
      const dup = await call(t.techA, "POST", `/api/partners/${id.partnerA}/clients`, {
        code: "AT1",
        name: "again",
      });
      expect(dup.status).toBe(409);
      expect(dup.body.field).toBe("code");
      const list = await ok(t.roA, "GET", `/api/partners/${id.partnerA}/clients`);
      expect(list.items.map((c: { code: string }) => c.code)).toEqual(["AT1", "AT2"]);
    });

    it("creates devices with every attribute, filters by state and patches them", async () => {
      const full = {
        state: "managed",
        hostname: "AT1-SRV010",
        deviceType: "Server",
        ipAddress: "10.10.1.20",
        gateway: "10.10.1.1",
        make: "Dell Inc.",
        model: "PowerEdge R650",
        operatingSystem: "Microsoft Windows Server 2022 Standard",
        ram: "128 GB",
        biosName: "Dell Inc. BIOS 1.9.2",
        biosVersion: "1.9.2",
        driveInfo: "C: 558 GB; D: 3.6 TB",
        lastLoggedUser: "administrator",
        serialNumber: "7XK2M93",
        warrantyEndDate: "2028-03-31",
      };
      const d = await call(t.techA, "POST", `/api/clients/${id.clientA}/devices`, full);
      expect(d.status).toBe(201);
      expect(d.body).toMatchObject({ ...full, clientId: id.clientA, partnerId: id.partnerA });
      const managed = await ok(t.techA, "GET", `/api/clients/${id.clientA}/devices?state=managed`);
      expect(managed.items.every((x: { state: string }) => x.state === "managed")).toBe(true);
      expect(managed.total).toBeGreaterThanOrEqual(2);
      expect((await ok(t.techA, "GET", `/api/clients/${id.clientA}/devices?state=discovered`)).total).toBe(1);
      expect((await ok(t.techA, "PATCH", `/api/devices/${d.body.id}`, { state: "unmanaged" })).state).toBe(
        "unmanaged",
      );
      expect((await ok(t.techA, "GET", `/api/devices/${d.body.id}`)).state).toBe("unmanaged");
    });

    it("imports a discovery feed as an upsert by hostname + serial", async () => {
      const url = `/api/clients/${id.clientA2}/devices/import`;
      const feed = [
        { state: "discovered", hostname: "AT2-PC001", serialNumber: "A1" },
        { state: "discovered", hostname: "AT2-PC002", serialNumber: "A2" },
      ];
      expect(await ok(t.techA, "POST", url, feed)).toMatchObject({ created: 2, updated: 0, unchanged: 0 });
      const again = await ok(t.techA, "POST", url, [
        { state: "managed", hostname: "AT2-PC001", serialNumber: "A1", ram: "16 GB" },
        { state: "discovered", hostname: "AT2-PC002", serialNumber: "A2" },
        { state: "discovered", hostname: "AT2-PC002", serialNumber: "A3" },
      ]);
      expect(again).toMatchObject({ created: 1, updated: 1, unchanged: 1 });
      const all = await ok(t.techA, "GET", `/api/clients/${id.clientA2}/devices`);
      expect(all.total).toBe(3);
      expect(all.items.find((x: { serialNumber: string }) => x.serialNumber === "A1")).toMatchObject({
        state: "managed",
        ram: "16 GB",
      });
    });

    it("a ticket with alerts from several devices takes the first alert's device (seed Q6)", async () => {
      const r = await call(t.techA, "POST", `/api/partners/${id.partnerA}/tickets`, {
        clientId: id.clientA,
        title: "Hosts unreachable",
        description: "Three hosts behind one switch",
        statusId: 9,
        priorityId: 8,
        alerts: [
          { deviceId: id.deviceA2, message: "Host down" },
          { deviceId: id.deviceA, message: "Host down" },
        ],
      });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ deviceId: id.deviceA2, status: "Handed Over to MSP", priority: "P0" });
      expect(r.body.alerts.map((a: { deviceId: number }) => a.deviceId)).toEqual([id.deviceA2, id.deviceA]);
      const filtered = await ok(t.techA, "GET", `/api/partners/${id.partnerA}/tickets?statusId=9`);
      expect(filtered.items.map((x: { id: number }) => x.id)).toContain(r.body.id);
      expect(filtered.items.every((x: { statusId: number }) => x.statusId === 9)).toBe(true);
      const patched = await ok(t.techA, "PATCH", `/api/tickets/${r.body.id}`, {
        statusId: 3,
        deviceId: id.deviceA,
      });
      expect(patched).toMatchObject({ statusId: 3, status: "Closed", deviceId: id.deviceA });
    });

    it("adds published and internal notes with their author", async () => {
      const n1 = await call(t.techA, "POST", `/api/tickets/${id.ticketA}/notes`, {
        text: "Cleared temp files",
        published: true,
      });
      expect(n1.status).toBe(201);
      expect(n1.body).toMatchObject({
        published: true,
        author: `technician ${id.partnerA}`,
        ticketId: id.ticketA,
      });
      await ok(t.techA, "POST", `/api/tickets/${id.ticketA}/notes`, {
        text: "internal only",
        published: false,
      });
      const pub = await ok(t.roA, "GET", `/api/tickets/${id.ticketA}/notes?published=true`);
      expect(pub.items.every((n: { published: boolean }) => n.published)).toBe(true);
      const detail = await ok(t.roA, "GET", `/api/tickets/${id.ticketA}`);
      expect(detail.notes.length).toBeGreaterThanOrEqual(2);
    });
  });

  describe("cross-partner isolation", () => {
    it("answers 404 for every route that names another partner's record, and writes nothing", async () => {
      const routes: Array<[Method, string, unknown?]> = [
        ["GET", `/api/partners/${id.partnerB}`],
        ["PATCH", `/api/partners/${id.partnerB}`, { name: "x" }],
        ["GET", `/api/partners/${id.partnerB}/integration`],
        ["PUT", `/api/partners/${id.partnerB}/integration`, INTEGRATION],
        ["GET", `/api/partners/${id.partnerB}/integration/secret`],
        ["GET", `/api/partners/${id.partnerB}/mappings/status-forward`],
        ["GET", `/api/partners/${id.partnerB}/mappings/status-reverse`],
        ["GET", `/api/partners/${id.partnerB}/mappings/priority`],
        ["PUT", `/api/partners/${id.partnerB}/mappings/status-forward`, []],
        ["PUT", `/api/partners/${id.partnerB}/mappings/status-reverse`, []],
        ["PUT", `/api/partners/${id.partnerB}/mappings/priority`, []],
        [
          "POST",
          `/api/partners/${id.partnerB}/mappings/priority`,
          { psaPriorityId: 77, portalPriorityId: 8 },
        ],
        ["DELETE", `/api/partners/${id.partnerB}/mappings/priority/${id.mapB}`],
        ["GET", `/api/partners/${id.partnerB}/audit`],
        ["POST", `/api/partners/${id.partnerB}/clients`, { code: "X", name: "x" }],
        ["GET", `/api/partners/${id.partnerB}/clients`],
        ["GET", `/api/clients/${id.clientB}`],
        ["PATCH", `/api/clients/${id.clientB}`, { name: "x" }],
        ["POST", `/api/clients/${id.clientB}/devices`, { state: "managed", hostname: "x" }],
        ["GET", `/api/clients/${id.clientB}/devices`],
        ["POST", `/api/clients/${id.clientB}/devices/import`, [{ state: "managed", hostname: "x" }]],
        ["GET", `/api/devices/${id.deviceB}`],
        ["PATCH", `/api/devices/${id.deviceB}`, { state: "unmanaged" }],
        [
          "POST",
          `/api/partners/${id.partnerB}/tickets`,
          { clientId: id.clientB, title: "x", statusId: 1, priorityId: 9 },
        ],
        ["GET", `/api/partners/${id.partnerB}/tickets`],
        ["GET", `/api/tickets/${id.ticketB}`],
        ["PATCH", `/api/tickets/${id.ticketB}`, { title: "x" }],
        ["POST", `/api/tickets/${id.ticketB}/notes`, { text: "x", published: true }],
        ["GET", `/api/tickets/${id.ticketB}/notes`],
      ];
      const before = await snapshot(env);
      for (const token of [t.adminA, t.techA, t.roA]) {
        for (const [m, u, b] of routes) {
          const r = await call(token, m, u, b);
          expect(r.status, `${m} ${u}`).toBe(404);
          expect(JSON.stringify(r.body)).not.toContain("Bravo");
        }
      }
      // References to another partner's records inside a body are not found either.
      const bodyRefs: Array<[Method, string, unknown, string]> = [
        [
          "POST",
          `/api/partners/${id.partnerA}/tickets`,
          { clientId: id.clientB, title: "x", statusId: 1, priorityId: 9 },
          "clientId",
        ],
        [
          "POST",
          `/api/partners/${id.partnerA}/tickets`,
          { clientId: id.clientA, deviceId: id.deviceB, title: "x", statusId: 1, priorityId: 9 },
          "deviceId",
        ],
        [
          "POST",
          `/api/partners/${id.partnerA}/tickets`,
          {
            clientId: id.clientA,
            title: "x",
            statusId: 1,
            priorityId: 9,
            alerts: [{ deviceId: id.deviceB, message: "m" }],
          },
          "alerts[0].deviceId",
        ],
        ["PATCH", `/api/tickets/${id.ticketA}`, { deviceId: id.deviceB }, "deviceId"],
      ];
      for (const [m, u, b, field] of bodyRefs) {
        const r = await call(t.techA, m, u, b);
        expect(r.status, `${m} ${u} ${field}`).toBe(400);
        expect(r.body.field).toBe(field);
        expect(JSON.stringify(r.body)).not.toContain("Bravo");
      }
      expect(await snapshot(env)).toBe(before);
    });
  });

  describe("bad input", () => {
    it("answers 400 naming the field on every write route, and writes nothing", async () => {
      const cases: Array<[Method, string, unknown, string]> = [
        ["POST", "/api/users", { role: "technician" }, "name"],
        ["POST", "/api/users", { name: "x", role: "technician", partnerId: "one" }, "partnerId"],
        ["POST", "/api/partners", { name: "" }, "name"],
        ["POST", "/api/partners", { name: "x", timeZone: "Mars/Olympus" }, "timeZone"],
        ["POST", "/api/partners", { name: "x", colour: "red" }, "colour"],
        ["PATCH", `/api/partners/${id.partnerA}`, { timeZone: "Nowhere/Land" }, "timeZone"],
        [
          "PUT",
          `/api/partners/${id.partnerA}/integration`,
          { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, queueId: null } },
          "ticketing.queueId",
        ],
        [
          "PUT",
          `/api/partners/${id.partnerA}/integration`,
          { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, billingCodeId: null } },
          "ticketing.billingCodeId",
        ],
        [
          "PUT",
          `/api/partners/${id.partnerA}/integration`,
          { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, username: "" } },
          "ticketing.username",
        ],
        [
          "PUT",
          `/api/partners/${id.partnerA}/integration`,
          { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, integrationCode: " " } },
          "ticketing.integrationCode",
        ],
        [
          "PUT",
          `/api/partners/${id.partnerA}/integration`,
          { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, system: "halopsa" } },
          "ticketing.system",
        ],
        [
          "PUT",
          `/api/partners/${id.partnerA}/integration`,
          { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, apiUrl: "ftp://x" } },
          "ticketing.apiUrl",
        ],
        [
          "PUT",
          `/api/partners/${id.partnerA}/integration`,
          { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, queueId: "18151451" } },
          "ticketing.queueId",
        ],
        [
          "PUT",
          `/api/partners/${id.partnerA}/integration`,
          { ...INTEGRATION, devices: { ...INTEGRATION.devices, productId: null } },
          "devices.productId",
        ],
        [
          "PUT",
          `/api/partners/${id.partnerA}/integration`,
          { ...INTEGRATION, devices: { ...INTEGRATION.devices, configurationItemTypeId: null } },
          "devices.configurationItemTypeId",
        ],
        [
          "PUT",
          `/api/partners/${id.partnerA}/integration`,
          { ...INTEGRATION, devices: { ...INTEGRATION.devices, schedule: "every tuesday" } },
          "devices.schedule",
        ],
        ["PUT", `/api/partners/${id.partnerA}/integration`, { ticketing: INTEGRATION.ticketing }, "devices"],
        [
          "PUT",
          `/api/partners/${id.partnerA}/mappings/status-forward`,
          [
            { portalStatusId: 1, psaStatusId: 29 },
            { portalStatusId: 1, psaStatusId: 28 },
          ],
          "rows[1].portalStatusId",
        ],
        [
          "PUT",
          `/api/partners/${id.partnerA}/mappings/status-forward`,
          [{ portalStatusId: 42, psaStatusId: 29 }],
          "rows[0].portalStatusId",
        ],
        [
          "PUT",
          `/api/partners/${id.partnerA}/mappings/status-reverse`,
          [
            { psaStatusId: 5, portalStatusId: 3 },
            { psaStatusId: 5, portalStatusId: 19 },
          ],
          "rows[1].psaStatusId",
        ],
        [
          "PUT",
          `/api/partners/${id.partnerA}/mappings/priority`,
          [
            { psaPriorityId: 4, portalPriorityId: 8 },
            { psaPriorityId: 4, portalPriorityId: 9 },
          ],
          "rows[1].psaPriorityId",
        ],
        [
          "PUT",
          `/api/partners/${id.partnerA}/mappings/priority`,
          [{ psaPriorityId: 4, portalPriorityId: 3 }],
          "rows[0].portalPriorityId",
        ],
        [
          "POST",
          `/api/partners/${id.partnerA}/mappings/priority`,
          { psaPriorityId: 4, portalPriorityId: 8 },
          "rows[5].psaPriorityId",
        ],
        ["POST", `/api/partners/${id.partnerA}/clients`, { name: "no code" }, "code"],
        ["PATCH", `/api/clients/${id.clientA}`, { psaCompanyId: -1 }, "psaCompanyId"],
        ["POST", `/api/clients/${id.clientA}/devices`, { state: "retired", hostname: "x" }, "state"],
        ["POST", `/api/clients/${id.clientA}/devices`, { state: "managed" }, "hostname"],
        [
          "POST",
          `/api/clients/${id.clientA}/devices`,
          { state: "managed", hostname: "x", warrantyEndDate: "2027-02-30" },
          "warrantyEndDate",
        ],
        [
          "POST",
          `/api/clients/${id.clientA}/devices/import`,
          [
            { state: "managed", hostname: "ok" },
            { state: "lost", hostname: "bad" },
          ],
          "[1].state",
        ],
        ["PATCH", `/api/devices/${id.deviceA}`, { ram: 16 }, "ram"],
        [
          "POST",
          `/api/partners/${id.partnerA}/tickets`,
          { clientId: id.clientA, title: "x", statusId: 99, priorityId: 9 },
          "statusId",
        ],
        [
          "POST",
          `/api/partners/${id.partnerA}/tickets`,
          { clientId: id.clientA, title: "x", statusId: 1, priorityId: 1 },
          "priorityId",
        ],
        [
          "POST",
          `/api/partners/${id.partnerA}/tickets`,
          { clientId: id.clientA, statusId: 1, priorityId: 9 },
          "title",
        ],
        [
          "POST",
          `/api/partners/${id.partnerA}/tickets`,
          { clientId: id.clientA2, deviceId: id.deviceA, title: "x", statusId: 1, priorityId: 9 },
          "deviceId",
        ],
        [
          "POST",
          `/api/partners/${id.partnerA}/tickets`,
          {
            clientId: id.clientA,
            title: "x",
            statusId: 1,
            priorityId: 9,
            alerts: [{ deviceId: id.deviceA }],
          },
          "alerts[0].message",
        ],
        ["PATCH", `/api/tickets/${id.ticketA}`, { statusId: 4 }, "statusId"],
        ["PATCH", `/api/tickets/${id.ticketA}`, { title: "   " }, "title"],
        ["POST", `/api/tickets/${id.ticketA}/notes`, { text: "x" }, "published"],
        ["POST", `/api/tickets/${id.ticketA}/notes`, { text: "x", published: "yes" }, "published"],
      ];
      const before = await snapshot(env);
      for (const [m, u, b, field] of cases) {
        const r = await call(t.noc, m, u, b);
        expect(r.status, `${m} ${u} ${JSON.stringify(b)}`).toBe(400);
        expect(r.body.field, `${m} ${u} → ${r.body.message}`).toBe(field);
        expect(r.body.message).toContain(field);
      }
      expect(await snapshot(env)).toBe(before);
    });

    it("answers 400 for malformed JSON and 404 for unknown ids", async () => {
      const r = await app.inject({
        method: "POST",
        url: "/api/partners",
        headers: { authorization: `Bearer ${t.noc}`, "content-type": "application/json" },
        payload: "{not json",
      });
      expect(r.statusCode).toBe(400);
      for (const u of [
        "/api/clients/999999",
        "/api/devices/999999",
        "/api/tickets/999999",
        "/api/partners/999999/integration",
      ]) {
        expect((await call(t.noc, "GET", u)).status, u).toBe(404);
      }
      expect((await call(t.noc, "GET", "/api/clients/abc")).body.field).toBe("clientId");
    });
  });
});
