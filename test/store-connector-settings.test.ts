import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../src/lib/clock.js";
import { SecretBox } from "../src/lib/crypto.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { Portal } from "../src/portal/service.js";
import type { IntegrationViewOf } from "../src/portal/types.js";
import { type Db, migrate, openDb } from "../src/store/db.js";
import { dropSchema, PG_URL, STORES, type StoreKind } from "./helpers/services.js";

/** An Autotask partner's settings as the columns before migration 0013 held them. */
const BEFORE = {
  api_url: "https://webservices5.autotask.net/ATServicesRest/",
  username: "noc@example.com",
  integration_code: "INTCODE123",
  queue_id: 18151451,
  queue_name: "NOC",
  billing_code_id: 78955512,
  billing_code_name: "Remote Support",
  product_id: 101,
  configuration_item_type_id: 5,
  ticket_category_id: 3,
  ticket_type_id: 1,
  issue_type_id: 11,
  sub_issue_type_id: 220,
  source_id: -2,
  due_date_offset_hours: 4,
  internal_note_publish: 4,
};
const MOVED_COLUMNS = Object.keys(BEFORE);

describe.each(STORES)("migration 0013_connector_settings on %s", (kind) => {
  let db: Db | undefined;
  let schema: string | undefined;
  afterEach(async () => {
    await db?.close();
    if (schema) await dropSchema(schema);
    db = undefined;
    schema = undefined;
  });

  async function open(k: StoreKind): Promise<Db> {
    schema = k === "postgres" ? `t_${randomBytes(6).toString("hex")}` : undefined;
    db = await openDb(k === "postgres" ? { url: PG_URL, schema: schema as string } : { url: ":memory:" });
    return db;
  }

  it("carries an existing partner's Autotask settings over, and its partners keep working unchanged", async () => {
    const d = await open(kind);
    expect(await migrate(d, { to: "0011_budget_waits" })).not.toContain("0013_connector_settings");
    // biome-ignore lint/suspicious/noExplicitAny: the tables as they were before the migration
    const k = d.kysely as unknown as Kysely<any>;
    const box = new SecretBox(randomBytes(32));
    const now = "2026-01-05T10:00:00.000Z";
    const { id } = await k
      .insertInto("partners")
      .values({ name: "Before 0013", time_zone: "Asia/Kolkata", created_at: now, updated_at: now })
      .returning("id")
      .executeTakeFirstOrThrow();
    await k
      .insertInto("partner_integrations")
      .values({
        partner_id: id,
        ticketing_enabled: 1,
        noc_may_enter_tickets: 1,
        system: "autotask",
        secret_sealed: box.encrypt("s3cr3t-Value-42", id),
        devices_enabled: 1,
        advanced: 1,
        schedule: "0 3 1 * *",
        updated_at: now,
        devices_onboarded_at: now,
        ...BEFORE,
      })
      .execute();
    await k
      .insertInto("mappings")
      .values({
        partner_id: id,
        kind: "status-reverse",
        portal_id: 19,
        psa_id: 30,
        psa_label: "Assigned",
        position: 0,
      })
      .execute();

    expect(await migrate(d, { to: "0013_connector_settings" })).toEqual([
      "0012_integration_events",
      "0013_connector_settings",
    ]);
    // The migrations after it (time entries, effort sync).
    await migrate(d);

    const row = await k
      .selectFrom("partner_integrations")
      .selectAll()
      .where("partner_id", "=", id)
      .executeTakeFirstOrThrow();
    for (const column of MOVED_COLUMNS) expect(row, column).not.toHaveProperty(column);
    expect(JSON.parse(row.settings)).toEqual({
      ticketing: {
        apiUrl: BEFORE.api_url,
        username: BEFORE.username,
        integrationCode: BEFORE.integration_code,
        queueId: BEFORE.queue_id,
        queueName: BEFORE.queue_name,
        billingCodeId: BEFORE.billing_code_id,
        billingCodeName: BEFORE.billing_code_name,
        ticketCategoryId: 3,
        ticketTypeId: 1,
        issueTypeId: 11,
        subIssueTypeId: 220,
        sourceId: -2,
        dueDateOffsetHours: 4,
        internalNotePublish: 4,
      },
      devices: { productId: 101, configurationItemTypeId: 5 },
    });
    const mapping = await k
      .selectFrom("mappings")
      .selectAll()
      .where("partner_id", "=", id)
      .executeTakeFirstOrThrow();
    expect(mapping.scope).toBeNull();

    // Through the portal, as the API and the engine read it: the same settings as before.
    const portal = new Portal(d, box, systemClock);
    // An Autotask partner's settings (the assertion below checks the system).
    const view = (await portal.getIntegration(SYSTEM_ACTOR, id)) as IntegrationViewOf<"autotask">;
    expect(view).toEqual({
      ticketing: {
        enabled: true,
        nocMayEnterTickets: true,
        system: "autotask",
        apiUrl: BEFORE.api_url,
        username: BEFORE.username,
        secret: "********",
        integrationCode: BEFORE.integration_code,
        queueId: BEFORE.queue_id,
        queueName: BEFORE.queue_name,
        billingCodeId: BEFORE.billing_code_id,
        billingCodeName: BEFORE.billing_code_name,
        ticketCategoryId: 3,
        ticketTypeId: 1,
        issueTypeId: 11,
        subIssueTypeId: 220,
        sourceId: -2,
        dueDateOffsetHours: 4,
        internalNotePublish: 4,
        // Time-entry defaults, added after this migration: not set.
        effortResourceId: null,
        effortRoleId: null,
        effortWorkTypeId: null,
        effortImpersonate: false,
      },
      devices: {
        enabled: true,
        productId: 101,
        configurationItemTypeId: 5,
        advanced: true,
        schedule: "0 3 1 * *",
      },
      updatedAt: now,
    });
    const forSync = await portal.integrationForSync(id);
    expect(forSync.secret).toBe("s3cr3t-Value-42");
    expect(forSync.timeZone).toBe("Asia/Kolkata");
    expect(
      (await portal.getMappings(SYSTEM_ACTOR, id, "status-reverse")).map((m) => [m.psaId, m.scope]),
    ).toEqual([[30, null]]);

    // A save that leaves the ticket defaults out keeps them; the onboarding does not start again.
    const { ticketing, devices } = view;
    const saved = await portal.putIntegration(SYSTEM_ACTOR, id, {
      ticketing: {
        enabled: ticketing.enabled,
        nocMayEnterTickets: ticketing.nocMayEnterTickets,
        apiUrl: ticketing.apiUrl,
        username: ticketing.username,
        integrationCode: ticketing.integrationCode,
        queueId: ticketing.queueId,
        queueName: "NOC queue",
        billingCodeId: ticketing.billingCodeId,
      },
      devices: {
        enabled: devices.enabled,
        productId: devices.productId,
        configurationItemTypeId: devices.configurationItemTypeId,
        advanced: devices.advanced,
      },
    });
    expect(saved.ticketing).toEqual({ ...view.ticketing, queueName: "NOC queue", billingCodeName: "" });
    expect(saved.devices).toEqual({ ...view.devices, schedule: "0 2 10,25 * *" });
    const after = await k
      .selectFrom("partner_integrations")
      .selectAll()
      .where("partner_id", "=", id)
      .executeTakeFirstOrThrow();
    expect(after.devices_onboarded_at).toBe(now);
  });

  it("gives a partner created after it empty Autotask settings", async () => {
    const d = await open(kind);
    await migrate(d);
    const portal = new Portal(d, new SecretBox(randomBytes(32)), systemClock);
    const p = await portal.createPartner(SYSTEM_ACTOR, { name: "After 0013" });
    const i = await portal.getIntegration(SYSTEM_ACTOR, p.id);
    expect(i.ticketing).toMatchObject({
      enabled: false,
      system: "autotask",
      apiUrl: "",
      username: "",
      secret: "",
      queueId: null,
      queueName: "",
      internalNotePublish: 2,
    });
    expect(i.devices).toMatchObject({ enabled: false, productId: null, configurationItemTypeId: null });
  });
});
