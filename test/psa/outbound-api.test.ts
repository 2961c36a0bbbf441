import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { AutotaskApi } from "../../src/psa/autotask/api.js";
import type { AutotaskCredentials as PsaCredentials } from "../../src/psa/autotask/client.js";
import { AutotaskClient } from "../../src/psa/autotask/client.js";
import type { PsaUrlPolicy } from "../../src/psa/url-policy.js";
import { releaseBudgetParked } from "../../src/store/migrations/0011_budget_waits.js";
import { demoTicketing, startTestEmulator, type TestEmulator } from "../helpers/autotask.js";
import { openTestServices, STORES, snapshot, type TestEnv, testApp } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

/** Fast retries; the budget view is re-read when 300 ms old, so a changed threshold is seen soon. */
function client(creds: PsaCredentials, urlPolicy: PsaUrlPolicy): AutotaskApi {
  return new AutotaskClient({
    credentials: creds,
    urlPolicy,
    retry: { maxAttempts: 4, baseDelayMs: 2, maxDelayMs: 10, timeBudgetMs: 5_000 },
    requestTimeoutMs: 2_000,
    budget: { refreshEvery: { ms: 300 } },
  });
}

describe.each(STORES)("PSA calls through the API (%s)", (kind) => {
  let at: TestEmulator;
  let env: TestEnv;
  let app: App;
  let html: Server;
  let htmlOrigin = "";
  let partnerId = 0;
  let clientB = 0;
  const tokens: Record<string, string> = {};

  const devicesOff = {
    enabled: false,
    productId: null,
    configurationItemTypeId: null,
    advanced: false,
    schedule: null,
  };
  const call = (method: "GET" | "PUT" | "POST", url: string, role: string, payload?: unknown) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${tokens[role]}` },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
  const ops = async () =>
    ((await at.stats()) as unknown as { byOperation: Record<string, number> }).byOperation;

  beforeAll(async () => {
    at = await startTestEmulator();
    html = createServer((_req, res) => {
      res.writeHead(500, { "Content-Type": "text/html" });
      res.end("<html><body>Server Error in '/' Application. SECRET-STACK-TRACE</body></html>");
    });
    await new Promise<void>((resolve) => html.listen(0, "127.0.0.1", resolve));
    htmlOrigin = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
    env = await openTestServices(kind, {
      autotask: client,
      psaOrigins: [at.emu.url, htmlOrigin],
      ticketRetry: { maxAttempts: 3, baseMs: 10 },
    });
    app = await testApp(env);
    const portal = env.services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Outbound VAR" })).id;
    await portal.createClient(SYSTEM_ACTOR, partnerId, {
      code: "AT1",
      name: "Acme",
      psaCompanyId: DEMO_IDS.companies.AT1,
    });
    clientB = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT3",
        name: "Cedar",
        psaCompanyId: DEMO_IDS.companies.AT3,
      })
    ).id;
    for (const role of ["partner-admin", "technician", "read-only"] as const)
      tokens[role] = (await portal.createUser(SYSTEM_ACTOR, { name: role, role, partnerId })).token;
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl),
      devices: devicesOff,
    });
    await env.services.sync.ticketSetup(partnerId);
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
    await at?.close();
    await new Promise<void>((resolve) => (html ? html.close(() => resolve()) : resolve()));
  });

  it("refuses an apiUrl outside the allow-list with 400 naming the field, storing nothing", async () => {
    const before = await snapshot(env);
    for (const apiUrl of [
      "http://169.254.169.254/ATServicesRest/",
      "https://evil.example/ATServicesRest/",
      "http://127.0.0.1:1/ATServicesRest/",
    ]) {
      const res = await call("PUT", `/api/partners/${partnerId}/integration`, "partner-admin", {
        ticketing: demoTicketing(apiUrl),
        devices: devicesOff,
      });
      expect(res.statusCode, apiUrl).toBe(400);
      expect(res.json().field).toBe("ticketing.apiUrl");
    }
    expect(await snapshot(env)).toBe(before);
  });

  it("lets only roles that may change settings read the live pick-lists", async () => {
    for (const role of ["technician", "read-only"]) {
      const res = await call("GET", `/api/partners/${partnerId}/psa/options`, role);
      expect(res.statusCode, role).toBe(403);
      expect((await call("POST", `/api/partners/${partnerId}/validate`, role)).statusCode, role).toBe(403);
    }
  });

  it("answers repeated pick-list reads from its cache: one round of Autotask requests", async () => {
    const first = await call("GET", `/api/partners/${partnerId}/psa/options`, "partner-admin");
    expect(first.statusCode).toBe(200);
    const after1 = (await at.stats()).requests;
    for (let i = 0; i < 5; i++) {
      const again = await call("GET", `/api/partners/${partnerId}/psa/options`, "partner-admin");
      expect(again.json()).toEqual(first.json());
    }
    expect((await at.stats()).requests).toBe(after1);
  });

  it("parks a ticket create Autotask refuses after one request, with its message and a fix", async () => {
    // Autotask refuses a reference to an inactive record with a 500 and its errors array: final.
    await at.api("PATCH", "Companies", { id: DEMO_IDS.companies.AT3, isActive: false });
    try {
      const creates = (await ops())["create Tickets"] ?? 0;
      const t = await env.services.portal.createTicket(SYSTEM_ACTOR, partnerId, {
        clientId: clientB,
        title: "Refused",
        description: "d",
        statusId: 1,
        priorityId: 9,
      });
      const err = await until(async () => {
        await env.services.sync.tickets.notify(partnerId);
        return (await env.services.sync.tickets.errors(partnerId)).find((e) => e.ticketId === t.id);
      }, "the parked error");
      expect(err).toMatchObject({ parked: true, attempts: 1, code: "INVALID_REQUEST" });
      expect(err.error).toContain("Reference value on field: companyID does not exist or is invalid.");
      expect(err.error).toContain("Fix:");
      expect((await ops())["create Tickets"] ?? 0).toBe(creates + 1);
    } finally {
      await at.api("PATCH", "Companies", { id: DEMO_IDS.companies.AT3, isActive: true });
    }
  });

  it("never quotes an upstream HTML body in an API error", async () => {
    const other = (await env.services.portal.createPartner(SYSTEM_ACTOR, { name: "HTML VAR" })).id;
    await env.services.portal.putIntegration(SYSTEM_ACTOR, other, {
      ticketing: { ...demoTicketing(`${htmlOrigin}/ATServicesRest/`), enabled: false },
      devices: devicesOff,
    });
    const noc = (await env.services.portal.createUser(SYSTEM_ACTOR, { name: "noc", role: "noc-admin" }))
      .token;
    tokens["noc-admin"] = noc;
    const res = await call("GET", `/api/partners/${other}/psa/options`, "noc-admin");
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toContain("HTTP 500");
    expect(res.body).not.toMatch(/SECRET|html|Application/);
    const v = await call("POST", `/api/partners/${other}/validate`, "noc-admin");
    expect(v.statusCode).toBe(200);
    expect(v.body).not.toMatch(/SECRET|html|Application/);
  });

  it("waits out a spent hourly budget: the ticket goes on by itself, and Validate names the budget", async () => {
    // Some usage first, so that the requests made while the test runs keep it between 95 % and 100 %:
    // the 4.5 % of room must hold the background's polls and lanes of this partner (about 55 requests
    // here), or Autotask's own 429s (retried for their Retry-After) stand where the budget wait should.
    for (let i = 0; i < 1200; i++) await at.api("GET", `Companies/${DEMO_IDS.companies.AT1}`);
    const used = (await at.api<{ currentTimeframeRequestCount: number }>("GET", "ThresholdInformation"))
      .currentTimeframeRequestCount;
    // About 95.5 % used: past the ticket share (95 %), short of Autotask's own refusal.
    await at.admin("PUT", "/limits", { requestThreshold: Math.floor((used + 1) / 0.955) });
    try {
      const creates = (await ops())["create Tickets"] ?? 0;
      const t = await env.services.portal.createTicket(SYSTEM_ACTOR, partnerId, {
        clientId: clientB,
        title: "Waits for the budget",
        description: "d",
        statusId: 1,
        priorityId: 9,
      });
      const wait = await until(async () => {
        await env.services.sync.tickets.notify(partnerId);
        return (await env.services.sync.tickets.errors(partnerId)).find((e) => e.ticketId === t.id);
      }, "the budget wait");
      expect(wait).toMatchObject({ parked: false, code: "BUDGET_EXHAUSTED", attempts: 0 });
      expect(wait.error).toMatch(/^API budget: [\d,]+ of [\d,]+ requests used this hour; ticket sync waits/);
      expect(wait.nextAttemptAt).not.toBeNull();
      expect((await ops())["create Tickets"] ?? 0).toBe(creates);

      const v = (await call("POST", `/api/partners/${partnerId}/validate`, "partner-admin")).json();
      expect(v.ok).toBe(false);
      const failed = (v.checks as Array<{ name: string; ok: boolean; message: string }>).filter((c) => !c.ok);
      expect(failed.map((c) => c.name)).toEqual(["budget"]);
      expect(failed[0]?.message).toMatch(/^API budget: [\d,]+ of [\d,]+ requests used this hour; .*70 %/);

      // The hour's window moves on: the ticket is sent without anyone retrying it.
      await at.admin("PUT", "/limits", { requestThreshold: 1_000_000 });
      const linked = await until(async () => {
        await env.services.sync.tickets.notify(partnerId);
        return (await env.services.sync.tickets.view(t.id)).ticketId;
      }, "the ticket sent after the wait");
      expect(linked).toBeGreaterThan(0);
      expect((await ops())["create Tickets"] ?? 0).toBe(creates + 1);
      const open = (await env.services.sync.tickets.errors(partnerId)).filter((e) => e.ticketId === t.id);
      expect(open).toEqual([]);
    } finally {
      await at.admin("PUT", "/limits", { requestThreshold: 1_000_000 });
    }
  });

  it("releases a ticket an earlier version parked for a spent budget (migration 0011_budget_waits)", async () => {
    const k = env.services.db.kysely;
    // As the earlier version left it: the budget was spent (here Autotask itself refuses), the ticket
    // parked as final with BUDGET_EXHAUSTED.
    await at.admin("PUT", "/limits", { requestThreshold: 1 });
    let ticketId = 0;
    try {
      ticketId = (
        await env.services.portal.createTicket(SYSTEM_ACTOR, partnerId, {
          clientId: clientB,
          title: "Parked by an earlier version",
          description: "d",
          statusId: 1,
          priorityId: 9,
        })
      ).id;
      await until(async () => {
        await env.services.sync.tickets.notify(partnerId);
        return (await env.services.sync.tickets.errors(partnerId)).find((e) => e.ticketId === ticketId);
      }, "the budget wait");
    } finally {
      await at.admin("PUT", "/limits", { requestThreshold: 1_000_000 });
    }
    await k
      .updateTable("sync_errors")
      .set({ parked: 1, attempts: 1, next_attempt_at: null, code: "BUDGET_EXHAUSTED" })
      .where("ticket_id", "=", ticketId)
      .where("resolved_at", "is", null)
      .execute();
    await env.services.sync.tickets.notify(partnerId);
    expect((await env.services.sync.tickets.view(ticketId)).ticketId ?? null).toBeNull();
    const creates = (await ops())["create Tickets"] ?? 0;

    expect(await releaseBudgetParked(k as never)).toBe(1);
    expect(await releaseBudgetParked(k as never)).toBe(0); // idempotent
    const linked = await until(async () => {
      await env.services.sync.tickets.notify(partnerId);
      return (await env.services.sync.tickets.view(ticketId)).ticketId;
    }, "the released ticket sent");
    expect(linked).toBeGreaterThan(0);
    expect((await ops())["create Tickets"] ?? 0).toBe(creates + 1);
  });
});
