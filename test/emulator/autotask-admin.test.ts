/**
 * The /_emulator admin API and the wiring of the behaviours through the gate:
 * limits and faults set at run time, rejections and after-apply faults counted in the stats.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/autotask/index.js";
import { type Credentials, newTicket, startTestEmulator, type TestEmulator } from "./helpers.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t.close();
});
afterEach(async () => {
  await t.admin("POST", "reset");
});

const tenant = () => `tenants/${t.emu.tenantId}`;

describe("stats", () => {
  it("counts every API request by method and entity, not zone lookups or admin calls, and resets", async () => {
    await fetch(
      `${t.emu.baseUrl}V1.0/ZoneInformation?user=${encodeURIComponent(t.emu.credentials.username)}`,
    );
    const id = (await t.api("POST", "Tickets", newTicket())).body.itemId;
    await t.api("GET", `Tickets/${id}`);
    await t.api("POST", "Tickets/query", { filter: [{ op: "gte", field: "id", value: 0 }] });
    await t.api("POST", `Tickets/${id}/Notes`, { title: "t", description: "d", noteType: 1, publish: 1 });
    await t.api("GET", "Companies/0", undefined, { creds: { ...t.emu.credentials, secret: "wrong" } });
    await t.api("POST", "Tickets/query/count", { filter: [{ op: "gte", field: "id", value: 0 }] });
    await t.api("GET", "Tickets/entityInformation/fields");
    await t.api("PATCH", "Tickets", { id, status: 8 });
    await t.api("GET", `Tickets/${id}/Notes`);
    const stats = (await t.admin("GET", "stats")).body;
    expect(stats).toEqual({
      requests: 9,
      // Child URLs and queries count against the entity of the first path segment, as the thread limit does.
      byEndpoint: { "POST Tickets": 4, "GET Tickets": 3, "PATCH Tickets": 1, "GET Companies": 1 },
      // byOperation tells queries from creates and names the child entity.
      byOperation: {
        "create Tickets": 1,
        "get Tickets": 1,
        "query Tickets": 1,
        "create TicketNotes": 1,
        "get Companies": 1,
        "count Tickets": 1,
        "info Tickets": 1,
        "update Tickets": 1,
        "query TicketNotes": 1,
      },
      rejected: { threshold: 0, thread: 0, fault: 0 },
      afterApply: { timeout: 0, error500: 0 },
    });
    await t.admin("DELETE", "stats");
    expect((await t.admin("GET", "stats")).body.requests).toBe(0);
  });
});

describe("tenant admin data", () => {
  it("manages UDF definitions, so a tenant can lack one of the mandatory UDFs", async () => {
    const ci = { companyID: 174, productID: DEMO_IDS.product, isActive: true };
    const udf = [{ name: "Partner Portal Device Id", value: "dev-1" }];
    const id = (await t.api("POST", "ConfigurationItems", { ...ci, userDefinedFields: udf })).body.itemId;
    expect(
      (await t.admin("DELETE", `${tenant()}/udfs/ConfigurationItems/Partner Portal Device Id`)).status,
    ).toBe(200);
    const names = (
      await t.api("GET", "ConfigurationItems/entityInformation/userDefinedFields")
    ).body.fields.map((f: { name: string }) => f.name);
    expect(names).toHaveLength(12);
    expect(names).not.toContain("Partner Portal Device Id");
    const refused = await t.api("POST", "ConfigurationItems", { ...ci, userDefinedFields: udf });
    expect(refused.status).toBe(500);
    expect(refused.body.errors[0]).toMatch(/Partner Portal Device Id/);
    const existing = (await t.api("GET", `ConfigurationItems/${id}`)).body.item.userDefinedFields;
    expect(existing.map((u: { name: string }) => u.name)).not.toContain("Partner Portal Device Id");

    const added = await t.admin("POST", `${tenant()}/udfs/ConfigurationItems`, {
      name: "Partner Portal Device Id",
    });
    expect(added.body).toMatchObject({
      name: "Partner Portal Device Id",
      dataType: "string",
      isActive: true,
    });
    expect((await t.api("POST", "ConfigurationItems", { ...ci, userDefinedFields: udf })).status).toBe(200);
    const renamed = await t.admin("PATCH", `${tenant()}/udfs/ConfigurationItems/RAM`, { name: "Memory" });
    expect(renamed.body.name).toBe("Memory");
    expect(
      (await t.admin("GET", `${tenant()}/udfs/ConfigurationItems`)).body.map((u: { name: string }) => u.name),
    ).toContain("Memory");
    expect((await t.admin("POST", `${tenant()}/udfs/Tickets`, { name: "NOC Ticket Id" })).status).toBe(200);
    expect((await t.api("GET", "Tickets/entityInformation/userDefinedFields")).body.fields).toHaveLength(1);
  });

  it("manages queues, statuses and priorities (and any tenant picklist)", async () => {
    expect(
      (await t.admin("POST", `${tenant()}/statuses`, { value: 31, label: "Waiting Vendor" })).status,
    ).toBe(200);
    expect((await t.api("POST", "Tickets", newTicket({ status: 31 }))).status).toBe(200);
    expect((await t.admin("DELETE", `${tenant()}/statuses/30`)).status).toBe(200);
    const refused = await t.api("POST", "Tickets", newTicket({ status: 30 }));
    expect(refused.status).toBe(500);
    expect(refused.body.errors[0]).toMatch(/status/);

    expect((await t.admin("DELETE", `${tenant()}/queues/18151451`)).status).toBe(200);
    expect((await t.api("POST", "Tickets", newTicket())).status).toBe(500);
    await t.admin("POST", `${tenant()}/queues`, { value: 18151451, label: "NOC" });
    await t.admin("PATCH", `${tenant()}/priorities/7`, { label: "Low priority", isActive: false });
    const fields = (await t.api("GET", "Tickets/entityInformation/fields")).body.fields;
    const priority = fields.find((f: { name: string }) => f.name === "priority");
    expect(priority.picklistValues).toContainEqual(
      expect.objectContaining({ value: "7", label: "Low priority", isActive: false }),
    );
    expect((await t.api("POST", "Tickets", newTicket({ priority: 7 }))).status).toBe(500);
    await t.admin("POST", `${tenant()}/picklists/Tickets/issueType`, { value: 9, label: "Backup" });
    expect((await t.api("POST", "Tickets", newTicket({ issueType: 9 }))).status).toBe(200);
    expect(
      (await t.admin("POST", `${tenant()}/picklists/Tickets/title`, { value: 1, label: "x" })).status,
    ).toBe(400);
  });

  it("adds resources and inserts fixture rows of read-only entities", async () => {
    const res = await t.admin("POST", `${tenant()}/resources`, {
      firstName: "Kim",
      lastName: "Lee",
      email: "kim@example.com",
    });
    expect((await t.api("GET", `Resources/${res.body.itemId}`)).body.item).toMatchObject({
      firstName: "Kim",
      isActive: true,
    });
    const codes = await t.admin("POST", `${tenant()}/rows/BillingCodes`, {
      rows: [{ name: "Emergency", useType: 1, isActive: true }],
    });
    expect((await t.api("GET", `BillingCodes/${codes.body.ids[0]}`)).body.item.name).toBe("Emergency");
  });

  it("lists an entity's rows as stored without counting them as API requests", async () => {
    const id = (await t.api("POST", "Tickets", newTicket({ title: "listed" }))).body.itemId;
    await t.admin("DELETE", "stats");
    const res = await t.admin("GET", `${tenant()}/rows/Tickets`);
    expect(res.status).toBe(200);
    const items = res.body.items as { id: number; title: string }[];
    expect(items.find((r) => r.id === id)?.title).toBe("listed");
    expect(items.map((r) => r.id)).toEqual([...items.map((r) => r.id)].sort((a, b) => a - b));
    expect((await t.admin("GET", "stats")).body.requests).toBe(0);
    expect((await t.admin("GET", `${tenant()}/rows/NoSuchEntity`)).status).toBe(404);
    expect((await t.admin("GET", "tenants/nobody/rows/Tickets")).status).toBe(404);
  });

  it("gives credentials to act as a partner technician", async () => {
    const tech = DEMO_IDS.technicians[0];
    const creds = (await t.admin("POST", `${tenant()}/actAs`, { resourceId: tech })).body as Credentials;
    expect(creds).toMatchObject({ resourceId: tech, integrationCode: t.emu.credentials.integrationCode });
    const again = (await t.admin("POST", `${tenant()}/actAs`, { resourceId: tech })).body;
    expect(again.username).toBe(creds.username);
    const id = (await t.api("POST", "Tickets", newTicket(), { creds })).body.itemId;
    expect((await t.api("GET", `Tickets/${id}`)).body.item.creatorResourceID).toBe(tech);
    expect((await t.admin("POST", `${tenant()}/actAs`, { resourceId: 1 })).status).toBe(500);
  });
});

describe("state, seeds and tenants", () => {
  it("reads and loads the whole state", async () => {
    const id = (await t.api("POST", "Tickets", newTicket({ title: "kept" }))).body.itemId;
    const state = (await t.admin("GET", "state")).body;
    expect(state.version).toBe(1);
    await t.admin("POST", "reset");
    expect((await t.api("GET", `Tickets/${id}`)).body.item).toBeNull();
    expect((await t.admin("PUT", "state", state)).status).toBe(200);
    expect((await t.api("GET", `Tickets/${id}`)).body.item.title).toBe("kept");
    expect((await t.admin("PUT", "state", { version: 7 })).status).toBe(400);
  });

  it("resets to another seed and loads a seed into a tenant", async () => {
    await t.admin("POST", "reset", { seed: "empty" });
    const products = await t.api("POST", "Products/query", {
      filter: [{ op: "gte", field: "id", value: 0 }],
    });
    expect(products.body.items).toEqual([]);
    const resources = await t.api("POST", "Resources/query", {
      filter: [{ op: "gte", field: "id", value: 0 }],
    });
    expect(resources.body.items.map((r: { id: number }) => r.id)).toEqual([DEMO_IDS.apiResource]);
    expect((await t.api("GET", "Companies/0")).body.item.id).toBe(0);
    await t.admin("POST", "seed", { seed: "demo" });
    expect((await t.api("GET", `Products/${DEMO_IDS.product}`)).body.item.name).toBe("NetEnrich Product");
    expect((await t.admin("POST", "reset", { seed: "nope" })).status).toBe(400);
  });

  it("adds and removes tenants", async () => {
    const added = await t.admin("POST", "tenants", { id: "t2", username: "t2@example.com", seed: "demo" });
    expect(added.status).toBe(200);
    const list = (await t.admin("GET", "tenants")).body.map((x: { id: string }) => x.id);
    expect(list).toEqual([t.emu.tenantId, "t2"]);
    expect((await t.admin("POST", "tenants", { id: "t2", username: "t3@example.com" })).status).toBe(500);
    expect((await t.admin("DELETE", "tenants/t2")).status).toBe(200);
    expect((await t.admin("GET", "tenants/t2")).status).toBe(404);
  });
});

describe("limits and faults through the gate", () => {
  it("rejects requests past the threshold with 429 and counts them", async () => {
    const limits = await t.admin("PUT", "limits", { requestThreshold: 3 });
    expect(limits.status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await t.api("GET", "Companies/0")).status).toBe(200);
    const refused = await t.api("GET", "Companies/0");
    expect(refused.status).toBe(429);
    expect(refused.body.errors).toHaveLength(1);
    expect((await t.admin("GET", "stats")).body.rejected).toEqual({ threshold: 1, thread: 0, fault: 0 });
    await t.admin("PUT", "limits", { requestThreshold: 10_000 });
    // Usage as ThresholdInformation reports it (the limits' own rolling count).
    const info = (await t.api("GET", "ThresholdInformation")).body;
    expect(info).toMatchObject({ externalRequestThreshold: 10_000, currentTimeframeRequestCount: 4 });
    expect((await t.admin("PUT", "limits", { maxThreads: -1 })).status).toBe(400);
  });

  it("refuses a concurrent request past the thread limit", async () => {
    await t.admin("PUT", "limits", { maxThreads: 1 });
    // 300 s nominal latency × time scale 0.001 = 300 ms: the first request holds its slot meanwhile.
    await t.admin("PUT", "faults", { latencyMs: 300_000 });
    const results = await Promise.all([t.api("GET", "Companies/0"), t.api("GET", "Companies/0")]);
    await t.admin("PUT", "faults", { latencyMs: 0 });
    await t.admin("PUT", "limits", { maxThreads: 3 });
    expect(results.map((r) => r.status).sort()).toEqual([200, 429]);
    const refused = results.find((r) => r.status === 429);
    expect(refused?.body.errors[0]).toMatch(/^Thread Threshold Exceeded/);
    expect((await t.admin("GET", "stats")).body.rejected.thread).toBe(1);
  });

  it("injects 429s with Retry-After that apply nothing", async () => {
    await t.admin("PUT", "faults", { share429: 1, onlyWrites: true, retryAfterSeconds: 2 });
    const res = await t.api("POST", "Tickets", newTicket({ title: "never stored" }));
    await t.admin("PUT", "faults", { share429: 0 });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("2");
    const q = await t.api("POST", "Tickets/query/count", {
      filter: [{ op: "eq", field: "title", value: "never stored" }],
    });
    expect(q.body.queryCount).toBe(0);
    expect((await t.admin("GET", "stats")).body.rejected.fault).toBe(1);
  });

  it("applies a write and then answers 500 or drops the connection (the ambiguous create)", async () => {
    await t.admin("PUT", "faults", { share500AfterApply: 1, onlyWrites: true });
    const res = await t.api("POST", "Tickets", newTicket({ title: "applied then 500" }));
    expect(res.status).toBe(500);
    await t.admin("PUT", "faults", {
      share500AfterApply: 0,
      shareTimeoutAfterApply: 1,
      timeoutAfterMs: 50_000,
    });
    await expect(t.api("POST", "Tickets", newTicket({ title: "applied then dropped" }))).rejects.toThrow();
    await t.admin("PUT", "faults", { shareTimeoutAfterApply: 0 });
    for (const title of ["applied then 500", "applied then dropped"]) {
      const q = await t.api("POST", "Tickets/query/count", {
        filter: [{ op: "eq", field: "title", value: title }],
      });
      expect(q.body.queryCount, title).toBe(1);
    }
    expect((await t.admin("GET", "stats")).body.afterApply).toEqual({ timeout: 1, error500: 1 });
    expect((await t.admin("GET", "faults")).body.options.shareTimeoutAfterApply).toBe(0);
  });
});
