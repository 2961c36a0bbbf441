import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { addClosedRows } from "../src/store/migrations/0008_ticket_defaults.js";
import { openTestServices, STORES, type TestEnv } from "./helpers/services.js";

describe.each(STORES)("migration 0008_ticket_defaults on %s", (kind) => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await openTestServices(kind);
  });
  afterAll(async () => env?.close());

  it("gives existing partners Closed → Complete unless they already map portal Closed", async () => {
    const portal = env.services.portal;
    const k = env.services.db.kysely;
    const without = (await portal.createPartner(SYSTEM_ACTOR, { name: "Before the row" })).id;
    const own = (await portal.createPartner(SYSTEM_ACTOR, { name: "Own Closed row" })).id;
    // As they were before the migration: no row for Closed; or the partner's own row for it.
    await k.deleteFrom("mappings").where("kind", "=", "status-forward").where("portal_id", "=", 3).execute();
    await portal.addMapping(SYSTEM_ACTOR, own, "status-forward", {
      portalId: 3,
      psaId: 8,
      psaLabel: "In Progress",
    });

    await addClosedRows(k as never);
    await addClosedRows(k as never); // idempotent

    const closed = async (partnerId: number) =>
      (await portal.getMappings(SYSTEM_ACTOR, partnerId, "status-forward")).filter((m) => m.portalId === 3);
    expect((await closed(without)).map((m) => [m.psaId, m.psaLabel])).toEqual([[5, "Complete"]]);
    expect((await closed(own)).map((m) => m.psaId)).toEqual([8]);
    const rows = await portal.getMappings(SYSTEM_ACTOR, without, "status-forward");
    expect(rows.at(-1)?.portalId).toBe(3); // last: the first row still wins elsewhere
  });

  it("new integration settings start with no ticket defaults and internal notes published to 2", async () => {
    const p = await env.services.portal.createPartner(SYSTEM_ACTOR, { name: "Fresh" });
    const i = await env.services.portal.getIntegration(SYSTEM_ACTOR, p.id);
    expect(i.ticketing).toMatchObject({
      ticketCategoryId: null,
      ticketTypeId: null,
      issueTypeId: null,
      subIssueTypeId: null,
      sourceId: null,
      dueDateOffsetHours: null,
      internalNotePublish: 2,
    });
  });
});
