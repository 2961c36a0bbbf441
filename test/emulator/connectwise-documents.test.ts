/**
 * Documents on service tickets in the ConnectWise emulator (docs/connectwise-emulator.md, Documents):
 * a multipart upload to system/documents, the list by recordType and recordId, one record, its bytes
 * from …/download; uploads by a second member; the checks and the size limit; the ticket's stamp.
 */
import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/connectwise/index.js";
import { type CwTest, startCw } from "./connectwise-helpers.js";

const MAX = 4096;
let cw: CwTest;
let touching: CwTest;

interface Sent {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are inspected field by field
  body: any;
  bytes: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

/** One HTTPS call with a raw body, answering the bytes as well as parsed JSON. */
function call(
  t: CwTest,
  method: string,
  path: string,
  o: { body?: Buffer; headers?: Record<string, string> } = {},
): Promise<Sent> {
  const { "content-type": _json, ...auth } = t.emu.headers();
  return new Promise((resolve, reject) => {
    const req = request(
      `${t.emu.baseUrl}/${path}`,
      { method, agent: t.agent, headers: { ...auth, ...o.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const bytes = Buffer.concat(chunks);
          let body: unknown;
          try {
            body = bytes.length ? JSON.parse(bytes.toString("utf8")) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body, bytes, headers: res.headers });
        });
      },
    );
    req.on("error", reject);
    req.end(o.body);
  });
}

/** A multipart body serialized by the platform's FormData. */
async function form(fields: Record<string, string>, file?: { name: string; type: string; data: Buffer }) {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  if (file) f.set("file", new Blob([file.data], { type: file.type }), file.name);
  const r = new Response(f);
  return {
    body: Buffer.from(await r.arrayBuffer()),
    headers: { "content-type": String(r.headers.get("content-type")) },
  };
}

const newTicket = async (
  t: CwTest,
  summary: string,
): Promise<{ id: number; _info: { lastUpdated: string } }> =>
  (
    await t.api("POST", "service/tickets", {
      summary,
      board: { id: DEMO_IDS.nocBoard },
      company: { id: 2 },
    })
  ).body;

beforeAll(async () => {
  cw = await startCw({ faults: { requestsPerMinute: 0 }, documents: { maxBytes: MAX } });
  touching = await startCw({ faults: { requestsPerMinute: 0 }, documents: { touchTicket: true } });
});
afterAll(async () => {
  await cw?.close();
  await touching?.close();
});

describe("documents on tickets", () => {
  it("uploads a file to a ticket, lists it by record, reads it and downloads the same bytes", async () => {
    const ticket = await newTicket(cw, "With a document");
    const data = Buffer.from([0, 1, 2, 255, 13, 10, 0x89]);
    const up = await call(cw, "POST", "system/documents", {
      ...(await form(
        { recordType: "Ticket", recordId: String(ticket.id), title: "Screen" },
        { name: "screen.png", type: "image/png", data },
      )),
    });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({
      title: "Screen",
      fileName: "screen.png",
      imageFlag: true,
      linkFlag: false,
      publicFlag: true,
      size: data.length,
    });
    expect(Object.keys(up.body).filter((k) => k.startsWith("__"))).toEqual([]);
    const list = await call(cw, "GET", `system/documents?recordType=Ticket&recordId=${ticket.id}`);
    expect(list.status).toBe(200);
    expect(list.body.map((d: { id: number }) => d.id)).toEqual([up.body.id]);
    const none = await call(cw, "GET", `system/documents?recordType=Ticket&recordId=${ticket.id + 1000}`);
    expect(none.body).toEqual([]);
    const one = await call(cw, "GET", `system/documents/${up.body.id}`);
    expect(one.body).toEqual(up.body);
    const dl = await call(cw, "GET", `system/documents/${up.body.id}/download`);
    expect(dl.status).toBe(200);
    expect(dl.headers["content-type"]).toMatch(/^image\/png/);
    expect(dl.bytes.equals(data)).toBe(true);
    // A document does not stamp its ticket (by default).
    const after = (await cw.api("GET", `service/tickets/${ticket.id}`)).body;
    expect(after._info.lastUpdated).toBe(ticket._info.lastUpdated);
    expect((await call(cw, "DELETE", `system/documents/${up.body.id}`)).status).toBe(204);
    expect((await call(cw, "GET", `system/documents/${up.body.id}/download`)).status).toBe(404);
  });

  it("takes a document from a second member, who owns it", async () => {
    const ticket = await newTicket(cw, "Technician's document");
    const tech = (
      await cw.admin("POST", `tenants/${cw.emu.credentials.companyId}/actAs`, { member: "asmith" })
    ).body as { authorization: string };
    const f = await form(
      { recordType: "Ticket", recordId: String(ticket.id) },
      { name: "log.txt", type: "text/plain", data: Buffer.from("log") },
    );
    const up = await call(cw, "POST", "system/documents", {
      body: f.body,
      headers: { ...f.headers, authorization: tech.authorization },
    });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ owner: "asmith", title: "log.txt", fileName: "log.txt" });
  });

  it("refuses what ConnectWise refuses: no record, an unknown ticket, no file, over the size limit, not multipart", async () => {
    const ticket = await newTicket(cw, "Refusals");
    const file = { name: "a.txt", type: "text/plain", data: Buffer.from("a") };
    const noRecord = await call(cw, "POST", "system/documents", await form({ recordType: "Ticket" }, file));
    expect(noRecord.status).toBe(400);
    expect(noRecord.body.errors.map((e: { field: string }) => e.field)).toEqual(["recordId"]);
    const unknown = await call(
      cw,
      "POST",
      "system/documents",
      await form({ recordType: "Ticket", recordId: "999999" }, file),
    );
    expect(unknown.status).toBe(404);
    const noFile = await call(
      cw,
      "POST",
      "system/documents",
      await form({ recordType: "Ticket", recordId: String(ticket.id) }),
    );
    expect(noFile.status).toBe(400);
    const big = await call(
      cw,
      "POST",
      "system/documents",
      await form(
        { recordType: "Ticket", recordId: String(ticket.id) },
        { name: "big.bin", type: "application/octet-stream", data: Buffer.alloc(MAX + 1) },
      ),
    );
    expect(big.status).toBe(400);
    expect(big.body.message).toContain(String(MAX));
    const json = await call(cw, "POST", "system/documents", {
      body: Buffer.from(JSON.stringify({ recordType: "Ticket", recordId: ticket.id })),
      headers: { "content-type": "application/json" },
    });
    expect(json.status).toBe(400);
    expect((await call(cw, "GET", "system/documents")).status).toBe(400);
    const list = await call(cw, "GET", `system/documents?recordType=Ticket&recordId=${ticket.id}`);
    expect(list.body).toEqual([]);
  });

  it("stamps the ticket's _info.lastUpdated when started with documents.touchTicket", async () => {
    const ticket = await newTicket(touching, "Stamped");
    await new Promise((r) => setTimeout(r, 1100));
    const up = await call(
      touching,
      "POST",
      "system/documents",
      await form(
        { recordType: "Ticket", recordId: String(ticket.id) },
        { name: "x.txt", type: "text/plain", data: Buffer.from("x") },
      ),
    );
    expect(up.status).toBe(200);
    const after = (await touching.api("GET", `service/tickets/${ticket.id}`)).body;
    expect(after._info.lastUpdated > ticket._info.lastUpdated).toBe(true);
  });
});
