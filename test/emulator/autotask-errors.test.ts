import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { newTicket, startTestEmulator, type TestEmulator } from "./helpers.js";

/** The error answers of the real API the emulator reproduces (docs/autotask-errors.md). */
let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator({ seed: "demo" });
});
afterAll(async () => {
  await t.close();
});

describe("Autotask's error answers", () => {
  it("answers an unknown API username on a normal call with 500 and an errors array, not 401", async () => {
    const res = await t.api("GET", "Companies/174", undefined, {
      creds: { ...t.emu.credentials, username: "nobody@example.com" },
    });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ errors: [expect.any(String)] });
    const wrongSecret = await t.api("GET", "Companies/174", undefined, {
      creds: { ...t.emu.credentials, secret: "wrong" },
    });
    expect(wrongSecret.status).toBe(401);
  });

  it("refuses a reference to an inactive record with 500 'Reference value on field'", async () => {
    const ci = await t.api("POST", "ConfigurationItems", {
      companyID: DEMO_IDS.companies.AT1,
      productID: DEMO_IDS.product,
      configurationItemType: DEMO_IDS.ciType,
      referenceTitle: "retired-host",
      isActive: true,
    });
    expect(ci.status).toBe(200);
    const id = ci.body.itemId as number;
    expect((await t.api("PATCH", "ConfigurationItems", { id, isActive: false })).status).toBe(200);

    const create = await t.api("POST", "Tickets", newTicket({ configurationItemID: id }));
    expect(create.status).toBe(500);
    expect(create.body).toEqual({
      errors: ["Reference value on field: configurationItemID does not exist or is invalid."],
    });

    const ticket = (await t.api("POST", "Tickets", newTicket())).body.itemId as number;
    const update = await t.api("PATCH", "Tickets", { id: ticket, configurationItemID: id });
    expect(update.status).toBe(500);
    expect(update.body.errors[0]).toMatch(/^Reference value on field: configurationItemID/);

    const missing = await t.api("POST", "Tickets", newTicket({ configurationItemID: 987_654_321 }));
    expect(missing.status).toBe(500);
    expect(missing.body.errors[0]).toMatch(/does not reference an existing entity for configurationItemID/);
  });

  it("answers a root POST /TicketNotes with 404; notes are created under their ticket", async () => {
    const ticket = (await t.api("POST", "Tickets", newTicket())).body.itemId as number;
    const note = { ticketID: ticket, title: "t", description: "d", noteType: 1, publish: 1 };
    const root = await t.api("POST", "TicketNotes", note);
    expect(root.status).toBe(404);
    expect(root.body).toEqual({ Message: expect.stringContaining("No HTTP resource was found") });
    expect((await t.api("POST", `Tickets/${ticket}/Notes`, note)).status).toBe(200);
  });

  it("answers unsupported methods and unknown routes in ASP.NET's {Message} shape", async () => {
    const method = await t.api("GET", "Tickets");
    expect(method.status).toBe(405);
    expect(method.body).toEqual({ Message: "The requested resource does not support http method 'GET'." });
    const route = await t.api("GET", "Widgets/1");
    expect(route.status).toBe(404);
    expect(route.body).toEqual({ Message: expect.stringMatching(/^No HTTP resource was found/) });
    const outside = await t.raw("GET", `${t.emu.url}/ATServicesRest/V9.9/Nothing`);
    expect(outside.status).toBe(404);
    expect(outside.body.Message).toMatch(/^No HTTP resource was found/);
  });
});
