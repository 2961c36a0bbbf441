/**
 * The ConnectWise connector against the connector contract, over HTTPS against the ConnectWise
 * emulator: the demo tenant (src/emulators/connectwise/seed.ts) with one configuration for the
 * company "with assets", a technician's key pair for changes made "in ConnectWise", the emulator's
 * fault knobs for a create whose answer is lost after it was applied, and deliveries signed the way
 * ConnectWise signs callbacks (the tenant's key behind key_url; docs/connectwise.md, Callbacks).
 */
import { Agent } from "node:https";
import { DEMO_IDS, signCallback } from "../../src/emulators/connectwise/index.js";
import { systemClock } from "../../src/lib/clock.js";
import type { WebhookRef } from "../../src/psa/connector.js";
import { connectwiseConnector } from "../../src/psa/connectwise/connector.js";
import { httpsCall } from "../emulator/connectwise-helpers.js";
import { demoIntegration, silentLogger, startCwFixture } from "./connectwise-helpers.js";
import { connectorContract } from "./contract.js";

connectorContract("connectwise", async () => {
  const f = await startCwFixture({ callbacks: false });
  const c = f.emu.credentials;
  const tenant = f.emu.store.tenant(c.companyId);
  if (!tenant) throw new Error("no tenant");
  const agent = new Agent({ ca: f.emu.caPem });
  // The demo tenant has no configurations: one for the company "with assets".
  await f.client().create("company/configurations", {
    name: "acme-fw01",
    type: { id: DEMO_IDS.configurationTypes.network },
    company: { id: DEMO_IDS.companies.acme },
    serialNumber: "SEED-FW01",
  });
  // Changes "in ConnectWise" are a technician's, not the integration's own API member's.
  const tech = (await f.admin("POST", `tenants/${c.companyId}/actAs`, { member: "asmith" })).body as {
    authorization: string;
  };
  const asTech = async (method: string, path: string, body: unknown) => {
    const r = await httpsCall(agent, method, `${f.emu.baseUrl}/${path}`, body, {
      authorization: tech.authorization,
      clientId: c.clientId,
      "content-type": "application/json",
    });
    if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}`);
    return r.body as { id: number };
  };
  const url = "https://nocbridge.example/webhooks/connectwise/1";
  let sequence = 0;
  /** A callback body as ConnectWise sends it (docs/connectwise.md, Callbacks). */
  const callback = (type: string, id: unknown, over: Record<string, unknown> = {}) => ({
    MessageId: `00000000-0000-4000-8000-${String(++sequence).padStart(12, "0")}`,
    FromUrl: new URL(f.emu.url).host,
    CompanyId: c.companyId,
    MemberId: "asmith",
    Action: "updated",
    Type: type,
    ID: id,
    Entity: JSON.stringify({ id, _info: { lastUpdated: "2026-11-28T10:00:00Z" } }),
    Metadata: { key_url: f.emu.callbacks.keyUrl(tenant) },
    CallbackObjectRecId: 1,
    ...over,
  });
  const integration = (advanced: boolean) => demoIntegration(f.emu, advanced);
  return {
    connector: connectwiseConnector({ client: (credentials) => f.client({ credentials }) }),
    settings: integration(false),
    advancedSettings: integration(true),
    secret: c.privateKey,
    ctx: { partnerId: 1, logger: silentLogger, clock: systemClock },
    ids: {
      companyWithAssets: DEMO_IDS.companies.acme,
      companyWithoutAssets: DEMO_IDS.companies.birch,
      missingCompany: 99_001,
      status: DEMO_IDS.statuses.new,
      otherStatus: DEMO_IDS.statuses.inProgress,
      priority: DEMO_IDS.priorities.medium,
      otherPriority: DEMO_IDS.priorities.high,
      missingTicket: 99_002,
      missingNote: 99_003,
      missingAsset: 99_004,
    },
    psa: {
      addNote: async (ticketId, text, published) =>
        (
          await asTech("POST", `service/tickets/${ticketId}/notes`, {
            text,
            ...(published ? { detailDescriptionFlag: true } : { internalAnalysisFlag: true }),
          })
        ).id,
      moveOutOfQueue: async (ticketId) => {
        await asTech("PATCH", `service/tickets/${ticketId}`, [
          { op: "replace", path: "board", value: { id: 2 } }, // Help Desk
          { op: "replace", path: "status", value: { id: 6 } }, // its New
          { op: "remove", path: "type" },
          { op: "remove", path: "subType" },
        ]);
      },
      loseNextCreate: async () => {
        // Every write is applied, then answered 500: the create's outcome is unknown to the caller.
        const before = f.emu.stats.snapshot().afterApply.error500;
        f.emu.faults.configure({ share500AfterApply: 1, onlyWrites: true });
        return async () => {
          f.emu.faults.configure({ share500AfterApply: 0, onlyWrites: false });
          if (f.emu.stats.snapshot().afterApply.error500 === before)
            throw new Error("no create's answer was lost: the emulator faulted no write");
        };
      },
    },
    deliveries: {
      url,
      ownSigningKey: true,
      notesAsTicketEvents: true,
      // ConnectWise signs with the tenant's own key (behind key_url), whatever secret we hold.
      sign: (raw) => ({ "x-content-signature": signCallback(raw.toString("utf8"), tenant.signingKey) }),
      ticketEvent: (id) => callback("ticket", id),
      // A note write reaches us as an update of its ticket: ConnectWise has no note callbacks.
      noteEvent: (_noteId, ticketId) => callback("ticket", ticketId),
      invalid: [
        { body: callback("ticket", "five"), field: "ID" },
        { body: callback("ticket", 0), field: "ID" },
        { body: callback("", 5), field: "Type" },
        { body: callback("ticket", 5, { Action: "merged" }), field: "Action" },
      ],
      subscriptions: async () =>
        tenant
          .rows("callbacks")
          .filter((e) => String(e["url"]).startsWith(url))
          .map((e): WebhookRef => ({ entity: "Ticket", id: e.id })),
    },
    teardown: async () => {
      agent.destroy();
      await f.close();
    },
  };
});
