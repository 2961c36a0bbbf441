/**
 * Files both ways between portal tickets and ConnectWise documents on service tickets, against the
 * emulator over HTTPS, on both stores (docs/connectwise.md, Documents): an upload reaches the
 * ConnectWise ticket with the same bytes, once; a technician's document appears on the portal ticket
 * and downloads; the same bytes never cross twice; a document over the portal's limit is skipped with
 * a warning and never truncated.
 */
import { createHash } from "node:crypto";
import { Agent, request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import { CW_IDS, type CwSyncFixture, cwIntegration, openCwSync } from "../helpers/connectwise.js";
import { multipart } from "../helpers/multipart.js";
import { STORES, testApp } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

const LIMIT = 64 * 1024;

interface CwDoc {
  id: number;
  fileName: string;
  title: string;
  size: number;
  owner: string;
}

describe.each(STORES)("ticket attachments both ways against the ConnectWise emulator on %s", (kind) => {
  let cw: CwSyncFixture;
  let app: App;
  let agent: Agent;
  let techAuth = "";
  let partnerId = 0;
  let clientA = 0;
  const tok = { techA: "", adminB: "" };
  let skew = 0;

  const services = () => cw.env.services;
  const portal = () => services().portal;
  const drain = () => services().sync.tickets.notify(partnerId);
  const poll = () => services().sync.pollTickets(partnerId);
  const linkOf = async (ticketId: number) => (await services().sync.tickets.view(ticketId)).ticketId;
  const cwDocs = (cwId: number) =>
    cw.asTech<CwDoc[]>("GET", `system/documents?recordType=Ticket&recordId=${cwId}`);
  const cwCreates = async () => (await cw.stats()).byOperation["create system/documents"] ?? 0;
  const download = (id: number): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const req = request(
        `${cw.f.emu.baseUrl}/system/documents/${id}/download`,
        { agent, headers: { authorization: techAuth, clientId: cw.f.emu.credentials.clientId } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve(Buffer.concat(chunks)));
        },
      );
      req.on("error", reject);
      req.end();
    });
  /** A document a technician adds in ConnectWise (their own API key), multipart as the API takes it. */
  const techDocument = async (cwId: number, name: string, type: string, data: Buffer): Promise<CwDoc> => {
    const form = new FormData();
    form.set("recordType", "Ticket");
    form.set("recordId", String(cwId));
    form.set("title", name);
    form.set("file", new Blob([data], { type }), name);
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
            else resolve(JSON.parse(text) as CwDoc);
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  };
  /**
   * Activity on the ConnectWise ticket (a technician's note): a document alone does not stamp it. The
   * emulator's clock moves on first: ConnectWise stamps in whole seconds.
   */
  const techNote = (cwId: number, text: string) => {
    skew += 2_000;
    return cw.asTech("POST", `service/tickets/${cwId}/notes`, { text, internalAnalysisFlag: true });
  };
  const upload = async (ticketId: number, name: string, type: string, data: Buffer) => {
    const m = multipart(name, type, data);
    const res = await app.inject({
      method: "POST",
      url: `/api/tickets/${ticketId}/attachments`,
      headers: { ...m.headers, authorization: `Bearer ${tok.techA}` },
      payload: m.payload,
    });
    return { status: res.statusCode, body: res.json() };
  };
  const newLinkedTicket = async (title: string) => {
    const t = await portal().createTicket(SYSTEM_ACTOR, partnerId, {
      clientId: clientA,
      title,
      statusId: 1,
      priorityId: 9,
    });
    await drain();
    const cwId = await linkOf(t.id);
    if (!cwId)
      throw new Error(
        `ticket not linked: ${JSON.stringify(await services().sync.tickets.errors(partnerId))}`,
      );
    return { id: t.id, cwId };
  };

  beforeAll(async () => {
    cw = await openCwSync(kind, {
      emulator: { now: () => new Date(Date.now() + skew) },
      client: { requestTimeoutMs: 2_000 },
      services: {
        ticketRetry: { maxAttempts: 3, baseMs: 10 },
        env: { NOCBRIDGE_ATTACHMENT_MAX_BYTES: String(LIMIT) },
      },
    });
    app = await testApp(cw.env);
    agent = new Agent({ ca: cw.f.emu.caPem });
    techAuth = (
      await cw.admin<{ authorization: string }>("POST", `tenants/${cw.f.emu.credentials.companyId}/actAs`, {
        member: "asmith",
      })
    ).authorization;
    partnerId = (await portal().createPartner(SYSTEM_ACTOR, { name: "CW files VAR" })).id;
    const other = await portal().createPartner(SYSTEM_ACTOR, { name: "Other VAR" });
    tok.techA = (
      await portal().createUser(SYSTEM_ACTOR, { name: "Tech", role: "technician", partnerId })
    ).token;
    tok.adminB = (
      await portal().createUser(SYSTEM_ACTOR, { name: "B", role: "partner-admin", partnerId: other.id })
    ).token;
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
  });
  afterAll(async () => {
    await app?.close();
    agent?.destroy();
    await cw?.close();
  });

  it("a portal upload reaches the ConnectWise ticket as a document with the same bytes, once", async () => {
    const t = await newLinkedTicket("Upload");
    const data = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 13, 10, 255]);
    expect((await upload(t.id, "screen.png", "image/png", data)).status).toBe(201);
    await drain();
    const docs = await cwDocs(t.cwId);
    expect(docs.map((d) => [d.fileName, d.size])).toEqual([["screen.png", data.length]]);
    expect((await download(docs[0]!.id)).equals(data)).toBe(true);
    // Sent as multipart/form-data by our API member.
    expect(docs[0]!.owner).not.toBe("asmith");
    // The same bytes again: the portal keeps one file, ConnectWise gets nothing more; a poll copies nothing back.
    const before = await cwCreates();
    expect((await upload(t.id, "screen-again.png", "image/png", data)).status).toBe(200);
    await drain();
    await poll();
    await drain();
    expect(await cwCreates()).toBe(before);
    expect(await cwDocs(t.cwId)).toHaveLength(1);
    expect(await portal().attachments.list(SYSTEM_ACTOR, t.id)).toHaveLength(1);
  });

  it("a technician's document in ConnectWise appears on the portal ticket once the ticket shows activity, downloadable, not to another partner", async () => {
    const t = await newLinkedTicket("From ConnectWise");
    const data = Buffer.from("Event log excerpt\r\nID 7: disk error\r\n");
    await techDocument(t.cwId, "eventlog.txt", "text/plain", data);
    // A document does not stamp the ticket's _info.lastUpdated: a poll alone does not see it ...
    skew += 2_000;
    await poll();
    await drain();
    expect(await portal().attachments.list(SYSTEM_ACTOR, t.id)).toHaveLength(0);
    // ... the ticket's next activity brings it.
    await techNote(t.cwId, "Event log attached.");
    await poll();
    const got = await until(
      async () =>
        (await portal().attachments.list(SYSTEM_ACTOR, t.id)).find((a) => a.fileName === "eventlog.txt"),
      "the ConnectWise document on the portal ticket",
    );
    expect(got).toMatchObject({ origin: "psa", contentType: "text/plain", size: data.length });
    expect(got.sha256).toBe(createHash("sha256").update(data).digest("hex"));
    const dl = await app.inject({
      method: "GET",
      url: `/api/attachments/${got.id}`,
      headers: { authorization: `Bearer ${tok.techA}` },
    });
    expect(dl.statusCode).toBe(200);
    expect(dl.rawPayload.equals(data)).toBe(true);
    const other = await app.inject({
      method: "GET",
      url: `/api/attachments/${got.id}`,
      headers: { authorization: `Bearer ${tok.adminB}` },
    });
    expect(other.statusCode).toBe(404);
    // Never sent back to ConnectWise, never copied twice.
    const before = await cwCreates();
    await techNote(t.cwId, "More activity.");
    await poll();
    await drain();
    expect(await cwCreates()).toBe(before);
    expect(await cwDocs(t.cwId)).toHaveLength(1);
    expect(await portal().attachments.list(SYSTEM_ACTOR, t.id)).toHaveLength(1);
  });

  it("the same bytes added on both sides before either crossed are linked, not copied either way", async () => {
    const t = await newLinkedTicket("Same bytes");
    const data = Buffer.from("the same report");
    expect((await upload(t.id, "report.txt", "text/plain", data)).status).toBe(201);
    await techDocument(t.cwId, "report-from-cw.txt", "text/plain", data);
    await techNote(t.cwId, "Report attached.");
    const before = await cwCreates();
    await poll();
    await drain();
    await poll();
    await drain();
    expect(await cwCreates()).toBe(before);
    expect(await cwDocs(t.cwId)).toHaveLength(1);
    expect(await portal().attachments.list(SYSTEM_ACTOR, t.id)).toHaveLength(1);
    const links = await services()
      .db.kysely.selectFrom("attachment_links")
      .selectAll()
      .where("psa_ticket_id", "=", t.cwId)
      .execute();
    expect(links).toHaveLength(1);
  });

  it("a portal upload of bytes already copied from ConnectWise is answered with that file, nothing sent", async () => {
    const t = await newLinkedTicket("Copied then uploaded");
    const data = Buffer.from("copied report");
    await techDocument(t.cwId, "copied.txt", "text/plain", data);
    await techNote(t.cwId, "Copied report attached.");
    await poll();
    await until(async () => (await portal().attachments.list(SYSTEM_ACTOR, t.id)).length === 1, "copied");
    const before = await cwCreates();
    expect((await upload(t.id, "copied-again.txt", "text/plain", data)).status).toBe(200);
    await drain();
    expect(await cwCreates()).toBe(before);
  });

  it("a ConnectWise document over the portal's limit is skipped whole, with a warning on the ticket", async () => {
    const t = await newLinkedTicket("Too big");
    await techDocument(t.cwId, "memory.dmp", "application/octet-stream", Buffer.alloc(LIMIT + 1, 7));
    await techNote(t.cwId, "Dump attached.");
    await poll();
    const warning = await until(
      async () =>
        (await portal().listNotes(SYSTEM_ACTOR, t.id)).items.find((n) => n.text.includes("memory.dmp")),
      "the warning",
    );
    expect(warning.text).toContain(String(LIMIT));
    expect(warning.text).toContain("ConnectWise");
    expect(warning.published).toBe(false);
    expect(await portal().attachments.list(SYSTEM_ACTOR, t.id)).toHaveLength(0);
    // Remembered: the next poll neither copies nor warns again.
    await techNote(t.cwId, "Still there.");
    await poll();
    await drain();
    const warnings = (await portal().listNotes(SYSTEM_ACTOR, t.id)).items.filter((n) =>
      n.text.includes("memory.dmp"),
    );
    expect(warnings).toHaveLength(1);
  });

  it("an upload is never duplicated in ConnectWise when its create times out after being applied", async () => {
    const t = await newLinkedTicket("Timed out file");
    await cw.admin("PUT", "faults", { shareTimeoutAfterApply: 1, onlyWrites: true });
    try {
      expect((await upload(t.id, "once.txt", "text/plain", Buffer.from("sent once"))).status).toBe(201);
      await drain();
    } finally {
      await cw.admin("PUT", "faults", { shareTimeoutAfterApply: 0, onlyWrites: false });
    }
    for (let i = 0; i < 5 && (await services().sync.tickets.errors(partnerId)).length > 0; i++) {
      for (const e of await services().sync.tickets.errors(partnerId))
        await services().sync.tickets.retry(e.id);
      await drain();
    }
    expect((await cwDocs(t.cwId)).map((d) => d.fileName)).toEqual(["once.txt"]);
    expect((await cw.stats()).afterApply.timeout).toBeGreaterThan(0);
  });
});
