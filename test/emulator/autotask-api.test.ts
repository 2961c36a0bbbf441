/**
 * Contract tests of the Autotask emulator over real HTTP (docs/autotask.md): zone discovery, auth,
 * entities and their rules, queries and paging, entityInformation.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_IDS, NOC_CI_UDFS } from "../../src/emulators/autotask/index.js";
import { type Credentials, newTicket, startTestEmulator, type TestEmulator } from "./helpers.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t.close();
});

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe("zone discovery and versions (docs/autotask.md, Zone discovery)", () => {
  it("answers ZoneInformation without auth, with any path casing, pointing back at itself", async () => {
    const user = encodeURIComponent(t.emu.credentials.username.toUpperCase());
    for (const path of ["/ATServicesRest/V1.0/ZoneInformation", "/atservicesrest/v1.0/zoneInformation"]) {
      const res = await fetch(`${t.emu.url}${path}?user=${user}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { url: string };
      expect(body).toEqual({
        zoneName: expect.any(String),
        url: t.emu.baseUrl,
        webUrl: `${t.emu.url}/`,
        ci: expect.any(Number),
      });
      expect(body.url.endsWith("/ATServicesRest/")).toBe(true);
    }
  });

  it("answers 500 'Zone information could not be determined' for an unknown user", async () => {
    const res = await fetch(`${t.emu.url}/ATServicesRest/V1.0/ZoneInformation?user=nobody%40example.com`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ errors: ["Zone information could not be determined"] });
  });

  it("answers VersionInformation", async () => {
    const res = await fetch(`${t.emu.url}/atservicesrest/versioninformation`);
    expect(await res.json()).toEqual({ apiVersions: ["1.0"] });
  });
});

describe("authentication (docs/autotask.md, Authentication)", () => {
  const wrong = (over: Partial<Credentials>): Credentials => ({ ...t.emu.credentials, ...over });

  it("accepts the headers in any casing", async () => {
    const c = t.emu.credentials;
    const res = await fetch(`${t.emu.baseUrl}V1.0/Companies/0`, {
      headers: { APIINTEGRATIONCODE: c.integrationCode, username: c.username, SECRET: c.secret },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { item: { id: number } }).item.id).toBe(0);
  });

  it("answers 401 for a wrong secret, 500 for an unknown user and for a bad integration code", async () => {
    const badSecret = await t.api("GET", "Companies/0", undefined, { creds: wrong({ secret: "nope" }) });
    expect(badSecret.status).toBe(401);
    expect(badSecret.body.errors).toEqual([expect.any(String)]);
    const unknownUser = await t.api("GET", "Companies/0", undefined, {
      creds: wrong({ username: "x@example.com" }),
    });
    expect(unknownUser.status).toBe(500);
    expect(unknownUser.body.errors).toEqual([expect.any(String)]);
    const badCode = await t.api("GET", "Companies/0", undefined, {
      creds: wrong({ integrationCode: "WRONG" }),
    });
    expect(badCode.status).toBe(500);
    expect(badCode.body).toEqual({ errors: ["IntegrationCode is invalid."] });
  });

  it("records ImpersonationResourceId as the acting resource and rejects an unknown one", async () => {
    const tech = DEMO_IDS.technicians[0];
    const headers = { ImpersonationResourceId: String(tech) };
    const created = await t.api("POST", "Tickets", newTicket({ title: "impersonated" }), { headers });
    const item = (await t.api("GET", `Tickets/${created.body.itemId}`)).body.item;
    expect(item).toMatchObject({
      creatorResourceID: tech,
      lastActivityResourceID: tech,
      impersonatorCreatorResourceID: DEMO_IDS.apiResource,
    });
    const bad = await t.api("POST", "Tickets", newTicket(), {
      headers: { ImpersonationResourceId: "12345" },
    });
    expect(bad.status).toBe(500);
    expect(bad.body.errors[0]).toMatch(/does not have the adequate permissions/);
  });

  it("supports several API users per tenant and several tenants with their own data", async () => {
    const second = await t.admin("POST", `tenants/${t.emu.tenantId}/apiUsers`, {
      username: "second-api@example.com",
      secret: "second-secret",
      resourceId: DEMO_IDS.technicians[1],
    });
    expect(second.status).toBe(200);
    const creds2: Credentials = second.body;
    const made = await t.api("POST", "Tickets", newTicket({ title: "by the second user" }), {
      creds: creds2,
    });
    const seen = await t.api("GET", `Tickets/${made.body.itemId}`);
    expect(seen.body.item.creatorResourceID).toBe(DEMO_IDS.technicians[1]);

    const other = await t.admin("POST", "tenants", {
      id: "other",
      seed: "empty",
      username: "other-api@example.com",
      secret: "other-secret",
      integrationCode: "OTHERCODE",
    });
    expect(other.status).toBe(200);
    const creds3: Credentials = {
      username: "other-api@example.com",
      secret: "other-secret",
      integrationCode: "OTHERCODE",
    };
    const zone = (await (
      await fetch(`${t.emu.baseUrl}V1.0/ZoneInformation?user=other-api%40example.com`)
    ).json()) as {
      url: string;
    };
    expect(zone.url).toBe(t.emu.baseUrl);
    expect((await t.api("GET", `Tickets/${made.body.itemId}`, undefined, { creds: creds3 })).body).toEqual({
      item: null,
    });
    // Picklists and UDFs are per tenant: the empty tenant has no NOC queue and no CI UDFs.
    const fields = (await t.api("GET", "Tickets/entityInformation/fields", undefined, { creds: creds3 })).body
      .fields;
    const queues = fields.find((f: { name: string }) => f.name === "queueID").picklistValues;
    expect(queues.map((q: { value: string }) => q.value)).not.toContain(String(18151451));
    expect(
      (
        await t.api("GET", "ConfigurationItems/entityInformation/userDefinedFields", undefined, {
          creds: creds3,
        })
      ).body,
    ).toEqual({
      fields: [],
    });
    // The code of one tenant's user is not valid for another user.
    const mixed = await t.api("GET", "Companies/0", undefined, {
      creds: { ...creds3, integrationCode: t.emu.credentials.integrationCode },
    });
    expect(mixed.status).toBe(500);
  });
});

describe("entities and write rules (docs/autotask.md, Entities and URLs; Entities and fields used)", () => {
  it("returns the root company 0, {item: null} for a missing id and 404 for an unknown entity", async () => {
    const root = await t.api("GET", "Companies/0");
    expect(root.body.item).toMatchObject({ id: 0, userDefinedFields: [] });
    expect(await t.api("GET", "Tickets/987654321")).toMatchObject({ status: 200, body: { item: null } });
    const unknown = await t.api("GET", "Widgets/1");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ Message: expect.stringContaining("No HTTP resource was found") });
  });

  it("creates tickets with a ticket number, maintained dates and an externalID", async () => {
    const res = await t.api("POST", "Tickets", newTicket({ externalID: "noc-4711", description: "C: 95%" }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ itemId: expect.any(Number) });
    const item = (await t.api("GET", `tickets/${res.body.itemId}`)).body.item;
    expect(item.ticketNumber).toMatch(/^T\d{8}\.\d{4}$/);
    expect(item.createDate).toMatch(ISO);
    expect(item.lastActivityDate).toMatch(ISO);
    expect(item.externalID).toBe("noc-4711");
    expect(item.userDefinedFields).toEqual([]);
    const found = await t.api("POST", "Tickets/query", {
      filter: [{ op: "eq", field: "externalID", value: "NOC-4711" }],
    });
    expect(found.body.items.map((i: { id: number }) => i.id)).toEqual([res.body.itemId]);
  });

  it("PATCH updates only the fields sent, PUT replaces (omitted writable fields become null)", async () => {
    const id = (await t.api("POST", "Tickets", newTicket({ description: "original", externalID: "x-1" })))
      .body.itemId;
    const patched = await t.api("PATCH", "Tickets", { id, status: 8 });
    expect(patched.body).toEqual({ itemId: id });
    expect((await t.api("GET", `Tickets/${id}`)).body.item).toMatchObject({
      status: 8,
      description: "original",
      externalID: "x-1",
    });
    await t.api("PUT", "Tickets", { ...newTicket(), id, status: 29 });
    const after = (await t.api("GET", `Tickets/${id}`)).body.item;
    expect(after).toMatchObject({ status: 29, description: null, externalID: null });
    expect(after.ticketNumber).toMatch(/^T\d{8}\.\d{4}$/);
  });

  it("answers 500 naming a missing required field and 400 for a malformed body", async () => {
    const res = await t.api("POST", "Companies", {
      companyType: 1,
      phone: "555",
      ownerResourceID: DEMO_IDS.apiResource,
    });
    expect(res.status).toBe(500);
    expect(res.body.errors[0]).toMatch(/companyName/);
    const broken = await t.api("POST", "Tickets", "{not json");
    expect(broken.status).toBe(400);
    expect(broken.body.errors).toHaveLength(1);
  });

  it("answers 405 for verbs an entity does not allow", async () => {
    const id = (await t.api("POST", "Tickets", newTicket())).body.itemId;
    const cases: [string, string, unknown?][] = [
      ["DELETE", `Tickets/${id}`],
      ["GET", "Tickets"],
      ["POST", "Resources", { firstName: "A", lastName: "B", email: "a@b.c" }],
      ["POST", "BillingCodes", { name: "X" }],
      ["PATCH", "BillingCodes", { id: DEMO_IDS.remoteSupport, name: "X" }],
      ["DELETE", `ConfigurationItems/1`],
      ["POST", "WebhookEventErrorLogs", {}],
      ["POST", "ThresholdInformation", {}],
    ];
    for (const [method, path, body] of cases) {
      const res = await t.api(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.body.Message).toContain(`http method '${method}'`);
    }
  });

  it("lets Resources be updated but not created, and BillingCodes only be read", async () => {
    const r = await t.api("PATCH", "Resources", { id: DEMO_IDS.technicians[0], title: "Senior Technician" });
    expect(r.status).toBe(200);
    expect((await t.api("GET", `Resources/${DEMO_IDS.technicians[0]}`)).body.item.title).toBe(
      "Senior Technician",
    );
    const code = (await t.api("GET", `BillingCodes/${DEMO_IDS.remoteSupport}`)).body.item;
    expect(code).toMatchObject({ id: 78955512, name: "Remote Support" });
  });

  it("creates ticket notes only under their ticket and queries them at TicketNotes", async () => {
    const ticketId = (await t.api("POST", "Tickets", newTicket())).body.itemId;
    const note = { title: "Update from the NOC", description: "Cleared temp files", noteType: 1, publish: 1 };
    const created = await t.api("POST", `Tickets/${ticketId}/Notes`, { ...note, ticketID: ticketId });
    expect(created.status).toBe(200);
    const noteId = created.body.itemId;
    expect((await t.api("GET", `TicketNotes/${noteId}`)).body.item).toMatchObject({
      ...note,
      ticketID: ticketId,
    });
    expect((await t.api("GET", `Tickets/${ticketId}/Notes/${noteId}`)).body.item.id).toBe(noteId);
    expect((await t.api("GET", `Tickets/${ticketId + 1000}/Notes/${noteId}`)).body.item).toBeNull();
    const list = await t.api("GET", `Tickets/${ticketId}/Notes`);
    expect(list.body.items.map((n: { id: number }) => n.id)).toEqual([noteId]);
    expect(list.body.pageDetails).toMatchObject({ count: 1, nextPageUrl: null, prevPageUrl: null });
    await t.api("PATCH", `Tickets/${ticketId}/Notes`, { id: noteId, description: "Edited" });
    const q = await t.api("POST", "TicketNotes/query", {
      filter: [{ op: "eq", field: "ticketID", value: ticketId }],
    });
    expect(q.body.items[0].description).toBe("Edited");
    const orphan = await t.api("POST", "Tickets/999999999/Notes", note);
    expect(orphan.status).toBe(500);
  });

  it("stores CI UDFs, keeps companyID fixed and does not delete CIs", async () => {
    const udfs = [
      { name: "IP Address", value: "10.1.2.3" },
      { name: "Partner Portal Device Id", value: "dev-42" },
    ];
    const body = {
      companyID: 174,
      productID: DEMO_IDS.product,
      configurationItemType: DEMO_IDS.ciType,
      isActive: true,
      referenceTitle: "HYDPC111",
      userDefinedFields: udfs,
    };
    const id = (await t.api("POST", "ConfigurationItems", body)).body.itemId;
    const item = (await t.api("GET", `ConfigurationItems/${id}`)).body.item;
    expect(item.userDefinedFields.map((u: { name: string }) => u.name)).toEqual(NOC_CI_UDFS);
    expect(item.userDefinedFields).toEqual(expect.arrayContaining(udfs));
    expect(item.createDate).toMatch(ISO);
    const move = await t.api("PATCH", "ConfigurationItems", { id, companyID: 175 });
    expect(move.status).toBe(500);
    expect(move.body.errors[0]).toMatch(/companyID/);
    expect((await t.api("DELETE", `ConfigurationItems/${id}`)).status).toBe(405);
  });

  it("supports full CRUD on ConfigurationItemTypes and TimeEntries, and creates Products", async () => {
    const typeId = (await t.api("POST", "ConfigurationItemTypes", { name: "Firewall", isActive: true })).body
      .itemId;
    expect(
      (await t.api("PATCH", "ConfigurationItemTypes", { id: typeId, name: "Firewall/UTM" })).status,
    ).toBe(200);
    expect((await t.api("DELETE", `ConfigurationItemTypes/${typeId}`)).body).toEqual({ itemId: typeId });
    expect((await t.api("GET", `ConfigurationItemTypes/${typeId}`)).body.item).toBeNull();

    const ticketId = (await t.api("POST", "Tickets", newTicket())).body.itemId;
    const te = await t.api("POST", "TimeEntries", {
      ticketID: ticketId,
      resourceID: DEMO_IDS.technicians[0],
      roleID: 8,
      startDateTime: "2026-11-27T09:00:00Z",
      endDateTime: "2026-11-27T10:30:00Z",
      summaryNotes: "Investigated",
    });
    expect(te.status).toBe(200);
    expect((await t.api("GET", `TimeEntries/${te.body.itemId}`)).body.item).toMatchObject({
      hoursWorked: 1.5,
      ticketID: ticketId,
    });
    expect((await t.api("DELETE", `TimeEntries/${te.body.itemId}`)).status).toBe(200);

    const product = await t.api("POST", "Products", {
      name: "Managed Firewall",
      isActive: true,
      productBillingCodeID: 29682802,
    });
    expect(product.status).toBe(200);
  });

  it("reports ThresholdInformation with the contract's keys", async () => {
    const first = (await t.api("GET", "ThresholdInformation")).body;
    expect(Object.keys(first).sort()).toEqual([
      "currentTimeframeRequestCount",
      "externalRequestThreshold",
      "requestThresholdTimeframe",
    ]);
    expect(first).toMatchObject({ externalRequestThreshold: 10000, requestThresholdTimeframe: 60 });
    const second = (await t.api("GET", "ThresholdInformation")).body;
    expect(second.currentTimeframeRequestCount).toBe(first.currentTimeframeRequestCount + 1);
  });
});

describe("webhook entities (docs/autotask.md, Registration)", () => {
  it("registers a webhook with fields, UDF fields and excluded resources", async () => {
    const created = await t.api("POST", "TicketWebhooks", {
      IsActive: true,
      DeactivationUrl: "http://127.0.0.1:9/deactivated",
      IsSubscribedToCreateEvents: true,
      IsSubscribedToUpdateEvents: true,
      Name: "Ticket Sync",
      SecretKey: "0123456789abcdef",
      WebhookUrl: "http://127.0.0.1:9/webhook",
      webhookGUID: "ignored",
    });
    expect(created.status).toBe(200);
    const id = created.body.itemId;
    let hook = (await t.api("GET", `TicketWebhooks/${id}`)).body.item;
    expect(hook).toMatchObject({
      name: "Ticket Sync",
      isActive: true,
      isReady: false,
      ownerResourceID: DEMO_IDS.apiResource,
    });
    expect(hook.webhookGUID).toMatch(/^[0-9a-f-]{36}$/);

    // Field ids come from the fieldID picklist of TicketWebhookFields (docs/autotask.md, Registration step
    // 2).
    const info = (await t.api("GET", "TicketWebhookFields/entityInformation/fields")).body.fields;
    const fieldId = Number(
      info
        .find((f: { name: string }) => f.name === "fieldID")
        .picklistValues.find((v: { label: string }) => v.label === "Status").value,
    );
    const field = await t.api("POST", `TicketWebhooks/${id}/Fields`, {
      webhookID: id,
      fieldID: fieldId,
      isSubscribedField: true,
      isDisplayAlwaysField: false,
    });
    expect(field.status).toBe(200);
    hook = (await t.api("GET", `TicketWebhooks/${id}`)).body.item;
    expect(hook.isReady).toBe(true);

    const excluded = await t.api("POST", `TicketWebhooks/${id}/ExcludedResources`, {
      webhookID: id,
      resourceID: DEMO_IDS.apiResource,
    });
    expect(excluded.status).toBe(200);
    expect(
      (
        await t.api("PATCH", `TicketWebhooks/${id}/ExcludedResources`, {
          id: excluded.body.itemId,
          resourceID: 1,
        })
      ).status,
    ).toBe(405);
    const list = await t.api("POST", "TicketWebhookFields/query", {
      filter: [{ op: "eq", field: "webhookID", value: id }],
    });
    expect(list.body.items).toHaveLength(1);
    expect(
      (
        await t.api("PATCH", `TicketWebhooks/${id}/Fields`, {
          id: field.body.itemId,
          isDisplayAlwaysField: true,
        })
      ).status,
    ).toBe(200);

    // TicketNoteWebhooks have no UdfFields child (docs/autotask.md, Entities and URLs).
    const ciHook = await t.api("POST", "ConfigurationItemWebhooks", {
      name: "CI",
      webhookUrl: "http://127.0.0.1:9/ci",
      deactivationUrl: "http://127.0.0.1:9/off",
    });
    const udfId = (await t.api("GET", "ConfigurationItems/entityInformation/userDefinedFields")).body.fields
      .length;
    expect(udfId).toBe(13);
    const ciUdfs = (await t.api("GET", "ConfigurationItemWebhookUdfFields/entityInformation/fields")).body
      .fields;
    const udfFieldId = Number(
      ciUdfs.find((f: { name: string }) => f.name === "udfFieldID").picklistValues[0].value,
    );
    const udfField = await t.api("POST", `ConfigurationItemWebhooks/${ciHook.body.itemId}/UdfFields`, {
      udfFieldID: udfFieldId,
      isSubscribedField: true,
    });
    expect(udfField.status).toBe(200);
    expect((await t.api("POST", "TicketNoteWebhooks/1/UdfFields", { udfFieldID: udfFieldId })).status).toBe(
      404,
    );

    expect((await t.api("DELETE", `TicketWebhooks/${id}`)).body).toEqual({ itemId: id });
    expect(
      (
        await t.api("POST", "TicketWebhookFields/query", {
          filter: [{ op: "eq", field: "webhookID", value: id }],
        })
      ).body.items,
    ).toEqual([]);
    const gone = await t.api("DELETE", `TicketWebhooks/${id}`);
    expect(gone).toMatchObject({ status: 500, body: { errors: ["No matching records found."] } });
    expect(
      (await t.api("POST", "WebhookEventErrorLogs/query", { filter: [{ op: "gte", field: "id", value: 0 }] }))
        .status,
    ).toBe(200);
  });
});

describe("queries and paging (docs/autotask.md, Queries; Paging and counts)", () => {
  let company: number;
  let ciIds: number[];
  beforeAll(async () => {
    // 1,200 CIs of one company, inserted as fixtures (no webhook events).
    company = DEMO_IDS.companies.AT2;
    const rows = Array.from({ length: 1200 }, (_, i) => ({
      companyID: company,
      productID: DEMO_IDS.product,
      isActive: i % 3 !== 0,
      referenceTitle: `AT2-PC-${i}`,
      userDefinedFields: [{ name: "Partner Portal Device Id", value: `at2-${i}` }],
    }));
    const res = await t.admin("POST", `tenants/${t.emu.tenantId}/rows/ConfigurationItems`, { rows });
    ciIds = res.body.ids;
  });

  const all = { filter: [{ op: "eq", field: "companyID", value: 175 }] };

  it("pages 500 at a time and follows nextPageUrl with POST (no body), POST (body) and GET", async () => {
    for (const follow of ["POST-empty", "POST-body", "GET"] as const) {
      const first = await t.api("POST", "ConfigurationItems/query", all);
      expect(first.body.pageDetails).toMatchObject({ count: 500, requestCount: 500, prevPageUrl: null });
      const seen: number[] = first.body.items.map((i: { id: number }) => i.id);
      let next: string | null = first.body.pageDetails.nextPageUrl;
      let pages = 1;
      let last = first;
      while (next) {
        expect(next).toContain("/ConfigurationItems/query/next?paging=");
        const method = follow === "GET" ? "GET" : "POST";
        last = await t.raw(method, next, follow === "POST-body" ? all : undefined);
        expect(last.status).toBe(200);
        seen.push(...last.body.items.map((i: { id: number }) => i.id));
        next = last.body.pageDetails.nextPageUrl;
        pages++;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual(ciIds);
      expect(last.body.pageDetails.count).toBe(200);
      const prev = await t.raw("GET", last.body.pageDetails.prevPageUrl);
      expect(prev.body.items.map((i: { id: number }) => i.id)).toEqual(ciIds.slice(500, 1000));
    }
  });

  it("answers GET query?search= and both count forms", async () => {
    const search = encodeURIComponent(
      JSON.stringify({ filter: [{ op: "eq", field: "companyid", value: 175 }], MaxRecords: 10 }),
    );
    const page = await t.api("GET", `ConfigurationItems/query?search=${search}`);
    expect(page.body.items.map((i: { id: number }) => i.id)).toEqual(ciIds.slice(0, 10));
    expect(page.body.pageDetails.requestCount).toBe(10);
    const counted = await t.api("POST", "ConfigurationItems/query/count", all);
    expect(counted.body).toEqual({ queryCount: 1200 });
    const active = encodeURIComponent(
      JSON.stringify({ filter: [...all.filter, { op: "eq", field: "isActive", value: true }] }),
    );
    expect((await t.api("GET", `ConfigurationItems/query/count?search=${active}`)).body).toEqual({
      queryCount: 800,
    });
  });

  it("filters with nested and/or and on one UDF, and limits IncludeFields", async () => {
    const res = await t.api("POST", "ConfigurationItems/query", {
      IncludeFields: ["ID", "referenceTitle"],
      filter: [
        { op: "eq", field: "companyID", value: 175 },
        {
          op: "or",
          items: [
            { op: "in", field: "referenceTitle", value: ["AT2-PC-1", "AT2-PC-2"] },
            {
              op: "and",
              items: [
                { op: "beginsWith", field: "referenceTitle", value: "at2-pc-119" },
                { op: "eq", field: "isActive", value: false },
              ],
            },
          ],
        },
      ],
    });
    expect(res.body.items).toEqual([
      { id: ciIds[1], referenceTitle: "AT2-PC-1" },
      { id: ciIds[2], referenceTitle: "AT2-PC-2" },
      { id: ciIds[1191], referenceTitle: "AT2-PC-1191" },
      { id: ciIds[1194], referenceTitle: "AT2-PC-1194" },
      { id: ciIds[1197], referenceTitle: "AT2-PC-1197" },
    ]);
    const udf = await t.api("POST", "ConfigurationItems/query", {
      filter: [{ op: "eq", field: "Partner Portal Device Id", udf: true, value: "at2-77" }],
    });
    expect(udf.body.items.map((i: { id: number }) => i.id)).toEqual([ciIds[77]]);
  });

  it("rejects MaxRecords above 500, more than 500 or conditions and unknown fields", async () => {
    expect((await t.api("POST", "ConfigurationItems/query", { ...all, MaxRecords: 501 })).status).toBe(400);
    const many = Array.from({ length: 501 }, (_, i) => ({ op: "eq", field: "id", value: i }));
    const tooMany = await t.api("POST", "ConfigurationItems/query", { filter: [{ op: "or", items: many }] });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0]).toMatch(/500/);
    const unknown = await t.api("POST", "ConfigurationItems/query", {
      filter: [{ op: "eq", field: "ipAddress", value: "x" }],
    });
    expect(unknown.status).toBe(500);
    expect(unknown.body.errors[0]).toMatch(/ipAddress/);
    // More than one page with IncludeFields but without id (docs/autotask.md, Queries).
    expect(
      (await t.api("POST", "ConfigurationItems/query", { ...all, IncludeFields: ["referenceTitle"] })).status,
    ).toBe(500);
  });
});

describe("entityInformation (docs/autotask.md, Field information and UDFs)", () => {
  const KEYS = [
    "dataType",
    "isPickList",
    "isQueryable",
    "isReadOnly",
    "isReference",
    "isRequired",
    "isSupportedWebhookField",
    "length",
    "name",
    "picklistParentValueField",
    "picklistValues",
    "referenceEntityType",
  ];

  it("describes the entity", async () => {
    expect((await t.api("GET", "ConfigurationItems/entityInformation")).body.info).toMatchObject({
      name: "ConfigurationItem",
      canCreate: true,
      canDelete: false,
      canQuery: true,
      canUpdate: true,
      hasUserDefinedFields: true,
      supportsWebhookCallouts: true,
    });
    expect((await t.api("GET", "Tickets/1/Notes/entityInformation")).body.info).toMatchObject({
      name: "TicketNote",
    });
  });

  it("lists fields with every FieldInfo key and string picklist values", async () => {
    const fields = (await t.api("GET", "Tickets/entityInformation/fields")).body.fields;
    for (const f of fields) expect(Object.keys(f).sort()).toEqual(KEYS);
    const status = fields.find((f: { name: string }) => f.name === "status");
    expect(status).toMatchObject({
      dataType: "integer",
      isPickList: true,
      isRequired: true,
      isSupportedWebhookField: true,
    });
    expect(status.picklistValues.map((v: { value: string; label: string }) => [v.value, v.label])).toEqual([
      ["1", "New"],
      ["5", "Complete"],
      ["8", "In Progress"],
      ["28", "Action Required"],
      ["29", "Information"],
      ["30", "Assigned to NOC"],
    ]);
    const priority = fields.find((f: { name: string }) => f.name === "priority");
    expect(priority.picklistValues.map((v: { value: string }) => v.value)).toEqual(["1", "2", "4", "7", "8"]);
    const queue = fields.find((f: { name: string }) => f.name === "queueID");
    expect(queue.picklistValues).toContainEqual(expect.objectContaining({ value: "18151451", label: "NOC" }));
    const sub = fields.find((f: { name: string }) => f.name === "subIssueType");
    expect(sub.picklistParentValueField).toBe("IssueType");
    expect(sub.picklistValues[0].parentValue).toBe("1");
    expect(fields.find((f: { name: string }) => f.name === "companyID")).toMatchObject({
      isReference: true,
      referenceEntityType: "Company",
      picklistValues: null,
    });
    expect(fields.find((f: { name: string }) => f.name === "creatorType").isQueryable).toBe(false);
    const ciTypes = (await t.api("GET", "ConfigurationItems/entityInformation/fields")).body.fields.find(
      (f: { name: string }) => f.name === "configurationItemType",
    );
    expect(ciTypes.picklistValues).toContainEqual(
      expect.objectContaining({ value: "2", label: "NetEnrich Configuration Item Type" }),
    );
  });

  it("lists the tenant's UDFs with the FieldInfo shape", async () => {
    const udfs = (await t.api("GET", "ConfigurationItems/entityInformation/userDefinedFields")).body.fields;
    expect(udfs.map((u: { name: string }) => u.name)).toEqual(NOC_CI_UDFS);
    for (const u of udfs) {
      expect(Object.keys(u).sort()).toEqual(KEYS);
      expect(u).toMatchObject({ dataType: "string", isPickList: false });
    }
    expect((await t.api("GET", "Tickets/entityInformation/userDefinedFields")).body).toEqual({ fields: [] });
  });
});
