import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import {
  DEFAULT_CREDENTIALS,
  demoTicketing,
  fastClient,
  startTestEmulator,
  type TestEmulator,
} from "../helpers/autotask.js";
import { openTestServices, STORES, type TestEnv, testApp } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

/** While `hide.label` is set, the TicketWebhookFields `fieldID` picklist arrives without that label. */
const hide = { label: "" };
function hidingAField(creds: Parameters<typeof fastClient>[0]): ReturnType<typeof fastClient> {
  const api = fastClient(creds);
  const fieldInfo = api.fieldInfo.bind(api);
  api.fieldInfo = async (entity) => {
    const fields = await fieldInfo(entity);
    if (!hide.label || entity !== "TicketWebhookFields") return fields;
    return fields.map((f) =>
      f.name === "fieldID"
        ? { ...f, picklistValues: (f.picklistValues ?? []).filter((v) => v.label !== hide.label) }
        : f,
    );
  };
  return api;
}

interface State {
  mode: string;
  reason: string | null;
  url: string | null;
  webhooks: Array<{ entity: string; psaWebhookId: number }>;
  unsubscribedFields: string[];
  pollIntervalMinutes: number;
}
interface Hook {
  id: number;
  name: string;
  webhookUrl: string;
  isActive: boolean;
}

const USER = `/api-users/${encodeURIComponent(DEFAULT_CREDENTIALS.username)}`;

const noDevices = {
  enabled: false,
  productId: null,
  configurationItemTypeId: null,
  advanced: false,
  schedule: null,
};

/** Both services of a file share one emulator; each test file has its own. */
async function listening(env: TestEnv): Promise<{ app: App; base: string }> {
  const app = await testApp(env);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  env.services.setListeningUrl(base);
  return { app, base };
}

describe.each(STORES)("webhook registration against the Autotask emulator on %s", (kind) => {
  let at: TestEmulator;
  let env: TestEnv;
  let app: App;
  let base = "";
  let token = "";

  const portal = () => env.services.portal;
  const save = async (partnerId: number) => {
    await portal().putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl),
      devices: noDevices,
    });
    await env.services.sync.ticketSetup(partnerId);
  };
  const state = async (partnerId: number, a = app, t = token): Promise<State> => {
    const res = await a.inject({
      method: "GET",
      url: `/api/partners/${partnerId}/webhooks`,
      headers: { authorization: `Bearer ${t}` },
    });
    expect(res.statusCode).toBe(200);
    return res.json();
  };
  const validate = async (partnerId: number, a = app, t = token) =>
    (
      await a.inject({
        method: "POST",
        url: `/api/partners/${partnerId}/validate`,
        headers: { authorization: `Bearer ${t}` },
      })
    ).json() as { ok: boolean; checks: Array<{ name: string; ok: boolean; message: string; fix?: string }> };
  const hooks = async (root: "TicketWebhooks" | "TicketNoteWebhooks"): Promise<Hook[]> =>
    (
      await at.api<{ items: Hook[] }>("POST", `${root}/query`, {
        filter: [{ op: "gte", field: "id", value: 0 }],
      })
    ).items;
  const hooksOf = async (root: "TicketWebhooks" | "TicketNoteWebhooks", partnerId: number) =>
    (await hooks(root)).filter((h) => h.webhookUrl.endsWith(`/webhooks/autotask/${partnerId}`));
  const newPartner = async (name: string) => {
    const p = await portal().createPartner(SYSTEM_ACTOR, { name });
    const c = await portal().createClient(SYSTEM_ACTOR, p.id, {
      code: "AT1",
      name: "Acme",
      psaCompanyId: DEMO_IDS.companies.AT1,
    });
    return { partnerId: p.id, clientId: c.id };
  };

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, {
      autotask: hidingAField,
      psaOrigins: [at.emu.url],
      ticketRetry: { maxAttempts: 3, baseMs: 10 },
    });
    ({ app, base } = await listening(env));
    token = (await portal().createUser(SYSTEM_ACTOR, { name: "NOC", role: "noc-admin" })).token;
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
    await at?.close();
  });

  let first = 0;

  it("without the webhook permission: polling only, said in the API and Validate, open tickets still pushed, nothing orphaned after five saves", async () => {
    await at.admin("PUT", USER, { canCreateWebhooks: false, maxWebhooks: 0 });
    const { partnerId, clientId } = await newPartner("No-permission VAR");
    first = partnerId;
    const open = await portal().createTicket(SYSTEM_ACTOR, partnerId, {
      clientId,
      title: "Open before ticketing",
      description: "must go across",
      statusId: 1,
      priorityId: 9,
    });
    await save(partnerId);

    const s = await state(partnerId);
    expect(s.mode).toBe("polling");
    expect(s.reason).toMatch(/permission to create webhooks/);
    expect(s.pollIntervalMinutes).toBe(5);
    expect(s.webhooks).toEqual([]);

    // The first push of open tickets does not depend on the webhooks.
    await env.services.sync.tickets.notify(partnerId);
    const link = await until(
      async () => (await env.services.sync.tickets.view(open.id)).ticketId,
      "the open ticket in Autotask",
    );
    expect(link).toBeGreaterThan(0);

    const v = await validate(partnerId);
    const perm = v.checks.find((c) => c.name === "webhooks:permission");
    expect(perm).toMatchObject({ ok: false });
    expect(perm?.fix).toMatch(/Security Levels .*Can create WebHooks.*maximum/);
    expect(v.checks.find((c) => c.name === "webhooks:registration")?.message).toMatch(
      /^Polling only, every 5 minutes, because /,
    );

    const outbox = async () =>
      (
        await env.services.db.kysely
          .selectFrom("ticket_outbox")
          .select("id")
          .where("ticket_id", "=", open.id)
          .execute()
      ).length;
    const pushes = await outbox();
    for (let i = 0; i < 5; i++) await save(partnerId);
    expect(await hooksOf("TicketWebhooks", partnerId)).toHaveLength(0);
    expect(await hooksOf("TicketNoteWebhooks", partnerId)).toHaveLength(0);
    // Pushed once, not once per save.
    expect(await outbox()).toBe(pushes);
  });

  it("the permission granted later: the next save registers, and five more saves keep one webhook per entity", async () => {
    await at.admin("PUT", USER, { canCreateWebhooks: true, maxWebhooks: 10 });
    await save(first);
    const s = await state(first);
    expect(s).toMatchObject({ mode: "webhooks", reason: null, url: `${base}/webhooks/autotask/${first}` });
    expect(s.webhooks.map((w) => w.entity)).toEqual(["Ticket", "TicketNote"]);
    expect((await validate(first)).checks.filter((c) => c.name.startsWith("webhooks:"))).toEqual([
      expect.objectContaining({ name: "webhooks:permission", ok: true }),
      expect.objectContaining({ name: "webhooks:registration", ok: true }),
    ]);

    for (let i = 0; i < 5; i++) await save(first);
    const t = await hooksOf("TicketWebhooks", first);
    const n = await hooksOf("TicketNoteWebhooks", first);
    expect(t).toHaveLength(1);
    expect(n).toHaveLength(1);
    expect((await state(first)).webhooks).toEqual(s.webhooks);
    const fields = await at.api<{ items: unknown[] }>("GET", `TicketWebhooks/${t[0]!.id}/Fields`);
    expect(fields.items).toHaveLength(6);
  });

  it("finds its webhook in Autotask when its own record is lost, and repairs it (URL, active, missing field) instead of duplicating", async () => {
    const [before] = await hooksOf("TicketWebhooks", first);
    const id = before!.id;
    // Someone deactivated it and pointed it elsewhere, and removed one subscribed field…
    await at.api("PATCH", "TicketWebhooks", {
      id,
      isActive: false,
      webhookUrl: "https://old.example.com/webhooks/autotask",
    });
    const fields = await at.api<{ items: Array<{ id: number }> }>("GET", `TicketWebhooks/${id}/Fields`);
    await at.api("DELETE", `TicketWebhooks/${id}/Fields/${fields.items[0]!.id}`);
    // …and nocbridge lost its record of it.
    await env.services.db.kysely.deleteFrom("psa_webhooks").where("partner_id", "=", first).execute();

    await save(first);
    const all = (await hooks("TicketWebhooks")).filter(
      (h) => h.name === `nocbridge tickets (partner ${first})`,
    );
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ id, isActive: true, webhookUrl: `${base}/webhooks/autotask/${first}` });
    expect((await at.api<{ items: unknown[] }>("GET", `TicketWebhooks/${id}/Fields`)).items).toHaveLength(6);
    expect((await state(first)).webhooks.find((w) => w.entity === "Ticket")?.psaWebhookId).toBe(id);
    // Deliveries still verify: the repaired webhook carries the secret on record.
    const tech = await at.admin<{ username: string; secret: string; integrationCode: string }>(
      "POST",
      `/tenants/${at.emu.tenantId}/actAs`,
      { resourceId: DEMO_IDS.technicians[0] },
    );
    const created = await at.api<{ itemId: number }>(
      "POST",
      "Tickets",
      {
        title: "From a technician",
        status: 1,
        priority: 2,
        queueID: DEMO_IDS.nocQueue,
        companyID: DEMO_IDS.companies.AT1,
        issueType: DEMO_IDS.issueType,
        subIssueType: DEMO_IDS.subIssueType,
      },
      tech,
    );
    await at.admin("POST", "/webhooks/flush");
    await until(
      async () =>
        (await env.services.db.kysely
          .selectFrom("ticket_inbox")
          .select("id")
          .where("partner_id", "=", first)
          .where("source", "=", "webhook")
          .where("psa_id", "=", created.itemId)
          .executeTakeFirst()) ?? null,
      "the webhook delivery in the inbox",
    );
  });

  it("the maximum reached: polling only, and the reason names the maximum", async () => {
    await at.admin("PUT", USER, { canCreateWebhooks: true, maxWebhooks: 2 });
    const { partnerId } = await newPartner("Over-the-limit VAR");
    await save(partnerId);
    const s = await state(partnerId);
    expect(s.mode).toBe("polling");
    expect(s.reason).toMatch(/maximum number of webhooks \(2\)/);
    expect(await hooksOf("TicketWebhooks", partnerId)).toHaveLength(0);
    await at.admin("PUT", USER, { canCreateWebhooks: true, maxWebhooks: 10 });
  });

  it("subscribes fields whose labels differ from the REST names, and reports a field Autotask does not offer without giving up", async () => {
    const { partnerId } = await newPartner("Field VAR");
    hide.label = "Priority";
    try {
      await save(partnerId);
    } finally {
      hide.label = "";
    }
    const s = await state(partnerId);
    expect(s.mode).toBe("webhooks");
    expect(s.unsubscribedFields).toEqual(["Ticket.priority: Autotask offers no webhook field by that name"]);
    const [hook] = await hooksOf("TicketWebhooks", partnerId);
    const info = await at.api<{
      fields: Array<{ name: string; picklistValues: Array<{ value: string; label: string }> }>;
    }>("GET", "TicketWebhookFields/entityInformation/fields");
    const label = new Map(
      info.fields.find((f) => f.name === "fieldID")!.picklistValues.map((v) => [Number(v.value), v.label]),
    );
    const subscribed = (
      await at.api<{ items: Array<{ fieldID: number }> }>("GET", `TicketWebhooks/${hook!.id}/Fields`)
    ).items.map((f) => label.get(f.fieldID));
    expect(subscribed.sort()).toEqual(["Configuration Item", "Description", "Queue", "Status", "Title"]);
    const v = await validate(partnerId);
    expect(v.checks.find((c) => c.name === "webhooks:fields")?.message).toMatch(/Ticket\.priority/);
  });

  it("switching ticketing off removes the webhooks; on again registers them again", async () => {
    await portal().putIntegration(SYSTEM_ACTOR, first, {
      ticketing: { ...demoTicketing(at.emu.baseUrl), enabled: false },
      devices: noDevices,
    });
    await env.services.sync.ticketSetup(first);
    expect((await state(first)).mode).toBe("off");
    expect(await hooksOf("TicketWebhooks", first)).toHaveLength(0);
    await save(first);
    expect((await state(first)).mode).toBe("webhooks");
    expect(await hooksOf("TicketWebhooks", first)).toHaveLength(1);
  });

  describe("a public URL that is not https on port 443", () => {
    let strict: TestEnv;
    let strictApp: App;
    let strictToken = "";

    beforeAll(async () => {
      strict = await openTestServices(kind, {
        autotask: fastClient,
        allowHttpWebhooks: false,
        psaOrigins: [at.emu.url],
      });
      ({ app: strictApp } = await listening(strict));
      strictToken = (
        await strict.services.portal.createUser(SYSTEM_ACTOR, { name: "NOC", role: "noc-admin" })
      ).token;
    });
    afterAll(async () => {
      await strictApp?.close();
      await strict?.close();
    });

    it("registers no webhook without NOCBRIDGE_ALLOW_HTTP_WEBHOOKS=1, and says so in the API and Validate", async () => {
      const p = await strict.services.portal.createPartner(SYSTEM_ACTOR, { name: "Plain-http VAR" });
      const before = (await at.stats()) as unknown as { byOperation: Record<string, number> };
      await strict.services.portal.putIntegration(SYSTEM_ACTOR, p.id, {
        ticketing: demoTicketing(at.emu.baseUrl),
        devices: noDevices,
      });
      await strict.services.sync.ticketSetup(p.id);
      const s = await state(p.id, strictApp, strictToken);
      expect(s.mode).toBe("polling");
      expect(s.reason).toMatch(/is not https on port 443.*NOCBRIDGE_ALLOW_HTTP_WEBHOOKS=1/);
      const after = (await at.stats()) as unknown as { byOperation: Record<string, number> };
      expect(after.byOperation["create TicketWebhooks"] ?? 0).toBe(
        before.byOperation["create TicketWebhooks"] ?? 0,
      );
      const v = await validate(p.id, strictApp, strictToken);
      expect(v.checks.find((c) => c.name === "webhooks:url")).toMatchObject({ ok: false });
      expect(v.ok).toBe(false);
    });

    it("the emulator itself refuses a webhook URL that is not https on port 443 unless its allow-http knob is on", async () => {
      await at.admin("PUT", "/webhook-policy", { allowHttp: false });
      try {
        const body = (webhookUrl: string) => ({
          name: "probe",
          webhookUrl,
          deactivationUrl: "https://receiver.example.com/off",
          isActive: true,
        });
        for (const url of ["http://receiver.example.com/hook", "https://receiver.example.com:8443/hook"])
          await expect(at.api("POST", "TicketWebhooks", body(url))).rejects.toThrow(/→ 500 .*port 443/);
        const ok = await at.api<{ itemId: number }>(
          "POST",
          "TicketWebhooks",
          body("https://receiver.example.com/hook"),
        );
        await at.api("DELETE", `TicketWebhooks/${ok.itemId}`);
      } finally {
        await at.admin("PUT", "/webhook-policy", { allowHttp: true });
      }
    });
  });
});
