import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_IDS, DEVICE_CUSTOM_FIELDS } from "../../src/emulators/connectwise/index.js";
import { type CwTest, manualClock, startCw } from "./connectwise-helpers.js";

const clock = manualClock();
let cw: CwTest;

beforeAll(async () => {
  cw = await startCw({ now: clock.now, faults: { requestsPerMinute: 0 } });
});
afterAll(async () => {
  await cw?.close();
});
beforeEach(async () => {
  await cw.admin("POST", "reset");
});

const ticket = (summary: string, extra: Record<string, unknown> = {}) =>
  cw.api("POST", "service/tickets", {
    summary,
    board: { id: DEMO_IDS.nocBoard },
    company: { id: 2 },
    ...extra,
  });

describe("discovery and auth", () => {
  it("answers companyinfo without auth, PascalCase with string booleans", async () => {
    const r = await cw.raw("GET", `${cw.emu.url}/login/companyinfo/nocbridge`, undefined, {});
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ CompanyID: "nocbridge", Codebase: "v2025_1/", IsCloud: "True" });
    expect((await cw.raw("GET", `${cw.emu.url}/login/companyinfo/nobody`, undefined, {})).status).toBe(404);
  });

  it("accepts v4_6_release and the tenant's codebase, and no other", async () => {
    const base = cw.emu.url;
    expect((await cw.raw("GET", `${base}/v2025_1/apis/3.0/service/boards`)).status).toBe(200);
    const other = await cw.raw("GET", `${base}/v2017_3/apis/3.0/service/boards`);
    expect(other.status).toBe(404);
    expect(other.body).toEqual({ code: "ConnectWiseApi", message: "The endpoint does not exist." });
  });

  it("rejects missing or wrong credentials with 401 and the error shape, or 404 in cloud mode", async () => {
    const { companyId, publicKey, clientId } = cw.emu.credentials;
    const none = await cw.api("GET", "service/tickets", undefined, { clientId });
    expect(none.status).toBe(401);
    expect(none.body.code).toBe("Unauthorized");
    const wrong = await cw.api("GET", "service/tickets", undefined, {
      authorization: cw.basic(companyId, publicKey, "nope"),
      clientId,
    });
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain("nope");
    const otherCompany = await cw.api("GET", "service/tickets", undefined, {
      authorization: cw.basic("elsewhere", publicKey, cw.emu.credentials.privateKey),
      clientId,
    });
    expect(otherCompany.status).toBe(401);
    await cw.admin("PUT", "options", { authFailureStatus: 404 });
    const cloud = await cw.api("GET", "service/tickets", undefined, {
      authorization: cw.basic(companyId, publicKey, "nope"),
      clientId,
    });
    expect(cloud.status).toBe(404);
    await cw.admin("PUT", "options", { authFailureStatus: 401 });
  });

  it("reset puts the API options back", async () => {
    const { companyId, publicKey, clientId } = cw.emu.credentials;
    await cw.admin("PUT", "options", { authFailureStatus: 404 });
    await cw.admin("POST", "reset");
    const r = await cw.api("GET", "service/boards", undefined, {
      authorization: cw.basic(companyId, publicKey, "x"),
      clientId,
    });
    expect(r.status).toBe(401);
    expect((await cw.admin("PUT", "options", { authFailureStatus: 500 })).status).toBe(400);
  });

  it("requires the clientId header and a known clientId", async () => {
    const { authorization } = cw.emu.headers();
    const missing = await cw.api("GET", "service/tickets", undefined, {
      authorization: authorization as string,
    });
    expect(missing.status).toBe(401);
    expect(missing.body.message).toContain("clientId");
    const unknown = await cw.api("GET", "service/tickets", undefined, {
      authorization: authorization as string,
      clientId: "not-ours",
    });
    expect(unknown.status).toBe(401);
  });

  it("serves several tenants, each with its own data and keys", async () => {
    const t = await cw.admin("POST", "tenants", {
      companyId: "second",
      seed: "empty",
      publicKey: "pub2",
      privateKey: "priv2",
    });
    expect(t.status).toBe(200);
    const headers = {
      authorization: cw.basic("second", "pub2", "priv2"),
      clientId: cw.emu.credentials.clientId,
    };
    expect((await cw.api("GET", "company/companies", undefined, headers)).body).toEqual([]);
    expect((await cw.api("GET", "company/companies")).body.length).toBe(3);
    const cross = await cw.api("GET", "company/companies", undefined, {
      ...headers,
      authorization: cw.basic("nocbridge", "pub2", "priv2"),
    });
    expect(cross.status).toBe(401);
  });
});

describe("demo seed", () => {
  it("has the demo clients, a NOC board with statuses and the device custom fields", async () => {
    const companies = (await cw.api("GET", "company/companies?orderBy=name asc")).body;
    expect(companies.map((c: { name: string }) => c.name)).toContain("Acme Dental Group");
    expect(companies.map((c: { name: string }) => c.name)).toContain("Birch Logistics");
    const statuses = (await cw.api("GET", `service/boards/${DEMO_IDS.nocBoard}/statuses`)).body;
    expect(statuses.filter((s: { closedStatus: boolean }) => s.closedStatus).length).toBeGreaterThan(0);
    for (const child of ["types", "subtypes", "items"])
      expect((await cw.api("GET", `service/boards/1/${child}/count`)).body.count).toBeGreaterThan(0);
    expect((await cw.api("GET", "service/priorities/count")).body.count).toBe(4);
    expect((await cw.api("GET", "service/sources/count")).body.count).toBeGreaterThan(0);
    const cstat = (await cw.api("GET", "company/configurations/statuses")).body;
    expect(cstat.map((s: { closedFlag: boolean }) => s.closedFlag).sort()).toEqual([false, true]);
    expect((await cw.api("GET", "system/members/count")).body.count).toBe(3);
    const cfg = await cw.api("POST", "company/configurations", {
      name: "srv1",
      type: { id: 1 },
      company: { id: 2 },
    });
    expect(cfg.status).toBe(201);
    expect(cfg.body.customFields.map((c: { caption: string }) => c.caption)).toEqual([
      ...DEVICE_CUSTOM_FIELDS,
    ]);
    expect(cfg.body.status).toBeNull();
  });
});

describe("records", () => {
  it("creates a ticket with defaults, stamps _info and never returns initialDescription", async () => {
    const r = await ticket("Disk C: full", { initialDescription: "line one\nline two" });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      summary: "Disk C: full",
      status: { id: 1, name: "New" },
      closedFlag: false,
    });
    expect(r.body.priority.name).toBe("Priority 3 - Medium");
    expect(r.body._info).toMatchObject({ lastUpdated: "2026-01-05T10:00:00Z", updatedBy: "nocbridge-api" });
    expect(r.body.initialDescription).toBeUndefined();
    const notes = (await cw.api("GET", `service/tickets/${r.body.id}/notes`)).body;
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ text: "line one line two", detailDescriptionFlag: true });
  });

  it("answers 400 InvalidObject naming every bad field, and writes nothing", async () => {
    const r = await cw.api("POST", "service/tickets", {
      summary: "x".repeat(101),
      company: { id: 999 },
      severity: "Huge",
    });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe("InvalidObject");
    expect(r.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      "company",
      "severity",
      "summary",
    ]);
    expect(r.body.errors[0]).toHaveProperty("resource", "ticket");
    expect((await cw.api("GET", "service/tickets/count")).body.count).toBe(0);
    const missing = await cw.api("POST", "service/tickets", { company: { id: 2 } });
    expect(missing.body.errors[0]).toMatchObject({ code: "MissingRequiredField", field: "summary" });
  });

  it("rejects a status of another board and resolves references by natural key", async () => {
    const bad = await ticket("x", { status: { id: 6 } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe("status");
    const ok = await cw.api("POST", "service/tickets", {
      summary: "y",
      board: { name: "NOC" },
      company: { identifier: "BirchLogistics" },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.company).toMatchObject({ id: 3, name: "Birch Logistics" });
  });

  it("creates a status on a board, which tickets on that board can use, and filters by nested objects", async () => {
    const st = await cw.api("POST", "service/boards/2/statuses", { name: "Escalated", sortOrder: 9 });
    expect(st.status).toBe(201);
    expect(st.body.board).toEqual({ id: 2, name: "Help Desk" });
    const t = await cw.api("POST", "service/tickets", {
      summary: "desk",
      board: { id: 2 },
      status: { id: st.body.id },
      company: { id: 2 },
    });
    expect(t.status).toBe(201);
    const moved = await cw.api("PATCH", `service/tickets/${t.body.id}`, [
      { op: "replace", path: "board", value: { id: 1 } },
    ]);
    expect(moved.status).toBe(400);
    expect(moved.body.errors[0].field).toBe("status");
    const both = await cw.api("PATCH", `service/tickets/${t.body.id}`, [
      { op: "replace", path: "board", value: { id: 1 } },
      { op: "replace", path: "status", value: { id: 2 } },
    ]);
    expect(both.body.status.name).toBe("In Progress");
    const active = await cw.api(
      "GET",
      `company/companies/count?conditions=${encodeURIComponent('status/name = "Active"')}`,
    );
    expect(active.body.count).toBe(3);
    const tabs = await cw.api("POST", `service/tickets/${t.body.id}/notes`, {
      text: "a\tb\fc\r\nd",
      detailDescriptionFlag: true,
    });
    expect(tabs.body.text).toBe("a\tbc d");
  });

  it("answers 404 in the record shape and for unknown routes", async () => {
    const r = await cw.api("GET", "service/tickets/4242");
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ code: "NotFound", message: "Ticket 4242 not found" });
    expect((await cw.api("GET", "service/nothing")).body.code).toBe("ConnectWiseApi");
    expect((await cw.api("DELETE", "service/tickets")).status).toBe(405);
  });

  it("notes need a flag, link to configurations, time entries show in allNotes", async () => {
    const t = (await ticket("Backup failed")).body;
    const none = await cw.api("POST", `service/tickets/${t.id}/notes`, { text: "hi" });
    expect(none.status).toBe(400);
    const internal = await cw.api("POST", `service/tickets/${t.id}/notes`, {
      text: "internal",
      internalAnalysisFlag: true,
    });
    expect(internal.status).toBe(201);
    expect(internal.body).toMatchObject({ ticketId: t.id, internalFlag: true, externalFlag: false });
    const cfg = (
      await cw.api("POST", "company/configurations", {
        name: "srv2",
        type: { id: 1 },
        company: { id: 2 },
        deviceIdentifier: "dev-9",
      })
    ).body;
    const link = await cw.api("POST", `service/tickets/${t.id}/configurations`, { id: cfg.id });
    expect(link.status).toBe(201);
    expect((await cw.api("GET", `service/tickets/${t.id}/configurations`)).body).toEqual([
      expect.objectContaining({ id: cfg.id, deviceIdentifier: "dev-9" }),
    ]);
    expect((await cw.api("DELETE", `service/tickets/${t.id}/configurations/${cfg.id}`)).status).toBe(204);
    expect((await cw.api("GET", `service/tickets/${t.id}/configurations/count`)).body.count).toBe(0);
    const te = await cw.api("POST", "time/entries", {
      chargeToId: t.id,
      chargeToType: "ServiceTicket",
      timeStart: "2026-01-05T09:00:00Z",
      timeEnd: "2026-01-05T10:30:00Z",
      notes: "worked on it",
      addToDetailDescriptionFlag: true,
    });
    expect(te.status).toBe(201);
    expect(te.body.actualHours).toBe(1.5);
    const all = (await cw.api("GET", `service/tickets/${t.id}/allNotes`)).body;
    expect(all.map((n: { noteType: string }) => n.noteType).sort()).toEqual(["TicketNote", "TimeEntryNote"]);
    expect((await cw.api("GET", `service/tickets/${t.id}/timeentries/count`)).body.count).toBe(1);
  });
});

describe("PATCH", () => {
  it("applies replace/add/remove with bare paths and moves lastUpdated", async () => {
    const t = (await ticket("before", { externalXRef: "P-1" })).body;
    clock.advance(5000);
    const r = await cw.api("PATCH", `service/tickets/${t.id}`, [
      { op: "replace", path: "summary", value: "after" },
      { op: "replace", path: "status", value: { id: DEMO_IDS.statuses.resolved } },
      { op: "add", path: "integratorTags", value: ["nocbridge"] },
      { op: "remove", path: "externalXRef" },
    ]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      summary: "after",
      closedFlag: true,
      integratorTags: ["nocbridge"],
      externalXRef: null,
    });
    expect(r.body.status.name).toBe("Resolved");
    expect(r.body._info.lastUpdated).toBe("2026-01-05T10:00:05Z");
    expect(r.body._info.dateEntered).toBe(t._info.dateEntered);
    expect(Date.parse(r.body._info.lastUpdated)).toBeGreaterThan(Date.parse(t._info.lastUpdated));
  });

  it("answers 400 in the error shape for an invalid patch, and changes nothing", async () => {
    const t = (await ticket("keep")).body;
    for (const ops of [
      { op: "replace", path: "summary", value: "x" },
      [{ op: "move", path: "summary", value: "x" }],
      [{ op: "replace", path: "Summary", value: "x" }],
      [{ op: "replace", path: "closedFlag", value: true }],
      [{ op: "replace", path: "summary", value: 5 }],
      [{ op: "remove", path: "summary" }],
    ]) {
      const r = await cw.api("PATCH", `service/tickets/${t.id}`, ops);
      expect(r.status, JSON.stringify(ops)).toBe(400);
      expect(r.body.code).toBe("InvalidObject");
      expect(r.body.errors[0]).toHaveProperty("field");
    }
    expect((await cw.api("GET", `service/tickets/${t.id}`)).body.summary).toBe("keep");
    const badJson = await cw.api("PATCH", `service/tickets/${t.id}`, "[{");
    expect(badJson.status).toBe(400);
  });

  it("reproduces the false 200 of a path inside a reference", async () => {
    const t = (await ticket("ref")).body;
    const r = await cw.api("PATCH", `service/tickets/${t.id}`, [
      { op: "replace", path: "company/identifier", value: "BirchLogistics" },
    ]);
    expect(r.status).toBe(200);
    expect(r.body.company.id).toBe(2);
  });

  it("replaces customFields as a whole array and validates their types", async () => {
    const c = (
      await cw.api("POST", "company/configurations", { name: "pc1", type: { id: 1 }, company: { id: 2 } })
    ).body;
    const fields = c.customFields.map((f: { caption: string }) => ({
      ...f,
      value: f.caption === "Partner Portal Device Id" ? "dev-1" : null,
    }));
    const r = await cw.api("PATCH", `company/configurations/${c.id}`, [
      { op: "replace", path: "customFields", value: fields },
    ]);
    expect(r.status).toBe(200);
    expect(
      r.body.customFields.find((f: { caption: string }) => f.caption === "Partner Portal Device Id").value,
    ).toBe("dev-1");
    const bad = await cw.api("PATCH", `company/configurations/${c.id}`, [
      { op: "replace", path: "customFields", value: [{ id: 999, value: "x" }] },
    ]);
    expect(bad.status).toBe(400);
    const tooLong = await cw.api("PATCH", `company/configurations/${c.id}`, [
      { op: "replace", path: "macAddress", value: "x".repeat(26) },
    ]);
    expect(tooLong.body.errors[0].field).toBe("macAddress");
  });
});

describe("queries", () => {
  async function fixtures() {
    const out = [];
    for (const [i, s] of [
      "Disk full on srv1",
      "Backup failed",
      "CPU high",
      "Disk slow",
      "Printer offline",
    ].entries()) {
      out.push(
        (await ticket(s, { company: { id: i % 2 === 0 ? 2 : 3 }, externalXRef: i === 4 ? null : `P-${i}` }))
          .body,
      );
      clock.advance(60_000);
    }
    return out;
  }

  it("filters with =, !=, like, contains, not contains, in, null, and/or/parentheses", async () => {
    await fixtures();
    const q = async (c: string) =>
      (await cw.api("GET", `service/tickets?conditions=${encodeURIComponent(c)}&orderBy=id`)).body.map(
        (t: { summary: string }) => t.summary,
      );
    expect(await q('summary like "Disk%"')).toEqual(["Disk full on srv1", "Disk slow"]);
    expect(await q('summary contains "fail"')).toEqual(["Backup failed"]);
    expect(await q('summary not contains "disk"')).toEqual(["Backup failed", "CPU high", "Printer offline"]);
    expect(await q("company/id in (3)")).toEqual(["Backup failed", "Disk slow"]);
    expect(await q('company/name = "acme dental group" and summary like "%srv%"')).toEqual([
      "Disk full on srv1",
    ]);
    expect(await q("externalXRef = null")).toEqual(["Printer offline"]);
    expect(await q('(summary = "CPU high" or summary = "Disk slow") and closedFlag = false')).toEqual([
      "CPU high",
      "Disk slow",
    ]);
    expect(await q('status/name = "New" AND board/id = 1')).toHaveLength(5);
  });

  it("compares dates in square brackets against lastUpdated", async () => {
    const made = await fixtures();
    const at = (i: number) => made[i]._info.lastUpdated as string;
    const r = await cw.api(
      "GET",
      `service/tickets?conditions=${encodeURIComponent(`lastUpdated >= [${at(3)}]`)}`,
    );
    expect(r.body.map((t: { summary: string }) => t.summary)).toEqual(["Disk slow", "Printer offline"]);
    const lt = await cw.api(
      "GET",
      `service/tickets/count?conditions=${encodeURIComponent(`lastUpdated < [${at(1)}]`)}`,
    );
    expect(lt.body).toEqual({ count: 1 });
  });

  it("rejects malformed conditions with 400 and the literal hint", async () => {
    for (const c of [
      "summary = Disk",
      'nosuchfield = "x"',
      "lastUpdated > 2026-01-01",
      'summary = "open',
      "board/id = ",
    ]) {
      const r = await cw.api("GET", `service/tickets?conditions=${encodeURIComponent(c)}`);
      expect(r.status, c).toBe(400);
      expect(r.body.message).toContain("String values should be enclosed with double or single quotes");
    }
  });

  it("filters on custom fields and child arrays", async () => {
    const a = (
      await cw.api("POST", "company/configurations", { name: "a", type: { id: 1 }, company: { id: 2 } })
    ).body;
    await cw.api("POST", "company/configurations", { name: "b", type: { id: 1 }, company: { id: 2 } });
    const fields = a.customFields.map((f: { caption: string }) => ({
      ...f,
      value: f.caption === "Make" ? "Dell Inc." : null,
    }));
    await cw.api("PATCH", `company/configurations/${a.id}`, [
      { op: "replace", path: "customFields", value: fields },
    ]);
    const cf = await cw.api(
      "GET",
      `company/configurations?customFieldConditions=${encodeURIComponent('caption="Make" AND value like "Dell%"')}`,
    );
    expect(cf.body.map((c: { name: string }) => c.name)).toEqual(["a"]);
    const child = await cw.api(
      "GET",
      `company/companies?childConditions=${encodeURIComponent('types/name = "Client"')}`,
    );
    expect(child.body.map((c: { name: string }) => c.name)).toEqual(["Acme Dental Group", "Birch Logistics"]);
    const none = await cw.api(
      "GET",
      `company/companies/count?childConditions=${encodeURIComponent('types/name = "Vendor"')}`,
    );
    expect(none.body.count).toBe(0);
  });

  it("orders, projects fields and searches by POST body", async () => {
    await fixtures();
    const r = await cw.api("GET", "service/tickets?orderBy=summary desc&fields=id,summary,company/name");
    expect(r.body[0]).toEqual({
      id: expect.any(Number),
      summary: "Printer offline",
      company: { name: "Acme Dental Group" },
    });
    expect((await cw.api("GET", "service/tickets?orderBy=nosuch asc")).status).toBe(400);
    const s = await cw.api("POST", "service/tickets/search?pageSize=1", {
      conditions: 'summary like "Disk%"',
      orderBy: "summary desc",
    });
    expect(s.status).toBe(200);
    expect(s.body.map((t: { summary: string }) => t.summary)).toEqual(["Disk slow"]);
  });

  it("pages with page/pageSize and Link headers (first, prev, next, last)", async () => {
    await fixtures();
    const p1 = await cw.api(
      "GET",
      `service/tickets?pageSize=2&conditions=${encodeURIComponent("closedFlag = false")}`,
    );
    expect(p1.body).toHaveLength(2);
    const link1 = String(p1.headers["link"]);
    expect(link1).toContain('rel="next"');
    expect(link1).toContain('rel="last"');
    expect(link1).not.toContain('rel="prev"');
    const next = /<([^>]+)>; rel="next"/.exec(link1)?.[1] as string;
    expect(next).toContain("conditions=");
    const p2 = await cw.raw("GET", next);
    expect(p2.body.map((t: { id: number }) => t.id)).toEqual([3, 4]);
    expect(String(p2.headers["link"])).toMatch(/rel="first".*rel="prev".*rel="next".*rel="last"/);
    const p3 = await cw.raw("GET", /<([^>]+)>; rel="last"/.exec(link1)?.[1] as string);
    expect(p3.body).toHaveLength(1);
    expect(String(p3.headers["link"])).not.toContain('rel="next"');
    expect((await cw.api("GET", "service/tickets")).headers["link"]).toBeUndefined();
    expect((await cw.api("GET", "service/tickets?page=0")).status).toBe(400);
  });

  it("pages forward-only by pageId with a Link to the next pageId, and refuses orderBy", async () => {
    await fixtures();
    const fo = { ...cw.emu.headers(), "pagination-type": "forward-only" };
    const ids: number[] = [];
    let url: string | undefined = `${cw.emu.baseUrl}/service/tickets?pageSize=2&page=7`;
    for (let i = 0; url && i < 10; i++) {
      const r = await cw.raw("GET", url, undefined, fo);
      expect(r.status).toBe(200);
      ids.push(...r.body.map((t: { id: number }) => t.id));
      url = /<([^>]+)>; rel="next"/.exec(String(r.headers["link"] ?? ""))?.[1];
      if (r.body.length > 0) expect(url).toContain(`pageId=${r.body[r.body.length - 1].id}`);
    }
    expect(ids).toEqual([1, 2, 3, 4, 5]);
    expect(
      (await cw.raw("GET", `${cw.emu.baseUrl}/service/tickets?orderBy=id desc`, undefined, fo)).status,
    ).toBe(400);
    await cw.admin("PUT", "options", { forwardOnlyLinkOnLastPage: false });
    const last = await cw.raw("GET", `${cw.emu.baseUrl}/service/tickets?pageSize=2&pageId=4`, undefined, fo);
    expect(last.body).toHaveLength(1);
    expect(last.headers["link"]).toBeUndefined();
    await cw.admin("PUT", "options", { forwardOnlyLinkOnLastPage: true });
  });

  it("caps pageSize at 1000 and counts", async () => {
    await fixtures();
    expect((await cw.api("GET", "service/tickets/count")).body).toEqual({ count: 5 });
    expect((await cw.api("GET", "service/tickets?pageSize=5000")).body).toHaveLength(5);
  });
});
