import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/index.js";
import type { Services } from "../../src/main.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import { demoTicketing, startTestEmulator, type TestEmulator, tenant } from "../helpers/autotask.js";
import {
  buildWebUi,
  launchChromium,
  openTestServices,
  serveWebUi,
  shot as takeShot,
  until,
  watchConsole,
} from "../helpers/browser.js";

/**
 * Names instead of ids on the Sync errors page, and the no-CI note on a ticket page (issue 15, points
 * 1 and 7), in Debian's chromium against the built UI and the Autotask emulator. The set-up is the
 * one of test/e2e/ui.test.ts, without the browser-driven configuration: the partner is wired to the
 * emulator directly.
 */

describe("ticket content in the web UI, in chromium", () => {
  let emulator: TestEmulator;
  let services: Services;
  let app: App;
  let baseUrl = "";
  let context: BrowserContext;
  let page: Page;
  let webRoot = "";
  let profile = "";
  let partnerId = 0;
  let nocToken = "";
  let noCiTicket = 0;
  let statusTicket = 0;
  let statusNumber = "";
  const pageErrors: string[] = [];

  beforeAll(async () => {
    webRoot = mkdtempSync(join(tmpdir(), "nb-content-web-"));
    profile = mkdtempSync(join(tmpdir(), "nb-content-chromium-"));
    await buildWebUi(webRoot);
    emulator = await startTestEmulator();
    services = await openTestServices([emulator.emu.url], join(profile, "data-unused"), {
      httpWebhooks: true,
      background: true,
    });
    const portal = services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Content VAR" })).id;
    const acme = await portal.createClient(SYSTEM_ACTOR, partnerId, {
      code: "AT1",
      name: "Acme Dental Group",
      psaCompanyId: DEMO_IDS.companies.AT1,
    });
    const cedar = await portal.createClient(SYSTEM_ACTOR, partnerId, { code: "AT3", name: "Cedar Clinic" });
    const lonely = await portal.createDevice(SYSTEM_ACTOR, acme.id, {
      state: "unmanaged",
      hostname: "AT1-KIOSK",
      serialNumber: "KIOSK1",
    });
    const server = await portal.createDevice(SYSTEM_ACTOR, acme.id, {
      state: "managed",
      hostname: "AT1-SRV01",
      serialNumber: "SRV1",
    });
    nocToken = (await portal.createUser(SYSTEM_ACTOR, { name: "Nora NOC", role: "noc-admin" })).token;
    ({ app, baseUrl } = await serveWebUi(services, webRoot));
    services.setListeningUrl(baseUrl);
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(emulator.emu.baseUrl),
      devices: {
        enabled: true,
        productId: DEMO_IDS.product,
        configurationItemTypeId: DEMO_IDS.ciType,
        advanced: true,
        schedule: null,
      },
    });
    await services.sync.ticketSetup(partnerId);
    const [onboarding] = (await services.sync.runs.list(partnerId, "assets")).items;
    await services.sync.wait(onboarding!.id);

    const tickets = services.sync.tickets;
    noCiTicket = (
      await portal.createTicket(SYSTEM_ACTOR, partnerId, {
        clientId: acme.id,
        title: "Kiosk offline",
        statusId: 1,
        priorityId: 9,
        alerts: [{ deviceId: lonely.id, message: "Heartbeat lost" }],
      })
    ).id;
    statusTicket = (
      await portal.createTicket(SYSTEM_ACTOR, partnerId, {
        clientId: acme.id,
        title: "Disk full on SRV01",
        statusId: 1,
        priorityId: 9,
        alerts: [{ deviceId: server.id, message: "Disk D: 99 %" }],
      })
    ).id;
    await portal.createTicket(SYSTEM_ACTOR, partnerId, {
      clientId: cedar.id,
      title: "Printer jam",
      statusId: 1,
      priorityId: 9,
    });
    await tickets.notify(partnerId);
    const atId = (await tickets.view(statusTicket)).ticketId!;
    statusNumber = (await tickets.view(statusTicket)).ticketNumber!;
    // A technician moves the ticket to In Progress, a status the reverse table has no row for.
    const tech = await emulator.admin<{ username: string; secret: string; integrationCode: string }>(
      "POST",
      tenant("/actAs"),
      { resourceId: DEMO_IDS.technicians[0] },
    );
    await emulator.api("PATCH", "Tickets", { id: atId, status: 8 }, tech);
    await until(
      "the status error",
      async () => (await tickets.errors(partnerId)).length,
      (n) => n >= 2,
    );

    ({ context, page } = await launchChromium(profile));
    watchConsole(page, pageErrors, { console: false });
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await app?.close();
    await services?.close();
    await emulator?.close();
    for (const dir of [webRoot, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const shot = (name: string) => takeShot(page, name, { phone: true });

  it("the Sync errors page names tickets, numbers, statuses and what each code means; a retry names the ticket", async () => {
    await page.goto(baseUrl);
    await page.getByRole("radio", { name: "API token" }).check();
    await page.getByLabel("Your API token").fill(nocToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    await page.goto(`${baseUrl}/p/${partnerId}/sync-errors`);
    const statusRow = page.locator("tbody tr", {
      has: page.getByRole("link", { name: "“Disk full on SRV01”" }),
    });
    await statusRow.waitFor();
    const row = (await statusRow.textContent()) ?? "";
    expect(row).toContain(statusNumber);
    expect(row).toContain("Missing mapping row");
    expect(row).toContain("Autotask status In Progress (8) has no row in the reverse status mapping table");
    expect(row).not.toMatch(new RegExp(`#${statusTicket}\\b`));
    const printerRow = page.locator("tbody tr", { has: page.getByRole("link", { name: "“Printer jam”" }) });
    const printer = (await printerRow.textContent()) ?? "";
    expect(printer).toContain("Client not mapped to a company in Autotask");
    expect(printer).toContain("client “AT3 — Cedar Clinic” is not mapped to an Autotask company");
    // The code stays, as secondary text for machines.
    expect(await printerRow.locator("code").textContent()).toBe("UNMAPPED_COMPANY");
    await shot("sync-errors-named");

    await statusRow.getByRole("button", { name: "Retry" }).click();
    await page.getByText(`Retried “Disk full on SRV01” (${statusNumber}).`).waitFor();
  });

  it("a ticket whose devices have no CI says so on its page; one with a CI names the device", async () => {
    await page.goto(`${baseUrl}/p/${partnerId}/tickets/${noCiTicket}`);
    // The PSA's name comes with the partner's settings, which may load after the ticket: wait for it.
    const note = page
      .getByTestId("ci-missing")
      .filter({ hasText: "no device of this ticket has a configuration item in Autotask" });
    await note.waitFor();
    await shot("ticket-no-ci");
    await page.goto(`${baseUrl}/p/${partnerId}/tickets/${statusTicket}`);
    expect(await page.getByTestId("ci-device").textContent()).toContain("AT1-SRV01");
    expect(pageErrors).toEqual([]);
  });
});
