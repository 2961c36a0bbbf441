import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/index.js";
import type { Services } from "../../src/main.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import { demoTicketing, startTestEmulator, type TestEmulator } from "../helpers/autotask.js";
import {
  buildWebUi,
  launchChromium,
  openTestServices,
  REPO,
  SHOTS,
  serveWebUi,
  shot as takeShot,
  textOf,
  waitText,
  watchConsole,
} from "../helpers/browser.js";

/**
 * The NOC technician's ticket queue in chromium: the built UI served by a real server against the
 * Autotask emulator. "North VAR" sends its tickets to Autotask (they get ticket numbers); "South VAR"
 * has no PSA. A NOC-wide technician signs in, lands on the queue, sees both partners' tickets, uses the
 * counts per status and the filters; a partner admin sees its own partner's queue only.
 */

const PASSWORD = "correct horse battery";

describe("the ticket queue, end to end in chromium", () => {
  let emulator: TestEmulator;
  let services: Services;
  let app: App;
  let baseUrl: string;
  let context: BrowserContext;
  let page: Page;
  let webRoot: string;
  let profile: string;
  let north = 0;
  let south = 0;
  let diskNumber = "";
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    webRoot = mkdtempSync(join(tmpdir(), "nb-queue-web-"));
    profile = mkdtempSync(join(tmpdir(), "nb-queue-chromium-"));
    await buildWebUi(webRoot);

    emulator = await startTestEmulator();
    services = await openTestServices([emulator.emu.url], join(profile, "data-unused"), {
      httpWebhooks: true,
      background: true,
    });
    const portal = services.portal;
    north = (await portal.createPartner(SYSTEM_ACTOR, { name: "North VAR" })).id;
    south = (await portal.createPartner(SYSTEM_ACTOR, { name: "South VAR" })).id;
    const n1 = await portal.createClient(SYSTEM_ACTOR, north, {
      code: "AT1",
      name: "Nimbus Dental",
      psaCompanyId: DEMO_IDS.companies.AT1,
    });
    const s1 = await portal.createClient(SYSTEM_ACTOR, south, { code: "SV1", name: "Sextant Shipping" });
    await portal.putIntegration(SYSTEM_ACTOR, north, {
      ticketing: demoTicketing(emulator.emu.baseUrl),
      devices: {
        enabled: false,
        productId: null,
        configurationItemTypeId: null,
        advanced: false,
        schedule: null,
      },
    });
    await services.sync.ticketSetup(north);
    const ticket = (
      partnerId: number,
      clientId: number,
      title: string,
      statusId: number,
      priorityId: number,
    ) =>
      portal.createTicket(SYSTEM_ACTOR, partnerId, {
        clientId,
        title,
        description: "",
        statusId,
        priorityId,
      });
    const disk = await ticket(north, n1.id, "Disk full on NIMBUS-SRV01", 1, 9);
    await ticket(north, n1.id, "Backup failed at Nimbus", 18, 10);
    await ticket(south, s1.id, "Router down at Sextant", 1, 8);
    await ticket(south, s1.id, "VPN flapping at Sextant", 18, 11);
    await services.sync.tickets.notify(north);
    await services.sync.tickets.notify(south);
    const view = await services.sync.tickets.view(disk.id);
    expect(view.state).toBe("synced");
    diskNumber = view.ticketNumber ?? "";
    expect(diskNumber).toMatch(/^T\d{8}\.\d{4}$/);
    await portal.createUser(SYSTEM_ACTOR, {
      name: "Nina NOC technician",
      role: "technician",
      username: "nina",
      password: PASSWORD,
    });
    await portal.createUser(SYSTEM_ACTOR, {
      name: "Sven South admin",
      role: "partner-admin",
      partnerId: south,
      username: "sven",
      password: PASSWORD,
    });

    ({ app, baseUrl } = await serveWebUi(services, webRoot));
    services.setListeningUrl(baseUrl);

    ({ context, page } = await launchChromium(profile));
    watchConsole(page, consoleErrors);
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await app?.close();
    await services?.close();
    await emulator?.close();
    for (const dir of [webRoot, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const shot = (name: string) => takeShot(page, name, { phone: true });
  const signIn = async (username: string) => {
    await page.goto(baseUrl, { waitUntil: "load" });
    const signOut = page.getByRole("button", { name: "Sign out" });
    const signInButton = page.getByRole("button", { name: "Sign in" });
    await signInButton.or(signOut).first().waitFor();
    if (await signOut.isVisible()) await signOut.click();
    await page.getByLabel("Username", { exact: true }).fill(username);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await signInButton.click();
  };
  const rows = () => page.locator("table.queue tbody");
  const counts = () => page.getByRole("navigation", { name: "Tickets per status" });
  /** A control of the page's filter card (the header has a partner picker of its own). */
  const filter = (label: string) =>
    page.getByRole("region", { name: "Filter" }).getByLabel(label, { exact: true });

  it("a NOC technician lands on the queue, sees both partners' tickets, and filters by status and partner", async () => {
    await signIn("nina");
    await page.getByRole("heading", { name: "Ticket queue", exact: true }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/queue");
    const all = await waitText("both partners' tickets", rows(), /Router down at Sextant/);
    for (const s of ["Disk full on NIMBUS-SRV01", "Backup failed at Nimbus", "VPN flapping at Sextant"])
      expect(all).toContain(s);
    // Each row names its partner, its client and the Autotask ticket number, never the portal's id.
    const disk = page.locator("table.queue tbody tr", { hasText: "Disk full on NIMBUS-SRV01" });
    expect(await textOf(disk)).toContain(diskNumber);
    expect(await textOf(disk)).toContain("North VAR");
    expect(await textOf(disk)).toContain("Nimbus Dental");
    expect(await textOf(disk)).toMatch(/Synced/);
    const router = page.locator("table.queue tbody tr", { hasText: "Router down at Sextant" });
    expect(await textOf(router)).toMatch(/South VAR.*SV1.*New.*P0.*Not synced/);
    await waitText("the counts", counts(), /All\s*4.*New\s*2.*Open\s*2/);
    await shot("queue");
    // The docs' picture is refreshed only on request, so a test run leaves the tree clean.
    if (process.env.NOCBRIDGE_UPDATE_SCREENSHOTS === "1")
      copyFileSync(join(SHOTS, "queue.png"), join(REPO, "docs", "screenshots", "queue.png"));

    // A count is a filter: "Open" shows the two Open tickets, of both partners.
    await counts().getByRole("button", { name: /^Open/ }).click();
    await waitText("Open tickets only", rows(), /^(?!.*Router down).*Backup failed at Nimbus/);
    expect(await textOf(rows())).toContain("VPN flapping at Sextant");
    expect(await textOf(rows())).not.toContain("Disk full");
    expect(new URL(page.url()).searchParams.get("statusId")).toBe("18");
    expect(await counts().getByRole("button", { name: /^Open/ }).getAttribute("aria-pressed")).toBe("true");

    // The partner filter: South's Open ticket only; the counts follow the partner.
    await filter("Partner").selectOption({ label: "South VAR" });
    await waitText("South's Open ticket", rows(), /^(?!.*Backup failed).*VPN flapping at Sextant/);
    expect(new URL(page.url()).searchParams.get("partnerId")).toBe(String(south));
    await waitText("South's counts", counts(), /All\s*2.*New\s*1.*Open\s*1/);
    // The status filter: New, for South.
    await filter("Status").selectOption({ label: "New" });
    await waitText("South's New ticket", rows(), /^(?!.*VPN flapping).*Router down at Sextant/);
    // The client filter lists the chosen partner's clients.
    await filter("Client").selectOption({ label: "SV1 — Sextant Shipping" });
    await waitText("South's New ticket of SV1", rows(), /Router down at Sextant/);
    await shot("queue-filtered");

    // Back to every partner, searching by the Autotask ticket number.
    await filter("Partner").selectOption({ label: "All partners" });
    await counts().getByRole("button", { name: /^All/ }).click();
    await filter("Search").fill(diskNumber);
    await waitText("the ticket by its number", rows(), /^(?!.*Backup failed).*Disk full on NIMBUS-SRV01/);
    expect(new URL(page.url()).searchParams.get("partnerId")).toBeNull();

    // The title opens the ticket, named by its Autotask number.
    await page.getByRole("link", { name: "Disk full on NIMBUS-SRV01" }).click();
    await page.getByRole("heading", { name: `${diskNumber} Disk full on NIMBUS-SRV01` }).waitFor();
    expect(new URL(page.url()).pathname).toMatch(new RegExp(`^/p/${north}/tickets/\\d+$`));
    expect(consoleErrors).toEqual([]);
  }, 120_000);

  it("a partner admin's queue shows its partner's tickets only, without a partner filter", async () => {
    await signIn("sven");
    await page.getByRole("heading", { name: "Service Center and Ticketing System Details" }).waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Queue" }).click();
    await page.getByRole("heading", { name: "Ticket queue", exact: true }).waitFor();
    const mine = await waitText("South's tickets", rows(), /Router down at Sextant/);
    expect(mine).toContain("VPN flapping at Sextant");
    expect(mine).not.toContain("Nimbus");
    expect(await filter("Partner").count()).toBe(0);
    await waitText("South's counts", counts(), /All\s*2/);
    expect(consoleErrors).toEqual([]);
  }, 60_000);
});
