/**
 * The emulator's webhook rules over HTTP: the API user's permission and maximum (admin API), the
 * "live" and "lifetime" readings of the maximum, create access in entityInformation, and the state
 * file keeping them (docs/emulator.md, "Webhook permissions, limits, field labels and HTTPS").
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmulator } from "./helpers.js";

let t: TestEmulator;
let user = "";

beforeAll(async () => {
  t = await startTestEmulator({ seed: "demo" });
  user = `api-users/${encodeURIComponent(t.emu.credentials.username)}`;
});
afterAll(async () => {
  await t.close();
});

const hook = (n: number) => ({
  name: `probe ${n}`,
  webhookUrl: `https://receiver.example.com/hook/${n}`,
  deactivationUrl: "https://receiver.example.com/off",
  isActive: true,
});

describe("webhook permission and maximum per API user", () => {
  it("the seed's API user may create 10; the admin API changes both and rejects bad input", async () => {
    expect((await t.admin("GET", user)).body).toMatchObject({ canCreateWebhooks: true, maxWebhooks: 10 });
    expect((await t.admin("PUT", user, { maxWebhooks: -1 })).status).toBe(400);
    expect((await t.admin("PUT", user, { canCreateWebhooks: "yes" })).status).toBe(400);
    expect((await t.admin("PUT", "api-users/nobody%40example.com", { maxWebhooks: 1 })).status).toBe(404);
    expect((await t.admin("PUT", "webhook-policy", { limitCounts: "forever" })).status).toBe(400);
  });

  it("without the permission: create refused with an errors array, and entityInformation says None", async () => {
    await t.admin("PUT", user, { canCreateWebhooks: false });
    const r = await t.api("POST", "TicketWebhooks", hook(1));
    expect(r.status).toBe(500);
    expect(r.body.errors[0]).toMatch(/permission to create webhooks/);
    expect((await t.api("GET", "TicketWebhooks/entityInformation")).body.info.userAccessForCreate).toBe(
      "None",
    );
    await t.admin("PUT", user, { canCreateWebhooks: true });
    expect((await t.api("GET", "TicketWebhooks/entityInformation")).body.info.userAccessForCreate).toBe(
      "All",
    );
  });

  it("the maximum counts existing webhooks by default, or every one created with limitCounts lifetime", async () => {
    await t.admin("PUT", user, { maxWebhooks: 1 });
    const first = await t.api("POST", "TicketWebhooks", hook(2));
    expect(first.status).toBe(200);
    // Any webhook entity counts: a TicketNoteWebhook is the second.
    const over = await t.api("POST", "TicketNoteWebhooks", hook(3));
    expect(over.status).toBe(500);
    expect(over.body.errors[0]).toMatch(/maximum number of webhooks \(1\)/);
    expect((await t.api("DELETE", `TicketWebhooks/${first.body.itemId}`)).status).toBe(200);
    const again = await t.api("POST", "TicketWebhooks", hook(4));
    expect(again.status).toBe(200);
    await t.api("DELETE", `TicketWebhooks/${again.body.itemId}`);

    await t.admin("PUT", "webhook-policy", { limitCounts: "lifetime" });
    try {
      await t.admin("PUT", user, { maxWebhooks: 3 });
      const made = (await t.admin("GET", user)).body.webhooksCreated;
      expect(made).toBe(2);
      const third = await t.api("POST", "TicketWebhooks", hook(5));
      expect(third.status).toBe(200);
      await t.api("DELETE", `TicketWebhooks/${third.body.itemId}`);
      // Three created in the account's life, none left: still refused under this reading.
      expect((await t.api("POST", "TicketWebhooks", hook(6))).status).toBe(500);
    } finally {
      await t.admin("PUT", "webhook-policy", { limitCounts: "live" });
      await t.admin("PUT", user, { canCreateWebhooks: true, maxWebhooks: 10 });
    }
  });

  it("the permission, maximum and count are part of the saved state", async () => {
    const state = (await t.admin("GET", "state")).body;
    const saved = state.tenants[0].apiUsers[0];
    expect(saved).toMatchObject({ canCreateWebhooks: true, maxWebhooks: 10, webhooksCreated: 3 });
  });
});
