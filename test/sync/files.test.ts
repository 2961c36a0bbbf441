/**
 * Files both ways between portal tickets and Autotask TicketAttachments, against the emulator over
 * HTTP, on both stores: an upload reaches Autotask with the same bytes; a technician's file in
 * Autotask appears on the portal ticket, downloadable with access checks; the same bytes never cross
 * twice; a file over the portal's limit is skipped with a warning and never truncated.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { ATTACHMENT_MAX_BYTES } from "../../src/emulators/autotask/attachments.js";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { systemClock } from "../../src/lib/clock.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import { Attachments } from "../../src/portal/attachments.js";
import { PortalContext } from "../../src/portal/context.js";
import {
  demoTicketing,
  fastClient,
  startTestEmulator,
  type TestEmulator,
  tenant,
} from "../helpers/autotask.js";
import { multipart } from "../helpers/multipart.js";
import { openTestServices, STORES, type TestEnv, testApp } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

type Creds = { username: string; secret: string; integrationCode: string };
interface AtAttachment {
  id: number;
  parentID: number;
  fullPath: string;
  fileSize: number;
  data: string | null;
}

const LIMIT = 64 * 1024;

describe.each(STORES)("ticket attachments both ways against the Autotask emulator on %s", (kind) => {
  let env: TestEnv;
  let at: TestEmulator;
  let app: App;
  let partnerId = 0;
  let clientA = 0;
  let tech: Creds;
  const tok = { techA: "", adminB: "" };

  const portal = () => env.services.portal;
  const drain = () => env.services.sync.tickets.notify(partnerId);
  const poll = () => env.services.sync.pollTickets(partnerId);
  const linkOf = async (ticketId: number) => (await env.services.sync.tickets.view(ticketId)).ticketId;
  const asTech = (method: string, path: string, body?: unknown) => at.api(method, path, body, tech);
  const atFiles = async (atId: number) =>
    (
      await at.api<{ items: AtAttachment[] }>("POST", "TicketAttachments/query", {
        filter: [{ op: "eq", field: "parentID", value: atId }],
      })
    ).items;
  const atCreates = async () => {
    const s = (await at.stats()) as unknown as { byOperation: Record<string, number> };
    return s.byOperation["create TicketAttachments"] ?? 0;
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
    const atId = await linkOf(t.id);
    if (!atId) throw new Error("ticket not linked");
    return { id: t.id, atId };
  };

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, {
      autotask: (creds) => fastClient(creds),
      ticketRetry: { maxAttempts: 3, baseMs: 10 },
      psaOrigins: [at.emu.url],
      env: { NOCBRIDGE_ATTACHMENT_MAX_BYTES: String(LIMIT) },
    });
    app = await testApp(env);
    tech = await at.admin<Creds>("POST", tenant("/actAs"), { resourceId: DEMO_IDS.technicians[0] });
    partnerId = (await portal().createPartner(SYSTEM_ACTOR, { name: "Files VAR" })).id;
    const other = await portal().createPartner(SYSTEM_ACTOR, { name: "Other VAR" });
    tok.techA = (
      await portal().createUser(SYSTEM_ACTOR, { name: "Tech", role: "technician", partnerId })
    ).token;
    tok.adminB = (
      await portal().createUser(SYSTEM_ACTOR, { name: "B", role: "partner-admin", partnerId: other.id })
    ).token;
    clientA = (
      await portal().createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT1",
        name: "Acme",
        psaCompanyId: DEMO_IDS.companies.AT1,
      })
    ).id;
    await portal().putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl),
      devices: {
        enabled: false,
        productId: null,
        configurationItemTypeId: null,
        advanced: false,
        schedule: null,
      },
    });
    await env.services.sync.ticketSetup(partnerId);
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
    await at?.close();
  });

  it("a portal upload reaches the Autotask ticket as a TicketAttachment with the same bytes, once", async () => {
    const t = await newLinkedTicket("Upload");
    const data = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 13, 10, 255]);
    expect((await upload(t.id, "screen.png", "image/png", data)).status).toBe(201);
    await drain();
    const files = await atFiles(t.atId);
    expect(files.map((f) => [f.fullPath, f.fileSize])).toEqual([["screen.png", data.length]]);
    const full = (await at.api<{ item: AtAttachment }>("GET", `TicketAttachments/${files[0]!.id}`)).item;
    expect(Buffer.from(String(full.data), "base64").equals(data)).toBe(true);
    // The same bytes again: the portal keeps one file, Autotask gets nothing more; a poll copies nothing back.
    const before = await atCreates();
    expect((await upload(t.id, "screen-again.png", "image/png", data)).status).toBe(200);
    await drain();
    await poll();
    await drain();
    expect(await atCreates()).toBe(before);
    expect(await portal().attachments.list(SYSTEM_ACTOR, t.id)).toHaveLength(1);
  });

  it("a technician's file in Autotask appears on the portal ticket, downloadable, not to another partner", async () => {
    const t = await newLinkedTicket("From Autotask");
    const data = Buffer.from("Event log excerpt\r\nID 7: disk error\r\n");
    await asTech("POST", `Tickets/${t.atId}/Attachments`, {
      attachmentType: "FILE_ATTACHMENT",
      fullPath: "eventlog.txt",
      title: "eventlog.txt",
      publish: 1,
      data: data.toString("base64"),
    });
    await poll();
    const got = await until(
      async () =>
        (await portal().attachments.list(SYSTEM_ACTOR, t.id)).find((a) => a.fileName === "eventlog.txt"),
      "the Autotask file on the portal ticket",
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
    // Never sent back to Autotask, never copied twice.
    const before = await atCreates();
    await poll();
    await drain();
    expect(await atCreates()).toBe(before);
    expect(await atFiles(t.atId)).toHaveLength(1);
    expect(await portal().attachments.list(SYSTEM_ACTOR, t.id)).toHaveLength(1);
  });

  it("the same bytes added on both sides before either crossed are linked, not copied either way", async () => {
    const t = await newLinkedTicket("Same bytes");
    const data = Buffer.from("the same report");
    // The portal upload's outbox row is not drained yet when the technician adds the same file.
    expect((await upload(t.id, "report.txt", "text/plain", data)).status).toBe(201);
    await asTech("POST", `Tickets/${t.atId}/Attachments`, {
      attachmentType: "FILE_ATTACHMENT",
      fullPath: "report-from-at.txt",
      title: "report-from-at.txt",
      publish: 1,
      data: data.toString("base64"),
    });
    const before = await atCreates();
    await poll();
    await drain();
    await poll();
    await drain();
    expect(await atCreates()).toBe(before);
    expect(await atFiles(t.atId)).toHaveLength(1);
    expect(await portal().attachments.list(SYSTEM_ACTOR, t.id)).toHaveLength(1);
    const links = await env.services.db.kysely
      .selectFrom("attachment_links")
      .selectAll()
      .where("psa_ticket_id", "=", t.atId)
      .execute();
    expect(links).toHaveLength(1);
  });

  it("a portal upload of bytes already copied from Autotask is answered with that file, nothing sent", async () => {
    const t = await newLinkedTicket("Copied then uploaded");
    const data = Buffer.from("copied report");
    await asTech("POST", `Tickets/${t.atId}/Attachments`, {
      attachmentType: "FILE_ATTACHMENT",
      fullPath: "copied.txt",
      title: "copied.txt",
      publish: 1,
      data: data.toString("base64"),
    });
    await poll();
    await until(async () => (await portal().attachments.list(SYSTEM_ACTOR, t.id)).length === 1, "copied");
    const before = await atCreates();
    expect((await upload(t.id, "copied-again.txt", "text/plain", data)).status).toBe(200);
    await drain();
    expect(await atCreates()).toBe(before);
  });

  it("an Autotask file over the portal's limit is skipped whole, with a warning on the ticket", async () => {
    const t = await newLinkedTicket("Too big");
    await asTech("POST", `Tickets/${t.atId}/Attachments`, {
      attachmentType: "FILE_ATTACHMENT",
      fullPath: "memory.dmp",
      title: "memory.dmp",
      publish: 1,
      data: Buffer.alloc(LIMIT + 1, 7).toString("base64"),
    });
    await poll();
    const warning = await until(
      async () =>
        (await portal().listNotes(SYSTEM_ACTOR, t.id)).items.find((n) => n.text.includes("memory.dmp")),
      "the warning",
    );
    expect(warning.text).toContain(String(LIMIT));
    expect(warning.published).toBe(false);
    expect(await portal().attachments.list(SYSTEM_ACTOR, t.id)).toHaveLength(0);
    // Remembered: the next poll neither copies nor warns again.
    await poll();
    await drain();
    const warnings = (await portal().listNotes(SYSTEM_ACTOR, t.id)).items.filter((n) =>
      n.text.includes("memory.dmp"),
    );
    expect(warnings).toHaveLength(1);
  });

  it("an upload is never duplicated in Autotask under 429s, 500s and timeouts after apply", async () => {
    const t = await newLinkedTicket("Faulty files");
    await at.admin("PUT", "/faults", {
      seed: 5,
      share429: 0.2,
      share500: 0.2,
      shareTimeoutAfterApply: 0.4,
      retryAfterSeconds: 0,
      onlyMethods: ["POST"],
      onlyEntities: ["Tickets"],
    });
    const names = ["a.txt", "b.txt", "c.txt", "d.txt"];
    const timeouts = async () =>
      ((await at.stats()) as unknown as { afterApply: { timeout: number } }).afterApply.timeout;
    const before = await timeouts();
    try {
      for (const n of names)
        expect((await upload(t.id, n, "text/plain", Buffer.from(`file ${n}`))).status).toBe(201);
      for (let i = 0; i < 10; i++) {
        await drain();
        const errs = await env.services.sync.tickets.errors(partnerId);
        if (errs.length === 0 && (await atFiles(t.atId)).length === names.length) break;
        for (const e of errs) await env.services.sync.tickets.retry(e.id);
      }
    } finally {
      await at.admin("PUT", "/faults", {
        share429: 0,
        share500: 0,
        shareTimeoutAfterApply: 0,
        onlyMethods: null,
        onlyEntities: null,
      });
    }
    expect(await timeouts()).toBeGreaterThan(before); // the faults did hit attachment creates
    const files = await atFiles(t.atId);
    expect(files.map((f) => f.fullPath).sort()).toEqual(names);
  });

  it("a portal file Autotask refuses (over its 6 MB) is skipped with a warning, the ticket keeps syncing", async () => {
    const t = await newLinkedTicket("Refused by Autotask");
    // An operator whose portal limit is above Autotask's.
    const roomy = new Attachments(new PortalContext(env.services.db, systemClock), portal().tickets, {
      maxBytes: 8 * 1024 * 1024,
    });
    await roomy.add(SYSTEM_ACTOR, t.id, {
      fileName: "full-dump.txt",
      contentType: "text/plain",
      data: Buffer.alloc(ATTACHMENT_MAX_BYTES + 1, 65),
    });
    await drain();
    const warning = (await portal().listNotes(SYSTEM_ACTOR, t.id)).items.find((n) =>
      n.text.includes("full-dump.txt"),
    );
    expect(warning?.text).toContain("was not sent to Autotask");
    expect(warning?.published).toBe(false);
    expect(await env.services.sync.tickets.errors(partnerId)).toEqual([]);
    expect(await atFiles(t.atId)).toHaveLength(0);
    // Not tried again; the ticket's other changes still cross.
    const before = await atCreates();
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { title: "Refused by Autotask, renamed" });
    await drain();
    expect(await atCreates()).toBe(before);
    const row = await at.api<{ item: { title: string } }>("GET", `Tickets/${t.atId}`);
    expect(row.item.title).toBe("Refused by Autotask, renamed");
  });

  it("a portal file uploaded before the ticket is linked crosses once the link exists", async () => {
    const t = await portal().createTicket(SYSTEM_ACTOR, partnerId, {
      clientId: clientA,
      title: "Early file",
      statusId: 1,
      priorityId: 9,
    });
    const data = Buffer.from("attached at creation");
    expect((await upload(t.id, "early.txt", "text/plain", data)).status).toBe(201);
    await drain();
    const atId = (await linkOf(t.id))!;
    expect(atId).toBeTruthy();
    const files = await atFiles(atId);
    expect(files.map((f) => f.fullPath)).toEqual(["early.txt"]);
  });
});
