import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
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
  REPO,
  SHOTS,
  serveWebUi,
  signIn,
  shot as takeShot,
  watchConsole,
} from "../helpers/browser.js";
import { device } from "../helpers/devices.js";

/**
 * The reconciliation page in chromium: a partner admin finds an orphan CI and a duplicate serial number
 * and resolves both through the page (link the CI to its device; deactivate the extra CI), against the
 * Autotask emulator over HTTP.
 */

const DOCS_SHOTS = join(REPO, "docs", "screenshots");
const PASSWORD = "correct horse battery";
const C = DEMO_IDS.companies;

interface Ci {
  id: number;
  referenceTitle: string;
  serialNumber: string | null;
  isActive: boolean;
}

describe("reconciliation page, end to end in chromium", () => {
  let at: TestEmulator;
  let services: Services;
  let app: App;
  let baseUrl: string;
  let context: BrowserContext;
  let page: Page;
  let webRoot: string;
  let profile: string;
  let partnerId = 0;
  let newDevice = 0;
  let orphanCi = 0;
  let extraCi = 0;
  const consoleErrors: string[] = [];

  const cisOf = async (companyId: number) =>
    (
      await at.api<{ items: Ci[] }>("POST", "ConfigurationItems/query", {
        filter: [{ op: "eq", field: "companyID", value: companyId }],
      })
    ).items;
  const newCi = async (companyID: number, referenceTitle: string, serialNumber: string) =>
    (
      await at.admin<{ ids: number[] }>("POST", tenant("/rows/ConfigurationItems"), {
        companyID,
        productID: DEMO_IDS.product,
        configurationItemType: DEMO_IDS.ciType,
        referenceTitle,
        serialNumber,
        isActive: true,
      })
    ).ids[0] as number;

  beforeAll(async () => {
    webRoot = mkdtempSync(join(tmpdir(), "nb-recon-web-"));
    profile = mkdtempSync(join(tmpdir(), "nb-recon-chromium-"));
    await buildWebUi(webRoot);
    at = await startTestEmulator();
    services = await openTestServices([at.emu.url], join(profile, "data-unused"), {
      httpWebhooks: true,
      liveReadTtlMs: 0,
      background: true,
    });
    const portal = services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Acme VAR", timeZone: "Europe/London" }))
      .id;
    const clientA = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT1",
        name: "Acme Dental Group",
        psaCompanyId: C.AT1,
      })
    ).id;
    const clientB = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT2",
        name: "Birch Logistics",
        psaCompanyId: C.AT2,
      })
    ).id;
    // The company names the clients keep (Setup's company picker stores them with the mapping).
    for (const [id, name] of [
      [clientA, "Acme Dental Group"],
      [clientB, "Birch Logistics"],
    ] as const)
      await services.db.kysely
        .updateTable("clients")
        .set({ psa_company_name: name })
        .where("id", "=", id)
        .execute();
    for (const i of [1, 2, 3]) await portal.createDevice(SYSTEM_ACTOR, clientA, device(i, "managed"));
    for (const i of [21, 22]) await portal.createDevice(SYSTEM_ACTOR, clientB, device(i, "managed"));
    await portal.createUser(SYSTEM_ACTOR, {
      name: "Vera Admin",
      role: "partner-admin",
      partnerId,
      username: "vera",
      password: PASSWORD,
    });
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl, { enabled: false, nocMayEnterTickets: false }),
      devices: {
        enabled: true,
        productId: DEMO_IDS.product,
        configurationItemTypeId: DEMO_IDS.ciType,
        advanced: true,
        schedule: null,
      },
    });
    await services.sync.settingsSaved(partnerId);
    await services.sync.assetRuns.settled();
    // Made by hand in Autotask: a CI no device claims (its device is new in the portal), and a second
    // CI with the serial number of a device that already has one.
    orphanCi = await newCi(C.AT1, "front-desk-pc", "SN-HANDMADE");
    newDevice = (await portal.createDevice(SYSTEM_ACTOR, clientA, device(4, "managed"))).id;
    extraCi = await newCi(C.AT2, "HOST-021-old", "SN-21");

    ({ app, baseUrl } = await serveWebUi(services, webRoot));
    ({ context, page } = await launchChromium(profile));
    watchConsole(page, consoleErrors);
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await app?.close();
    await services?.close();
    await at?.close();
    for (const dir of [webRoot, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const shot = (name: string, phone = false) => takeShot(page, name, phone ? { desktop: false, phone } : {});
  const section = (title: RegExp) =>
    page.locator("section.card", { has: page.getByRole("heading", { name: title }) });

  it("a partner admin links an orphan CI to its device and deactivates a duplicate CI through the page", async () => {
    await signIn(page, baseUrl, "vera", PASSWORD);
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Reconciliation" })
      .click();
    await page.getByRole("heading", { name: "Reconciliation", exact: true }).waitFor();

    // Grouped by kind, with counts.
    const orphans = section(/^CIs no device claims \(\d+\)$/);
    const dups = section(/^Duplicate serial numbers \(\d+\)$/);
    await page.getByRole("heading", { name: "CIs no device claims (2)" }).waitFor();
    await page.getByRole("heading", { name: "Duplicate serial numbers (1)" }).waitFor();
    await page.getByRole("heading", { name: "Devices whose CI is in another company (0)" }).waitFor();
    await page.getByRole("heading", { name: "CIs changed in Autotask (0)" }).waitFor();
    const orphanRow = orphans.locator("tr", { hasText: "front-desk-pc" });
    expect(await orphanRow.textContent()).toContain("Acme Dental Group · serial SN-HANDMADE");
    await shot("reconciliation");
    await shot("reconciliation", true);

    // ---- the orphan: link it to the new device (suggested), confirmed
    const select = orphanRow.getByLabel("Device for front-desk-pc");
    expect(await select.locator("option:checked").textContent()).toContain("HOST-004");
    await orphanRow.getByRole("button", { name: "Link front-desk-pc" }).click();
    await orphanRow.getByText("Link CI front-desk-pc to HOST-004?").waitFor();
    await shot("reconciliation-confirm");
    await orphanRow.getByRole("button", { name: "Confirm" }).click();
    await page.getByText("Linked CI front-desk-pc to HOST-004 (Acme Dental Group)").waitFor();
    await page.getByRole("heading", { name: "CIs no device claims (1)" }).waitFor();
    expect(await orphans.locator("tr", { hasText: "front-desk-pc" }).count()).toBe(0);
    expect((await services.sync.links.psaIds(partnerId, "device", [newDevice])).get(newDevice)).toBe(
      orphanCi,
    );

    // ---- the duplicate serial: deactivate the CI no device owns, confirmed
    const dupRow = dups.locator("tr", { hasText: "SN-21" });
    expect(await dupRow.getByRole("button", { name: "Deactivate HOST-021", exact: true }).count()).toBe(0);
    expect(await dupRow.textContent()).toContain("the CI of HOST-021");
    await dupRow.getByRole("button", { name: "Deactivate HOST-021-old" }).click();
    await dupRow.getByRole("button", { name: "Confirm" }).click();
    await page.getByText("Deactivated CI HOST-021-old").waitFor();
    await page.getByRole("heading", { name: "Duplicate serial numbers (0)" }).waitFor();
    await page.getByRole("heading", { name: "CIs no device claims (0)" }).waitFor();
    expect((await cisOf(C.AT2)).find((c) => c.id === extraCi)?.isActive).toBe(false);
    await shot("reconciliation-resolved");

    // The next sync updates the linked CI instead of creating a second one.
    const run = await services.sync.startAssetRun(partnerId, "manual", { dryRun: false });
    const done = await services.sync.wait(run.id);
    expect(done.counts).toMatchObject({ created: 0, failed: 0 });
    const ci = (await cisOf(C.AT1)).find((c) => c.id === orphanCi);
    expect([ci?.referenceTitle, ci?.serialNumber]).toEqual(["HOST-004", "SN-4"]);
    expect(consoleErrors).toEqual([]);
    // The docs' picture is refreshed on request only: a test run leaves the working tree as it was.
    if (process.env.NOCBRIDGE_UPDATE_SCREENSHOTS === "1") {
      mkdirSync(DOCS_SHOTS, { recursive: true });
      copyFileSync(join(SHOTS, "reconciliation.png"), join(DOCS_SHOTS, "reconciliation.png"));
    }
  }, 120_000);
});
