import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { ConnectWiseApi } from "../../src/psa/connectwise/api.js";
import {
  CW_IDS,
  type CwSyncFixture,
  cwIntegration,
  openCwSync,
  type WireRequest,
} from "../helpers/connectwise.js";
import { STORES } from "../helpers/services.js";

/**
 * What a portal edit costs in ConnectWise requests, the next poll included (issue 12, Polls), against
 * the ConnectWise emulator over HTTPS. ConnectWise stamps `_info.lastUpdated` to the second, so the
 * stamp of our own write is not final when the sync sees it; it is recorded as seen because
 * `_info.updatedBy` names our API member, and only while it still does: a person's edit later in
 * that second names them, and the poll reads the ticket again (docs/reliability.md, Inbox and dedup; docs/connectwise.md).
 *
 * The emulator's clock stands still a minute ahead while a test runs: every stamp is then "not yet
 * final" (its second is not over by our clock) however slowly the test runs, and two writes share
 * one second.
 */

const NOC = CW_IDS.nocBoard;
const S = CW_IDS.statuses;
const P = CW_IDS.priorities;

const isWrite = (r: WireRequest) =>
  r.method === "PATCH" || r.method === "DELETE" || (r.method === "POST" && !r.path.endsWith("/search"));
const shape = (r: WireRequest) => `${r.method} ${r.path.replace(/\/\d+/g, "/{id}")}`;

describe.each(STORES)("ConnectWise requests per portal edit on %s", (kind) => {
  let cw: CwSyncFixture;
  let partnerId = 0;
  let clientA = 0;
  /** While set, the emulator's clock stands still there. */
  let frozen: Date | null = null;
  /** Runs once, right before our next ticket PATCH is sent (a person's edit slipped in between). */
  let beforeOurPatch: (() => Promise<unknown>) | null = null;

  const portal = () => cw.env.services.portal;
  const tickets = () => cw.env.services.sync.tickets;
  const stampOf = (id: number) =>
    (
      cw.f.emu.store.tenant(cw.f.emu.credentials.companyId)?.get("tickets", id) as
        | { _info: { lastUpdated: string; updatedBy: string } }
        | undefined
    )?._info;
  const techPatch = (id: number, path: string, value: unknown) =>
    cw.asTech("PATCH", `service/tickets/${id}`, [{ op: "replace", path, value }]);
  /** Requests about this ticket (its record, notes, configurations) since `from`, by shape, sorted. */
  const ticketCalls = (from: number, id: number) => {
    const own = new RegExp(`^service/tickets/${id}(/|$)`);
    return cw.wire
      .slice(from)
      .filter((r) => own.test(r.path))
      .map(shape)
      .sort();
  };
  const poll = async () => {
    await cw.env.services.sync.pollTickets(partnerId);
    await tickets().idle(partnerId);
  };
  /** A linked pair, created on the portal; returns the portal and ConnectWise ids. */
  const pair = async (title: string) => {
    const t = await portal().createTicket(SYSTEM_ACTOR, partnerId, {
      clientId: clientA,
      title,
      description: "Seen once",
      statusId: 1,
      priorityId: 9,
    });
    await tickets().notify(partnerId);
    await tickets().idle(partnerId);
    const psaId = (await tickets().view(t.id)).ticketId;
    if (psaId === null)
      throw new Error(`${title}: not linked: ${JSON.stringify(await tickets().view(t.id))}`);
    await poll(); // whatever the create left behind is seen before the test's edit
    return { id: t.id, psaId };
  };

  beforeAll(async () => {
    cw = await openCwSync(kind, {
      emulator: { now: () => frozen ?? new Date() },
      wrap: (client) =>
        new Proxy(client, {
          get(target, prop) {
            const v: unknown = Reflect.get(target, prop, target);
            if (prop !== "patch") return typeof v === "function" ? v.bind(target) : v;
            return async (path: string, ops: Parameters<ConnectWiseApi["patch"]>[1]) => {
              const hook = beforeOurPatch;
              if (hook && /^service\/tickets\/\d+$/.test(path)) {
                beforeOurPatch = null;
                await hook();
              }
              return target.patch(path, ops);
            };
          },
        }) as ConnectWiseApi,
    });
    const p = await portal().createPartner(SYSTEM_ACTOR, { name: "CW calls VAR" });
    partnerId = p.id;
    clientA = (
      await portal().createClient(SYSTEM_ACTOR, partnerId, {
        code: "CWC",
        name: "Acme Dental Group",
        psaCompanyId: CW_IDS.companies.acme,
      })
    ).id;
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "status-forward", [
      { portalId: 1, psaId: S.new, psaLabel: "New", scope: NOC },
      { portalId: 7, psaId: S.inProgress, psaLabel: "In Progress", scope: NOC },
    ]);
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "status-reverse", [
      { portalId: 1, psaId: S.new, psaLabel: "New", scope: NOC },
      { portalId: 7, psaId: S.inProgress, psaLabel: "In Progress", scope: NOC },
    ]);
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "priority", [
      { portalId: 9, psaId: P.medium, psaLabel: "Priority 3 - Medium" },
      { portalId: 10, psaId: P.low, psaLabel: "Priority 4 - Low" },
    ]);
    await portal().putIntegration(
      SYSTEM_ACTOR,
      partnerId,
      cwIntegration(cw.f, { ticketing: true, devices: false }),
    );
    // Callbacks off: what reaches the sync here is the portal's edits and the polls (nothing listens
    // at the callback URL registered).
    await cw.admin("PUT", "callbacks", { enabled: false });
    cw.env.services.setListeningUrl("http://127.0.0.1:9");
    await cw.env.services.sync.ticketSetup(partnerId);
  });
  afterAll(async () => {
    await cw?.close();
  });

  it("a portal edit is one PATCH after one read of the ticket, and the next poll does not read it again", async () => {
    frozen = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
    try {
      const { id, psaId } = await pair("Calls per edit");
      const from = cw.wire.length;
      await portal().updateTicket(SYSTEM_ACTOR, id, { title: "Calls per edit (renamed)", priorityId: 10 });
      await tickets().idle(partnerId);
      expect(ticketCalls(from, psaId)).toEqual([
        "GET service/tickets/{id}",
        "GET service/tickets/{id}/configurations",
        "GET service/tickets/{id}/notes", // the description and the notes in one listing
        "PATCH service/tickets/{id}",
      ]);
      expect(cw.wire.slice(from).filter(isWrite).map(shape)).toEqual(["PATCH service/tickets/{id}"]);
      expect(stampOf(psaId)?.updatedBy).not.toBe("asmith");

      const polled = cw.wire.length;
      await poll();
      expect(cw.wire.slice(polled).map(shape)).toContain("GET service/tickets"); // the poll's listing
      expect(ticketCalls(polled, psaId)).toEqual([]);
    } finally {
      frozen = null;
    }
  });

  it("a person's edit in the same second after our write is read by the next poll", async () => {
    frozen = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
    try {
      const { id, psaId } = await pair("Same second as ours");
      await portal().updateTicket(SYSTEM_ACTOR, id, { title: "Same second as ours (portal)" });
      await tickets().idle(partnerId);
      const ours = stampOf(psaId);
      await techPatch(psaId, "summary", "Same second as ours (technician)");
      expect(stampOf(psaId)?.lastUpdated).toBe(ours?.lastUpdated); // the same stamp…
      expect(stampOf(psaId)?.updatedBy).toBe("asmith"); // …by someone else
      const polled = cw.wire.length;
      await poll();
      expect(ticketCalls(polled, psaId)).toContain("GET service/tickets/{id}");
      expect((await portal().getTicket(SYSTEM_ACTOR, id)).title).toBe("Same second as ours (technician)");
    } finally {
      frozen = null;
    }
  });

  it("a person's edit between our read and our write, in its second, is read by the next poll", async () => {
    frozen = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
    try {
      const { id, psaId } = await pair("Between read and write");
      // The technician sets the status after our read; our PATCH (the title only) comes after it,
      // so ConnectWise names us as the last writer of that second.
      beforeOurPatch = () => techPatch(psaId, "status", { id: S.inProgress });
      await portal().updateTicket(SYSTEM_ACTOR, id, { title: "Between read and write (portal)" });
      await tickets().idle(partnerId);
      expect(beforeOurPatch).toBeNull();
      expect(stampOf(psaId)?.updatedBy).not.toBe("asmith");
      const polled = cw.wire.length;
      await poll();
      expect(ticketCalls(polled, psaId)).toContain("GET service/tickets/{id}");
      const t = await portal().getTicket(SYSTEM_ACTOR, id);
      expect([t.title, t.statusId]).toEqual(["Between read and write (portal)", 7]);
    } finally {
      frozen = null;
      beforeOurPatch = null;
    }
  });
});
