import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { createFaults, type FaultOptions } from "./faults.js";
import type {
  EntityChange,
  Row,
  WebhookEntityType,
  WebhookRegistration,
  WebhookRegistryView,
} from "./hooks.js";
import { createVirtualClock, type VirtualClock } from "./timing.js";
import {
  aspNetEscapeJson,
  createWebhookEngine,
  serializeWebhookBody,
  signHookBody,
  verifyHookSignature,
  type WebhookEngineOptions,
  type WebhookPayload,
} from "./webhooks.js";

// ------------------------------------------------------------------------------------------
// A real local receiver (node:http on port 0) and a fake registry
// ------------------------------------------------------------------------------------------

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Virtual time when the request arrived. */
  at: number;
}
type Responder = (hit: Hit, res: ServerResponse, n: number) => void | Promise<void>;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startReceiver(clock: VirtualClock, respond: Responder = (_h, res) => void res.end("ok")) {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const hit = {
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: clock.now().getTime(),
      };
      hits.push(hit);
      void respond(hit, res, hits.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  cleanups.push(close);
  return {
    hits,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    payloads: (path = "/hook") =>
      hits.filter((h) => h.path === path).map((h) => JSON.parse(h.body.toString("utf8")) as WebhookPayload),
  };
}

const FIELD_NAMES: Record<number, string> = {
  1: "status",
  2: "ticketNumber",
  3: "title",
  4: "priority",
  5: "companyID",
};
const UDF_NAMES: Record<number, string> = { 101: "NOC Device ID", 102: "Monitoring" };

class FakeRegistry implements WebhookRegistryView {
  regs: { tenantId: string; reg: WebhookRegistration }[] = [];
  errorLogs: Row[] = [];
  deactivated: { tenantId: string; entityType: WebhookEntityType; id: number }[] = [];

  list(tenantId: string, entityType: WebhookEntityType): WebhookRegistration[] {
    return this.regs
      .filter((r) => r.tenantId === tenantId && r.reg.entityType === entityType)
      .map((r) => r.reg);
  }
  fieldName(_entityType: WebhookEntityType, fieldId: number): string | undefined {
    return FIELD_NAMES[fieldId];
  }
  udfName(_tenantId: string, _entityType: WebhookEntityType, udfFieldId: number): string | undefined {
    return UDF_NAMES[udfFieldId];
  }
  deactivate(tenantId: string, entityType: WebhookEntityType, webhookId: number): void {
    this.deactivated.push({ tenantId, entityType, id: webhookId });
    for (const r of this.list(tenantId, entityType))
      if (r.webhook["id"] === webhookId) r.webhook["isActive"] = false;
  }
  addErrorLog(_tenantId: string, entry: Row): void {
    this.errorLogs.push({ id: this.errorLogs.length + 1, ...entry });
  }

  add(o: {
    id: number;
    url: string;
    deactivationUrl?: string;
    secret?: string;
    entityType?: WebhookEntityType;
    tenantId?: string;
    fields?: [fieldID: number, subscribed: boolean, displayAlways: boolean][];
    udfs?: [udfFieldID: number, subscribed: boolean, displayAlways: boolean][];
    excluded?: number[];
    events?: ("Create" | "Update" | "Delete")[];
    isActive?: boolean;
  }): WebhookRegistration {
    const events = o.events ?? ["Create", "Update", "Delete"];
    const reg: WebhookRegistration = {
      entityType: o.entityType ?? "Ticket",
      webhook: {
        id: o.id,
        name: `hook ${o.id}`,
        webhookUrl: o.url,
        deactivationUrl: o.deactivationUrl ?? o.url.replace(/\/hook$/, "/deactivated"),
        secretKey: o.secret ?? "0123456789abcdef0123456789abcdef",
        isActive: o.isActive ?? true,
        isReady: true,
        isSubscribedToCreateEvents: events.includes("Create"),
        isSubscribedToUpdateEvents: events.includes("Update"),
        isSubscribedToDeleteEvents: events.includes("Delete"),
        ownerResourceID: 29682885,
        webhookGUID: `guid-${o.id}`,
      },
      fields: (o.fields ?? [[1, true, false]]).map(([fieldID, s, d], i) => ({
        id: i + 1,
        webhookID: o.id,
        fieldID,
        isSubscribedField: s,
        isDisplayAlwaysField: d,
      })),
      udfFields: (o.udfs ?? []).map(([udfFieldID, s, d], i) => ({
        id: i + 1,
        webhookID: o.id,
        udfFieldID,
        isSubscribedField: s,
        isDisplayAlwaysField: d,
      })),
      excludedResources: (o.excluded ?? []).map((resourceID, i) => ({
        id: i + 1,
        webhookID: o.id,
        resourceID,
      })),
    };
    this.regs.push({ tenantId: o.tenantId ?? "t1", reg });
    return reg;
  }
}

const TECH = 29682886;
const API_USER = 29682885;

const BEFORE: Row = {
  id: 100,
  ticketNumber: "T20261127.0001",
  title: "Disk full",
  status: 1,
  priority: 2,
  companyID: 174,
  userDefinedFields: [
    { name: "NOC Device ID", value: "dev-1" },
    { name: "Monitoring", value: "on" },
  ],
};

function change(
  over: Partial<EntityChange> & { set?: Row; udfs?: Record<string, unknown> } = {},
): EntityChange {
  const { set = { status: 5 }, udfs = {}, ...rest } = over;
  const after: Row = {
    ...BEFORE,
    ...set,
    userDefinedFields: (BEFORE["userDefinedFields"] as Row[]).map((u) =>
      (u["name"] as string) in udfs ? { name: u["name"], value: udfs[u["name"] as string] } : u,
    ),
  };
  return {
    tenantId: "t1",
    entityType: "Ticket",
    action: "Update",
    id: 100,
    before: BEFORE,
    after,
    changedFields: Object.keys(set),
    changedUdfs: Object.keys(udfs),
    personId: TECH,
    at: new Date("2026-11-27T10:00:00.123Z"),
    ...rest,
  };
}

function setup(
  o: { faults?: Partial<FaultOptions>; engine?: Partial<WebhookEngineOptions>; responder?: Responder } = {},
) {
  const clock = createVirtualClock(Date.UTC(2026, 10, 27, 10));
  const registry = new FakeRegistry();
  const faults = createFaults({ seed: 1, ...o.faults });
  const engine = createWebhookEngine({ registry, faults, clock, ...o.engine });
  cleanups.push(() => engine.close());
  return startReceiver(clock, o.responder).then((rx) => ({ clock, registry, faults, engine, rx }));
}

const SECRET = "0123456789abcdef0123456789abcdef";

// ------------------------------------------------------------------------------------------
// Signature and serialisation
// ------------------------------------------------------------------------------------------

describe("signature helpers (docs/autotask.md, Signature)", () => {
  it("signs sha1=<base64 HMAC-SHA1> and verifies in constant time", () => {
    const body = Buffer.from('{"a":1}');
    const expected = `sha1=${createHmac("sha1", SECRET).update(body).digest("base64")}`;
    expect(signHookBody(SECRET, body)).toBe(expected);
    expect(verifyHookSignature(SECRET, body, expected)).toBe(true);
    expect(verifyHookSignature(SECRET, body, expected.slice(5))).toBe(true);
    expect(verifyHookSignature(SECRET, Buffer.from('{"a":2}'), expected)).toBe(false);
    expect(verifyHookSignature("another-secret", body, expected)).toBe(false);
    expect(verifyHookSignature(SECRET, body, undefined)).toBe(false);
    expect(verifyHookSignature(SECRET, body, "sha1=")).toBe(false);
    expect(verifyHookSignature(SECRET, body, "sha1=not base64!")).toBe(false);
    expect(verifyHookSignature(SECRET, body, "sha1=AAAA")).toBe(false);
  });

  it("escapes string contents the ASP.NET way and keeps the value", () => {
    const value = { t: `R&D <b>'x'</b> "q" \\ + é 😀 \`t\``, n: 1e21, neg: -2, s: "a\nb\u0001" };
    const json = aspNetEscapeJson(JSON.stringify(value));
    expect(json).toBe(
      '{"t":"R\\u0026D \\u003Cb\\u003E\\u0027x\\u0027\\u003C/b\\u003E \\u0022q\\u0022 \\\\ \\u002B \\u00E9 \\uD83D\\uDE00 \\u0060t\\u0060","n":1e+21,"neg":-2,"s":"a\\nb\\u0001"}',
    );
    expect(JSON.parse(json)).toEqual(value);
  });

  it("escaping is ASCII-only, parses back to the same value, and is idempotent (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const plain = JSON.stringify(v);
        const escaped = aspNetEscapeJson(plain);
        expect(JSON.parse(escaped)).toEqual(JSON.parse(plain));
        expect(/^[\x20-\x7e]*$/.test(escaped)).toBe(true);
        expect(aspNetEscapeJson(escaped)).toBe(escaped);
      }),
      { seed: 20261127, numRuns: 300 },
    );
  });

  it('serialises with JSON.stringify when escaping is "none"', () => {
    const payload = { Fields: { title: "a&b" } };
    expect(serializeWebhookBody(payload, "none").toString()).toBe(JSON.stringify(payload));
    expect(serializeWebhookBody(payload).toString()).toBe('{"Fields":{"title":"a\\u0026b"}}');
  });
});

// ------------------------------------------------------------------------------------------
// Delivery
// ------------------------------------------------------------------------------------------

describe("webhook engine — what is delivered (docs/autotask.md, Delivery payload)", () => {
  it("POSTs a signed payload whose signature verifies over the exact bytes received", async () => {
    const { registry, engine, rx } = await setup();
    registry.add({
      id: 12,
      url: rx.url("/hook"),
      fields: [
        [1, true, false],
        [2, false, true],
        [3, true, false],
      ],
    });
    engine.onChange(change({ set: { status: 5, title: "Disk full & <urgent>" } }));
    await engine.flush();

    expect(rx.hits).toHaveLength(1);
    const hit = rx.hits[0] as Hit;
    expect(hit.headers["content-type"]).toBe("application/json");
    const header = hit.headers["x-hook-signature"];
    expect(header).toBe(`sha1=${createHmac("sha1", SECRET).update(hit.body).digest("base64")}`);
    expect(verifyHookSignature(SECRET, hit.body, header)).toBe(true);
    // The bytes carry Autotask's escaping; re-serialising the parsed body would not match.
    expect(hit.body.toString()).toContain("Disk full \\u0026 \\u003Curgent\\u003E");
    expect(verifyHookSignature(SECRET, JSON.stringify(JSON.parse(hit.body.toString())), header)).toBe(false);

    const payload = JSON.parse(hit.body.toString("utf8"));
    expect(Object.keys(payload)).toEqual([
      "Action",
      "Guid",
      "EntityType",
      "Id",
      "Fields",
      "EventTime",
      "SequenceNumber",
      "PersonID",
    ]);
    expect(payload).toEqual({
      Action: "Update",
      Guid: "guid-12",
      EntityType: "Ticket",
      Id: 100,
      Fields: { status: 5, ticketNumber: "T20261127.0001", title: "Disk full & <urgent>" },
      EventTime: "2026-11-27T10:00:00.123Z",
      SequenceNumber: 1,
      PersonID: TECH,
    });
    expect(engine.stats()).toMatchObject({
      events: 1,
      delivered: 1,
      attempts: 1,
      failedAttempts: 0,
      pending: 0,
    });
  });

  it("does not call out for changes made by an excluded resource", async () => {
    const { registry, engine, rx } = await setup();
    registry.add({ id: 12, url: rx.url("/hook"), excluded: [API_USER] });
    engine.onChange(change({ personId: API_USER }));
    engine.onChange(change({ personId: TECH, set: { status: 8 } }));
    await engine.flush();
    const payloads = rx.payloads();
    expect(payloads.map((p) => [p.PersonID, p.Fields["status"], p.SequenceNumber])).toEqual([[TECH, 8, 1]]);
  });

  it("does not call out for an update that touches no subscribed field", async () => {
    const { registry, engine, rx } = await setup();
    // status subscribed, ticketNumber display-always only.
    registry.add({
      id: 12,
      url: rx.url("/hook"),
      fields: [
        [1, true, false],
        [2, false, true],
      ],
    });
    engine.onChange(change({ set: { priority: 1 } }));
    engine.onChange(change({ set: { ticketNumber: "T20261127.0009" } }));
    await engine.flush();
    expect(rx.hits).toHaveLength(0);
    expect(engine.stats().events).toBe(0);
  });

  it("delivers subscribed UDF changes under Fields.userDefinedFields (or flat, if configured)", async () => {
    const { registry, engine, rx } = await setup();
    registry.add({
      id: 12,
      url: rx.url("/hook"),
      fields: [[1, false, true]],
      udfs: [
        [101, true, false],
        [102, false, true],
      ],
    });
    engine.onChange(change({ set: {}, udfs: { "NOC Device ID": "dev-2" } }));
    engine.onChange(change({ set: {}, udfs: { Monitoring: "off" } })); // display-only UDF: no callout
    await engine.flush();
    expect(rx.payloads().map((p) => p.Fields)).toEqual([
      {
        status: 1,
        userDefinedFields: [
          { name: "NOC Device ID", value: "dev-2" },
          { name: "Monitoring", value: "on" },
        ],
      },
    ]);

    engine.configure({ udfStyle: "flat" });
    engine.onChange(change({ set: {}, udfs: { "NOC Device ID": "dev-3" } }));
    await engine.flush();
    expect(rx.payloads()[1]?.Fields).toEqual({ status: 1, "NOC Device ID": "dev-3", Monitoring: "on" });
  });

  it("sends Create with subscribed non-null and display-always fields, Delete with display-always fields", async () => {
    const { registry, engine, rx } = await setup();
    registry.add({
      id: 12,
      url: rx.url("/hook"),
      fields: [
        [1, true, false],
        [4, true, false],
        [2, false, true],
      ],
    });
    engine.onChange(
      change({
        action: "Create",
        before: null,
        after: BEFORE,
        changedFields: ["id", "status", "priority", "title"],
      }),
    );
    engine.onChange(change({ action: "Delete", before: BEFORE, after: null, changedFields: [] }));
    await engine.flush();
    expect(rx.payloads().map((p) => [p.Action, p.Fields, p.SequenceNumber])).toEqual([
      ["Create", { status: 1, priority: 2, ticketNumber: "T20261127.0001" }, 1],
      ["Delete", { ticketNumber: "T20261127.0001" }, 2],
    ]);
  });

  it("skips inactive, not-ready and unsubscribed-event webhooks, and other tenants' and entity types'", async () => {
    const { registry, engine, rx } = await setup();
    registry.add({ id: 1, url: rx.url("/hook"), isActive: false });
    registry.add({ id: 2, url: rx.url("/hook"), fields: [[1, false, true]] }); // no subscribed field: not ready
    registry.add({ id: 3, url: rx.url("/hook"), events: ["Create", "Delete"] });
    registry.add({ id: 4, url: rx.url("/hook"), tenantId: "t2" });
    registry.add({ id: 5, url: rx.url("/hook"), entityType: "ConfigurationItem" });
    registry.add({ id: 6, url: rx.url("/hook") });
    engine.onChange(change());
    await engine.flush();
    expect(rx.payloads().map((p) => p.Guid)).toEqual(["guid-6"]);
  });

  it("numbers events per webhook", async () => {
    const { registry, engine, rx } = await setup();
    registry.add({ id: 1, url: rx.url("/hook") });
    registry.add({ id: 2, url: rx.url("/hook"), fields: [[4, true, false]] });
    engine.onChange(change({ set: { status: 5 } }));
    engine.onChange(change({ set: { status: 8, priority: 1 } }));
    engine.onChange(change({ set: { status: 1 } }));
    await engine.flush();
    const seqs = (guid: string) =>
      rx
        .payloads()
        .filter((p) => p.Guid === guid)
        .map((p) => p.SequenceNumber);
    expect(seqs("guid-1")).toEqual([1, 2, 3]);
    expect(seqs("guid-2")).toEqual([1]);
  });

  it("sends no signature when the webhook has no secret key", async () => {
    const { registry, engine, rx } = await setup();
    registry.add({ id: 12, url: rx.url("/hook"), secret: "" });
    engine.onChange(change());
    await engine.flush();
    expect(rx.hits).toHaveLength(1);
    expect(rx.hits[0]?.headers["x-hook-signature"]).toBeUndefined();
  });
});

describe("webhook engine — retries, error log, deactivation (docs/autotask.md, Retries and deactivation)", () => {
  it("retries 30 s after a failed attempt and stops at the first 2xx", async () => {
    const { clock, registry, engine, rx } = await setup({
      responder: (_h, res, n) => {
        res.statusCode = n <= 2 ? 500 : 200;
        res.end();
      },
    });
    registry.add({ id: 12, url: rx.url("/hook") });
    const t0 = clock.now().getTime();
    engine.onChange(change());
    await engine.flush();
    expect(rx.hits.map((h) => h.at - t0)).toEqual([0, 30_000, 60_000]);
    // Every attempt carries the same bytes and signature.
    expect(new Set(rx.hits.map((h) => h.body.toString())).size).toBe(1);
    expect(new Set(rx.hits.map((h) => h.headers["x-hook-signature"])).size).toBe(1);
    expect(registry.errorLogs).toEqual([]);
    expect(engine.stats()).toMatchObject({ delivered: 1, attempts: 3, failedAttempts: 2, failedEvents: 0 });
  });

  it("after 5 failed attempts within 2 minutes writes a WebhookEventErrorLogs entry", async () => {
    const { clock, registry, engine, rx } = await setup({
      responder: (_h, res) => {
        res.statusCode = 503;
        res.end("down");
      },
    });
    registry.add({ id: 12, url: rx.url("/hook") });
    const t0 = clock.now().getTime();
    engine.onChange(change());
    await engine.flush();
    expect(rx.hits.map((h) => h.at - t0)).toEqual([0, 30_000, 60_000, 90_000, 120_000]);
    expect(registry.errorLogs).toHaveLength(1);
    const log = registry.errorLogs[0] as Row;
    expect(log["ticketWebhookID"]).toBe(12);
    expect(log["sequenceNumber"]).toBe(1);
    expect(log["payload"]).toBe(rx.hits[0]?.body.toString("utf8"));
    expect(log["errorMessage"]).toMatch(/5 attempt\(s\).*HTTP 503/);
    expect(registry.deactivated).toEqual([]);
    expect(engine.stats()).toMatchObject({ delivered: 0, attempts: 5, failedEvents: 1 });
  });

  it("counts the 30 s from the start of the previous attempt, so slow failures do not stretch the schedule", async () => {
    const { clock, registry, engine, rx } = await setup({
      responder: (_h, res) => {
        clock.advance(9_000); // the receiver takes 9 s (virtual) to fail
        res.statusCode = 500;
        res.end();
      },
    });
    registry.add({ id: 12, url: rx.url("/hook") });
    const t0 = clock.now().getTime();
    engine.onChange(change());
    await engine.flush();
    expect(rx.hits.map((h) => h.at - t0)).toEqual([0, 30_000, 60_000, 90_000, 120_000]);
    expect(registry.errorLogs).toHaveLength(1);
  });

  it("never starts an attempt later than the 2-minute window, whatever maxAttempts says", async () => {
    const { clock, registry, engine, rx } = await setup({
      engine: { maxAttempts: 10 },
      responder: (_h, res) => {
        res.statusCode = 500;
        res.end();
      },
    });
    registry.add({ id: 12, url: rx.url("/hook") });
    const t0 = clock.now().getTime();
    engine.onChange(change());
    await engine.flush();
    expect(rx.hits.map((h) => h.at - t0)).toEqual([0, 30_000, 60_000, 90_000, 120_000]);
  });

  it("times out an attempt that gets no answer and retries it", async () => {
    const { registry, engine, rx } = await setup({
      engine: { attemptTimeoutMs: 100, minAttemptTimeoutMs: 0 },
      responder: (_h, res, n) => {
        if (n > 1) res.end("ok"); // the first request is never answered
      },
    });
    registry.add({ id: 12, url: rx.url("/hook") });
    engine.onChange(change());
    await engine.flush();
    expect(rx.hits).toHaveLength(2);
    expect(engine.stats()).toMatchObject({ delivered: 1, attempts: 2, failedAttempts: 1 });
  });

  it("keeps a floor under the scaled attempt timeout so compressed runs do not time out healthy receivers", async () => {
    const { registry, engine, rx } = await setup({
      engine: { timeScale: 0.00001 }, // 10 s → 0.1 ms without the floor
      responder: (_h, res) => {
        setTimeout(() => res.end("ok"), 30);
      },
    });
    registry.add({ id: 12, url: rx.url("/hook") });
    engine.onChange(change());
    await engine.flush();
    expect(engine.stats()).toMatchObject({ delivered: 1, attempts: 1, failedAttempts: 0 });
  });

  it("deactivates after 25 consecutive failed events and calls deactivationUrl", async () => {
    const { registry, engine, rx } = await setup({
      responder: (h, res) => {
        res.statusCode = h.path === "/hook" ? 500 : 200;
        res.end();
      },
    });
    registry.add({ id: 12, url: rx.url("/hook") });
    for (let i = 0; i < 26; i++) engine.onChange(change({ set: { status: i } }));
    await engine.flush();

    expect(rx.hits.filter((h) => h.path === "/hook")).toHaveLength(25 * 5);
    expect(registry.errorLogs).toHaveLength(25);
    expect(registry.deactivated).toEqual([{ tenantId: "t1", entityType: "Ticket", id: 12 }]);
    const calls = rx.hits.filter((h) => h.path === "/deactivated");
    expect(calls).toHaveLength(1);
    const call = calls[0] as Hit;
    expect(verifyHookSignature(SECRET, call.body, call.headers["x-hook-signature"])).toBe(true);
    expect(JSON.parse(call.body.toString())).toMatchObject({
      Action: "Deactivated",
      Guid: "guid-12",
      EntityType: "Ticket",
      Id: 12,
      Fields: {},
      SequenceNumber: 27,
      PersonID: API_USER,
    });
    // The 26th event was queued behind; a deactivated webhook sends nothing more.
    expect(engine.stats()).toMatchObject({
      failedEvents: 25,
      discarded: 1,
      deactivations: 1,
      deactivationCalls: 1,
    });
    engine.onChange(change());
    await engine.flush();
    expect(rx.hits.filter((h) => h.path === "/hook")).toHaveLength(125);
  });

  it("a delivered event resets the consecutive-failure count", async () => {
    const { registry, engine, rx } = await setup({
      engine: { maxAttempts: 1 },
      responder: (h, res) => {
        const seq = h.path === "/hook" ? (JSON.parse(h.body.toString()) as WebhookPayload).SequenceNumber : 0;
        res.statusCode = seq === 25 || h.path !== "/hook" ? 200 : 500;
        res.end();
      },
    });
    registry.add({ id: 12, url: rx.url("/hook") });
    for (let i = 0; i < 49; i++) engine.onChange(change({ set: { status: i } }));
    await engine.flush();
    // 24 failed, 1 delivered, 24 failed: not yet 25 in a row.
    expect(registry.errorLogs).toHaveLength(48);
    expect(registry.deactivated).toEqual([]);
    engine.onChange(change({ set: { status: 99 } }));
    await engine.flush();
    expect(registry.deactivated).toHaveLength(1);
    expect(rx.hits.filter((h) => h.path === "/deactivated")).toHaveLength(1);
  });

  it("webhookDeactivated (API deactivation or delete) calls deactivationUrl once", async () => {
    const { registry, engine, rx } = await setup();
    const reg = registry.add({ id: 12, url: rx.url("/hook") });
    engine.webhookDeactivated("t1", "Ticket", { ...reg.webhook, isActive: false });
    await engine.flush();
    expect(rx.payloads("/deactivated").map((p) => [p.Action, p.Id])).toEqual([["Deactivated", 12]]);
  });
});

describe("webhook engine — ordering (docs/autotask.md, Retries and deactivation)", () => {
  it("sends one event at a time per webhook, in order", async () => {
    const inFlight = new Map<string, number>();
    let maxInFlight = 0;
    const { registry, engine, rx } = await setup({
      responder: (h, res) => {
        const n = (inFlight.get(h.path) ?? 0) + 1;
        inFlight.set(h.path, n);
        maxInFlight = Math.max(maxInFlight, n);
        setTimeout(() => {
          inFlight.set(h.path, (inFlight.get(h.path) ?? 1) - 1);
          res.end();
        }, 5);
      },
    });
    registry.add({ id: 12, url: rx.url("/hook") });
    for (let i = 0; i < 6; i++) engine.onChange(change({ set: { status: i } }));
    await engine.flush();
    expect(rx.payloads().map((p) => p.SequenceNumber)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rx.payloads().map((p) => p.Fields["status"])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(maxInFlight).toBe(1);
  });

  it("a later event waits behind a failing one of the same webhook, other webhooks do not", async () => {
    let releaseA: () => void = () => {};
    const aHeld = new Promise<void>((resolve) => {
      releaseA = resolve;
    });
    const { registry, engine, rx } = await setup({
      responder: async (h, res) => {
        if (h.path === "/a" && rx.hits.filter((x) => x.path === "/a").length === 1) {
          // Hold A's first delivery until B's has arrived (or give up after 5 s so a bug fails, not hangs).
          await Promise.race([aHeld, new Promise((r) => setTimeout(r, 5000))]);
          res.statusCode = 500;
        }
        if (h.path === "/b") releaseA();
        res.end();
      },
    });
    registry.add({ id: 1, url: rx.url("/a") });
    registry.add({ id: 2, url: rx.url("/b") });
    engine.onChange(change({ set: { status: 5 } }));
    engine.onChange(change({ set: { status: 8 } }));
    await engine.flush();
    const order = rx.hits.map(
      (h) => `${h.path}:${(JSON.parse(h.body.toString()) as WebhookPayload).SequenceNumber}`,
    );
    // B's first event overtakes A's held one; A retries event 1 before it sends event 2.
    expect(order.indexOf("/b:1")).toBeLessThan(order.lastIndexOf("/a:1"));
    expect(order.filter((o) => o.startsWith("/a"))).toEqual(["/a:1", "/a:1", "/a:2"]);
    expect(order.filter((o) => o.startsWith("/b"))).toEqual(["/b:1", "/b:2"]);
  });
});

describe("webhook engine — delivery faults", () => {
  it("drops events (their SequenceNumber is used up)", async () => {
    const { registry, faults, engine, rx } = await setup({ faults: { deliveryDrop: 1 } });
    registry.add({ id: 12, url: rx.url("/hook") });
    engine.onChange(change());
    await engine.flush();
    expect(rx.hits).toHaveLength(0);
    faults.configure({ deliveryDrop: 0 });
    engine.onChange(change({ set: { status: 8 } }));
    await engine.flush();
    expect(rx.payloads().map((p) => p.SequenceNumber)).toEqual([2]);
    expect(engine.stats()).toMatchObject({ events: 2, dropped: 1, delivered: 1 });
  });

  it("duplicates events with identical bytes and signature", async () => {
    const { registry, engine, rx } = await setup({ faults: { deliveryDuplicate: 1 } });
    registry.add({ id: 12, url: rx.url("/hook") });
    engine.onChange(change());
    engine.onChange(change({ set: { status: 8 } }));
    await engine.flush();
    expect(rx.payloads().map((p) => p.SequenceNumber)).toEqual([1, 1, 2, 2]);
    expect(rx.hits[0]?.body.equals(rx.hits[1]?.body as Buffer)).toBe(true);
    expect(rx.hits[0]?.headers["x-hook-signature"]).toBe(rx.hits[1]?.headers["x-hook-signature"]);
    expect(engine.stats().duplicated).toBe(2);
  });

  it("delays events by the configured time (scaled)", async () => {
    const { clock, registry, engine, rx } = await setup({
      faults: { deliveryDelay: 1, deliveryDelayMs: 8000, timeScale: 0.5 },
    });
    registry.add({ id: 12, url: rx.url("/hook") });
    const t0 = clock.now().getTime();
    engine.onChange(change());
    await engine.flush();
    expect(rx.hits.map((h) => h.at - t0)).toEqual([4000]);
    expect(engine.stats().delayed).toBe(1);
  });

  it("reorders an event with the next one of the same webhook", async () => {
    const { registry, engine, rx } = await setup({ faults: { deliveryReorder: 1 } });
    registry.add({ id: 12, url: rx.url("/hook") });
    for (let i = 0; i < 4; i++) engine.onChange(change({ set: { status: i } }));
    await engine.flush();
    expect(rx.payloads().map((p) => p.SequenceNumber)).toEqual([2, 1, 4, 3]);
    expect(engine.stats().reordered).toBe(2);
  });

  it("a reordered event without a follower goes out after the hold (or at flush)", async () => {
    const { registry, engine, rx } = await setup({ faults: { deliveryReorder: 1 } });
    registry.add({ id: 12, url: rx.url("/hook") });
    engine.onChange(change());
    await engine.flush();
    expect(rx.payloads().map((p) => p.SequenceNumber)).toEqual([1]);
    expect(engine.stats().reordered).toBe(0);
  });

  it("the same seed gives the same faulted delivery sequence", async () => {
    const run = async () => {
      const { registry, engine, rx } = await setup({
        faults: { seed: "replay", deliveryDrop: 0.3, deliveryDuplicate: 0.3, deliveryReorder: 0.3 },
      });
      registry.add({ id: 12, url: rx.url("/hook") });
      for (let i = 0; i < 12; i++) engine.onChange(change({ set: { status: i } }));
      await engine.flush();
      return rx.payloads().map((p) => p.SequenceNumber);
    };
    const first = await run();
    expect(first).not.toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(await run()).toEqual(first);
  });
});

describe("webhook engine — lifecycle", () => {
  it("close() aborts a hanging attempt and discards what is queued", async () => {
    const { registry, engine, rx } = await setup({ responder: () => {} }); // never answers
    registry.add({ id: 12, url: rx.url("/hook") });
    engine.onChange(change());
    engine.onChange(change({ set: { status: 8 } }));
    while (rx.hits.length === 0) await new Promise((r) => setTimeout(r, 5));
    await engine.close();
    expect(engine.stats()).toMatchObject({ delivered: 0, pending: 0, discarded: 1 });
    engine.onChange(change());
    expect(engine.stats().events).toBe(2);
  });

  it("reset() forgets sequence numbers", async () => {
    const { registry, engine, rx } = await setup();
    registry.add({ id: 12, url: rx.url("/hook") });
    engine.onChange(change());
    await engine.flush();
    engine.reset();
    engine.onChange(change());
    await engine.flush();
    expect(rx.payloads().map((p) => p.SequenceNumber)).toEqual([1, 1]);
  });

  it("rejects invalid options", async () => {
    const { engine } = await setup();
    expect(() => engine.configure({ maxAttempts: 0 })).toThrow(RangeError);
    expect(() => engine.configure({ escaping: "xml" as never })).toThrow(RangeError);
    expect(() => createWebhookEngine({ registry: new FakeRegistry(), retryDelayMs: -1 })).toThrow(RangeError);
  });

  it("an internal error loses one event, not the webhook's queue", async () => {
    const errors: unknown[] = [];
    const { registry, engine, rx } = await setup({ engine: { onError: (e) => errors.push(e) } });
    registry.add({ id: 12, url: rx.url("/hook") });
    const list = registry.list.bind(registry);
    let calls = 0;
    registry.list = (tenantId, entityType) => {
      calls++;
      if (calls === 2) throw new Error("store busy"); // the pre-attempt check of event 1
      return list(tenantId, entityType);
    };
    engine.onChange(change());
    engine.onChange(change({ set: { status: 8 } }));
    await engine.flush();
    expect(errors).toHaveLength(1);
    expect(rx.payloads().map((p) => p.SequenceNumber)).toEqual([2]);
  });

  it("never throws from onChange, even when the registry does", async () => {
    const errors: unknown[] = [];
    const registry = new FakeRegistry();
    registry.list = () => {
      throw new Error("store closed");
    };
    const engine = createWebhookEngine({ registry, onError: (e) => errors.push(e) });
    cleanups.push(() => engine.close());
    expect(() => engine.onChange(change())).not.toThrow();
    expect(errors).toHaveLength(1);
  });
});
