import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../src/api/app.js";
import { systemClock } from "../src/lib/clock.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { Attachments } from "../src/portal/attachments.js";
import { PortalContext } from "../src/portal/context.js";
import { multipart } from "./helpers/multipart.js";
import { openTestServices, STORES, type TestEnv, testApp } from "./helpers/services.js";

const MAX = 4096;

describe.each(STORES)("ticket attachments API on %s", (kind) => {
  let env: TestEnv;
  let app: App;
  let dir: string;
  const t = { adminA: "", techA: "", adminB: "" };
  let ticketA = 0;
  let ticketB = 0;

  async function upload(token: string, ticketId: number, name: string, type: string, data: Buffer) {
    const m = multipart(name, type, data);
    const res = await app.inject({
      method: "POST",
      url: `/api/tickets/${ticketId}/attachments`,
      headers: { ...m.headers, authorization: `Bearer ${token}` },
      payload: m.payload,
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read loosely-typed JSON answers
    return { status: res.statusCode, body: res.json() as any };
  }
  const get = (token: string, url: string) =>
    app.inject({ method: "GET", url, headers: { authorization: `Bearer ${token}` } });
  const counts = async () => {
    const k = env.services.db.kysely;
    const a = await k
      .selectFrom("attachments")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    const o = await k
      .selectFrom("ticket_outbox")
      .select((eb) => eb.fn.countAll().as("n"))
      .where("kind", "=", "attachment")
      .executeTakeFirstOrThrow();
    return { attachments: Number(a.n), outbox: Number(o.n), files: kind === "sqlite" ? files() : 0 };
  };
  const files = (): number => {
    let n = 0;
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else n++;
      }
    };
    walk(dir);
    return n;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nocbridge-att-"));
    env = await openTestServices(kind, {
      env: {
        NOCBRIDGE_ATTACHMENT_MAX_BYTES: String(MAX),
        // SQLite keeps files in a directory, PostgreSQL in the database: both storages are exercised.
        ...(kind === "sqlite" ? { NOCBRIDGE_ATTACHMENT_DIR: dir } : {}),
      },
    });
    app = await testApp(env);
    const portal = env.services.portal;
    const pa = await portal.createPartner(SYSTEM_ACTOR, { name: "Alpha" });
    const pb = await portal.createPartner(SYSTEM_ACTOR, { name: "Bravo" });
    t.adminA = (
      await portal.createUser(SYSTEM_ACTOR, { name: "A admin", role: "partner-admin", partnerId: pa.id })
    ).token;
    t.techA = (
      await portal.createUser(SYSTEM_ACTOR, { name: "A tech", role: "technician", partnerId: pa.id })
    ).token;
    t.adminB = (
      await portal.createUser(SYSTEM_ACTOR, { name: "B admin", role: "partner-admin", partnerId: pb.id })
    ).token;
    const ca = await portal.createClient(SYSTEM_ACTOR, pa.id, { code: "A1", name: "Acme" });
    const cb = await portal.createClient(SYSTEM_ACTOR, pb.id, { code: "B1", name: "Bee" });
    ticketA = (
      await portal.createTicket(SYSTEM_ACTOR, pa.id, {
        clientId: ca.id,
        title: "Disk",
        statusId: 1,
        priorityId: 9,
      })
    ).id;
    ticketB = (
      await portal.createTicket(SYSTEM_ACTOR, pb.id, {
        clientId: cb.id,
        title: "Net",
        statusId: 1,
        priorityId: 9,
      })
    ).id;
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("stores an upload, lists it and serves the same bytes as a download with safe headers", async () => {
    const data = Buffer.from([0, 1, 2, 255, 13, 10, 45, 45, 7]);
    const r = await upload(t.techA, ticketA, "dump.bin.png", "image/png", data);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      ticketId: ticketA,
      fileName: "dump.bin.png",
      contentType: "image/png",
      size: data.length,
      sha256: createHash("sha256").update(data).digest("hex"),
      origin: "portal",
    });
    const list = await get(t.adminA, `/api/tickets/${ticketA}/attachments`);
    expect(list.json().items.map((i: { id: number }) => i.id)).toEqual([r.body.id]);
    const dl = await get(t.adminA, `/api/attachments/${r.body.id}`);
    expect(dl.statusCode).toBe(200);
    expect(dl.rawPayload.equals(data)).toBe(true);
    expect(dl.headers["content-type"]).toBe("image/png");
    expect(dl.headers["content-disposition"]).toBe('attachment; filename="dump.bin.png"');
    expect(dl.headers["x-content-type-options"]).toBe("nosniff");
    const after = await counts();
    expect(after.outbox).toBe(1);
    if (kind === "sqlite") expect(after.files).toBe(1);
  });

  it("answers another partner's ticket and attachment as not found", async () => {
    const [first] = (await get(t.adminA, `/api/tickets/${ticketA}/attachments`)).json().items;
    expect((await get(t.adminB, `/api/attachments/${first.id}`)).statusCode).toBe(404);
    expect((await get(t.adminB, `/api/tickets/${ticketA}/attachments`)).statusCode).toBe(404);
    const before = await counts();
    expect((await upload(t.adminB, ticketA, "x.txt", "text/plain", Buffer.from("x"))).status).toBe(404);
    expect(await counts()).toEqual(before);
    expect((await upload(t.adminB, ticketB, "x.txt", "text/plain", Buffer.from("x"))).status).toBe(201);
  });

  it("keeps the same bytes once per ticket: a second upload answers the first, with no outbox row", async () => {
    const data = Buffer.from("the same log file\n");
    const a = await upload(t.techA, ticketA, "log.txt", "text/plain", data);
    const before = await counts();
    const b = await upload(t.adminA, ticketA, "log-copy.txt", "text/plain", data);
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(b.body.id).toBe(a.body.id);
    expect(await counts()).toEqual(before);
  });

  it("refuses a file over the limit whole, naming it, and writes nothing", async () => {
    const before = await counts();
    const r = await upload(t.techA, ticketA, "huge.pdf", "application/pdf", Buffer.alloc(MAX + 1, 1));
    expect(r.status).toBe(413);
    expect(r.body.message).toContain('"huge.pdf"');
    expect(r.body.message).toContain(String(MAX));
    expect(await counts()).toEqual(before);
    const atLimit = await upload(t.techA, ticketA, "edge.pdf", "application/pdf", Buffer.alloc(MAX, 2));
    expect(atLimit.status).toBe(201);
  });

  it("refuses a type that is not allowed, and never serves one as its own type", async () => {
    const before = await counts();
    const r = await upload(t.techA, ticketA, "page.html", "text/html", Buffer.from("<script>1</script>"));
    expect(r.status).toBe(415);
    expect(r.body.message).toContain('"page.html"');
    expect(r.body.message).toContain("text/html");
    expect(await counts()).toEqual(before);
  });

  it("serves a stored file whose type is no longer allowed as application/octet-stream", async () => {
    const data = Buffer.from("%PDF-1.4 pretend");
    const r = await upload(t.techA, ticketA, "old.pdf", "application/pdf", data);
    expect(r.status).toBe(201);
    // The operator narrows the allowed types afterwards.
    const narrowed = new Attachments(
      new PortalContext(env.services.db, systemClock),
      env.services.portal.tickets,
      { types: ["image/*"], ...(kind === "sqlite" ? { dir } : {}) },
    );
    expect(narrowed.allowed("application/pdf")).toBe(false);
    expect(narrowed.allowed("image/png; charset=x")).toBe(true);
    const got = await narrowed.get(SYSTEM_ACTOR, r.body.id);
    expect(got.data.equals(data)).toBe(true);
  });

  it("reads the multipart file part exactly: CRLF and boundary-like lines inside the data, a UTF-8 name", async () => {
    const data = Buffer.from("line1\r\n--not-a-boundary\r\nline2\r\n");
    const r = await upload(t.techA, ticketA, "rapport d'été.txt", "text/plain", data);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      fileName: "rapport d'été.txt",
      contentType: "text/plain",
      size: data.length,
    });
    const dl = await get(t.techA, `/api/attachments/${r.body.id}`);
    expect(dl.rawPayload.equals(data)).toBe(true);
  });

  it("takes the first file part of several and reads the whole body", async () => {
    const boundary = "----nocbridge-two-files";
    const first = Buffer.from("first file");
    const payload = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="one.txt"\r\n` +
          "Content-Type: text/plain\r\n\r\n",
      ),
      first,
      Buffer.from(
        `\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="two.txt"\r\n` +
          "Content-Type: text/plain\r\n\r\nsecond file\r\n" +
          `--${boundary}--\r\n`,
      ),
    ]);
    const res = await app.inject({
      method: "POST",
      url: `/api/tickets/${ticketA}/attachments`,
      headers: {
        "content-type": `multipart/form-data; boundary=${boundary}`,
        authorization: `Bearer ${t.techA}`,
      },
      payload,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ fileName: "one.txt", size: first.length });
  });

  it("refuses a multipart body without a file part or a boundary, naming the field, and writes nothing", async () => {
    const before = await counts();
    const boundary = "----nocbridge-no-file";
    const noFile = await app.inject({
      method: "POST",
      url: `/api/tickets/${ticketA}/attachments`,
      headers: {
        "content-type": `multipart/form-data; boundary=${boundary}`,
        authorization: `Bearer ${t.techA}`,
      },
      payload: `--${boundary}\r\nContent-Disposition: form-data; name="comment"\r\n\r\nhello\r\n--${boundary}--\r\n`,
    });
    expect(noFile.statusCode).toBe(400);
    expect(noFile.json()).toMatchObject({ field: "file" });
    expect(noFile.json().message).toContain("no file part");
    const noBoundary = await app.inject({
      method: "POST",
      url: `/api/tickets/${ticketA}/attachments`,
      headers: { "content-type": "multipart/form-data", authorization: `Bearer ${t.techA}` },
      payload: "--x\r\n",
    });
    expect(noBoundary.statusCode).toBe(400);
    expect(noBoundary.json()).toMatchObject({ field: "file" });
    expect(await counts()).toEqual(before);
  });

  it("stops reading a file far over the limit while it streams: 413 naming it, nothing written", async () => {
    const before = await counts();
    const r = await upload(
      t.techA,
      ticketA,
      "capture.pcap.zip",
      "application/zip",
      Buffer.alloc(12 * MAX, 3),
    );
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ code: "TOO_LARGE", field: "file" });
    expect(r.body.message).toContain('"capture.pcap.zip"');
    expect(r.body.message).toContain(`over ${MAX} bytes`);
    // A body declared larger than a file could be is refused before it is read.
    const m = multipart("huge.bin.zip", "application/zip", Buffer.alloc(40 * MAX, 4));
    const declared = await app.inject({
      method: "POST",
      url: `/api/tickets/${ticketA}/attachments`,
      headers: { ...m.headers, authorization: `Bearer ${t.techA}` },
      payload: m.payload,
    });
    expect(declared.statusCode).toBe(413);
    expect(declared.json()).toMatchObject({ field: "file" });
    expect(await counts()).toEqual(before);
  });

  it("accepts a JSON body with base64 data, keeping only the last segment of the name", async () => {
    const data = Buffer.from("json upload");
    const res = await app.inject({
      method: "POST",
      url: `/api/tickets/${ticketA}/attachments`,
      headers: { authorization: `Bearer ${t.techA}` },
      payload: {
        fileName: "../../etc/notes.txt",
        contentType: "text/plain",
        dataBase64: data.toString("base64"),
      },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().fileName).toBe("notes.txt");
    const dl = await get(t.techA, `/api/attachments/${res.json().id}`);
    expect(dl.rawPayload.equals(data)).toBe(true);
  });
});
