/** The emulator's answers to Autotask's web links: a read-only page of the ticket or CI, or a 404 page. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newTicket, startTestEmulator, type TestEmulator } from "./helpers.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t.close();
});

const web = (path: string) => fetch(`${t.emu.url}${path}`);

describe("Autotask web links on the emulator", () => {
  it("opens a ticket by id, by number and by the ticket page's address, with its company, status and notes", async () => {
    const id = (await t.api("POST", "Tickets", newTicket({ title: "Printer <offline>" }))).body
      .itemId as number;
    await t.api("POST", `Tickets/${id}/Notes`, {
      title: "Looked at it",
      description: "Toner",
      noteType: 1,
      publish: 1,
    });
    const number = (await t.api("GET", `Tickets/${id}`)).body.item.ticketNumber as string;
    for (const path of [
      `/Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenTicketDetail&TicketID=${id}`,
      `/Autotask/AutotaskExtend/ExecuteCommand.aspx?code=openticketdetail&ticketNumber=${number}`,
      `/Mvc/ServiceDesk/TicketDetail.mvc?workItemId=${id}`,
    ]) {
      const res = await web(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      const html = await res.text();
      expect(html).toContain(number);
      // The title is escaped, never markup.
      expect(html).toContain("Printer &#60;offline&#62;");
      expect(html).not.toContain("<offline>");
      expect(html).toMatch(/Company<\/th><td>[^<]+ \(174\)/);
      expect(html).toContain("Looked at it");
    }
  });

  it("opens a configuration item, and answers an unknown record or command with a 404 or 400 page", async () => {
    const ci = (
      await t.api("POST", "ConfigurationItems", {
        companyID: 174,
        productID: (
          await t.api("POST", "Products/query", { filter: [{ op: "exist", field: "id" }] })
        ).body.items[0].id,
        referenceTitle: "SRV-WEB-01",
        serialNumber: "SN-123",
        isActive: true,
      })
    ).body.itemId as number;
    const res = await web(
      `/Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenInstalledProduct&InstalledProductID=${ci}`,
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("SRV-WEB-01");
    expect(html).toContain("SN-123");
    expect(
      (await web("/Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenTicketDetail&TicketID=99999999"))
        .status,
    ).toBe(404);
    expect((await web("/Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=NewTicket")).status).toBe(400);
  });
});
