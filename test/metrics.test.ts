import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, buildApp } from "../src/api/app.js";
import { loadConfig } from "../src/config.js";
import { DEMO_IDS } from "../src/emulators/autotask/seed.js";
import { endpointLabel, Metrics } from "../src/lib/metrics.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import type { IntegrationInput } from "../src/portal/types.js";
import { AutotaskClient } from "../src/psa/autotask/client.js";
import { demoTicketing, startTestEmulator, type TestEmulator } from "./helpers/autotask.js";
import { openTestServices, STORES, type TestEnv } from "./helpers/services.js";
import { startCwFixture } from "./psa/connectwise-helpers.js";

const ADMIN_TOKEN = "metrics-test-admin-token";
const METRICS_TOKEN = "metrics-scraper-token-0123456789";

/** The value of one sample of the text format, or undefined when the series is not there. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})? (\S+)$/i.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? "").matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/gi)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** Every label value of one label across a metric's samples. */
function labelValues(text: string, name: string, label: string): string[] {
  const re = new RegExp(`^${name}\\{[^}]*\\b${label}="([^"]*)"`);
  return text.split("\n").flatMap((l) => re.exec(l)?.[1] ?? []);
}

describe("metrics without a server", () => {
  it("bounds endpoint labels: ids and queries never reach a label", () => {
    expect(endpointLabel("service/tickets/17/notes?pageSize=1000")).toBe("service/tickets/:id/notes");
    expect(endpointLabel("Tickets")).toBe("Tickets");
    expect(endpointLabel("/system/documents/88231/download")).toBe("system/documents/:id/download");
    expect(endpointLabel("company/configurations/count?conditions=id%3D5")).toBe(
      "company/configurations/count",
    );
    expect(endpointLabel("")).toBe("/");
  });

  it("reads job counts at scrape time from the callback, empty while none is set; observes job durations", async () => {
    const m = new Metrics({ defaultMetrics: false });
    expect(sample(await m.text(), "nocbridge_jobs")).toBeUndefined();
    let queued = 3;
    m.setJobCounts(async () => [
      { task: "ticket-push", state: "queued", count: queued },
      { task: "asset-sync", state: "failed", count: 1 },
    ]);
    expect(sample(await m.text(), "nocbridge_jobs", { task: "ticket-push", state: "queued" })).toBe(3);
    queued = 0;
    const text = await m.text();
    expect(sample(text, "nocbridge_jobs", { task: "ticket-push", state: "queued" })).toBe(0);
    expect(sample(text, "nocbridge_jobs", { task: "asset-sync", state: "failed" })).toBe(1);
    m.observeJob("ticket-push", "failed", 0.3);
    m.observeJob("ticket-push", "ok", 2);
    const after = await m.text();
    expect(
      sample(after, "nocbridge_job_duration_seconds_count", { task: "ticket-push", outcome: "failed" }),
    ).toBe(1);
    expect(sample(after, "nocbridge_job_duration_seconds_sum", { task: "ticket-push", outcome: "ok" })).toBe(
      2,
    );
  });

  it("leaves a reading that fails empty and counts it, keeping the rest of the scrape", async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.setRunCounts(async () => {
      throw new Error("database unavailable");
    });
    m.setSyncLag(async () => [{ partner: "2", seconds: 42 }]);
    const text = await m.text();
    expect(sample(text, "nocbridge_runs")).toBeUndefined();
    expect(sample(text, "nocbridge_ticket_sync_lag_seconds", { partner: "2" })).toBe(42);
    // Metrics are read side by side, so the failure shows by the next scrape at the latest.
    const next = await m.text();
    expect(
      sample(next, "nocbridge_metrics_read_failures_total", { metric: "nocbridge_runs" }),
    ).toBeGreaterThanOrEqual(1);
  });

  it("counts 429 answers as throttled as well as requests", async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.request("4", "Tickets", 429);
    m.request("4", "Tickets", 200);
    const text = await m.text();
    expect(sample(text, "nocbridge_psa_throttled_total", { partner: "4", endpoint: "Tickets" })).toBe(1);
    expect(sample(text, "nocbridge_psa_requests_total", { partner: "4", status: "429" })).toBe(1);
  });

  it("refuses a NOCBRIDGE_METRICS_TOKEN shorter than 16 characters without echoing it", () => {
    expect(() => loadConfig({ NOCBRIDGE_METRICS_TOKEN: "short secret" })).toThrow(
      /NOCBRIDGE_METRICS_TOKEN must be at least 16 characters without spaces$/m,
    );
    expect(() => loadConfig({ NOCBRIDGE_METRICS_TOKEN: "short secret" })).not.toThrow(/short secret/);
    expect(loadConfig({ NOCBRIDGE_METRICS_TOKEN: METRICS_TOKEN }).metricsToken).toBe(METRICS_TOKEN);
  });
});

describe("ConnectWise requests in the metrics", () => {
  it("counts each answer with the client's partner and the path family, ids as :id", async () => {
    const f = await startCwFixture();
    try {
      const m = new Metrics({ defaultMetrics: false });
      const client = f.client({ metrics: m, partner: "9" });
      expect(await client.get("service/tickets/424242")).toBeNull();
      await client.count("service/tickets", "id > 0");
      const text = await m.text();
      const count = (endpoint: string, status: string) =>
        sample(text, "nocbridge_psa_requests_total", { partner: "9", endpoint, status });
      expect(count("login/companyinfo", "200")).toBe(1);
      expect(count("service/tickets/:id", "404")).toBe(1);
      expect(count("service/tickets/count", "200")).toBe(1);
      expect(text).not.toContain("424242");
    } finally {
      await f.close();
    }
  });
});

describe.each(STORES)("GET /metrics and /readyz on %s", (kind) => {
  let env: TestEnv;
  let app: App;
  let at: TestEmulator;
  let partnerId = 0;
  let partnerAdmin = "";

  const scrape = async (token = ADMIN_TOKEN) => {
    const res = await app.inject({
      method: "GET",
      url: "/metrics",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    at = await startTestEmulator({ webhooks: false });
    env = await openTestServices(kind, {
      psaOrigins: [at.emu.url],
      // The test's client: fast retries, and the metrics with the partner's label the services give it.
      autotask: (credentials, urlPolicy, labels) =>
        new AutotaskClient({
          credentials,
          urlPolicy,
          ...labels,
          retry: { maxAttempts: 3, baseDelayMs: 2, maxDelayMs: 20, timeBudgetMs: 5_000 },
          requestTimeoutMs: 2_000,
        }),
    });
    const { portal, sync, metrics } = env.services;
    await portal.ensureAdminToken(ADMIN_TOKEN);
    app = await buildApp({ portal, sync, metrics, metricsToken: METRICS_TOKEN, webRoot: null });
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Metrics VAR" })).id;
    partnerAdmin = (await portal.createUser(SYSTEM_ACTOR, { name: "pa", role: "partner-admin", partnerId }))
      .token;
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl, { enabled: true }),
      devices: {
        enabled: false,
        productId: DEMO_IDS.product,
        configurationItemTypeId: DEMO_IDS.ciType,
        advanced: false,
        schedule: null,
      },
    } as unknown as IntegrationInput);
    await sync.settingsSaved(partnerId);
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
    await at?.close();
  });

  it("answers 401 without a token or with a wrong one, 403 to a partner's admin", async () => {
    const none = await app.inject({ method: "GET", url: "/metrics" });
    expect(none.statusCode).toBe(401);
    expect(none.body).not.toContain("nocbridge_");
    const wrong = await app.inject({
      method: "GET",
      url: "/metrics",
      headers: { authorization: "Bearer not-the-metrics-token-at-all" },
    });
    expect(wrong.statusCode).toBe(401);
    const partner = await app.inject({
      method: "GET",
      url: "/metrics",
      headers: { authorization: `Bearer ${partnerAdmin}` },
    });
    expect(partner.statusCode).toBe(403);
  });

  it("answers 200 in the text format to the admin token and to NOCBRIDGE_METRICS_TOKEN", async () => {
    for (const token of [ADMIN_TOKEN, METRICS_TOKEN]) {
      const res = await app.inject({
        method: "GET",
        url: "/metrics",
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(res.body).toContain("# TYPE nocbridge_psa_requests_total counter");
      expect(res.body).toContain("nocbridge_process_cpu_seconds_total");
    }
  });

  it("accepts the metrics token on /metrics only", async () => {
    const res = await app.inject({
      method: "GET",
      url: "/api/partners",
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.statusCode).toBe(401);
  });

  it("counts webhook deliveries by system and outcome", async () => {
    const body = JSON.stringify({
      Action: "Update",
      Guid: "m1",
      EntityType: "Ticket",
      Id: 1,
      Fields: {},
      EventTime: "",
      SequenceNumber: 1,
      PersonID: 1,
    });
    const secret = "metrics-webhook-secret";
    await env.services.db.kysely
      .insertInto("psa_webhooks")
      .values({
        partner_id: partnerId,
        entity: "Ticket",
        psa_webhook_id: 77,
        secret_sealed: env.services.box.encrypt(secret, partnerId, "webhook-secret"),
        created_at: new Date().toISOString(),
      })
      .execute();
    const post = (signature: string, system = "autotask") =>
      app.inject({
        method: "POST",
        url: `/webhooks/${system}/${partnerId}`,
        payload: body,
        headers: { "content-type": "application/json", "x-hook-signature": signature },
      });
    const signed = `sha1=${createHmac("sha1", secret).update(body).digest("base64")}`;
    const count = async (system: string, outcome: string) =>
      sample(await scrape(), "nocbridge_webhook_deliveries_total", { system, outcome }) ?? 0;
    expect(await count("autotask", "accepted")).toBe(0);
    expect((await post(signed)).statusCode).toBe(200);
    expect((await post(signed)).statusCode).toBe(200);
    expect((await post("sha1=AAAA")).statusCode).toBe(401);
    expect((await post(signed, "no-such-psa-123")).statusCode).toBe(404);
    expect(await count("autotask", "accepted")).toBe(1);
    expect(await count("autotask", "duplicate")).toBe(1);
    expect(await count("autotask", "refused")).toBe(1);
    expect(await count("unknown", "refused")).toBe(1);
    expect(labelValues(await scrape(), "nocbridge_webhook_deliveries_total", "system")).not.toContain(
      "no-such-psa-123",
    );
  });

  it("counts PSA requests against the Autotask emulator per partner, with the entity as endpoint", async () => {
    const before = await scrape();
    const partner = String(partnerId);
    const was =
      sample(before, "nocbridge_psa_requests_total", { partner, endpoint: "Tickets", status: "200" }) ?? 0;
    await env.services.sync.pollTickets(partnerId);
    const psa = await env.services.sync.sessions.forPartner(partnerId);
    // A read by id (GET Tickets/987654; the emulator answers {"item": null}): the id is in the path,
    // never in the label.
    expect(await psa.session?.tickets.get(987654)).toBeNull();
    const text = await scrape();
    const now =
      sample(text, "nocbridge_psa_requests_total", { partner, endpoint: "Tickets", status: "200" }) ?? 0;
    // The poll's query and the read by id, at least.
    expect(now).toBeGreaterThanOrEqual(was + 2);
    const endpoints = labelValues(text, "nocbridge_psa_requests_total", "endpoint");
    expect(endpoints.length).toBeGreaterThan(0);
    for (const e of endpoints)
      expect(
        e.split("/").some((s) => /^\d+$/.test(s)),
        e,
      ).toBe(false);
    expect(text).not.toContain("987654");
    // The budget gate read ThresholdInformation: the share used is known for the partner.
    const share = sample(text, "nocbridge_psa_budget_used_ratio", { partner });
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(1);
  });

  it("shows runs by status and counts finished runs", async () => {
    const runs = env.services.sync.runs;
    const run = await runs.create(partnerId, "assets", "manual", false);
    let text = await scrape(METRICS_TOKEN);
    const running = sample(text, "nocbridge_runs", { kind: "assets", status: "running" }) ?? 0;
    expect(running).toBeGreaterThanOrEqual(1);
    const succeeded = sample(text, "nocbridge_runs", { kind: "assets", status: "succeeded" }) ?? 0;
    await runs.update(run.id, { status: "succeeded", finished: true });
    text = await scrape(METRICS_TOKEN);
    expect(sample(text, "nocbridge_runs", { kind: "assets", status: "succeeded" })).toBe(succeeded + 1);
    expect(sample(text, "nocbridge_runs", { kind: "assets", status: "running" }) ?? 0).toBe(running - 1);
    expect(sample(text, "nocbridge_runs_finished_total", { kind: "assets", status: "succeeded" })).toBe(1);
  });

  it("reports the age of the oldest unprocessed ticket change per partner", async () => {
    const k = env.services.db.kysely;
    const old = new Date(Date.now() - 20 * 60_000).toISOString();
    const row = await k
      .insertInto("ticket_inbox")
      .values({
        partner_id: partnerId,
        dedup_key: "metrics-lag",
        source: "poll",
        entity_type: "Ticket",
        psa_id: 5,
        psa_ticket_id: 5,
        received_at: old,
        processed_at: null,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    try {
      const lag = sample(await scrape(), "nocbridge_ticket_sync_lag_seconds", { partner: String(partnerId) });
      expect(lag).toBeGreaterThanOrEqual(20 * 60);
    } finally {
      await k.deleteFrom("ticket_inbox").where("id", "=", row.id).execute();
    }
  });

  it("/readyz answers 503 naming the job engine when it is not ready, 200 when it is", async () => {
    const { portal } = env.services;
    let jobs = false;
    const worker = await buildApp({ portal, webRoot: null, ready: async () => ({ jobs }) });
    try {
      const down = await worker.inject({ method: "GET", url: "/readyz" });
      expect(down.statusCode).toBe(503);
      expect(down.json()).toEqual({ ok: false, database: true, jobs: false });
      jobs = true;
      const up = await worker.inject({ method: "GET", url: "/readyz" });
      expect(up.statusCode).toBe(200);
      expect(up.json()).toEqual({ ok: true, database: true, jobs: true });
    } finally {
      await worker.close();
    }
    // Without a jobs check the answer is as before.
    expect((await app.inject({ method: "GET", url: "/readyz" })).json()).toEqual({ ok: true });
  });
});
