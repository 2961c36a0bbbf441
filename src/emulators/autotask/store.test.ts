import { describe, expect, it } from "vitest";
import { entityDef } from "./entities.js";
import type { EntityChange } from "./hooks.js";
import { DEMO_IDS, demoSeed } from "./seed.js";
import { EmulatorStore, type WriteContext } from "./store.js";

const TICKETS = entityDef("Tickets");
const NOTES = entityDef("TicketNotes");
const CIS = entityDef("ConfigurationItems");
const HOOKS = entityDef("TicketWebhooks");
const HOOK_FIELDS = entityDef("TicketWebhookFields");

function setup(at = "2026-11-27T10:00:00.000Z") {
  let now = new Date(at);
  const changes: EntityChange[] = [];
  const store = new EmulatorStore({ now: () => now, listener: { onChange: (c) => changes.push(c) } });
  const tenant = store.addTenant(demoSeed({ tenantId: "s", now }), false);
  const ctx = (personId: number = DEMO_IDS.apiResource): WriteContext => ({
    personId,
    apiResourceId: DEMO_IDS.apiResource,
    now,
  });
  const advance = (ms: number) => {
    now = new Date(now.getTime() + ms);
  };
  return { store, tenant, ctx, changes, advance };
}

const ticket = {
  companyID: 174,
  title: "Disk almost full",
  status: 1,
  priority: 2,
  queueID: DEMO_IDS.nocQueue,
  issueType: DEMO_IDS.issueType,
  subIssueType: DEMO_IDS.subIssueType,
};

describe("store write rules", () => {
  it("numbers tickets per day and maintains create/activity stamps", () => {
    const { store, tenant, ctx, advance } = setup();
    const a = store.create(tenant, TICKETS, ticket, ctx());
    const b = store.create(tenant, TICKETS, ticket, ctx(DEMO_IDS.technicians[0]));
    expect(a["ticketNumber"]).toBe("T20261127.0001");
    expect(b["ticketNumber"]).toBe("T20261127.0002");
    expect(a["createDate"]).toBe("2026-11-27T10:00:00.000Z");
    expect(b["creatorResourceID"]).toBe(DEMO_IDS.technicians[0]);
    // Impersonating: the API user's resource is the impersonator.
    expect(b["impersonatorCreatorResourceID"]).toBe(DEMO_IDS.apiResource);
    expect(a["impersonatorCreatorResourceID"]).toBeNull();
    advance(86_400_000);
    const c = store.create(tenant, TICKETS, ticket, ctx());
    expect(c["ticketNumber"]).toBe("T20261128.0001");
    const updated = store.update(tenant, TICKETS, { id: a["id"], status: 5 }, "patch", ctx());
    expect(updated["lastActivityDate"]).toBe("2026-11-28T10:00:00.000Z");
    expect(updated["createDate"]).toBe("2026-11-27T10:00:00.000Z");
    expect(updated["completedDate"]).toBe("2026-11-28T10:00:00.000Z");
  });

  it("checks required fields, picklists, references and types with 500s naming the field", () => {
    const { store, tenant, ctx } = setup();
    const err = (body: Record<string, unknown>) => {
      try {
        store.create(tenant, TICKETS, body, ctx());
      } catch (e) {
        return e as { status: number; errors: string[] };
      }
      throw new Error("no error");
    };
    expect(err({ ...ticket, title: undefined })).toMatchObject({
      status: 500,
      errors: [expect.stringMatching(/title/)],
    });
    expect(err({ ...ticket, status: 99 }).errors[0]).toMatch(/status/);
    expect(err({ ...ticket, companyID: 4242 }).errors[0]).toMatch(/companyID/);
    expect(err({ ...ticket, priority: "high" }).errors[0]).toMatch(/priority/);
    expect(err({ ...ticket, title: "x".repeat(256) }).errors[0]).toMatch(/title.*255/);
    // "Standard" has no queue default (the demo's default category would fill it in).
    expect(err({ ...ticket, ticketCategory: 3, queueID: null }).errors[0]).toMatch(/queueID/);
    expect(err({ ...ticket, assignedResourceID: DEMO_IDS.technicians[0] }).errors[0]).toMatch(
      /assignedResourceRoleID/,
    );
  });

  it("PATCH changes only what is sent; PUT nulls omitted writable fields and keeps read-only ones", () => {
    const { store, tenant, ctx } = setup();
    const t = store.create(tenant, TICKETS, { ...ticket, description: "first", externalID: "ext-1" }, ctx());
    const p = store.update(
      tenant,
      TICKETS,
      { id: t["id"], Description: "second", ticketNumber: "T1" },
      "patch",
      ctx(),
    );
    expect(p).toMatchObject({ description: "second", externalID: "ext-1", ticketNumber: t["ticketNumber"] });
    const r = store.update(tenant, TICKETS, { ...ticket, id: t["id"] }, "put", ctx());
    expect(r).toMatchObject({
      description: null,
      externalID: null,
      ticketNumber: t["ticketNumber"],
      title: ticket.title,
    });
  });

  it("keeps a CI's companyID and merges UDFs by name on PATCH", () => {
    const { store, tenant, ctx } = setup();
    const ci = store.create(
      tenant,
      CIS,
      {
        companyID: 174,
        productID: DEMO_IDS.product,
        isActive: true,
        userDefinedFields: [
          { name: "IP Address", value: "10.0.0.1" },
          { name: "dns", value: "pc-1" },
        ],
      },
      ctx(),
    );
    expect(ci["configurationItemCategoryID"]).toBe(1); // the category picklist's default (docs/autotask.md)
    expect(() => store.update(tenant, CIS, { id: ci["id"], companyID: 175 }, "patch", ctx())).toThrow(
      /companyID/,
    );
    const same = store.update(
      tenant,
      CIS,
      { id: ci["id"], companyID: 174, referenceTitle: "PC-1" },
      "patch",
      ctx(),
    );
    expect(same["companyID"]).toBe(174);
    const merged = store.update(
      tenant,
      CIS,
      { id: ci["id"], userDefinedFields: [{ name: "IP Address", value: "10.0.0.2" }] },
      "patch",
      ctx(),
    );
    const udf = (n: string) =>
      (merged["userDefinedFields"] as { name: string; value: unknown }[]).find((u) => u.name === n);
    expect(udf("IP Address")?.value).toBe("10.0.0.2");
    expect(udf("DNS")?.value).toBe("pc-1");
    expect(() =>
      store.update(
        tenant,
        CIS,
        { id: ci["id"], userDefinedFields: [{ name: "Asset Tag", value: "x" }] },
        "patch",
        ctx(),
      ),
    ).toThrow(/Asset Tag/);
  });

  it("reports changes with changed fields and UDFs and the acting resource", () => {
    const { store, tenant, ctx, changes } = setup();
    const ci = store.create(
      tenant,
      CIS,
      { companyID: 174, productID: DEMO_IDS.product, isActive: true },
      ctx(),
    );
    store.update(
      tenant,
      CIS,
      { id: ci["id"], isActive: false, userDefinedFields: [{ name: "RAM", value: "16 GB" }] },
      "patch",
      ctx(DEMO_IDS.technicians[1]),
    );
    expect(changes).toHaveLength(2);
    expect(changes[0]).toMatchObject({ action: "Create", entityType: "ConfigurationItem", before: null });
    expect(changes[0]?.changedFields).toEqual(expect.arrayContaining(["companyID", "productID", "isActive"]));
    expect(changes[1]).toMatchObject({
      action: "Update",
      personId: DEMO_IDS.technicians[1],
      changedUdfs: ["RAM"],
    });
    expect(changes[1]?.changedFields).toContain("isActive");
    expect(changes[1]?.changedFields).not.toContain("companyID");
  });

  it("creates notes under their ticket and moves the ticket's lastActivityDate", () => {
    const { store, tenant, ctx, advance } = setup();
    const t = store.create(tenant, TICKETS, ticket, ctx());
    advance(60_000);
    const n = store.create(
      tenant,
      NOTES,
      { title: "Note", description: "Text", noteType: 1, publish: 1 },
      ctx(),
      t["id"] as number,
    );
    expect(n["ticketID"]).toBe(t["id"]);
    expect(tenant.table("Tickets").get(t["id"] as number)?.["lastActivityDate"]).toBe(
      "2026-11-27T10:01:00.000Z",
    );
    expect(() =>
      store.create(
        tenant,
        NOTES,
        { ticketID: 1, title: "x", description: "y", noteType: 1, publish: 1 },
        ctx(),
        t["id"] as number,
      ),
    ).toThrow(/does not match/);
  });

  it("maintains webhook GUID, owner and isReady, and cascades deletes", () => {
    const { store, tenant, ctx } = setup();
    const hook = store.create(
      tenant,
      HOOKS,
      {
        Name: "Sync",
        WebhookUrl: "http://127.0.0.1:1/hook",
        DeactivationUrl: "http://127.0.0.1:1/off",
        IsActive: true,
        webhookGUID: "mine",
      },
      ctx(),
    );
    expect(hook["webhookGUID"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(hook).toMatchObject({ ownerResourceID: DEMO_IDS.apiResource, isReady: false, isActive: true });
    const id = hook["id"] as number;
    expect(() =>
      store.create(tenant, HOOK_FIELDS, { fieldID: 99999, isSubscribedField: true }, ctx(), id),
    ).toThrow(/fieldID/);
    const field = store.create(tenant, HOOK_FIELDS, { fieldID: 104, isSubscribedField: true }, ctx(), id);
    expect(tenant.table(HOOKS.name).get(id)?.["isReady"]).toBe(true);
    store.remove(tenant, HOOK_FIELDS, field["id"] as number, ctx(), id);
    expect(tenant.table(HOOKS.name).get(id)?.["isReady"]).toBe(false);
    store.create(tenant, HOOK_FIELDS, { fieldID: 104, isSubscribedField: true }, ctx(), id);
    store.remove(tenant, HOOKS, id, ctx());
    expect(tenant.table(HOOK_FIELDS.name).ids).toEqual([]);
  });

  it("round-trips its state through toState/load", () => {
    const { store, tenant, ctx } = setup();
    const t = store.create(tenant, TICKETS, ticket, ctx());
    const copy = new EmulatorStore();
    copy.load(JSON.parse(JSON.stringify(store.toState())));
    const again = copy.tenant("s");
    expect(again?.table("Tickets").get(t["id"] as number)).toEqual(t);
    const next = copy.create(again as NonNullable<typeof again>, TICKETS, ticket, ctx());
    expect(next["id"]).toBe((t["id"] as number) + 1);
    expect(next["ticketNumber"]).toBe("T20261127.0002");
  });
});
