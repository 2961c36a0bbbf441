import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { startTestEmulator, type TestEmulator } from "./helpers.js";

/** A create without the fields the demo's default category ("NOC Monitoring") requires. */
const bare = (over: Record<string, unknown> = {}) => ({
  companyID: DEMO_IDS.companies.AT1,
  title: "Disk C: almost full",
  status: 1,
  priority: 2,
  queueID: DEMO_IDS.nocQueue,
  ...over,
});
const withIssue = { issueType: DEMO_IDS.issueType, subIssueType: DEMO_IDS.subIssueType };

interface Pick {
  value: string;
  label: string;
  isDefaultValue: boolean;
  parentValue: string;
}

describe("Autotask emulator: ticket categories, work types, note visibility", () => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator({ seed: "demo" });
  });
  afterAll(async () => {
    await t?.close();
  });

  const ticketFields = async () =>
    (await t.api("GET", "Tickets/entityInformation/fields")).body.fields as Array<{
      name: string;
      isRequired: boolean;
      picklistValues: Pick[] | null;
    }>;

  it("shows the categories in the ticketCategory picklist, the global default marked, and their field defaults", async () => {
    const fields = await ticketFields();
    const cats = fields.find((f) => f.name === "ticketCategory")?.picklistValues ?? [];
    expect(cats.map((c) => [c.label, c.isDefaultValue])).toEqual([
      ["Standard", false],
      ["NOC Monitoring", true],
      ["Change", false],
    ]);
    const subs = fields.find((f) => f.name === "subIssueType")?.picklistValues ?? [];
    expect(subs.find((s) => Number(s.value) === DEMO_IDS.subIssueType)?.parentValue).toBe(
      String(DEMO_IDS.issueType),
    );
    const defaults = await t.api("POST", "TicketCategoryFieldDefaults/query", {
      filter: [{ op: "eq", field: "ticketCategoryID", value: DEMO_IDS.categories.nocMonitoring }],
    });
    expect(defaults.status).toBe(200);
    expect(defaults.body.items).toEqual([
      expect.objectContaining({ sourceID: 6, ticketTypeID: 5, queueID: DEMO_IDS.nocQueue }),
    ]);
    // Read-only through REST.
    expect((await t.api("POST", "TicketCategories", { name: "Mine" })).status).not.toBe(200);
  });

  it("refuses a create without the fields the category requires with 500 and an errors array, naming each", async () => {
    const res = await t.api("POST", "Tickets", bare());
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      errors: [
        'issueType is required for ticket category "NOC Monitoring".',
        'subIssueType is required for ticket category "NOC Monitoring".',
      ],
    });
    const change = await t.api("POST", "Tickets", bare({ ticketCategory: DEMO_IDS.categories.change }));
    expect(change.status).toBe(500);
    expect(change.body.errors).toEqual(['dueDateTime is required for ticket category "Change".']);
  });

  it("applies the category's defaults, then accepts the create once the required fields are there", async () => {
    const res = await t.api("POST", "Tickets", bare(withIssue));
    expect(res.status).toBe(200);
    const item = (await t.api("GET", `Tickets/${res.body.itemId}`)).body.item;
    expect(item).toMatchObject({
      ticketCategory: DEMO_IDS.categories.nocMonitoring,
      source: 6,
      ticketType: 5,
      ...withIssue,
    });
    // What the client sends wins over the category's default.
    const own = await t.api("POST", "Tickets", bare({ ...withIssue, source: 2 }));
    expect((await t.api("GET", `Tickets/${own.body.itemId}`)).body.item.source).toBe(2);
    const dated = await t.api(
      "POST",
      "Tickets",
      bare({ ticketCategory: DEMO_IDS.categories.change, dueDateTime: "2030-01-01T00:00:00Z" }),
    );
    expect(dated.status).toBe(200);
  });

  it("accepts only an active work type as a ticket's billingCodeID", async () => {
    const codes = (await t.api("POST", "BillingCodes/query", { filter: [{ op: "exist", field: "id" }] })).body
      .items as Array<{ id: number; useType: number }>;
    expect(codes.find((c) => c.id === DEMO_IDS.remoteSupport)?.useType).toBe(1);
    expect(codes.find((c) => c.id === DEMO_IDS.internalTime)?.useType).toBe(3);
    const refused = await t.api(
      "POST",
      "Tickets",
      bare({ ...withIssue, billingCodeID: DEMO_IDS.internalTime }),
    );
    expect(refused.status).toBe(500);
    expect(refused.body.errors[0]).toMatch(/billingCodeID .* not an active work type/);
    const ok = await t.api("POST", "Tickets", bare({ ...withIssue, billingCodeID: DEMO_IDS.remoteSupport }));
    expect(ok.status).toBe(200);
    const patched = await t.api("PATCH", "Tickets", {
      id: ok.body.itemId,
      billingCodeID: DEMO_IDS.internalTime,
    });
    expect(patched.status).toBe(500);
  });

  it("offers publish 1 All Autotask Users, 2 Internal Project Team, 4 Internal & Co-Managed on ticket notes", async () => {
    const fields = (await t.api("GET", "TicketNotes/entityInformation/fields")).body.fields as Array<{
      name: string;
      picklistValues: Pick[] | null;
    }>;
    const publish = fields.find((f) => f.name === "publish")?.picklistValues ?? [];
    expect(publish.map((p) => [p.value, p.label])).toEqual([
      ["1", "All Autotask Users"],
      ["2", "Internal Project Team"],
      ["4", "Internal & Co-Managed"],
    ]);
    const id = (await t.api("POST", "Tickets", bare(withIssue))).body.itemId;
    const note = (publish: number) =>
      t.api("POST", `Tickets/${id}/Notes`, { title: "t", description: "d", noteType: 1, publish });
    expect((await note(4)).status).toBe(200);
    expect((await note(3)).status).toBe(500);
  });
});
