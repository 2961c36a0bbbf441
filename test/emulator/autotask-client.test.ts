/**
 * The public npm client @apigrate/autotask-restapi pointed at the emulator (docs/autotask.md, The public npm
 * client): the emulator must look like Autotask to a client we did not write.
 */
import { AutotaskApiError, AutotaskRestApi, FilterOperators } from "@apigrate/autotask-restapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/autotask/index.js";
import { startTestEmulator, type TestEmulator } from "./helpers.js";

let t: TestEmulator;
let at: AutotaskRestApi;
beforeAll(async () => {
  t = await startTestEmulator();
  const c = t.emu.credentials;
  at = new AutotaskRestApi(c.username, c.secret, c.integrationCode, { base_url: t.emu.baseUrl });
});
afterAll(async () => {
  await t.close();
});

type Item = Record<string, unknown> & { id: number };
const items = (page: Record<string, unknown>) => page["items"] as Item[];
/** `get()` answers `{item}` (or null on a 404, which the emulator never sends for a known entity). */
const itemOf = (res: Record<string, unknown> | null): Item => {
  if (!res) throw new Error("no response");
  return res["item"] as Item;
};

describe("@apigrate/autotask-restapi against the emulator", () => {
  it("looks up the zone and reads the root company", async () => {
    const root = await at.Companies.get(0);
    expect(at.zoneInfo?.url).toBe(t.emu.baseUrl);
    expect(itemOf(root).id).toBe(0);
  });

  it("queries tickets with and/or filters and counts them", async () => {
    const ids: number[] = [];
    for (const [status, priority] of [
      [1, 2],
      [29, 1],
      [30, 4],
      [5, 2],
    ] as const) {
      const { itemId } = await at.Tickets.create({
        companyID: DEMO_IDS.companies.AT1,
        title: `Client ticket s${status}`,
        status,
        priority,
        queueID: DEMO_IDS.nocQueue,
        issueType: DEMO_IDS.issueType,
        subIssueType: DEMO_IDS.subIssueType,
      });
      ids.push(itemId);
    }
    const search = {
      filter: [
        { op: FilterOperators.eq, field: "queueID", value: DEMO_IDS.nocQueue },
        {
          op: "or",
          items: [
            { op: FilterOperators.eq, field: "status", value: 29 },
            {
              op: "and",
              items: [
                { op: FilterOperators.eq, field: "Status", value: 30 },
                { op: FilterOperators.gte, field: "priority", value: 4 },
              ],
            },
          ],
        },
        { op: FilterOperators.in, field: "id", value: ids },
      ],
    };
    const page = await at.Tickets.query(search);
    expect(items(page).map((i) => i.id)).toEqual([ids[1], ids[2]]);
    expect(page["pageDetails"]).toMatchObject({ count: 2, nextPageUrl: null });
    expect(await at.Tickets.count({ filter: [{ op: FilterOperators.in, field: "id", value: ids }] })).toEqual(
      { queryCount: 4 },
    );
  });

  it("creates a CI with UDFs, reads it back, updates it and finds it by a UDF", async () => {
    const { itemId } = await at.ConfigurationItems.create({
      companyID: DEMO_IDS.companies.AT2,
      productID: DEMO_IDS.product,
      configurationItemType: DEMO_IDS.ciType,
      referenceTitle: "HYDPC111",
      serialNumber: "DELL7XK9Z3",
      isActive: true,
      userDefinedFields: [
        { name: "IP Address", value: "175.236.251.2" },
        { name: "Partner Portal Device Id", value: "portal-9001" },
      ],
    });
    const got = itemOf(await at.ConfigurationItems.get(itemId));
    expect(got).toMatchObject({ id: itemId, companyID: DEMO_IDS.companies.AT2, referenceTitle: "HYDPC111" });
    expect(got["userDefinedFields"]).toContainEqual({ name: "IP Address", value: "175.236.251.2" });

    await at.ConfigurationItems.update({
      id: itemId,
      isActive: false,
      userDefinedFields: [{ name: "RAM", value: "16 GB" }],
    });
    const updated = itemOf(await at.ConfigurationItems.get(itemId));
    expect(updated["isActive"]).toBe(false);
    expect(updated["userDefinedFields"]).toEqual(
      expect.arrayContaining([
        { name: "RAM", value: "16 GB" },
        { name: "IP Address", value: "175.236.251.2" },
      ]),
    );

    const found = await at.ConfigurationItems.query({
      filter: [
        { op: FilterOperators.eq, field: "Partner Portal Device Id", udf: true, value: "portal-9001" },
      ],
    });
    expect(items(found).map((i) => i.id)).toEqual([itemId]);
  });

  it("creates a ticket note under its ticket", async () => {
    const { itemId: ticketId } = await at.Tickets.create({
      companyID: DEMO_IDS.companies.AT1,
      title: "Backup failed",
      status: 1,
      priority: 1,
      queueID: DEMO_IDS.nocQueue,
      issueType: DEMO_IDS.issueType,
      subIssueType: DEMO_IDS.subIssueType,
    });
    const { itemId } = await at.TicketNotes.create(ticketId, {
      ticketID: ticketId,
      title: "NOC update",
      description: "Restarted the backup agent",
      noteType: 1,
      publish: 1,
    });
    const note = itemOf(await at.TicketNotes.get(itemId));
    expect(note).toMatchObject({ ticketID: ticketId, title: "NOC update" });
  });

  it("reads the ticket status picklist from fieldInfo", async () => {
    const { fields } = await at.Tickets.fieldInfo();
    const status = fields.find((f) => f["name"] === "status") as {
      picklistValues: { value: string; label: string }[];
    };
    expect(status.picklistValues).toContainEqual(
      expect.objectContaining({ value: "30", label: "Assigned to NOC" }),
    );
    expect(status.picklistValues).toContainEqual(
      expect.objectContaining({ value: "28", label: "Action Required" }),
    );
  });

  it("raises its authorization error for a wrong secret", async () => {
    const c = t.emu.credentials;
    const wrong = new AutotaskRestApi(c.username, "not-the-secret", c.integrationCode, {
      base_url: t.emu.baseUrl,
    });
    const err = await wrong.Companies.get(0).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AutotaskApiError);
    expect((err as AutotaskApiError).message).toBe("Authorization error.");
    expect((err as AutotaskApiError).status).toBe(401);
  });
});
