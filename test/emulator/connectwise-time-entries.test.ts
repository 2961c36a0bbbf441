import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/connectwise/index.js";
import { type CwTest, manualClock, startCw } from "./connectwise-helpers.js";

/**
 * Time entries, work roles and work types in the ConnectWise emulator (docs/connectwise-emulator.md,
 * Time entries).
 */
const clock = manualClock();
let cw: CwTest;
let ticketId = 0;

beforeAll(async () => {
  cw = await startCw({ now: clock.now, faults: { requestsPerMinute: 0 } });
});
afterAll(async () => {
  await cw?.close();
});
beforeEach(async () => {
  await cw.admin("POST", "reset");
  const t = await cw.api("POST", "service/tickets", {
    summary: "Time here",
    board: { id: DEMO_IDS.nocBoard },
    company: { id: DEMO_IDS.companies.acme },
  });
  expect(t.status).toBe(201);
  ticketId = t.body.id;
});

const [ALICE, BOB] = DEMO_IDS.technicians;
const entry = (extra: Record<string, unknown> = {}) =>
  cw.api("POST", "time/entries", {
    chargeToId: ticketId,
    chargeToType: "ServiceTicket",
    member: { id: ALICE },
    timeStart: "2026-01-05T09:00:00Z",
    timeEnd: "2026-01-05T10:15:00Z",
    notes: "worked",
    ...extra,
  });

describe("work roles and work types", () => {
  it("lists the demo tenant's work roles and types, inactive ones flagged", async () => {
    const roles = (await cw.api("GET", "time/workRoles")).body as Array<{
      name: string;
      inactiveFlag: boolean;
    }>;
    expect(roles.map((r) => [r.name, r.inactiveFlag])).toEqual([
      ["Technician", false],
      ["Engineer", false],
      ["Retired Role", true],
    ]);
    const types = (await cw.api("GET", "time/workTypes")).body as Array<{
      name: string;
      inactiveFlag: boolean;
    }>;
    expect(types.map((r) => [r.name, r.inactiveFlag])).toEqual([
      ["Remote Support", false],
      ["Onsite", false],
      ["After Hours", false],
      ["Retired Type", true],
    ]);
    expect((await cw.api("POST", "time/workRoles", { name: "New" })).status).toBe(405);
  });

  it("gives members e-mails and default work roles", async () => {
    const m = (await cw.api("GET", `system/members/${ALICE}`)).body;
    expect(m).toMatchObject({
      officeEmail: "alice.smith@example.com",
      workRole: { id: DEMO_IDS.workRoles.technician },
    });
  });
});

describe("time entries", () => {
  it("takes the member's default work role and the default work type, and computes the hours", async () => {
    const r = await entry();
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      member: { id: ALICE, identifier: "asmith" },
      workRole: { id: DEMO_IDS.workRoles.technician, name: "Technician" },
      workType: { id: DEMO_IDS.workTypes.remote, name: "Remote Support" },
      actualHours: 1.25,
      billableOption: "Billable",
      status: "Open",
      ticket: { id: ticketId },
    });
    const bob = await entry({ member: { id: BOB }, workType: { id: DEMO_IDS.workTypes.onsite } });
    expect(bob.body).toMatchObject({
      workRole: { id: DEMO_IDS.workRoles.engineer },
      workType: { id: DEMO_IDS.workTypes.onsite },
    });
  });

  it("refuses an inactive work role or work type, an unknown one, and a missing ticket", async () => {
    const role = await entry({ workRole: { id: DEMO_IDS.workRoles.retired } });
    expect(role.status).toBe(400);
    expect(JSON.stringify(role.body)).toContain("Work role Retired Role is inactive.");
    const type = await entry({ workType: { id: DEMO_IDS.workTypes.retired } });
    expect(type.status).toBe(400);
    expect(JSON.stringify(type.body)).toContain("Work type Retired Type is inactive.");
    expect((await entry({ workRole: { id: 999 } })).status).toBe(400);
    expect((await entry({ chargeToId: 999999 })).status).toBe(400);
    expect((await entry({ timeStart: undefined })).status).toBe(400);
  });

  it("refuses time on a ticket whose status does not allow time entries (Closed)", async () => {
    const closed = await cw.api("PATCH", `service/tickets/${ticketId}`, [
      { op: "replace", path: "status", value: { id: DEMO_IDS.statuses.closed } },
    ]);
    expect(closed.status).toBe(200);
    const r = await entry();
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain("Time entries are not allowed");
  });

  it("edits by JSON-Patch, finds entries by ticket and member, deletes an open entry and refuses a billed one", async () => {
    const a = (await entry()).body;
    const p = await cw.api("PATCH", `time/entries/${a.id}`, [
      { op: "replace", path: "timeEnd", value: "2026-01-05T11:00:00Z" },
      { op: "replace", path: "workType", value: { id: DEMO_IDS.workTypes.afterHours } },
    ]);
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ actualHours: 2, workType: { id: DEMO_IDS.workTypes.afterHours } });
    const found = await cw.api(
      "GET",
      `time/entries?conditions=${encodeURIComponent(`chargeToType = "ServiceTicket" and chargeToId = ${ticketId} and member/id = ${ALICE}`)}&fields=id,timeStart,member/id`,
    );
    expect(found.body).toEqual([{ id: a.id, timeStart: "2026-01-05T09:00:00Z", member: { id: ALICE } }]);
    expect((await cw.api("DELETE", `time/entries/${a.id}`)).status).toBe(204);
    expect((await cw.api("GET", `time/entries/${a.id}`)).status).toBe(404);
    const b = (await entry()).body;
    const t = cw.emu.store.tenant(cw.emu.credentials.companyId);
    (t?.get("timeEntries", b.id) as Record<string, unknown>)["status"] = "Billed";
    const refused = await cw.api("DELETE", `time/entries/${b.id}`);
    expect(refused.status).toBe(400);
    expect((await cw.api("GET", `time/entries/${b.id}`)).status).toBe(200);
  });
});
