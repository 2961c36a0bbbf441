import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/lib/clock.js";
import { createLogger } from "../../src/lib/logger.js";
import type { NewTicket, SessionContext } from "../../src/psa/connector.js";
import { PsaError } from "../../src/psa/errors.js";
import { connectorContract, rejectsWith } from "./contract.js";
import { fakeConnector } from "./fake/connector.js";
import {
  COMPANY_WITH_ASSETS,
  COMPANY_WITHOUT_ASSETS,
  FakePsa,
  INACTIVE_COMPANY,
  OTHER_QUEUE,
  PRIORITY_HIGH,
  PRIORITY_MEDIUM,
  STATUS_IN_PROGRESS,
  STATUS_NEW,
} from "./fake/psa.js";
import { fakeDelivery, signFake } from "./fake/webhooks.js";

const logger = createLogger("silent");
const ctxFor = (partnerId: number, clock = systemClock): SessionContext => ({ partnerId, logger, clock });

connectorContract("fake", async () => {
  const fake = fakeConnector();
  const partnerId = 7;
  const tenant = fake.tenant(partnerId);
  const url = `https://nocbridge.example.com/webhooks/fake/${partnerId}`;
  const op = { ticket: "tickets.create", note: "notes.create", asset: "assets.create" } as const;
  return {
    connector: fake,
    settings: fake.settings(partnerId),
    advancedSettings: fake.settings(partnerId, { advanced: true }),
    secret: tenant.secret,
    ctx: ctxFor(partnerId),
    ids: {
      companyWithAssets: COMPANY_WITH_ASSETS,
      companyWithoutAssets: COMPANY_WITHOUT_ASSETS,
      missingCompany: 999,
      status: STATUS_NEW,
      otherStatus: STATUS_IN_PROGRESS,
      priority: PRIORITY_MEDIUM,
      otherPriority: PRIORITY_HIGH,
      missingTicket: 999_999,
      missingNote: 999_999,
      missingAsset: 999_999,
    },
    psa: {
      addNote: async (ticketId, text, published) => tenant.addNote(ticketId, { text, published }).id,
      moveOutOfQueue: async (ticketId) => {
        tenant.editTicket(ticketId, { queueId: OTHER_QUEUE });
      },
      loseNextCreate: async (kind) => {
        tenant.failNext({ code: "TIMEOUT", on: op[kind], applied: true });
        return async () => {
          const unused = tenant.pendingFaults();
          tenant.clearFaults();
          if (unused > 0) throw new Error(`no ${kind} create lost its answer`);
        };
      },
    },
    deliveries: {
      url,
      sign: signFake,
      ticketEvent: (id) => fakeDelivery("ticket.changed", id),
      noteEvent: (noteId, ticketId) => fakeDelivery("note.created", noteId, ticketId),
      invalid: [
        { body: { ...fakeDelivery("ticket.changed", 1), event: "ticket.exploded" }, field: "event" },
        { body: { ...fakeDelivery("ticket.changed", 1), id: "one" }, field: "id" },
        { body: { ...fakeDelivery("note.created", 2, 1), ticketId: -4 }, field: "ticketId" },
        { body: { event: "ticket.changed", id: 3 }, field: "deliveryId" },
      ],
      subscriptions: async () =>
        tenant
          .webhooks()
          .filter((w) => w.url === url)
          .map((w) => ({ entity: w.entity, id: w.id })),
    },
    teardown: async () => {},
  };
});

/** What the fake itself promises beyond the contract: its fault injector, clock and strictness. */
describe("the fake PSA", () => {
  const ticket = (over: Partial<NewTicket> = {}): NewTicket => ({
    companyId: COMPANY_WITH_ASSETS,
    title: "Disk almost full",
    description: "",
    status: STATUS_NEW,
    priority: PRIORITY_MEDIUM,
    assetId: null,
    externalRef: "41",
    ...over,
  });
  const open = (partnerId = 1, now?: () => Date) => {
    const fake = fakeConnector(new FakePsa(now ? { now } : {}));
    const session = fake.open(fake.settings(partnerId), fake.tenant(partnerId).secret, ctxFor(partnerId));
    return { fake, tenant: fake.tenant(partnerId), session };
  };

  it("fails the next matching call with the code asked for, then works again", async () => {
    const { tenant, session } = open();
    tenant.failNext({ code: "RATE_LIMITED", on: "tickets.get" });
    const e = await rejectsWith(session.tickets.get(1), ["RATE_LIMITED"]);
    expect(e.retryable).toBe(true);
    expect(e.ambiguous).toBe(false);
    expect(await session.tickets.get(1)).toBeNull();
    tenant.failNext({ code: "SERVER", times: 2 });
    await rejectsWith(session.options(), ["SERVER"]);
    await rejectsWith(session.assets.get(1), ["SERVER"]);
    expect(tenant.pendingFaults()).toBe(0);
  });

  it("resends a create whose request was lost before it arrived, once, without a copy", async () => {
    const { tenant, session } = open();
    tenant.failNext({ code: "NETWORK", on: "tickets.create", ambiguous: true });
    const id = await session.tickets.create(ticket());
    expect(tenant.tickets().map((t) => t.id)).toEqual([id]);
  });

  it("passes on a final refusal of a create without looking up or resending", async () => {
    const { tenant, session } = open();
    tenant.failNext({ code: "INVALID_REQUEST", on: "tickets.create" });
    const before = tenant.requests;
    await rejectsWith(session.tickets.create(ticket()), ["INVALID_REQUEST"]);
    expect(tenant.requests - before).toBe(1);
    expect(tenant.tickets()).toEqual([]);
  });

  it("counts every request, refused ones too", async () => {
    const { tenant, session } = open();
    tenant.failNext({ code: "SERVER" });
    await session.tickets.get(1).catch(() => undefined);
    await session.tickets.notes(1);
    expect(session.stats().requests).toBe(2);
    expect(tenant.requests).toBe(2);
  });

  it("keeps lastActivity on every write, from its own clock", async () => {
    let t = Date.UTC(2026, 5, 1, 8);
    const { tenant, session } = open(1, () => new Date(t));
    const id = await session.tickets.create(ticket());
    expect((await session.tickets.get(id))?.lastActivity).toBe("2026-06-01T08:00:00.000Z");
    t += 60_000;
    await session.tickets.update(id, { status: STATUS_IN_PROGRESS });
    expect((await session.tickets.get(id))?.lastActivity).toBe("2026-06-01T08:01:00.000Z");
    t += 60_000;
    await session.tickets.addNote(id, { text: "on it", published: true }, new Set());
    expect((await session.tickets.get(id))?.lastActivity).toBe("2026-06-01T08:02:00.000Z");
    t += 60_000;
    tenant.editTicket(id, { title: "renamed in the PSA" });
    const changed = await session.tickets.changedSince(new Date("2026-06-01T08:03:00.000Z"), []);
    expect(changed).toEqual([{ id, lastActivity: "2026-06-01T08:03:00.000Z" }]);
    expect(await session.tickets.changedSince(new Date("2026-06-01T08:03:00.001Z"), [id])).toEqual([]);
    const asset = tenant.assets(COMPANY_WITH_ASSETS)[0]!;
    t += 60_000;
    await session.assets.update(asset.id, { name: { from: asset.name, to: "fw-renamed" } });
    expect(tenant.asset(asset.id)?.lastActivity).toBe("2026-06-01T08:04:00.000Z");
  });

  it("assigns ids itself and enforces the required fields and references of a create", async () => {
    const { tenant, session } = open();
    const a = await session.tickets.create({ ...ticket(), id: 5 } as NewTicket);
    expect(a).not.toBe(5);
    for (const missing of ["companyId", "title", "status", "priority"] as const) {
      const t = { ...ticket(), [missing]: undefined } as unknown as NewTicket;
      const e = await rejectsWith(session.tickets.create(t), ["INVALID_REQUEST"]);
      expect(e.message).toContain(missing);
    }
    await rejectsWith(session.tickets.create(ticket({ companyId: INACTIVE_COMPANY })), ["INVALID_REQUEST"]);
    await rejectsWith(session.tickets.create(ticket({ assetId: 424_242 })), ["INVALID_REQUEST"]);
    await rejectsWith(session.tickets.update(a, { status: 9 }), ["INVALID_REQUEST"]);
    expect(tenant.tickets()).toHaveLength(1);
  });

  it("keeps one subscription per entity however often it registers, and reports a refusal", async () => {
    const { tenant, session } = open();
    const o = { partnerId: 1, url: "https://n.example.com/webhooks/fake/1", secret: "s" };
    const first = await session.webhooks.register({ ...o, known: [] });
    await session.webhooks.register({ ...o, known: first.hooks });
    await session.webhooks.register({ ...o, url: "https://moved.example.com/webhooks/fake/1", known: [] });
    expect(tenant.webhooks().map((w) => [w.entity, w.url])).toEqual([
      ["Ticket", "https://moved.example.com/webhooks/fake/1"],
      ["TicketNote", "https://moved.example.com/webhooks/fake/1"],
    ]);
    tenant.webhooksAllowed = false;
    const refused = await session.webhooks.register({ ...o, known: [] });
    expect(refused.hooks).toEqual([]);
    expect(refused.failures[0]).toMatch(/may not manage webhooks/);
  });

  it("authenticates every call by the account and secret", async () => {
    const fake = fakeConnector();
    const s = fake.open(fake.settings(1), "not-the-secret", ctxFor(1));
    const e = await rejectsWith(s.tickets.get(1), ["AUTH"]);
    expect(e).toBeInstanceOf(PsaError);
    expect(e.retryable).toBe(false);
    const other = fake.open(fake.settings(2), fake.tenant(1).secret, ctxFor(1));
    await rejectsWith(other.tickets.get(1), ["AUTH"]);
  });
});
