/**
 * The ConnectWise TicketPort against the emulator over HTTPS: tickets on the NOC board both ways,
 * the portal ticket id in externalXRef, the configuration link as the ticket's device, the
 * description as the first discussion note, changes by lastUpdated, notes with their flags, and no
 * duplicate after a create or note whose answer was lost.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/connectwise/index.js";
import type { PsaSession } from "../../src/psa/connector.js";
import { EMPTY_DESCRIPTION } from "../../src/psa/connectwise/tickets.js";
import { manualClock } from "../emulator/connectwise-helpers.js";
import { type CwFixture, openSession, startCwFixture } from "./connectwise-helpers.js";

const clock = manualClock("2026-03-02T09:00:00Z");
let f: CwFixture;
let session: PsaSession;

beforeAll(async () => {
  f = await startCwFixture({ now: clock.now });
});
afterAll(async () => {
  await f?.close();
});
beforeEach(async () => {
  await f.admin("POST", "reset");
  session = openSession(f).session;
});

const tenant = () => {
  const t = f.emu.store.tenant(f.emu.credentials.companyId);
  if (!t) throw new Error("no tenant");
  return t;
};

/** A configuration of Acme made straight in the emulator. */
async function configuration(name: string): Promise<number> {
  const c = await f.client().create<{ id: number }>("company/configurations", {
    name,
    type: { id: DEMO_IDS.configurationTypes.device },
    company: { id: DEMO_IDS.companies.acme },
  });
  return c.id;
}

const newTicket = (over: Partial<Parameters<PsaSession["tickets"]["create"]>[0]> = {}) => ({
  title: "Disk C: above 90 %",
  description: "Seen by the NOC at 09:00",
  status: DEMO_IDS.statuses.new,
  priority: DEMO_IDS.priorities.high,
  assetId: null,
  companyId: DEMO_IDS.companies.acme,
  externalRef: "501",
  ...over,
});

describe("ConnectWise tickets", () => {
  it("creates a service ticket on the NOC board with its defaults, device link and portal ref, and reads it back", async () => {
    const cfg = await configuration("ACME-PC-1");
    const id = await session.tickets.create(newTicket({ assetId: cfg }));
    const raw = tenant().get("tickets", id) as Record<string, unknown>;
    expect(raw["board"]).toMatchObject({ id: DEMO_IDS.nocBoard });
    expect(raw["type"]).toMatchObject({ id: 1 });
    expect(raw["subType"]).toMatchObject({ id: 1 });
    expect(raw["source"]).toMatchObject({ id: 1 });
    expect(raw["externalXRef"]).toBe("nocbridge:501");
    const t = await session.tickets.get(id);
    expect(t).toEqual({
      id,
      number: String(id),
      title: "Disk C: above 90 %",
      description: "Seen by the NOC at 09:00",
      status: DEMO_IDS.statuses.new,
      priority: DEMO_IDS.priorities.high,
      assetId: cfg,
      companyId: DEMO_IDS.companies.acme,
      inNocQueue: true,
      externalRef: "501",
      lastActivity: "2026-03-02T09:00:00Z",
      lastChangeOurs: true, // the create's answer named our API member
      notes: [], // listed with the description: the ticket has no other note
    });
    expect((await session.tickets.findByExternalRef("501"))?.id).toBe(id);
    expect(await session.tickets.findByExternalRef("502")).toBeNull();
    expect(await session.tickets.get(99_999)).toBeNull();
    // The description is a note in ConnectWise, not one of the ticket's notes here.
    expect(await session.tickets.notes(id)).toEqual([]);
  });

  it("keeps an empty description as a placeholder note and reads it back as empty", async () => {
    const id = await session.tickets.create(newTicket({ description: "" }));
    expect(
      tenant()
        .rows("notes")
        .map((n) => n["text"]),
    ).toEqual([EMPTY_DESCRIPTION]);
    expect((await session.tickets.get(id))?.description).toBe("");
  });

  it("does not take another integration's externalXRef for a portal ticket", async () => {
    const other = await f.client().create<{ id: number }>("service/tickets", {
      summary: "from an RMM",
      company: { id: DEMO_IDS.companies.acme },
      board: { id: DEMO_IDS.nocBoard },
      externalXRef: "501",
    });
    expect((await session.tickets.get(other.id))?.externalRef).toBeNull();
    expect(await session.tickets.findByExternalRef("501")).toBeNull();
  });

  it("updates only what changed: one PATCH for title, status and priority; the description note; the device link", async () => {
    const a = await configuration("ACME-PC-1");
    const b = await configuration("ACME-PC-2");
    const id = await session.tickets.create(newTicket({ assetId: a }));
    f.emu.stats.reset();
    await session.tickets.update(id, {
      title: "Disk C: full",
      status: DEMO_IDS.statuses.inProgress,
      priority: 1,
    });
    expect(f.emu.stats.snapshot().byOperation).toEqual({ "update service/tickets": 1 });
    await session.tickets.update(id, { description: "Now 99 %" });
    await session.tickets.update(id, { assetId: b });
    const t = await session.tickets.get(id);
    expect(t).toMatchObject({
      title: "Disk C: full",
      status: DEMO_IDS.statuses.inProgress,
      priority: 1,
      description: "Now 99 %",
      assetId: b,
    });
    expect(tenant().ticketConfigurations.get(id)).toEqual([b]);
    await session.tickets.update(id, { assetId: null });
    expect((await session.tickets.get(id))?.assetId).toBeNull();
    // Still one description note.
    expect(
      tenant()
        .rows("notes")
        .filter((n) => n["ticketId"] === id),
    ).toHaveLength(1);
  });

  it("sees tickets of the NOC board changed since a time, and linked ones that left it", async () => {
    const old = await session.tickets.create(newTicket({ externalRef: "1" }));
    clock.advance(60_000);
    const since = clock.now();
    const fresh = await session.tickets.create(newTicket({ externalRef: "2" }));
    const moved = await session.tickets.create(newTicket({ externalRef: "3" }));
    await f.client().patch(`service/tickets/${moved}`, [
      { op: "replace", path: "board", value: { id: 2 } },
      { op: "replace", path: "status", value: { id: 6 } },
      { op: "remove", path: "type" },
      { op: "remove", path: "subType" },
    ]);
    const elsewhere = await f.client().create<{ id: number }>("service/tickets", {
      summary: "help desk",
      company: { id: DEMO_IDS.companies.acme },
      board: { id: 2 },
    });
    const seen = await session.tickets.changedSince(since, []);
    expect(seen.map((x) => x.id).sort()).toEqual([fresh]);
    expect(seen[0]?.lastActivity).toBe("2026-03-02T09:01:00Z");
    const withLinked = await session.tickets.changedSince(since, [moved, old]);
    expect(withLinked.map((x) => x.id).sort((x, y) => x - y)).toEqual([fresh, moved]);
    expect((await session.tickets.get(moved))?.inNocQueue).toBe(false);
    expect(seen.some((x) => x.id === elsewhere.id)).toBe(false);
    // Many linked ids still work (the conditions go into a /search body when the URL grows long).
    const many = Array.from({ length: 700 }, (_, i) => 10_000 + i);
    f.emu.stats.reset();
    expect(
      (await session.tickets.changedSince(since, [...many, moved])).map((x) => x.id).sort((x, y) => x - y),
    ).toEqual([fresh, moved]);
    expect(f.emu.stats.snapshot().byOperation["search service/tickets"]).toBeGreaterThan(0);
  });

  it("says whether the last change was ours (`_info.updatedBy` as our own writes are answered with); update returns its PATCH's answer", async () => {
    const since = clock.now(); // the clock is the file's: where the tests before left it
    const id = await session.tickets.create(newTicket());
    clock.advance(1_000);
    const second = new Date(since.getTime() + 1_000).toISOString().replace(/\.\d+Z$/, "Z");
    const written = await session.tickets.update(id, { title: "Renamed", priority: DEMO_IDS.priorities.low });
    expect(written).toEqual({
      lastActivity: second,
      fields: { title: "Renamed", status: DEMO_IDS.statuses.new, priority: DEMO_IDS.priorities.low },
    });
    expect((await session.tickets.get(id))?.lastChangeOurs).toBe(true);
    expect(await session.tickets.changedSince(since, [])).toEqual([
      { id, lastActivity: second, lastChangeOurs: true },
    ]);
    // A technician's edit in the same second: same stamp, not ours.
    const tech = await f.admin("POST", `tenants/${f.emu.credentials.companyId}/actAs`, { member: "asmith" });
    const { httpsCall } = await import("../emulator/connectwise-helpers.js");
    const { Agent } = await import("node:https");
    const agent = new Agent({ ca: f.emu.caPem });
    await httpsCall(
      agent,
      "PATCH",
      `${f.emu.baseUrl}/service/tickets/${id}`,
      [{ op: "replace", path: "summary", value: "Renamed by Alice" }],
      {
        authorization: (tech.body as { authorization: string }).authorization,
        clientId: f.emu.credentials.clientId,
        "content-type": "application/json",
      },
    );
    agent.destroy();
    expect(await session.tickets.changedSince(since, [])).toEqual([
      { id, lastActivity: second, lastChangeOurs: false },
    ]);
    expect((await session.tickets.get(id))?.lastChangeOurs).toBe(false);
    // A write that ends with the description note: the ticket's stamp after it is not the PATCH's.
    expect(await session.tickets.update(id, { title: "Again", description: "New text" })).toBeUndefined();
    // A connection that has not written yet does not know who it writes as: nothing is ours.
    const fresh = openSession(f).session;
    expect((await fresh.tickets.get(id))?.lastChangeOurs).toBe(false);
  });

  it("adds notes with ConnectWise's flags and reads them with their authors", async () => {
    const id = await session.tickets.create(newTicket());
    const pub = await session.tickets.addNote(id, { text: "Customer told", published: true }, new Set());
    const int = await session.tickets.addNote(id, { text: "Tech detail", published: false }, new Set());
    const raw = (n: number) => tenant().get("notes", n) as Record<string, unknown>;
    expect(raw(pub)).toMatchObject({ detailDescriptionFlag: true, internalAnalysisFlag: false });
    expect(raw(int)).toMatchObject({ detailDescriptionFlag: false, internalAnalysisFlag: true });
    const tech = await f.admin("POST", `tenants/${f.emu.credentials.companyId}/actAs`, { member: "asmith" });
    const auth = (tech.body as { authorization: string }).authorization;
    const { httpsCall } = await import("../emulator/connectwise-helpers.js");
    const { Agent } = await import("node:https");
    const agent = new Agent({ ca: f.emu.caPem });
    await httpsCall(
      agent,
      "POST",
      `${f.emu.baseUrl}/service/tickets/${id}/notes`,
      { text: "Resolved by reboot", resolutionFlag: true },
      { authorization: auth, clientId: f.emu.credentials.clientId, "content-type": "application/json" },
    );
    agent.destroy();
    const notes = await session.tickets.notes(id);
    expect(notes.map((n) => [n.text, n.published, n.author])).toEqual([
      ["Customer told", true, "NOC Bridge API"],
      ["Tech detail", false, "NOC Bridge API"],
      ["Resolved by reboot", true, "Alice Smith"],
    ]);
    const last = notes[2]?.id as number;
    expect(await session.tickets.noteTicket(last)).toBe(id);
    expect(await session.tickets.noteTicket(424_242)).toBeNull();
  });

  it("does not duplicate a ticket whose create was applied but never answered", async () => {
    f.emu.faults.configure({ shareTimeoutAfterApply: 1, timeoutAfterMs: 10, onlyWrites: true });
    const { session: s } = openSession(f, { client: { requestTimeoutMs: 2_000 } });
    const id = await s.tickets.create(newTicket({ externalRef: "777" }));
    f.emu.faults.configure({ shareTimeoutAfterApply: 0 });
    const mine = tenant()
      .rows("tickets")
      .filter((t) => t["externalXRef"] === "nocbridge:777");
    expect(mine.map((t) => t.id)).toEqual([id]);
    expect(f.emu.stats.snapshot().afterApply.timeout).toBe(1);
  });

  it("does not duplicate a note whose create answered 500 after it was applied", async () => {
    const id = await session.tickets.create(newTicket());
    f.emu.faults.configure({ share500AfterApply: 1, onlyWrites: true });
    const noteId = await session.tickets.addNote(
      id,
      { text: "line one\nline two", published: true },
      new Set(),
    );
    f.emu.faults.configure({ share500AfterApply: 0 });
    const notes = tenant()
      .rows("notes")
      .filter((n) => n["ticketId"] === id && n["text"] === "line one line two");
    expect(notes.map((n) => n.id)).toEqual([noteId]);
  });
});
