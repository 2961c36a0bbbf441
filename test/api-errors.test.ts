import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../src/api/app.js";
import { toHttpError } from "../src/api/errors.js";
import { DEMO_IDS } from "../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { conflict, forbidden, invalid, notFound, tooManyRequests } from "../src/portal/errors.js";
import type { AutotaskApi } from "../src/psa/autotask/api.js";
import type { AutotaskCredentials as PsaCredentials } from "../src/psa/autotask/client.js";
import { AutotaskClient } from "../src/psa/autotask/client.js";
import { classify, classifyNetworkError, PsaError, type PsaErrorCode } from "../src/psa/errors.js";
import type { PsaUrlPolicy } from "../src/psa/url-policy.js";
import { TicketSyncError } from "../src/sync/tickets/errors.js";
import { demoTicketing, startTestEmulator, type TestEmulator } from "./helpers/autotask.js";
import { openTestServices, STORES, type TestEnv, testApp } from "./helpers/services.js";
import { until } from "./helpers/wait.js";

const psa = (code: PsaErrorCode, extra: Partial<ConstructorParameters<typeof PsaError>[0]> = {}) =>
  new PsaError({ code, message: `GET Tickets: expected something, got ${code}`, retryable: false, ...extra });

describe("toHttpError: every error family in one map", () => {
  const table: Array<[name: string, err: unknown, status: number, code: string, retryAfter?: string]> = [
    ["portal not found", notFound("partner 9"), 404, "NOT_FOUND"],
    ["portal forbidden", forbidden("edit users"), 403, "FORBIDDEN"],
    ["portal invalid", invalid("name", "is required"), 400, "INVALID"],
    ["portal conflict", conflict("taken"), 409, "CONFLICT"],
    ["portal rate limit", tooManyRequests("slow down", 7.2), 429, "RATE_LIMITED", "8"],
    ["PSA auth", psa("AUTH"), 409, "PSA_AUTH"],
    ["PSA integration code", psa("INTEGRATION_CODE"), 409, "PSA_INTEGRATION_CODE"],
    ["PSA zone", psa("ZONE"), 409, "PSA_ZONE"],
    ["PSA refused request", psa("INVALID_REQUEST"), 409, "PSA_INVALID_REQUEST"],
    ["PSA not found", psa("NOT_FOUND"), 409, "PSA_NOT_FOUND"],
    ["PSA URL not allowed", psa("URL_NOT_ALLOWED"), 409, "PSA_URL_NOT_ALLOWED"],
    [
      "PSA network",
      classifyNetworkError(Object.assign(new Error("x"), { code: "ECONNREFUSED" })),
      503,
      "PSA_NETWORK",
    ],
    [
      "PSA timeout",
      classifyNetworkError(new Error("aborted"), { timedOut: true, timeoutMs: 10 }),
      503,
      "PSA_TIMEOUT",
    ],
    ["PSA HTML 500", classify(500, "<html>SECRET</html>"), 503, "PSA_SERVER"],
    ["PSA 429", classify(429, undefined, { "retry-after": "30" }), 503, "PSA_RATE_LIMITED", "30"],
    [
      "PSA budget spent (named wait)",
      psa("BUDGET_EXHAUSTED", { retryAfterMs: 90_500 }),
      503,
      "PSA_BUDGET_EXHAUSTED",
      "91",
    ],
    ["PSA budget spent (no wait named)", psa("BUDGET_EXHAUSTED"), 503, "PSA_BUDGET_EXHAUSTED", "300"],
    ["PSA bad answer", classify(200, "not json"), 502, "PSA_BAD_RESPONSE"],
    ["PSA redirect", psa("REDIRECT"), 502, "PSA_REDIRECT"],
    [
      "ticket sync",
      new TicketSyncError("UNMAPPED_COMPANY", "client 3 has no Autotask company"),
      409,
      "UNMAPPED_COMPANY",
    ],
    [
      "database gone",
      Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      503,
      "DB_UNAVAILABLE",
      "5",
    ],
    [
      "postgres shutting down",
      Object.assign(new Error("terminating"), { code: "57P01" }),
      503,
      "DB_UNAVAILABLE",
      "5",
    ],
    [
      "validation",
      Object.assign(new Error("bad"), {
        validation: [{ instancePath: "/ticketing", params: { missingProperty: "queueId" } }],
        validationContext: "body",
      }),
      400,
      "INVALID",
    ],
    [
      "Fastify bad JSON",
      Object.assign(new Error("Body is not valid JSON"), {
        statusCode: 400,
        code: "FST_ERR_CTP_INVALID_JSON_BODY",
      }),
      400,
      "FST_ERR_CTP_INVALID_JSON_BODY",
    ],
    [
      "other client error",
      Object.assign(new Error("secret text"), { statusCode: 404, code: "XYZ" }),
      404,
      "NOT_FOUND",
    ],
    [
      "anything else",
      Object.assign(new Error('relation "x" does not exist'), { code: "42P01" }),
      500,
      "INTERNAL",
    ],
    ["a thrown string", "boom", 500, "INTERNAL"],
  ];
  it.each(table)("%s → %i %s", (_name, err, status, code, retryAfter) => {
    const got = toHttpError(err);
    expect(got.status).toBe(status);
    expect(got.body.statusCode).toBe(status);
    expect(got.body.code).toBe(code);
    expect(got.body.error).not.toBe("");
    expect(got.headers?.["retry-after"]).toBe(retryAfter);
  });

  it("names the field of bad input and keeps PSA and internal messages free of upstream text", () => {
    const v = toHttpError(
      Object.assign(new Error("bad"), {
        validation: [{ instancePath: "/ticketing/queueId", message: "must be integer" }],
      }),
    );
    expect(v.body).toMatchObject({
      field: "ticketing.queueId",
      message: "ticketing.queueId: must be integer",
    });
    const html = toHttpError(classify(500, "<html><body>SECRET-STACK-TRACE</body></html>"));
    expect(html.body.message).toMatch(/^Autotask: /);
    expect(html.body.message).not.toMatch(/SECRET|html/);
    const internal = toHttpError(new Error("password=hunter2"));
    expect(internal.body.message).toBe("internal error");
    expect(internal.log).toBe("error");
  });
});

/** A local port nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe.each(STORES)("a PSA failure through the API is not a 500 (%s)", (kind) => {
  let env: TestEnv;
  let app: App;
  let partnerId = 0;
  let token = "";

  beforeAll(async () => {
    const origin = `http://127.0.0.1:${await closedPort()}`;
    env = await openTestServices(kind, {
      autotask: (creds: PsaCredentials, urlPolicy: PsaUrlPolicy): AutotaskApi =>
        new AutotaskClient({
          credentials: creds,
          urlPolicy,
          retry: { maxAttempts: 2, baseDelayMs: 2, maxDelayMs: 5, timeBudgetMs: 2_000 },
          requestTimeoutMs: 1_000,
        }),
      psaOrigins: [origin],
    });
    app = await testApp(env);
    const portal = env.services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Unreachable VAR" })).id;
    token = (await portal.createUser(SYSTEM_ACTOR, { name: "admin", role: "partner-admin", partnerId }))
      .token;
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(`${origin}/ATServicesRest/`),
      devices: {
        enabled: false,
        productId: null,
        configurationItemTypeId: null,
        advanced: false,
        schedule: null,
      },
    });
    await env.services.sync.ticketSetup(partnerId);
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  const call = (method: "GET" | "POST", url: string) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });

  it("queues a poll against an unreachable PSA (202, not a 500); the poll's failure would answer 503 with a PSA code", async () => {
    // "Poll now" answers at once: the poll (drift check, then the NOC queue) runs as the partner's job.
    const res = await call("POST", `/api/partners/${partnerId}/sync/tickets/poll`);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ queued: true });
    // What the poll runs into is a PSA failure, which the API would answer with 503 and its code.
    const failure = await env.services.sync.pollTickets(partnerId).catch((e: unknown) => e);
    const answer = toHttpError(failure);
    expect(answer).toMatchObject({
      status: 503,
      body: { error: "Service Unavailable", code: "PSA_NETWORK" },
    });
    expect(answer.body.message).toMatch(/^Autotask: .*connection failure/);
    // The stored drift stays readable: it needs no PSA call.
    const drift = await call("GET", `/api/partners/${partnerId}/mappings/drift`);
    expect(drift.statusCode).toBe(200);
    expect(drift.json()).toEqual({ items: [] });
  });

  it("keeps the live pick-lists' answer for PSA failures: 409 naming the credentials", async () => {
    const res = await call("GET", `/api/partners/${partnerId}/psa/options`);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: "CONFLICT" });
    expect(res.json().message).toMatch(/^Autotask did not answer with these credentials/);
  });

  it("counts an unreachable PSA as a ticket's failed attempt, not as a database outage", async () => {
    const clientId = (
      await env.services.portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT1",
        name: "Acme",
        psaCompanyId: DEMO_IDS.companies.AT1,
      })
    ).id;
    const t = await env.services.portal.createTicket(SYSTEM_ACTOR, partnerId, {
      clientId,
      title: "PSA away",
      description: "d",
      statusId: 1,
      priorityId: 9,
    });
    const err = await until(async () => {
      await env.services.sync.tickets.notify(partnerId);
      return (await env.services.sync.tickets.errors(partnerId)).find((e) => e.ticketId === t.id);
    }, "the ticket's sync error");
    expect(err.attempts).toBeGreaterThanOrEqual(1);
    expect(err.code).toBe("NETWORK");
  });
});

describe.each(STORES)("a spent API budget through the API (%s)", (kind) => {
  let at: TestEmulator;
  let env: TestEnv;
  let app: App;
  let partnerId = 0;
  let token = "";

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, {
      autotask: (creds: PsaCredentials, urlPolicy: PsaUrlPolicy): AutotaskApi =>
        new AutotaskClient({
          credentials: creds,
          urlPolicy,
          retry: { maxAttempts: 2, baseDelayMs: 2, maxDelayMs: 5, timeBudgetMs: 2_000 },
          requestTimeoutMs: 2_000,
          budget: { refreshEvery: { ms: 1 } },
        }),
      psaOrigins: [at.emu.url],
    });
    app = await testApp(env);
    const portal = env.services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Budget VAR" })).id;
    token = (await portal.createUser(SYSTEM_ACTOR, { name: "admin", role: "partner-admin", partnerId }))
      .token;
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl, { enabled: false }),
      devices: {
        enabled: false,
        productId: null,
        configurationItemTypeId: null,
        advanced: false,
        schedule: null,
      },
    });
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
    await at?.close();
  });

  it("answers the live pick-lists with 503 and Retry-After once this connection's share is spent", async () => {
    for (let i = 0; i < 50; i++) await at.api("GET", `Companies/${DEMO_IDS.companies.AT1}`);
    const used = (await at.api<{ currentTimeframeRequestCount: number }>("GET", "ThresholdInformation"))
      .currentTimeframeRequestCount;
    // About 90 % used: past the share of ordinary traffic, short of Autotask's own refusal.
    await at.admin("PUT", "/limits", { requestThreshold: Math.floor((used + 1) / 0.9) });
    const res = await app.inject({
      method: "GET",
      url: `/api/partners/${partnerId}/psa/options`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ statusCode: 503, code: "PSA_BUDGET_EXHAUSTED" });
    expect(res.json().message).toMatch(/^Autotask: .*API budget/);
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
  });
});
