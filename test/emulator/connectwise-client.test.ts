/**
 * The emulator from the outside, through the public npm client `connectwise-rest`: it builds
 * `https://{companyUrl}/{entryPoint}/apis/3.0`, so companyUrl is "127.0.0.1:port" and the emulator's
 * certificate is trusted through axios' default https agent (the client creates its axios instances
 * from the same CommonJS axios module).
 */
import { Agent } from "node:https";
import { createRequire } from "node:module";
import { ManageAPI } from "connectwise-rest";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type CwTest, startCw } from "./connectwise-helpers.js";

const require = createRequire(import.meta.url);
// The CommonJS axios instance connectwise-rest requires (not the ESM build an `import` would load).
const axios = require(require.resolve("axios", { paths: [require.resolve("connectwise-rest")] })) as {
  defaults: { httpsAgent?: unknown };
};

let cw: CwTest;
let cwm: ManageAPI;
let previousAgent: unknown;

beforeAll(async () => {
  cw = await startCw({ faults: { requestsPerMinute: 0 } });
  previousAgent = axios.defaults.httpsAgent;
  axios.defaults.httpsAgent = new Agent({ ca: cw.emu.caPem });
  const c = cw.emu.credentials;
  cwm = new ManageAPI({
    companyId: c.companyId,
    publicKey: c.publicKey,
    privateKey: c.privateKey,
    clientId: c.clientId,
    companyUrl: `127.0.0.1:${cw.emu.port}`,
    entryPoint: "v4_6_release",
    logger: () => undefined,
  });
});
afterAll(async () => {
  axios.defaults.httpsAgent = previousAgent;
  await cw?.close();
});
beforeEach(async () => {
  await cw.admin("POST", "reset");
});

// biome-ignore lint/suspicious/noExplicitAny: the client's generated types are wider than the test needs
type Any = any;

describe("connectwise-rest against the emulator", () => {
  it("creates, reads, updates, patches and lists service tickets", async () => {
    const created: Any = await cwm.ServiceAPI.postServiceTickets({
      summary: "Disk C: above 90 %",
      board: { id: 1 },
      company: { identifier: "AcmeDental" },
      initialDescription: "seen by the NOC",
    } as Any);
    expect(created.id).toBeGreaterThan(0);
    expect(created.company.name).toBe("Acme Dental Group");
    const read: Any = await cwm.ServiceAPI.getServiceTicketsById(created.id, {
      fields: "id,summary,status/name",
    });
    expect(read).toEqual({ id: created.id, summary: "Disk C: above 90 %", status: { name: "New" } });
    const patched: Any = await cwm.ServiceAPI.patchServiceTicketsById(created.id, [
      { op: "replace", path: "status", value: { id: 2 } },
    ]);
    expect(patched.status.name).toBe("In Progress");
    const put: Any = await cwm.ServiceAPI.putServiceTicketsById(created.id, {
      summary: "replaced",
      board: { id: 1 },
      company: { id: 2 },
    } as Any);
    expect(put.summary).toBe("replaced");
    expect(put.status.name).toBe("New");
    const list: Any[] = await cwm.ServiceAPI.getServiceTickets({
      conditions: 'summary like "rep%"',
      orderBy: "id desc",
    });
    expect(list.map((t) => t.id)).toEqual([created.id]);
    expect(await cwm.ServiceAPI.getServiceTicketsCount({ conditions: "closedFlag = false" })).toEqual({
      count: 1,
    });
  });

  it("adds and reads notes", async () => {
    const t: Any = await cwm.ServiceAPI.postServiceTickets({
      summary: "n",
      board: { id: 1 },
      company: { id: 2 },
    } as Any);
    await cwm.ServiceAPI.postServiceTicketsByParentIdNotes(t.id, {
      text: "customer sees this",
      detailDescriptionFlag: true,
    } as Any);
    await cwm.ServiceAPI.postServiceTicketsByParentIdNotes(t.id, {
      text: "internal",
      internalAnalysisFlag: true,
    } as Any);
    const notes: Any[] = await cwm.ServiceAPI.getServiceTicketsByParentIdNotes(t.id, { orderBy: "id asc" });
    expect(notes.map((n) => [n.text, n.internalAnalysisFlag])).toEqual([
      ["customer sees this", false],
      ["internal", true],
    ]);
  });

  it("surfaces a 400 as {status, data} in the contract's error shape", async () => {
    const err: Any = await cwm.ServiceAPI.postServiceTickets({ summary: "" } as Any).catch((e: unknown) => e);
    expect(err.status).toBe(400);
    expect(err.data.code).toBe("InvalidObject");
    expect(err.data.errors.map((e: Any) => e.field).sort()).toEqual(["company", "summary"]);
  });

  it("creates, patches and filters configurations with custom fields", async () => {
    const c: Any = await cwm.CompanyAPI.postCompanyConfigurations({
      name: "ACME-SRV001",
      type: { name: "Managed Device" },
      status: { id: 1 },
      company: { id: 2 },
      deviceIdentifier: "portal-17",
    } as Any);
    expect(c.status).toEqual({ id: 1, name: "Active" });
    const fields = c.customFields.map((f: Any) => ({
      ...f,
      value: f.caption === "Partner Portal Device Id" ? "portal-17" : null,
    }));
    await cwm.CompanyAPI.patchCompanyConfigurationsById(c.id, [
      { op: "replace", path: "customFields", value: fields },
      { op: "replace", path: "activeFlag", value: false },
    ]);
    const found: Any[] = await cwm.CompanyAPI.getCompanyConfigurations("", {
      customFieldConditions: 'caption = "Partner Portal Device Id" and value = "portal-17"',
    });
    expect(found.map((x) => [x.id, x.activeFlag])).toEqual([[c.id, false]]);
    const byId: Any = await cwm.CompanyAPI.getCompanyConfigurationsById(c.id);
    expect(byId.deviceIdentifier).toBe("portal-17");
  });

  it("lists companies, boards and a board's statuses", async () => {
    const companies: Any[] = await cwm.CompanyAPI.getCompanyCompanies({
      conditions: 'name like "%Logistics"',
    });
    expect(companies.map((c) => c.identifier)).toEqual(["BirchLogistics"]);
    const boards: Any[] = await cwm.ServiceAPI.getServiceBoards();
    const noc = boards.find((b) => b.name === "NOC");
    const statuses: Any[] = await cwm.ServiceAPI.getServiceBoardsByParentIdStatuses(noc.id, {
      orderBy: "sortOrder asc",
    });
    expect(statuses[0].name).toBe("New");
    expect(statuses.some((s) => s.closedStatus)).toBe(true);
  });

  it("pages with the client's paginate helper", async () => {
    for (let i = 0; i < 7; i++)
      await cwm.ServiceAPI.postServiceTickets({
        summary: `t${i}`,
        board: { id: 1 },
        company: { id: 3 },
      } as Any);
    await cw.admin("POST", "stats/reset");
    const all = (await cwm.paginate(
      cwm.ServiceAPI.getServiceTickets,
      { startPage: 1, pageSize: 3 },
      {
        conditions: "company/id = 3",
      },
    )) as Any[];
    expect(all.map((t) => t.summary)).toEqual(["t0", "t1", "t2", "t3", "t4", "t5", "t6"]);
    expect((await cw.admin("GET", "stats")).body.byOperation["list service/tickets"]).toBe(3);
  });

  it("creates, reads, updates and deletes callbacks", async () => {
    const cb: Any = await cwm.SystemAPI.postSystemCallbacks({
      url: "https://127.0.0.1:9/cw?recordId=",
      objectId: 1,
      type: "ticket",
      level: "owner",
      description: "nocbridge",
      isSelfSuppressedFlag: true,
    } as Any);
    expect(cb.memberId).toBe(1);
    const listed: Any[] = await cwm.SystemAPI.getSystemCallbacks();
    expect(listed.map((x) => x.id)).toEqual([cb.id]);
    const patched: Any = await cwm.SystemAPI.patchSystemCallbacksById(cb.id, [
      { op: "replace", path: "inactiveFlag", value: true as Any },
    ]);
    expect(patched.inactiveFlag).toBe(true);
    const put: Any = await cwm.SystemAPI.putSystemCallbacksById(cb.id, {
      ...patched,
      description: "renamed",
    });
    expect(put.description).toBe("renamed");
    expect(((await cwm.SystemAPI.getSystemCallbacksById(cb.id)) as Any).description).toBe("renamed");
    await cwm.SystemAPI.deleteSystemCallbacksById(cb.id);
    expect(await cwm.SystemAPI.getSystemCallbacks()).toEqual([]);
  });

  it("sees a 429 as {status: 429} (the client does not retry it)", async () => {
    await cw.admin("PUT", "faults", { share429: 1, retryAfterSeconds: 3 });
    const err: Any = await cwm.ServiceAPI.getServiceBoards().catch((e: unknown) => e);
    await cw.admin("PUT", "faults", { share429: 0 });
    expect(err.status).toBe(429);
    expect(err.data.error).toBe("ConnectWiseAPI");
  });
});
