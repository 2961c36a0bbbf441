/**
 * The periodic file check against the ConnectWise emulator over HTTPS, on both stores
 * (docs/effort-sync.md, Files added alone in the PSA): a document added on its own to a linked ticket
 * stamps nothing and fires no callback, so no poll's "changed since" names it; the engine's slower
 * check of open linked tickets brings it to the portal within the period, fetched once. Each poll
 * checks a bounded batch, the longest-unchecked tickets first.
 */
import { createHash } from "node:crypto";
import { Agent, request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import { CW_IDS, type CwSyncFixture, cwIntegration, openCwSync } from "../helpers/connectwise.js";
import { STORES } from "../helpers/services.js";

/** The default period (NOCBRIDGE_FILE_CHECK_MINUTES) and poll interval. */
const PERIOD_MS = 60 * 60_000;
const POLL_MS = 5 * 60_000;

describe.each(STORES)("the periodic file check against the ConnectWise emulator on %s", (kind) => {
  let cw: CwSyncFixture;
  let agent: Agent;
  let techAuth = "";
  let partnerId = 0;
  let clientA = 0;
  /** How far the engine's clock is ahead of the real one: a test moves it past the period. */
  let ahead = 0;

  const services = () => cw.env.services;
  const portal = () => services().portal;
  const drain = () => services().sync.tickets.notify(partnerId);
  const poll = () => services().sync.pollTickets(partnerId);
  const files = async (ticketId: number) => portal().attachments.list(SYSTEM_ACTOR, ticketId);
  const lists = (cwId: number) =>
    cw.wire.filter(
      (w) => w.method === "GET" && w.path === "system/documents" && w.query.get("recordId") === String(cwId),
    ).length;
  const downloads = (docId: number) =>
    cw.wire.filter((w) => w.path === `system/documents/${docId}/download`).length;
  /** A document a technician adds in ConnectWise (their own API key): nothing else changes on the ticket. */
  const techDocument = async (cwId: number, name: string, data: Buffer): Promise<{ id: number }> => {
    const form = new FormData();
    form.set("recordType", "Ticket");
    form.set("recordId", String(cwId));
    form.set("title", name);
    form.set("file", new Blob([data], { type: "text/plain" }), name);
    const r = new Response(form);
    const body = Buffer.from(await r.arrayBuffer());
    return new Promise((resolve, reject) => {
      const req = request(
        `${cw.f.emu.baseUrl}/system/documents`,
        {
          method: "POST",
          agent,
          headers: {
            authorization: techAuth,
            clientId: cw.f.emu.credentials.clientId,
            "content-type": String(r.headers.get("content-type")),
            "content-length": String(body.length),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if ((res.statusCode ?? 0) >= 300) reject(new Error(`HTTP ${res.statusCode} ${text}`));
            else resolve(JSON.parse(text) as { id: number });
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  };
  const newLinkedTicket = async (title: string) => {
    const t = await portal().createTicket(SYSTEM_ACTOR, partnerId, {
      clientId: clientA,
      title,
      statusId: 1,
      priorityId: 9,
    });
    await drain();
    const cwId = (await services().sync.tickets.view(t.id)).ticketId;
    if (!cwId)
      throw new Error(
        `ticket not linked: ${JSON.stringify(await services().sync.tickets.errors(partnerId))}`,
      );
    return { id: t.id, cwId };
  };
  const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

  beforeAll(async () => {
    cw = await openCwSync(kind, {
      client: { requestTimeoutMs: 2_000 },
      services: {
        clock: { now: () => new Date(Date.now() + ahead) },
        ticketRetry: { maxAttempts: 3, baseMs: 10 },
      },
    });
    agent = new Agent({ ca: cw.f.emu.caPem });
    techAuth = (
      await cw.admin<{ authorization: string }>("POST", `tenants/${cw.f.emu.credentials.companyId}/actAs`, {
        member: "asmith",
      })
    ).authorization;
    partnerId = (await portal().createPartner(SYSTEM_ACTOR, { name: "CW file check VAR" })).id;
    clientA = (
      await portal().createClient(SYSTEM_ACTOR, partnerId, {
        code: "CW1",
        name: "Acme Dental Group",
        psaCompanyId: CW_IDS.companies.acme,
      })
    ).id;
    const S = CW_IDS.statuses;
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "status-forward", [
      { portalId: 1, psaId: S.new, psaLabel: "New", scope: CW_IDS.nocBoard },
    ]);
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "status-reverse", [
      { portalId: 1, psaId: S.new, psaLabel: "New", scope: CW_IDS.nocBoard },
    ]);
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "priority", [
      { portalId: 9, psaId: CW_IDS.priorities.medium, psaLabel: "Priority 3 - Medium" },
    ]);
    await portal().putIntegration(SYSTEM_ACTOR, partnerId, cwIntegration(cw.f, { ticketing: true }));
    await services().sync.ticketSetup(partnerId);
    // No heartbeat: the tests poll themselves, so they know how many polls ran.
    await services().sync.stop();
  });
  afterAll(async () => {
    agent?.destroy();
    await cw?.close();
  });

  it("a document added alone appears on the portal ticket after the periodic check, fetched once", async () => {
    const t = await newLinkedTicket("Document alone");
    const data = Buffer.from("Event log excerpt\r\nID 7: disk error\r\n");
    const doc = await techDocument(t.cwId, "eventlog.txt", data);
    // Within the period a poll does not list the ticket's files: the document stays in ConnectWise.
    const listed = lists(t.cwId);
    await poll();
    await drain();
    expect(await files(t.id)).toHaveLength(0);
    expect(lists(t.cwId)).toBe(listed);
    // Once the period has passed, the next poll checks the ticket's files and brings the document.
    ahead += PERIOD_MS + 60_000;
    await poll();
    const got = await files(t.id);
    expect(got.map((a) => [a.fileName, a.origin, a.size, a.sha256])).toEqual([
      ["eventlog.txt", "psa", data.length, sha(data)],
    ]);
    expect(downloads(doc.id)).toBe(1);
    expect(lists(t.cwId)).toBe(listed + 1);
    // A period later it is checked again: listed, never fetched again, nothing copied or sent back.
    ahead += PERIOD_MS + 60_000;
    await poll();
    expect(lists(t.cwId)).toBe(listed + 2);
    expect(downloads(doc.id)).toBe(1);
    expect(await files(t.id)).toHaveLength(1);
    expect(
      await cw.asTech<unknown[]>("GET", `system/documents?recordType=Ticket&recordId=${t.cwId}`),
    ).toHaveLength(1);
  });

  it("each poll checks a bounded batch, the longest-unchecked first, and every open linked ticket within the period", async () => {
    const tickets: Array<{ id: number; cwId: number }> = [];
    for (const name of ["A", "B", "C"]) tickets.push(await newLinkedTicket(`Batch ${name}`));
    for (const t of tickets) await techDocument(t.cwId, `report-${t.id}.txt`, Buffer.from(`report ${t.id}`));
    // Four open linked tickets, a 5-minute poll and a 60-minute period: one ticket a poll,
    // ceil(4 × 5 / 60). The first test's ticket was checked longest ago, then A, B, C in link order.
    expect(Math.ceil((4 * POLL_MS) / PERIOD_MS)).toBe(1);
    ahead += PERIOD_MS + 60_000;
    const before = tickets.map((t) => lists(t.cwId));
    const arrived = async () => Promise.all(tickets.map(async (t) => (await files(t.id)).length));
    await poll();
    expect(tickets.map((t, i) => lists(t.cwId) - (before[i] ?? 0))).toEqual([0, 0, 0]);
    expect(await arrived()).toEqual([0, 0, 0]);
    await poll();
    expect(await arrived()).toEqual([1, 0, 0]);
    await poll();
    expect(await arrived()).toEqual([1, 1, 0]);
    await poll();
    expect(await arrived()).toEqual([1, 1, 1]);
    // All checked within the period: a further poll lists nothing.
    const after = tickets.map((t) => lists(t.cwId));
    await poll();
    expect(tickets.map((t) => lists(t.cwId))).toEqual(after);
  });

  it("a closed portal ticket is not checked; an open one beside it is", async () => {
    const open = await newLinkedTicket("Still open");
    const t = await newLinkedTicket("Closed");
    await techDocument(open.cwId, "open.txt", Buffer.from("on the open ticket"));
    await techDocument(t.cwId, "late.txt", Buffer.from("added after the close"));
    // Closed in the portal (status 3): the portal's status has no forward row here, so ConnectWise's stays.
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { statusId: 3 });
    await drain();
    const listed = lists(t.cwId);
    ahead += PERIOD_MS + 60_000;
    // Five open linked tickets, one a poll: five polls check them all, the sixth nothing.
    for (let i = 0; i < 6; i++) await poll();
    expect((await files(open.id)).map((a) => a.fileName)).toEqual(["open.txt"]);
    expect(lists(t.cwId)).toBe(listed);
    expect(await files(t.id)).toHaveLength(0);
  });
});
