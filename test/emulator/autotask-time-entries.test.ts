import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TENANT_ID, DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { startTestEmulator, type TestEmulator } from "./helpers.js";

const [alex, sam] = DEMO_IDS.technicians;
const { technician, engineer } = DEMO_IDS.roles;

describe("Autotask emulator: TimeEntries", () => {
  let t: TestEmulator;
  let ticketId: number;
  beforeAll(async () => {
    t = await startTestEmulator({ seed: "demo" });
    const r = await t.api("POST", "Tickets", {
      companyID: DEMO_IDS.companies.AT1,
      title: "Disk C: almost full",
      status: 1,
      priority: 2,
      queueID: DEMO_IDS.nocQueue,
      issueType: DEMO_IDS.issueType,
      subIssueType: DEMO_IDS.subIssueType,
    });
    expect(r.status).toBe(200);
    ticketId = r.body.itemId;
  });
  afterAll(async () => {
    await t?.close();
  });

  const entry = (over: Record<string, unknown> = {}) => ({
    ticketID: ticketId,
    resourceID: alex,
    roleID: technician,
    billingCodeID: DEMO_IDS.remoteSupport,
    startDateTime: "2026-11-28T09:00:00.000Z",
    endDateTime: "2026-11-28T10:30:00.000Z",
    summaryNotes: "Cleared the disk",
    ...over,
  });

  it("creates a ticket entry at /TimeEntries (not under the ticket), hours from start and end", async () => {
    expect((await t.api("POST", `Tickets/${ticketId}/TimeEntries`, entry())).status).toBe(404);
    const r = await t.api("POST", "TimeEntries", entry());
    expect(r.status).toBe(200);
    const got = (await t.api("GET", `TimeEntries/${r.body.itemId}`)).body.item;
    expect(got).toMatchObject({ ticketID: ticketId, resourceID: alex, roleID: technician, hoursWorked: 1.5 });
    expect(got.dateWorked).toBe("2026-11-28T00:00:00.000Z");
  });

  it("refuses an entry without its required fields", async () => {
    for (const missing of ["resourceID", "roleID", "summaryNotes"]) {
      const body: Record<string, unknown> = entry();
      delete body[missing];
      const r = await t.api("POST", "TimeEntries", body);
      expect(r.status).toBe(500);
      expect(JSON.stringify(r.body)).toContain(missing);
    }
    const r = await t.api("POST", "TimeEntries", entry({ startDateTime: null, endDateTime: null }));
    expect(r.status).toBe(500);
    expect(JSON.stringify(r.body)).toContain("hoursWorked");
  });

  it("refuses a role the resource does not hold, also on update", async () => {
    const r = await t.api("POST", "TimeEntries", entry({ resourceID: sam, roleID: engineer }));
    expect(r.status).toBe(500);
    expect(r.body.errors[0]).toContain("Role does not exist or is invalid");
    const ok = await t.api("POST", "TimeEntries", entry({ roleID: engineer }));
    expect(ok.status).toBe(200);
    const patch = await t.api("PATCH", "TimeEntries", { id: ok.body.itemId, resourceID: sam });
    expect(patch.status).toBe(500);
    expect((await t.api("POST", "TimeEntries", entry({ roleID: 1 }))).status).toBe(500);
  });

  it("refuses a billing code that is not an active work type", async () => {
    const r = await t.api("POST", "TimeEntries", entry({ billingCodeID: DEMO_IDS.internalTime }));
    expect(r.status).toBe(500);
    expect(r.body.errors[0]).toContain("is not an active work type");
  });

  it("updates and deletes an entry; impersonation attributes it to the resource", async () => {
    const r = await t.api("POST", "TimeEntries", entry(), {
      headers: { ImpersonationResourceId: String(alex) },
    });
    expect(r.status).toBe(200);
    const id = r.body.itemId;
    expect((await t.api("GET", `TimeEntries/${id}`)).body.item.creatorUserID).toBe(alex);
    const p = await t.api("PATCH", "TimeEntries", { id, hoursWorked: 2, summaryNotes: "More work" });
    expect(p.status).toBe(200);
    expect((await t.api("GET", `TimeEntries/${id}`)).body.item).toMatchObject({
      hoursWorked: 2,
      summaryNotes: "More work",
    });
    expect((await t.api("DELETE", `TimeEntries/${id}`)).status).toBe(200);
    expect((await t.api("GET", `TimeEntries/${id}`)).body.item).toBeNull();
  });

  it("refuses to delete an approved entry", async () => {
    const r = await t.api("POST", "TimeEntries", entry());
    const row = (await t.api("GET", `TimeEntries/${r.body.itemId}`)).body.item;
    await t.admin("POST", `tenants/${DEFAULT_TENANT_ID}/rows/TimeEntries`, {
      ...row,
      billingApprovalLevelMostRecent: 1,
    });
    const del = await t.api("DELETE", `TimeEntries/${r.body.itemId}`);
    expect(del.status).toBe(500);
    expect(del.body.errors[0]).toContain("cannot be deleted");
  });

  it("serves the roles and each resource's service-desk roles", async () => {
    const r = await t.api("POST", "ResourceServiceDeskRoles/query", {
      filter: [{ op: "eq", field: "resourceID", value: alex }],
    });
    expect(r.body.items.map((x: { roleID: number }) => x.roleID).sort()).toEqual(
      [technician, engineer].sort(),
    );
    expect((await t.api("GET", `Roles/${technician}`)).body.item.name).toBe("Technician");
    expect((await t.api("GET", `Resources/${alex}`)).body.item.defaultServiceDeskRoleID).toBe(technician);
  });
});
