/**
 * The Autotask client against the emulator over real HTTP: zone discovery and re-discovery, reads
 * with paging, count, writes, entityInformation, and how errors are classified and (not) retried.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_IDS, NOC_CI_UDFS, type RunningAutotaskEmulator } from "../../src/emulators/autotask/index.js";
import { AutotaskClient, queryBody, restBase } from "../../src/psa/autotask/client.js";
import type { Company, ConfigurationItem, TicketNote } from "../../src/psa/autotask/types.js";
import { PsaError } from "../../src/psa/errors.js";
import { PsaUrlPolicy } from "../../src/psa/url-policy.js";
import {
  admin,
  clientFor,
  emulatorStats,
  fastTime,
  recordingLogger,
  startDiscoveryHost,
  startEmulator,
} from "./helpers.js";

const PRODUCT = DEMO_IDS.product;
const CI_TYPE = DEMO_IDS.ciType;
const AT2 = DEMO_IDS.companies.AT2;

async function caught(p: Promise<unknown>): Promise<PsaError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PsaError) return e;
    throw e;
  }
  throw new Error("expected a PsaError, the call succeeded");
}

describe("restBase and queryBody", () => {
  it("normalises REST bases to …/ATServicesRest/ with a trailing slash", () => {
    expect(restBase("https://webservices5.autotask.net/ATServicesRest/")).toBe(
      "https://webservices5.autotask.net/ATServicesRest/",
    );
    expect(restBase("https://webservices5.autotask.net/atservicesrest")).toBe(
      "https://webservices5.autotask.net/atservicesrest/",
    );
    expect(restBase("https://webservices5.autotask.net")).toBe(
      "https://webservices5.autotask.net/ATServicesRest/",
    );
    expect(restBase("http://127.0.0.1:8787/ATServicesRest/V1.0/")).toBe(
      "http://127.0.0.1:8787/ATServicesRest/",
    );
    expect(() => restBase("ftp://x/")).toThrow(PsaError);
    expect(() => restBase("not a url")).toThrow(PsaError);
  });

  it("builds the query body, adding id to IncludeFields and a match-all filter by default", () => {
    expect(queryBody({})).toEqual({ filter: [{ op: "gte", field: "id", value: 0 }] });
    expect(queryBody({ includeFields: ["serialNumber"], maxRecords: 100 })).toEqual({
      filter: [{ op: "gte", field: "id", value: 0 }],
      IncludeFields: ["id", "serialNumber"],
      MaxRecords: 100,
    });
    expect(() => queryBody({ maxRecords: 501 })).toThrow(/1 to 500/);
  });
});

describe("zone discovery", () => {
  let emu: RunningAutotaskEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ limits: false });
  });
  afterAll(async () => {
    await emu.close();
  });

  it("discovers the zone once and caches it", async () => {
    const { client } = clientFor(emu, {
      credentials: { apiUrl: "", ...emu.credentials },
      zoneDiscoveryUrl: emu.baseUrl,
      budget: false,
    });
    expect(await client.zoneUrl()).toBe(emu.baseUrl);
    await Promise.all([
      client.get("Companies", 174),
      client.get("Companies", 175),
      client.count("Companies"),
    ]);
    expect(client.stats().zoneDiscoveries).toBe(1);
    expect(client.stats().requests).toBe(3);
  });

  it("uses a given apiUrl directly, without discovery", async () => {
    const { client } = clientFor(emu, { budget: false });
    const c = await client.get<Company>("Companies", 174);
    expect(c?.companyName).toBe("Acme Dental Group");
    expect(client.stats().zoneDiscoveries).toBe(0);
  });

  it("fails with ZONE, not retried, when the username has no zone", async () => {
    const { client } = clientFor(emu, {
      credentials: { ...emu.credentials, apiUrl: "", username: "nobody@example.com" },
      zoneDiscoveryUrl: emu.baseUrl,
      budget: false,
    });
    const e = await caught(client.get("Companies", 174));
    expect(e).toMatchObject({ code: "ZONE", status: 500, retryable: false });
    expect(e.errors).toEqual(["Zone information could not be determined"]);
    expect(client.stats().zoneDiscoveries).toBe(1);
  });

  it("re-discovers once after a 401 and then fails with AUTH; the secret appears nowhere", async () => {
    const secret = "wrong-secret-1234567";
    const { logger, lines } = recordingLogger();
    const { client } = clientFor(emu, {
      credentials: { ...emu.credentials, apiUrl: "", secret },
      zoneDiscoveryUrl: emu.baseUrl,
      budget: false,
      logger,
    });
    const before = (await emulatorStats(emu)).requests;
    const e = await caught(client.get("Companies", 174));
    expect(e).toMatchObject({ code: "AUTH", status: 401, retryable: false, ambiguous: false });
    expect(client.stats().zoneDiscoveries).toBe(2);
    // The zone did not move, so the request was not repeated.
    expect((await emulatorStats(emu)).requests - before).toBe(1);
    const said = `${e.message} ${e.errors.join(" ")} ${JSON.stringify(client.stats())} ${lines.join(" ")}`;
    expect(said).not.toContain(secret);
    expect(said).not.toContain(emu.credentials.secret);
  });
});

describe("zone moves", () => {
  it("follows the tenant to its new zone after a 401", async () => {
    const oldZone = await startEmulator({ limits: false });
    const newZone = await startEmulator({ limits: false });
    const discovery = await startDiscoveryHost(oldZone.baseUrl);
    try {
      const client = new AutotaskClient({
        credentials: { apiUrl: "", ...oldZone.credentials },
        zoneDiscoveryUrl: discovery.url,
        urlPolicy: PsaUrlPolicy.default.withOrigins(oldZone.url, newZone.url, new URL(discovery.url).origin),
        budget: false,
        ...fastTime(),
      });
      expect((await client.get<Company>("Companies", 174))?.id).toBe(174);
      expect(await client.zoneUrl()).toBe(oldZone.baseUrl);

      // The database moves: the old zone no longer knows the user, discovery names the new zone.
      await admin(oldZone, "DELETE", "tenants/default");
      discovery.setZone(newZone.baseUrl);
      const results = await Promise.all([174, 175, 176].map((id) => client.get<Company>("Companies", id)));
      expect(results.map((c) => c?.id)).toEqual([174, 175, 176]);
      expect(await client.zoneUrl()).toBe(newZone.baseUrl);
      expect(discovery.calls()).toBe(2);
      expect((await emulatorStats(newZone)).byEndpoint["GET Companies"]).toBe(3);
    } finally {
      await Promise.all([oldZone.close(), newZone.close(), discovery.close()]);
    }
  });
});

describe("reads", () => {
  let emu: RunningAutotaskEmulator;
  let client: AutotaskClient;
  const DEVICES = 1203;

  beforeAll(async () => {
    emu = await startEmulator();
    const rows = Array.from({ length: DEVICES }, (_, i) => ({
      companyID: AT2,
      productID: PRODUCT,
      configurationItemType: CI_TYPE,
      isActive: i % 2 === 0,
      referenceTitle: `HOST-${i}`,
      serialNumber: `SN${String(i).padStart(6, "0")}`,
      userDefinedFields: [{ name: "Partner Portal Device Id", value: String(10_000 + i) }],
    }));
    await admin(emu, "POST", "tenants/default/rows/ConfigurationItems", { rows });
    ({ client } = clientFor(emu));
  });
  afterAll(async () => {
    await emu.close();
  });

  it("gets a record, null for a missing id, NOT_FOUND for an unknown entity", async () => {
    expect((await client.get<Company>("Companies", DEMO_IDS.companies.AT1))?.companyNumber).toBe("AT1");
    expect(await client.get("Companies", 987654)).toBeNull();
    const e = await caught(client.get("Nonsense", 1));
    expect(e).toMatchObject({ code: "NOT_FOUND", status: 404, retryable: false });
    await expect(client.get("Bad/Name", 1)).rejects.toMatchObject({ code: "INVALID_REQUEST" });
  });

  it("follows nextPageUrl over more than 500 records, one request per page", async () => {
    const before = (await emulatorStats(emu)).byEndpoint["POST ConfigurationItems"] ?? 0;
    const sizes: number[] = [];
    const ids = new Set<number>();
    for await (const page of client.query<ConfigurationItem>("ConfigurationItems", {
      filter: [{ op: "eq", field: "companyID", value: AT2 }],
    })) {
      sizes.push(page.length);
      for (const ci of page) ids.add(ci.id);
    }
    expect(sizes).toEqual([500, 500, 203]);
    expect(ids.size).toBe(DEVICES);
    const after = (await emulatorStats(emu)).byEndpoint["POST ConfigurationItems"] ?? 0;
    expect(after - before).toBe(3);
  });

  it("queryAll with a smaller page size and IncludeFields (id added)", async () => {
    const cis = await client.queryAll<ConfigurationItem>("ConfigurationItems", {
      filter: [
        { op: "eq", field: "companyID", value: AT2 },
        { op: "eq", field: "isActive", value: true },
      ],
      includeFields: ["serialNumber"],
      maxRecords: 100,
    });
    expect(cis).toHaveLength(602);
    expect(Object.keys(cis[0] ?? {}).sort()).toEqual(["id", "serialNumber"]);
  });

  it("finds a CI by its Partner Portal Device Id UDF", async () => {
    const found = await client.queryAll<ConfigurationItem>("ConfigurationItems", {
      filter: [{ op: "eq", field: "Partner Portal Device Id", value: "10077", udf: true }],
    });
    expect(found.map((c) => c.serialNumber)).toEqual(["SN000077"]);
    expect(found[0]?.userDefinedFields).toContainEqual({ name: "Partner Portal Device Id", value: "10077" });
  });

  it("counts", async () => {
    expect(await client.count("ConfigurationItems", [{ op: "eq", field: "companyID", value: AT2 }])).toBe(
      DEVICES,
    );
    expect(await client.count("ConfigurationItems", [{ op: "eq", field: "companyID", value: 176 }])).toBe(0);
  });

  it("reads entityInformation, fields with picklists, and UDFs", async () => {
    const info = await client.entityInformation("ConfigurationItems");
    expect(info).toMatchObject({ canCreate: true, canDelete: false, hasUserDefinedFields: true });

    const fields = await client.fieldInfo("Tickets");
    const status = fields.find((f) => f.name === "status");
    expect(status?.isPickList).toBe(true);
    expect(status?.picklistValues).toContainEqual(
      expect.objectContaining({ value: "30", label: "Assigned to NOC", isActive: true }),
    );
    const queue = fields.find((f) => f.name === "queueID");
    expect(queue?.picklistValues?.map((v) => v.label)).toContain("NOC");
    expect(fields.find((f) => f.name === "subIssueType")?.picklistParentValueField).toBe("IssueType");
    expect(fields.find((f) => f.name === "title")?.picklistValues).toBeNull();

    const udfs = await client.udfInfo("ConfigurationItems");
    expect(udfs.map((u) => u.name).sort()).toEqual([...NOC_CI_UDFS].sort());
  });

  it("reads ThresholdInformation", async () => {
    const t = await client.thresholdInformation();
    expect(t.externalRequestThreshold).toBe(10_000);
    expect(t.requestThresholdTimeframe).toBe(60);
    expect(t.currentTimeframeRequestCount).toBeGreaterThan(0);
    expect(client.stats().budget?.sentSince).toBe(0);
  });
});

describe("writes", () => {
  let emu: RunningAutotaskEmulator;
  let client: AutotaskClient;
  beforeAll(async () => {
    emu = await startEmulator();
    ({ client } = clientFor(emu));
  });
  afterAll(async () => {
    await emu.close();
  });

  const newCi = (over: Record<string, unknown> = {}) => ({
    companyID: AT2,
    productID: PRODUCT,
    configurationItemType: CI_TYPE,
    isActive: true,
    referenceTitle: "PC-1",
    serialNumber: "DELL7XK9Z3",
    userDefinedFields: [
      { name: "Partner Portal Device Id", value: "501" },
      { name: "Make", value: "Dell" },
    ],
    ...over,
  });

  it("creates a CI with UDFs, patches it, and reads it back", async () => {
    const id = await client.create("ConfigurationItems", newCi());
    const created = await client.get<ConfigurationItem>("ConfigurationItems", id);
    expect(created).toMatchObject({ id, companyID: AT2, referenceTitle: "PC-1", isActive: true });
    expect(created?.userDefinedFields).toContainEqual({ name: "Make", value: "Dell" });

    expect(
      await client.update("ConfigurationItems", {
        id,
        isActive: false,
        userDefinedFields: [{ name: "Make", value: "Lenovo" }],
      }),
    ).toBe(id);
    const patched = await client.get<ConfigurationItem>("ConfigurationItems", id);
    expect(patched).toMatchObject({ isActive: false, referenceTitle: "PC-1", serialNumber: "DELL7XK9Z3" });
    expect(patched?.userDefinedFields).toContainEqual({ name: "Make", value: "Lenovo" });
    expect(patched?.userDefinedFields).toContainEqual({ name: "Partner Portal Device Id", value: "501" });
  });

  it("replaces with PUT and deletes where the entity allows it", async () => {
    const id = await client.create("ConfigurationItemTypes", { name: "Temp type", isActive: true });
    await client.replace("ConfigurationItemTypes", { id, name: "Renamed type" });
    expect(await client.get("ConfigurationItemTypes", id)).toMatchObject({
      name: "Renamed type",
      isActive: null,
    });
    await client.delete("ConfigurationItemTypes", id);
    expect(await client.get("ConfigurationItemTypes", id)).toBeNull();
  });

  it("creates a child through its parent URL, with impersonation on writes", async () => {
    const tech = DEMO_IDS.technicians[0];
    const ticketId = await client.create(
      "Tickets",
      {
        companyID: AT2,
        title: "Disk C: almost full",
        status: 1,
        priority: 2,
        queueID: DEMO_IDS.nocQueue,
        issueType: DEMO_IDS.issueType,
        subIssueType: DEMO_IDS.subIssueType,
      },
      { impersonationResourceId: tech },
    );
    expect(await client.get("Tickets", ticketId)).toMatchObject({ creatorResourceID: tech });
    const noteId = await client.createChild("Tickets", ticketId, "Notes", {
      ticketID: ticketId,
      title: "Note",
      description: "Disk cleaned",
      noteType: 1,
      publish: 1,
    });
    const notes = await client.queryAll<TicketNote>("TicketNotes", {
      filter: [{ op: "eq", field: "ticketID", value: ticketId }],
    });
    expect(notes.map((n) => [n.id, n.description])).toEqual([[noteId, "Disk cleaned"]]);
  });

  it("does not retry 4xx or Autotask's validation 500s", async () => {
    const before = await emulatorStats(emu);
    const retriesBefore = client.stats().retries;

    const missing = await caught(client.create("ConfigurationItems", newCi({ productID: undefined })));
    expect(missing).toMatchObject({
      code: "INVALID_REQUEST",
      status: 500,
      retryable: false,
      ambiguous: false,
    });
    expect(missing.errors).toEqual(["Missing Required Field: productID."]);
    expect(missing.message).toContain("POST ConfigurationItems: expected a valid request, got HTTP 500");

    const verb = await caught(client.delete("ConfigurationItems", 1));
    expect(verb).toMatchObject({ code: "METHOD_NOT_ALLOWED", status: 405 });

    const syntax = await caught(
      client.queryAll("Tickets", { filter: [{ op: "bogus" as "eq", field: "id", value: 1 }] }),
    );
    expect(syntax).toMatchObject({ code: "INVALID_REQUEST", status: 400, retryable: false });

    const gone = await caught(client.update("ConfigurationItems", { id: 99_999_999, isActive: false }));
    expect(gone).toMatchObject({ code: "NOT_FOUND", retryable: false });

    const badCode = new AutotaskClient({
      credentials: { apiUrl: emu.baseUrl, ...emu.credentials, integrationCode: "WRONG" },
      urlPolicy: PsaUrlPolicy.default.withOrigins(emu.url),
      budget: false,
      ...fastTime(),
    });
    expect(await caught(badCode.get("Companies", 174))).toMatchObject({
      code: "INTEGRATION_CODE",
      status: 500,
      retryable: false,
    });

    const after = await emulatorStats(emu);
    expect(after.requests - before.requests).toBe(5);
    expect(client.stats().retries).toBe(retriesBefore);
  });
});
