/**
 * TicketAttachments of the Autotask emulator over HTTP (docs/emulator.md, TicketAttachments): created
 * under the ticket with base64 data, read back by id with the bytes, queried by parent without them,
 * refused over the documented size and for a bad type.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ATTACHMENT_MAX_BYTES } from "../../src/emulators/autotask/attachments.js";
import { newTicket, startTestEmulator, type TestEmulator } from "./helpers.js";

let t: TestEmulator;
let ticketId = 0;
beforeAll(async () => {
  t = await startTestEmulator();
  ticketId = ((await t.api("POST", "Tickets", newTicket({ title: "with files" }))).body as { itemId: number })
    .itemId;
});
afterAll(async () => {
  await t.close();
});

const file = (data: Buffer, over: Record<string, unknown> = {}) => ({
  attachmentType: "FILE_ATTACHMENT",
  fullPath: "event-log.txt",
  title: "event-log.txt",
  publish: 1,
  data: data.toString("base64"),
  ...over,
});

describe("TicketAttachments", () => {
  it("creates a file under its ticket and answers its bytes by id", async () => {
    const bytes = Buffer.from([0, 1, 2, 3, 250, 13, 10]);
    const created = await t.api("POST", `Tickets/${ticketId}/Attachments`, file(bytes));
    expect(created.status).toBe(200);
    const id = (created.body as { itemId: number }).itemId;
    const got = await t.api("GET", `TicketAttachments/${id}`);
    const item = (got.body as { item: Record<string, unknown> }).item;
    expect(item).toMatchObject({
      id,
      parentID: ticketId,
      ticketID: ticketId,
      attachmentType: "FILE_ATTACHMENT",
      fullPath: "event-log.txt",
      contentType: "text/plain",
      fileSize: bytes.length,
      publish: 1,
    });
    expect(Buffer.from(String(item["data"]), "base64").equals(bytes)).toBe(true);
    const q = await t.api("POST", "TicketAttachments/query", {
      filter: [{ op: "eq", field: "parentID", value: ticketId }],
    });
    const items = (q.body as { items: Array<Record<string, unknown>> }).items;
    expect(items.map((i) => i["id"])).toEqual([id]);
    expect(items[0]?.["data"]).toBeNull(); // a query answers without the bytes
    expect(items[0]?.["fileSize"]).toBe(bytes.length);
  });

  it("refuses a query on data or fileSize", async () => {
    const q = await t.api("POST", "TicketAttachments/query", {
      filter: [{ op: "eq", field: "fileSize", value: 7 }],
    });
    expect(q.status).toBeGreaterThanOrEqual(400);
  });

  it("refuses a file over the documented limit and a bad attachmentType, writing nothing", async () => {
    const big = await t.api(
      "POST",
      `Tickets/${ticketId}/Attachments`,
      file(Buffer.alloc(ATTACHMENT_MAX_BYTES + 1)),
    );
    expect(big.status).toBe(500);
    expect(JSON.stringify(big.body)).toContain(String(ATTACHMENT_MAX_BYTES));
    const bad = await t.api(
      "POST",
      `Tickets/${ticketId}/Attachments`,
      file(Buffer.from("x"), { attachmentType: "BLOB" }),
    );
    expect(bad.status).toBe(500);
    const noData = await t.api(
      "POST",
      `Tickets/${ticketId}/Attachments`,
      file(Buffer.from("x"), { data: "" }),
    );
    expect(noData.status).toBe(500);
    const q = await t.api("POST", "TicketAttachments/query", {
      filter: [{ op: "eq", field: "parentID", value: ticketId }],
    });
    expect((q.body as { items: unknown[] }).items).toHaveLength(1);
  });

  it("is created only through the ticket's URL", async () => {
    const root = await t.api("POST", "TicketAttachments", { ...file(Buffer.from("y")), parentID: ticketId });
    expect(root.status).toBe(404);
  });
});
