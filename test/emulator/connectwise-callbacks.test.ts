import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type CwTest, startCw } from "./connectwise-helpers.js";

interface Received {
  url: string;
  headers: IncomingMessage["headers"];
  raw: string;
  // biome-ignore lint/suspicious/noExplicitAny: payloads are inspected field by field
  body: any;
}

let cw: CwTest;
let receiver: Server;
let recvUrl: string;
let received: Received[] = [];
/** Statuses the receiver answers, in turn; 200 when exhausted. */
let answers: number[] = [];

beforeAll(async () => {
  cw = await startCw({ faults: { requestsPerMinute: 0 } });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      received.push({ url: req.url ?? "", headers: req.headers, raw, body: JSON.parse(raw) });
      res.statusCode = answers.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  recvUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await cw?.close();
  await new Promise((r) => receiver?.close(r));
});
beforeEach(async () => {
  await cw.admin("POST", "reset");
  await cw.admin("PUT", "faults", {
    share429: 0,
    share500: 0,
    shareTimeoutAfterApply: 0,
    share500AfterApply: 0,
    callbackDrop: 0,
    callbackDuplicate: 0,
    callbackReorder: 0,
    callbackDelay: 0,
    requestsPerMinute: 0,
  });
  received = [];
  answers = [];
});

const flush = () => cw.admin("POST", "callbacks/flush");
const newTicket = (summary: string, headers?: Record<string, string>) =>
  cw.api("POST", "service/tickets", { summary, board: { id: 1 }, company: { id: 2 } }, headers);

async function technician(): Promise<Record<string, string>> {
  const r = await cw.admin("POST", "tenants/nocbridge/actAs", { member: "asmith" });
  expect(r.status).toBe(200);
  return { ...cw.emu.headers(), authorization: r.body.authorization };
}

async function register(extra: Record<string, unknown> = {}) {
  const r = await cw.api("POST", "system/callbacks", {
    url: `${recvUrl}/cw/callback?recordId=`,
    objectId: 1,
    type: "ticket",
    level: "owner",
    description: "nocbridge",
    ...extra,
  });
  expect(r.status).toBe(201);
  return r.body;
}

describe("callback entries", () => {
  it("validates url and level like the product, naming both fields", async () => {
    const r = await cw.api("POST", "system/callbacks", {
      url: "not a url",
      objectId: 1,
      type: "ticket",
      level: "galaxy",
    });
    expect(r.status).toBe(400);
    expect(r.body.message).toBe("callbackEntry object is invalid");
    expect(r.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(["level", "url"]);
  });

  it("records the creating member and defaults", async () => {
    const cb = await register();
    expect(cb).toMatchObject({
      memberId: 1,
      inactiveFlag: false,
      isSelfSuppressedFlag: false,
      payloadVersion: "3.0.0",
    });
  });
});

describe("delivery", () => {
  it("posts a signed payload that verifies with the key behind key_url", async () => {
    const cb = await register();
    const t = (await newTicket("Disk full", await technician())).body;
    await flush();
    expect(received).toHaveLength(1);
    const [msg] = received as [Received];
    expect(msg.url).toBe(`/cw/callback?recordId=${t.id}`);
    expect(msg.body).toMatchObject({
      Action: "added",
      Type: "ticket",
      ID: t.id,
      CompanyId: "nocbridge",
      MemberId: "asmith",
      CallbackObjectRecId: cb.id,
    });
    expect(JSON.parse(msg.body.Entity)).toMatchObject({ id: t.id, summary: "Disk full" });
    const keyUrl: string = msg.body.Metadata.key_url;
    expect(keyUrl.startsWith(`${cw.emu.url}/`)).toBe(true);
    expect((await cw.raw("GET", keyUrl, undefined, { clientId: cw.emu.credentials.clientId })).status).toBe(
      401,
    );
    const key = await cw.raw("GET", keyUrl, undefined, cw.emu.headers());
    expect(key.status).toBe(200);
    const k = createHash("sha256").update(key.body.signing_key, "utf8").digest();
    const expected = createHmac("sha256", k).update(msg.raw, "utf8").digest();
    const got = Buffer.from(String(msg.headers["x-content-signature"]), "base64");
    expect(got.length).toBe(expected.length);
    expect(timingSafeEqual(got, expected)).toBe(true);
    const forged = createHmac("sha256", k).update(`${msg.raw} `, "utf8").digest();
    expect(timingSafeEqual(got, forged)).toBe(false);
  });

  it("rotating the signing key retires the old key_url", async () => {
    await register();
    await newTicket("one", await technician());
    await flush();
    const oldUrl: string = received[0]?.body.Metadata.key_url;
    await cw.admin("POST", "tenants/nocbridge/signingKey/rotate");
    expect((await cw.raw("GET", oldUrl)).status).toBe(404);
    await cw.admin("PUT", "options", { keyUrlRequiresAuth: false });
    const fresh = oldUrl.replace(
      /id=[^&]+$/,
      `id=${(await cw.admin("GET", "tenants/nocbridge")).body.signingKeyId}`,
    );
    expect((await cw.raw("GET", fresh, undefined, {})).status).toBe(200);
    await cw.admin("PUT", "options", { keyUrlRequiresAuth: true });
  });

  it("reports updates, note writes as ticket updates, and deletes without Entity", async () => {
    await register();
    const tech = await technician();
    const t = (await newTicket("x", tech)).body;
    await cw.api("PATCH", `service/tickets/${t.id}`, [{ op: "replace", path: "summary", value: "y" }], tech);
    await cw.api("POST", `service/tickets/${t.id}/notes`, { text: "n", detailDescriptionFlag: true }, tech);
    await cw.api("DELETE", `service/tickets/${t.id}`, undefined, tech);
    await flush();
    const actions = received.map((m) => m.body.Action);
    expect(actions.sort()).toEqual(["added", "deleted", "updated", "updated"]);
    expect(received.find((m) => m.body.Action === "deleted")?.body.Entity).toBeNull();
  });

  it("suppresses the creator's own writes when isSelfSuppressedFlag is set, not a technician's", async () => {
    await register({ isSelfSuppressedFlag: true });
    await newTicket("own write");
    await newTicket("technician write", await technician());
    await flush();
    expect(received.map((m) => JSON.parse(m.body.Entity).summary)).toEqual(["technician write"]);
    expect((await cw.admin("GET", "callbacks")).body.stats.suppressed).toBe(1);
  });

  it("delivers the creator's own writes when isSelfSuppressedFlag is off", async () => {
    await register({ isSelfSuppressedFlag: false });
    await newTicket("own write");
    await flush();
    expect(received.map((m) => m.body.MemberId)).toEqual(["nocbridge-api"]);
  });

  it("honours levels: board and ticket", async () => {
    await register({ level: "board", objectId: 2 });
    const tech = await technician();
    const t = (await newTicket("on NOC", tech)).body;
    await register({ level: "ticket", objectId: t.id });
    await cw.api("PATCH", `service/tickets/${t.id}`, [{ op: "replace", path: "summary", value: "z" }], tech);
    await flush();
    expect(received.map((m) => m.body.Action)).toEqual(["updated"]);
  });

  it("retries 404/409/419/429 twice, not a 500", async () => {
    await register();
    const tech = await technician();
    answers = [429, 409, 200];
    await newTicket("retried", tech);
    await flush();
    expect(received).toHaveLength(3);
    answers = [404, 404, 404, 404];
    await newTicket("given up", tech);
    await flush();
    answers = [500];
    await newTicket("not retried", tech);
    await flush();
    const log = (await cw.admin("GET", "callbacks")).body.deliveries;
    expect(log.map((d: { attempts: number[]; outcome: string }) => [d.attempts, d.outcome])).toEqual([
      [[429, 409, 200], "delivered"],
      [[404, 404, 404], "failed"],
      [[500], "failed"],
    ]);
    expect(received).toHaveLength(7);
  });

  it("sets an entry inactive once it has failed for the disable window", async () => {
    const cb = await register();
    await cw.admin("PUT", "callbacks", { disableAfterMs: 0 });
    answers = [500];
    await newTicket("fails", await technician());
    await flush();
    await cw.admin("PUT", "callbacks", { disableAfterMs: 3 * 24 * 3600 * 1000 });
    expect((await cw.api("GET", `system/callbacks/${cb.id}`)).body.inactiveFlag).toBe(true);
    await newTicket("not sent", await technician());
    await flush();
    expect(received).toHaveLength(1);
  });

  it("drops, duplicates and reorders messages on demand", async () => {
    await register();
    const tech = await technician();
    await cw.admin("PUT", "faults", { callbackDrop: 1 });
    await newTicket("dropped", tech);
    await flush();
    expect(received).toHaveLength(0);
    await cw.admin("PUT", "faults", { callbackDrop: 0, callbackDuplicate: 1 });
    await newTicket("twice", tech);
    await flush();
    expect(received).toHaveLength(2);
    expect(received[0]?.raw).toBe(received[1]?.raw);
    received = [];
    await cw.admin("PUT", "faults", { callbackDuplicate: 0, callbackReorder: 1 });
    await newTicket("first", tech);
    await newTicket("second", tech);
    await flush();
    expect(received.map((m) => JSON.parse(m.body.Entity).summary)).toEqual(["second", "first"]);
  });

  it("delays messages and flush waits for them", async () => {
    await register();
    await cw.admin("PUT", "faults", { callbackDelay: 1, callbackDelayMs: 2000 });
    await newTicket("late", await technician());
    await flush();
    expect(received).toHaveLength(1);
    expect((await cw.admin("GET", "callbacks")).body.stats.delayed).toBe(1);
  });
});

describe("request faults and throttling", () => {
  it("answers injected 429 with Retry-After and the throttle body, writing nothing", async () => {
    await cw.admin("PUT", "faults", { share429: 1, retryAfterSeconds: 7 });
    const r = await newTicket("nope");
    expect(r.status).toBe(429);
    expect(r.headers["retry-after"]).toBe("7");
    expect(r.body).toEqual({
      error: "ConnectWiseAPI",
      message: "Too many requests. Please try again in 7 seconds.",
    });
    await cw.admin("PUT", "faults", { share429: 0 });
    expect((await cw.api("GET", "service/tickets/count")).body.count).toBe(0);
  });

  it("throttles above requestsPerMinute with a Retry-After", async () => {
    await cw.admin("PUT", "faults", { requestsPerMinute: 2 });
    expect((await cw.api("GET", "service/boards")).status).toBe(200);
    expect((await cw.api("GET", "service/boards")).status).toBe(200);
    const r = await cw.api("GET", "service/boards");
    expect(r.status).toBe(429);
    expect(Number(r.headers["retry-after"])).toBeGreaterThan(0);
    expect((await cw.admin("GET", "stats")).body.rejected.throttle).toBe(1);
  });

  it("injects 500, 500 after apply, and timeout after apply", async () => {
    await cw.admin("PUT", "faults", { share500: 1 });
    expect((await newTicket("a")).status).toBe(500);
    await cw.admin("PUT", "faults", { share500: 0, share500AfterApply: 1 });
    expect((await newTicket("b")).status).toBe(500);
    await cw.admin("PUT", "faults", {
      share500AfterApply: 0,
      shareTimeoutAfterApply: 1,
      timeoutAfterMs: 100,
    });
    await expect(newTicket("c")).rejects.toThrow();
    await cw.admin("PUT", "faults", { shareTimeoutAfterApply: 0 });
    const list = (await cw.api("GET", "service/tickets")).body.map((t: { summary: string }) => t.summary);
    expect(list).toEqual(["b", "c"]);
    expect((await cw.admin("GET", "stats")).body.afterApply).toEqual({ timeout: 1, error500: 1 });
  });

  it("replays the same faults from the same seed", async () => {
    const run = async () => {
      await cw.admin("PUT", "faults", { seed: "replay-7", share429: 0.5 });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await cw.api("GET", "service/boards")).status);
      return statuses;
    };
    const first = await run();
    expect(first).toContain(429);
    expect(first).toContain(200);
    expect(await run()).toEqual(first);
    await cw.admin("PUT", "faults", { share429: 0 });
  });

  it("rejects unknown or out-of-range knobs", async () => {
    expect((await cw.admin("PUT", "faults", { share429: 2 })).status).toBe(400);
    expect((await cw.admin("PUT", "faults", { bogus: 1 })).status).toBe(400);
  });
});

describe("admin", () => {
  it("counts requests by operation", async () => {
    await cw.admin("POST", "stats/reset");
    const t = (await newTicket("s")).body;
    await cw.api("GET", `service/tickets/${t.id}`);
    await cw.api("GET", "service/tickets?pageSize=1");
    await cw.api("GET", "service/tickets/count");
    await cw.api("PATCH", `service/tickets/${t.id}`, [{ op: "replace", path: "summary", value: "t" }]);
    await cw.api("POST", `service/tickets/${t.id}/notes`, { text: "n", internalAnalysisFlag: true });
    const s = (await cw.admin("GET", "stats")).body;
    expect(s.byOperation).toMatchObject({
      "create service/tickets": 1,
      "get service/tickets": 1,
      "list service/tickets": 1,
      "count service/tickets": 1,
      "update service/tickets": 1,
      "create service/tickets/notes": 1,
    });
    expect(s.requests).toBe(6);
  });

  it("adds members with keys, reseeds a tenant, and lists tenants", async () => {
    const m = await cw.admin("POST", "tenants/nocbridge/members", { identifier: "robot", apiMember: true });
    expect(m.body.publicKey).toBeTruthy();
    const headers = {
      ...cw.emu.headers(),
      authorization: cw.basic("nocbridge", m.body.publicKey, m.body.privateKey),
    };
    const t = await newTicket("by robot", headers);
    expect(t.body._info.updatedBy).toBe("robot");
    expect((await cw.admin("POST", "tenants/nocbridge/seed", { seed: "empty" })).status).toBe(200);
    expect((await cw.api("GET", "company/companies/count")).body.count).toBe(0);
    expect((await cw.admin("GET", "tenants")).body.map((x: { companyId: string }) => x.companyId)).toEqual([
      "nocbridge",
    ]);
    expect((await cw.admin("POST", "tenants/nocbridge/seed", { seed: "nope" })).status).toBe(400);
  });
});
