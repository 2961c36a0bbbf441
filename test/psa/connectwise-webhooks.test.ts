/**
 * The ConnectWise WebhookPort against the emulator over HTTPS: one callback entry per partner,
 * registered and repaired idempotently, our own writes suppressed; deliveries verified by the
 * key_url scheme with the key fetched only from the configured site (and cached), parsed into
 * ticket events.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_IDS, signCallback } from "../../src/emulators/connectwise/index.js";
import type { PsaSession, WebhookStatus } from "../../src/psa/connector.js";
import { connectwiseConnector } from "../../src/psa/connectwise/connector.js";
import {
  type CwFixture,
  demoIntegration,
  openSession,
  silentLogger,
  startCwFixture,
} from "./connectwise-helpers.js";

interface Delivery {
  raw: Buffer;
  headers: Record<string, string | string[] | undefined>;
  url: string;
}

let f: CwFixture;
let receiver: Server;
let receiverUrl: string;
let deliveries: Delivery[] = [];

beforeAll(async () => {
  f = await startCwFixture();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      deliveries.push({ raw: Buffer.concat(chunks), headers: req.headers, url: req.url ?? "" });
      res.end("ok");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/connectwise/1`;
});
afterAll(async () => {
  await new Promise((r) => receiver?.close(r));
  await f?.close();
});

let s: PsaSession;
beforeEach(async () => {
  await f.admin("POST", "reset");
  deliveries = [];
  s = openSession(f).session;
});

const tenant = () => {
  const t = f.emu.store.tenant(f.emu.credentials.companyId);
  if (!t) throw new Error("no tenant");
  return t;
};

/** A ticket edit by the technician asmith (not our API member), then all callbacks delivered. */
async function technicianEdit(ticketId: number, summary: string): Promise<void> {
  const tech = await f.admin("POST", `tenants/${f.emu.credentials.companyId}/actAs`, { member: "asmith" });
  const { httpsCall } = await import("../emulator/connectwise-helpers.js");
  const { Agent } = await import("node:https");
  const agent = new Agent({ ca: f.emu.caPem });
  await httpsCall(
    agent,
    "PATCH",
    `${f.emu.baseUrl}/service/tickets/${ticketId}`,
    [{ op: "replace", path: "summary", value: summary }],
    {
      authorization: (tech.body as { authorization: string }).authorization,
      clientId: f.emu.credentials.clientId,
      "content-type": "application/json",
    },
  );
  agent.destroy();
  await f.emu.callbacks.flush();
}

async function ticket(): Promise<number> {
  return s.tickets.create({
    title: "Backup failed",
    description: "",
    status: DEMO_IDS.statuses.new,
    priority: DEMO_IDS.priorities.medium,
    assetId: null,
    companyId: DEMO_IDS.companies.acme,
    externalRef: "9",
  });
}

const status = (over: Partial<WebhookStatus> = {}): WebhookStatus => ({
  mode: "webhooks",
  reason: null,
  url: receiverUrl,
  webhooks: [],
  unsubscribedFields: [],
  pollIntervalMinutes: 5,
  checkedAt: null,
  ...over,
});

describe("ConnectWise callbacks", () => {
  it("registers one board-level ticket callback, suppressing our own writes, and repeating it changes nothing", async () => {
    const first = await s.webhooks.register({ partnerId: 1, url: receiverUrl, secret: "unused", known: [] });
    expect(first.failures).toEqual([]);
    expect(first.hooks).toHaveLength(1);
    const id = first.hooks[0]?.id as number;
    expect(tenant().get("callbacks", id)).toMatchObject({
      url: `${receiverUrl}?recordId=`,
      type: "ticket",
      level: "board",
      objectId: DEMO_IDS.nocBoard,
      isSelfSuppressedFlag: true,
      inactiveFlag: false,
    });
    f.emu.stats.reset();
    const again = await s.webhooks.register({
      partnerId: 1,
      url: receiverUrl,
      secret: "unused",
      known: first.hooks,
    });
    expect(again.hooks).toEqual(first.hooks);
    expect(tenant().rows("callbacks")).toHaveLength(1);
    expect(
      Object.keys(f.emu.stats.snapshot().byOperation).some(
        (k) => !k.startsWith("list") && !k.startsWith("get"),
      ),
    ).toBe(false);
  });

  it("repairs a callback ConnectWise turned off, deletes copies, and follows a new URL", async () => {
    const first = await s.webhooks.register({ partnerId: 1, url: receiverUrl, secret: "x", known: [] });
    const id = first.hooks[0]?.id as number;
    // A copy left by an earlier registration (found by its description).
    const copy = await f.client().create<{ id: number }>("system/callbacks", {
      description: "nocbridge tickets (partner 1)",
      url: `${receiverUrl}?recordId=`,
      objectId: 1,
      type: "ticket",
      level: "owner",
    });
    await f.client().patch(`system/callbacks/${id}`, [{ op: "replace", path: "inactiveFlag", value: true }]);
    const moved = receiverUrl.replace("/1", "/1?v=2");
    const out = await s.webhooks.register({ partnerId: 1, url: moved, secret: "x", known: first.hooks });
    expect(out.hooks).toEqual([{ entity: "Ticket", id }]);
    expect(tenant().get("callbacks", copy.id)).toBeUndefined();
    expect(tenant().get("callbacks", id)).toMatchObject({ inactiveFlag: false, url: `${moved}&recordId=` });
    expect(await s.webhooks.unregister(out.hooks)).toEqual([]);
    expect(tenant().rows("callbacks")).toHaveLength(0);
    expect(await s.webhooks.unregister(out.hooks)).toEqual([]);
  });

  it("verifies a technician's change delivered by ConnectWise and parses it into a ticket event; our own writes are not sent", async () => {
    await s.webhooks.register({ partnerId: 1, url: receiverUrl, secret: "x", known: [] });
    const id = await ticket();
    await f.emu.callbacks.flush();
    expect(deliveries).toHaveLength(0);
    await technicianEdit(id, "Backup failed twice");
    expect(deliveries).toHaveLength(1);
    const d = deliveries[0] as Delivery;
    expect(d.url).toBe(`/webhooks/connectwise/1?recordId=${id}`);
    expect(await s.webhooks.verify(d.raw, d.headers, ["x"])).toEqual({ ok: true });
    const parsed = s.webhooks.parse(JSON.parse(d.raw.toString("utf8")));
    expect(parsed).toEqual({
      kind: "events",
      events: [
        {
          dedupKey: expect.stringMatching(/^cw:[0-9a-f-]{36}$/),
          entityType: "Ticket",
          psaId: id,
          psaTicketId: id,
        },
      ],
    });
    // The key is fetched once and then cached.
    await technicianEdit(id, "Backup failed three times");
    f.emu.stats.reset();
    expect(await s.webhooks.verify(deliveries[1]!.raw, deliveries[1]!.headers, ["x"])).toEqual({ ok: true });
    expect(f.emu.stats.snapshot().requests).toBe(0);
  });

  it("refuses a changed body, a missing signature, and a key_url off the configured site without fetching it", async () => {
    await s.webhooks.register({ partnerId: 1, url: receiverUrl, secret: "x", known: [] });
    await technicianEdit(await ticket(), "edited");
    const d = deliveries[0] as Delivery;
    const tampered = Buffer.from(d.raw.toString("utf8").replace('"Action":"updated"', '"Action":"deleted"'));
    expect(await s.webhooks.verify(tampered, d.headers, ["x"])).toEqual({
      ok: false,
      error: "invalid x-content-signature",
    });
    expect(await s.webhooks.verify(d.raw, {}, ["x"])).toEqual({
      ok: false,
      error: "missing x-content-signature",
    });
    f.emu.stats.reset();
    for (const keyUrl of [
      "https://evil.example/v2025_1//system/callbackkey/index.rails?companyName=x&id=y",
      `${f.emu.url.replace("https://", "https://user:pw@")}/v2025_1//system/callbackkey/index.rails?id=1`,
      `${f.emu.url}/v2025_1/apis/3.0/service/tickets`,
      `${f.emu.url.replace("127.0.0.1", "localhost")}/v2025_1//system/callbackkey/index.rails`,
    ]) {
      const body = Buffer.from(
        JSON.stringify({ Type: "ticket", Action: "updated", ID: 1, Metadata: { key_url: keyUrl } }),
      );
      const forged = { "x-content-signature": signCallback(body.toString("utf8"), "attacker's key") };
      const r = await s.webhooks.verify(body, forged, ["x"]);
      expect(r.ok).toBe(false);
      expect(r.ok === false && r.error).toMatch(/signing key could not be read: .*key_url/);
    }
    expect(f.emu.stats.snapshot().requests).toBe(0);
  });

  it("verifies a delivery without a session, through the open connection of the site and company that signed it", async () => {
    const { session, connector } = openSession(f);
    await session.webhooks.register({ partnerId: 1, url: receiverUrl, secret: "x", known: [] });
    await technicianEdit(await ticket(), "seen without a session");
    const d = deliveries[0] as Delivery;
    const receiver = connector.webhooks;
    expect(await receiver.verify(d.raw, d.headers, ["x"])).toEqual({ ok: true });
    expect(receiver.parse(JSON.parse(d.raw.toString("utf8")))).toMatchObject({ kind: "events" });
    expect(receiver.urlProblem(undefined, false)).toMatch(/no public URL/);
    // A session opened with a wrong key (a check of other credentials) does not take the place of the good one.
    connector.open(demoIntegration(f.emu), "a wrong private key", {
      partnerId: 1,
      logger: silentLogger,
      clock: { now: () => new Date() },
    });
    expect(await receiver.verify(d.raw, d.headers, ["x"])).toEqual({ ok: true });
    const otherCompany = Buffer.from(
      d.raw.toString("utf8").replace(`"CompanyId":"${f.emu.credentials.companyId}"`, '"CompanyId":"other"'),
    );
    expect(await receiver.verify(otherCompany, d.headers, ["x"])).toMatchObject({ ok: false });
    // A connector that has opened no connection accepts nothing.
    const fresh = connectwiseConnector({ client: (credentials) => f.client({ credentials }) });
    const r = await fresh.webhooks.verify(d.raw, d.headers, ["x"]);
    expect(r).toEqual({
      ok: false,
      error: "no open ConnectWise connection serves the site and company this delivery names",
    });
  });

  it("fetches the key again after ConnectWise changes it", async () => {
    await s.webhooks.register({ partnerId: 1, url: receiverUrl, secret: "x", known: [] });
    const id = await ticket();
    await technicianEdit(id, "one");
    expect(await s.webhooks.verify(deliveries[0]!.raw, deliveries[0]!.headers, ["x"])).toEqual({ ok: true });
    await f.admin("POST", `tenants/${f.emu.credentials.companyId}/signingKey/rotate`);
    await technicianEdit(id, "two");
    expect(await s.webhooks.verify(deliveries[1]!.raw, deliveries[1]!.headers, ["x"])).toEqual({ ok: true });
  });

  it("parses deliveries, naming the field of an invalid one", () => {
    const base = {
      MessageId: "m-1",
      Type: "ticket",
      Action: "updated",
      ID: 17,
      Entity: '{"id":17,"_info":{"lastUpdated":"2026-01-05T10:00:00Z"}}',
    };
    expect(s.webhooks.parse({ ...base, Action: "deleted", Entity: null })).toMatchObject({
      kind: "events",
      events: [{ psaId: 17 }],
    });
    expect(s.webhooks.parse({ ...base, MessageId: undefined })).toMatchObject({
      events: [{ dedupKey: "cw:ticket:17:updated:2026-01-05T10:00:00Z" }],
    });
    expect(s.webhooks.parse({ ...base, Type: "configuration" })).toMatchObject({ kind: "ignored" });
    expect(s.webhooks.parse({ ...base, ID: "x" })).toMatchObject({ kind: "invalid", field: "ID" });
    expect(s.webhooks.parse({ ...base, ID: 0 })).toMatchObject({ kind: "invalid", field: "ID" });
    expect(s.webhooks.parse({ ...base, Type: undefined })).toMatchObject({ kind: "invalid", field: "Type" });
    expect(s.webhooks.parse({ ...base, Action: "merged" })).toMatchObject({
      kind: "invalid",
      field: "Action",
    });
    expect(s.webhooks.parse({ ...base, Entity: "{not json" })).toMatchObject({
      kind: "invalid",
      field: "Entity",
    });
  });

  it("says when ConnectWise cannot deliver, and when a registered callback was turned off", async () => {
    expect(s.webhooks.urlProblem(undefined, false)).toMatch(/no public URL/);
    expect(s.webhooks.urlProblem("http://nocbridge.example", false)).toMatch(/not https/);
    expect(s.webhooks.urlProblem("http://127.0.0.1:3000", true)).toBeNull();
    expect(s.webhooks.urlProblem("https://nocbridge.example:8443", false)).toBeNull();
    const out = await s.webhooks.register({ partnerId: 1, url: receiverUrl, secret: "x", known: [] });
    const hooks = out.hooks.map((h) => ({ entity: h.entity, psaWebhookId: h.id }));
    const good = await s.webhooks.checks(status({ webhooks: hooks }), null);
    expect(good.every((c) => c.ok)).toBe(true);
    await f
      .client()
      .patch(`system/callbacks/${out.hooks[0]?.id}`, [{ op: "replace", path: "inactiveFlag", value: true }]);
    const bad = await s.webhooks.checks(status({ webhooks: hooks }), "there is no public URL");
    expect(bad.filter((c) => !c.ok).map((c) => c.name)).toEqual(["webhooks:url", "webhooks:registration"]);
  });
});
