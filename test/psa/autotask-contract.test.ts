/**
 * The Autotask connector against the connector contract, over HTTP against the Autotask emulator:
 * the demo tenant (src/emulators/autotask/seed.ts), the partner's ticket defaults that its default
 * ticket category requires, a technician's credentials for changes made "in Autotask", and the
 * emulator's fault knobs for a create whose answer is lost after it was applied.
 */
import { createHmac } from "node:crypto";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { systemClock } from "../../src/lib/clock.js";
import { createLogger } from "../../src/lib/logger.js";
import { autotaskConnector } from "../../src/psa/autotask/connector.js";
import type { IntegrationSettings, WebhookRef } from "../../src/psa/connector.js";
import { demoTicketing, fastClient, startTestEmulator, tenant } from "../helpers/autotask.js";
import { connectorContract } from "./contract.js";

/** Autotask's signature: `X-Hook-Signature: sha1=<base64 HMAC-SHA1(secret, body)>` (docs/autotask.md, Signature). */
const sign = (raw: Buffer, secret: string) => ({
  "X-Hook-Signature": `sha1=${createHmac("sha1", secret).update(raw).digest("base64")}`,
});

let sequence = 0;
/** A delivery as Autotask sends it (docs/autotask.md, Delivery payload). */
const delivery = (entityType: string, id: unknown, fields: Record<string, unknown> = {}) => ({
  Action: "Update",
  Guid: "6f1c2a9e-3b7d-4c55-9e21-0d4b8a7f1c33",
  EntityType: entityType,
  Id: id,
  Fields: fields,
  EventTime: "2026-11-28T10:00:00.000Z",
  SequenceNumber: ++sequence,
  PersonID: DEMO_IDS.technicians[0],
});

connectorContract("autotask", async () => {
  // No webhook delivery: the contract registers at a URL nobody listens on.
  const at = await startTestEmulator({ webhooks: false });
  const partnerId = 1;
  const { secret, ...ticketing } = demoTicketing(at.emu.baseUrl);
  const settings = (advanced: boolean): IntegrationSettings => ({
    ticketing: { system: "autotask", ...ticketing, internalNotePublish: 2 },
    devices: {
      enabled: true,
      advanced,
      productId: DEMO_IDS.product,
      configurationItemTypeId: DEMO_IDS.ciType,
    },
  });
  // The demo tenant has no configuration items: one for the company "with assets".
  await at.api("POST", "ConfigurationItems", {
    companyID: DEMO_IDS.companies.AT1,
    productID: DEMO_IDS.product,
    configurationItemType: DEMO_IDS.ciType,
    referenceTitle: "at1-fw01",
    serialNumber: "SEED-FW01",
    isActive: true,
  });
  // Changes "in Autotask" are a technician's, not the integration's own API user's.
  const tech = await at.admin<{ username: string; secret: string; integrationCode: string }>(
    "POST",
    tenant("/actAs"),
    { resourceId: DEMO_IDS.technicians[0] },
  );
  const url = `http://127.0.0.1:9/webhooks/autotask/${partnerId}`;
  const noFaults = { share500AfterApply: 0, onlyWrites: false, onlyMethods: null, onlyEntities: null };
  return {
    connector: autotaskConnector({ client: (creds) => fastClient(creds) }),
    settings: settings(false),
    advancedSettings: settings(true),
    secret,
    ctx: { partnerId, logger: createLogger("silent"), clock: systemClock },
    ids: {
      companyWithAssets: DEMO_IDS.companies.AT1,
      companyWithoutAssets: DEMO_IDS.companies.AT2,
      missingCompany: 99_999_001,
      status: 1, // New
      otherStatus: 8, // In Progress
      priority: 2, // Medium
      otherPriority: 1, // High
      missingTicket: 99_999_002,
      missingNote: 99_999_003,
      missingAsset: 99_999_004,
    },
    psa: {
      addNote: async (ticketId, text, published) => {
        const r = await at.api<{ itemId: number }>(
          "POST",
          `Tickets/${ticketId}/Notes`,
          {
            ticketID: ticketId,
            title: "Technician note",
            description: text,
            noteType: 1,
            publish: published ? 1 : 2,
          },
          tech,
        );
        return r.itemId;
      },
      moveOutOfQueue: async (ticketId) => {
        await at.api("PATCH", "Tickets", { id: ticketId, queueID: 8 }, tech); // Level I Support
      },
      loseNextCreate: async (kind) => {
        const lost = async () =>
          (await at.admin<{ afterApply: { error500: number } }>("GET", "/stats")).afterApply.error500;
        const before = await lost();
        // Every create on the entity is applied, then answered 500: the first one's outcome is unknown.
        await at.admin("PUT", "/faults", {
          share500AfterApply: 1,
          onlyWrites: true,
          onlyMethods: ["POST"],
          onlyEntities: [kind === "asset" ? "ConfigurationItems" : "Tickets"],
        });
        return async () => {
          await at.admin("PUT", "/faults", noFaults);
          if ((await lost()) === before) throw new Error(`no ${kind} create lost its answer`);
        };
      },
    },
    deliveries: {
      url,
      sign,
      ticketEvent: (id) => delivery("Ticket", id, { status: 8 }),
      noteEvent: (noteId, ticketId) => delivery("TicketNote", noteId, { ticketID: ticketId }),
      invalid: [
        { body: delivery("Contract", 5), field: "EntityType" },
        { body: delivery("Ticket", "five"), field: "Id" },
        { body: delivery("TicketNote", 6, { ticketID: "x" }), field: "Fields.ticketID" },
      ],
      subscriptions: async () => {
        const out: WebhookRef[] = [];
        for (const [root, entity] of [
          ["TicketWebhooks", "Ticket"],
          ["TicketNoteWebhooks", "TicketNote"],
        ] as const) {
          const r = await at.api<{ items: Array<{ id: number }> }>("POST", `${root}/query`, {
            filter: [{ op: "eq", field: "webhookUrl", value: url }],
          });
          out.push(...r.items.map((i) => ({ entity, id: i.id })));
        }
        return out;
      },
    },
    teardown: () => at.close(),
  };
});
