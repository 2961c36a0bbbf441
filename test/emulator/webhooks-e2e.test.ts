/**
 * End to end through the emulator's HTTP API: register a TicketWebhook with a subscribed field and an
 * excluded resource (docs/autotask.md, Registration), change a ticket, and receive a delivery signed over its
 * exact bytes (docs/autotask.md, Delivery payload; Signature) on a real local receiver.
 */
import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEMO_IDS,
  type RunningAutotaskEmulator,
  startAutotaskEmulator,
  verifyHookSignature,
  type WebhookPayload,
} from "../../src/emulators/autotask/index.js";

const SECRET_KEY = "e2e-secret-key-0123456789";

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let emulator: RunningAutotaskEmulator;
let receiverUrl = "";
const hits: Hit[] = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    hits.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) });
    res.end("ok");
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  emulator = await startAutotaskEmulator({ seed: "demo", timeScale: 0.001, allowHttpWebhooks: true });
});

afterAll(async () => {
  await emulator?.close();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

async function api(
  method: string,
  path: string,
  body?: unknown,
  extra: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const init: RequestInit = {
    method,
    headers: {
      ApiIntegrationCode: emulator.credentials.integrationCode,
      UserName: emulator.credentials.username,
      Secret: emulator.credentials.secret,
      "Content-Type": "application/json",
      ...extra,
    },
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${emulator.baseUrl}V1.0/${path}`, init);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/**
 * The webhook field id of a ticket field, from the `fieldID` picklist (docs/autotask.md, Registration step
 * 2).
 */
async function webhookFieldId(name: string): Promise<number> {
  const { json } = await api("GET", "TicketWebhookFields/entityInformation/fields");
  const fields = json["fields"] as { name: string; picklistValues?: { value: string; label: string }[] }[];
  const picklist = fields.find((f) => f.name.toLowerCase() === "fieldid")?.picklistValues ?? [];
  const entry = picklist.find((p) => p.label.toLowerCase() === name.toLowerCase());
  if (!entry) throw new Error(`no webhook field id for ${name}`);
  return Number(entry.value);
}

describe("webhooks end to end (docs/autotask.md, Webhooks)", () => {
  it("delivers a signed callout for a ticket change by a non-excluded resource", async () => {
    const created = await api("POST", "TicketWebhooks", {
      IsActive: true,
      DeactivationUrl: `${receiverUrl}/deactivated`,
      IsSubscribedToCreateEvents: true,
      IsSubscribedToUpdateEvents: true,
      IsSubscribedToDeleteEvents: false,
      Name: "Ticket Sync",
      SecretKey: SECRET_KEY,
      SendThresholdExceededNotification: false,
      WebhookUrl: `${receiverUrl}/hook`,
      NotificationEmailAddress: "api-user@example.com",
    });
    expect(created.status).toBe(200);
    const webhookId = created.json["itemId"] as number;

    const statusField = await webhookFieldId("status");
    const numberField = await webhookFieldId("ticketNumber");
    for (const [fieldID, sub, always] of [
      [statusField, true, false],
      [numberField, false, true],
    ] as const) {
      const r = await api("POST", `TicketWebhooks/${webhookId}/Fields`, {
        webhookID: webhookId,
        fieldID,
        isSubscribedField: sub,
        isDisplayAlwaysField: always,
      });
      expect(r.status).toBe(200);
    }
    const excluded = await api("POST", `TicketWebhooks/${webhookId}/ExcludedResources`, {
      webhookID: webhookId,
      resourceID: DEMO_IDS.apiResource,
    });
    expect(excluded.status).toBe(200);

    const hook = (await api("GET", `TicketWebhooks/${webhookId}`)).json["item"] as Record<string, unknown>;
    expect(hook["isActive"]).toBe(true);
    expect(hook["isReady"]).toBe(true);
    const guid = hook["webhookGUID"];
    expect(typeof guid).toBe("string");

    // The API user's own create and update are excluded: no callout.
    const createdTicket = await api("POST", "Tickets", {
      title: "Disk full on NOC device",
      status: 1,
      priority: 2,
      companyID: DEMO_IDS.companies.AT1,
      queueID: DEMO_IDS.nocQueue,
      issueType: DEMO_IDS.issueType,
      subIssueType: DEMO_IDS.subIssueType,
    });
    expect(createdTicket.status).toBe(200);
    const ticketId = createdTicket.json["itemId"] as number;
    expect((await api("PATCH", "Tickets", { id: ticketId, status: 8 })).status).toBe(200);
    const ticket = (await api("GET", `Tickets/${ticketId}`)).json["item"] as Record<string, unknown>;
    const newStatus = 5;
    // An unsubscribed field changed by a technician: no callout either.
    const tech = { ImpersonationResourceId: String(DEMO_IDS.technicians[0]) };
    expect((await api("PATCH", "Tickets", { id: ticketId, priority: 4 }, tech)).status).toBe(200);
    await emulator.behaviours.webhooks?.flush();
    expect(hits).toHaveLength(0);

    // A technician changes the subscribed status: one signed delivery.
    expect((await api("PATCH", "Tickets", { id: ticketId, status: newStatus }, tech)).status).toBe(200);
    await emulator.behaviours.webhooks?.flush();

    expect(hits).toHaveLength(1);
    const hit = hits[0] as Hit;
    expect(hit.path).toBe("/hook");
    expect(hit.headers["content-type"]).toBe("application/json");
    const signature = hit.headers["x-hook-signature"];
    expect(signature).toBe(`sha1=${createHmac("sha1", SECRET_KEY).update(hit.body).digest("base64")}`);
    expect(verifyHookSignature(SECRET_KEY, hit.body, signature)).toBe(true);
    expect(verifyHookSignature("wrong-secret-key", hit.body, signature)).toBe(false);

    const payload = JSON.parse(hit.body.toString("utf8")) as WebhookPayload;
    expect(payload).toMatchObject({
      Action: "Update",
      Guid: guid,
      EntityType: "Ticket",
      Id: ticketId,
      Fields: { status: newStatus, ticketNumber: ticket["ticketNumber"] },
      SequenceNumber: 1,
      PersonID: DEMO_IDS.technicians[0],
    });
    expect(Object.keys(payload.Fields).sort()).toEqual(["status", "ticketNumber"]);
    expect(Number.isNaN(Date.parse(payload.EventTime))).toBe(false);
  });
});
