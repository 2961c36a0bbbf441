/**
 * Webhooks end to end through the core's wiring: a change made over the API reaches the webhook
 * engine, which delivers a signed callout (docs/autotask.md, Delivery payload; Signature); excluded resources
 * cause no callout; deactivating a webhook through the API calls its deactivationUrl (docs/autotask.md,
 * Retries and deactivation).
 */
import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/autotask/index.js";
import { type Credentials, newTicket, startTestEmulator, type TestEmulator } from "./helpers.js";

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
}

let t: TestEmulator;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, raw: Buffer.concat(chunks) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  t = await startTestEmulator({ webhooks: {} });
});

afterAll(async () => {
  await t.close();
  await new Promise((resolve) => receiver.close(resolve));
});

const SECRET = "a-secret-key-of-32-characters-ok";

async function fieldId(entity: string, name: string): Promise<number> {
  const fields = (await t.api("GET", `${entity}/entityInformation/fields`)).body.fields;
  const pick = fields.find((f: { name: string }) => f.name === "fieldID").picklistValues;
  // Labels are display names, not always the REST names (docs/emulator.md): compare case-insensitively.
  return Number(pick.find((v: { label: string }) => v.label.toLowerCase() === name.toLowerCase()).value);
}

describe("webhook delivery wiring", () => {
  it("delivers a signed callout for a technician's change, none for the integration's own", async () => {
    const hookId = (
      await t.api("POST", "TicketWebhooks", {
        name: "Ticket sync",
        webhookUrl: `${receiverUrl}/hook`,
        deactivationUrl: `${receiverUrl}/off`,
        secretKey: SECRET,
        isActive: true,
        isSubscribedToCreateEvents: true,
        isSubscribedToUpdateEvents: true,
      })
    ).body.itemId;
    await t.api("POST", `TicketWebhooks/${hookId}/Fields`, {
      fieldID: await fieldId("TicketWebhookFields", "status"),
      isSubscribedField: true,
    });
    await t.api("POST", `TicketWebhooks/${hookId}/Fields`, {
      fieldID: await fieldId("TicketWebhookFields", "ticketNumber"),
      isDisplayAlwaysField: true,
    });
    await t.api("POST", `TicketWebhooks/${hookId}/ExcludedResources`, { resourceID: DEMO_IDS.apiResource });
    const hook = (await t.api("GET", `TicketWebhooks/${hookId}`)).body.item;
    expect(hook.isReady).toBe(true);

    const ticketId = (await t.api("POST", "Tickets", newTicket())).body.itemId;
    await t.api("PATCH", "Tickets", { id: ticketId, status: 29 });
    const tech = (
      await t.admin("POST", `tenants/${t.emu.tenantId}/actAs`, { resourceId: DEMO_IDS.technicians[0] })
    ).body as Credentials;
    await t.api("PATCH", "Tickets", { id: ticketId, status: 30 }, { creds: tech });
    await t.admin("POST", "webhooks/flush");

    const hooks = received.filter((r) => r.path === "/hook");
    expect(hooks).toHaveLength(1);
    const [delivery] = hooks;
    const body = JSON.parse(delivery?.raw.toString("utf8") ?? "{}");
    const ticketNumber = (await t.api("GET", `Tickets/${ticketId}`)).body.item.ticketNumber;
    expect(body).toMatchObject({
      Action: "Update",
      Guid: hook.webhookGUID,
      EntityType: "Ticket",
      Id: ticketId,
      Fields: { status: 30, ticketNumber },
      PersonID: DEMO_IDS.technicians[0],
    });
    expect(body.SequenceNumber).toEqual(expect.any(Number));
    const expected = `sha1=${createHmac("sha1", SECRET)
      .update(delivery?.raw ?? Buffer.alloc(0))
      .digest("base64")}`;
    expect(delivery?.headers["x-hook-signature"]).toBe(expected);

    // Deactivating through the API calls the deactivationUrl.
    await t.api("PATCH", "TicketWebhooks", { id: hookId, isActive: false });
    await t.admin("POST", "webhooks/flush");
    const off = received.filter((r) => r.path === "/off");
    expect(off).toHaveLength(1);
    expect(JSON.parse(off[0]?.raw.toString("utf8") ?? "{}").Action).toBe("Deactivated");
  });
});
