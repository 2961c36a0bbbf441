import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/index.js";
import type { Services } from "../../src/main.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { IntegrationInput } from "../../src/portal/types.js";
import { demoTicketing, startTestEmulator, type TestEmulator } from "../helpers/autotask.js";
import {
  buildWebUi,
  launchChromium,
  openTestServices,
  serveWebUi,
  signIn,
  shot as takeShot,
  textOf,
  waitText,
  watchConsole,
} from "../helpers/browser.js";

/**
 * Setup's clients and their Autotask companies, in chromium against the Autotask emulator: the
 * current company by name, the search-as-you-type picker, a typed id the server refuses, and
 * "Auto-match by name" with proposals confirmed by checkbox.
 */

const PASSWORD = "correct horse battery";

const text = (l: Locator) => textOf(l, 1000);
describe("Setup: clients and their companies, in chromium", () => {
  let emulator: TestEmulator;
  let services: Services;
  let app: App;
  let baseUrl: string;
  let context: BrowserContext;
  let page: Page;
  let webRoot: string;
  let profile: string;
  let partnerId: number;
  const clientIds: Record<string, number> = {};
  const consoleErrors: string[] = [];
  /** Errors the scenario provokes on purpose (a refused id), each expected once. */
  const expectedErrors: string[] = [];

  beforeAll(async () => {
    webRoot = mkdtempSync(join(tmpdir(), "nb-companies-web-"));
    profile = mkdtempSync(join(tmpdir(), "nb-companies-chromium-"));
    await buildWebUi(webRoot);
    emulator = await startTestEmulator({ webhooks: false });
    services = await openTestServices([emulator.emu.url], join(profile, "data-unused"), {
      liveReadTtlMs: 0,
      background: true,
    });
    const portal = services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Names VAR", timeZone: "Asia/Kolkata" }))
      .id;
    for (const [code, name, company] of [
      // Mapped before names were kept: the page reads the name from Autotask.
      ["AT1", "Acme Dental Group", DEMO_IDS.companies.AT1],
      ["AT2", "Birch Logistics", null],
      ["AT3", "cobalt legal", null],
      ["AT4", "Zeta Works", null],
      ["AT5", "Nobody Corp", null],
    ] as const)
      clientIds[code] = (
        await portal.createClient(SYSTEM_ACTOR, partnerId, { code, name, psaCompanyId: company })
      ).id;
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(emulator.emu.baseUrl, { enabled: false, nocMayEnterTickets: false }),
      devices: {
        enabled: false,
        productId: DEMO_IDS.product,
        configurationItemTypeId: DEMO_IDS.ciType,
        advanced: false,
        schedule: null,
      },
    } as unknown as IntegrationInput);
    await portal.createUser(SYSTEM_ACTOR, {
      name: "Vera Admin",
      role: "partner-admin",
      partnerId,
      username: "vera",
      password: PASSWORD,
    });
    ({ app, baseUrl } = await serveWebUi(services, webRoot));
    services.setListeningUrl(baseUrl);

    ({ context, page } = await launchChromium(profile));
    watchConsole(page, consoleErrors, { expected: expectedErrors });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await app?.close();
    await services?.close();
    await emulator?.close();
    for (const dir of [webRoot, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const shot = (name: string) => takeShot(page, name, { phone: true });
  const rowOf = (code: string) =>
    page.locator("tr", { has: page.getByLabel(`Autotask company id of ${code}`, { exact: true }) });
  const client = (code: string) => services.portal.getClient(SYSTEM_ACTOR, clientIds[code] as number);

  it("shows companies by name, picks one by search, refuses a typed id Autotask lacks, and auto-matches by name", async () => {
    await signIn(page, baseUrl, "vera", PASSWORD);
    await page.getByRole("heading", { name: "Clients and their Autotask companies" }).waitFor();

    // ---- the current company by name, its id as secondary text
    await waitText("AT1's company name", rowOf("AT1"), /Acme Dental Group\s*id 174/);
    expect(await text(rowOf("AT2"))).toMatch(/Not mapped/);

    // ---- search as you type over the live companies, names first
    const search = page.getByLabel("Search Autotask companies for AT4", { exact: true });
    await search.fill("clin");
    const option = rowOf("AT4").getByRole("button", { name: /Delta Clinics/ });
    await option.waitFor();
    expect(await text(option)).toMatch(/Delta Clinics\s*id 177/);
    await shot("setup-company-picker");
    await option.click();
    await rowOf("AT4").getByText("Saved: Delta Clinics").waitFor();
    await waitText("AT4's company", rowOf("AT4"), /Delta Clinics\s*id 177/);
    expect(await client("AT4")).toMatchObject({ psaCompanyId: 177, psaCompanyName: "Delta Clinics" });

    // ---- the typed id is checked by the server: one Autotask does not have is refused, nothing saved
    expectedErrors.push("400");
    await page.getByLabel("Autotask company id of AT3", { exact: true }).fill("999999");
    await page.getByRole("button", { name: "Save the company of AT3" }).click();
    await waitText(
      "the refusal",
      rowOf("AT3").getByRole("alert"),
      /Client AT3: Autotask has no company 999999/,
    );
    expect((await client("AT3")).psaCompanyId).toBeNull();
    await page.getByLabel("Autotask company id of AT3", { exact: true }).fill("");

    // ---- auto-match: proposals with checkboxes; only the checked one is saved
    await page.getByRole("button", { name: "Auto-match by name" }).click();
    const birch = page.getByRole("checkbox", { name: "Map AT2 to Birch Logistics" });
    const cobalt = page.getByRole("checkbox", { name: "Map AT3 to Cobalt Legal LLP" });
    await birch.waitFor();
    expect(await birch.isChecked()).toBe(true);
    expect(await cobalt.isChecked()).toBe(true);
    const result = page.locator(".auto-match-result");
    expect(await text(result)).toMatch(/same name apart from case, punctuation or legal form/);
    expect(await text(result)).toMatch(/AT5 Nobody Corp: no Autotask company of that name/);
    await shot("setup-auto-match");
    await cobalt.uncheck();
    await page.getByRole("button", { name: "Save the checked (1)" }).click();
    await page.getByText("Saved 1 company.").waitFor();
    await waitText("AT2's company", rowOf("AT2"), /Birch Logistics\s*id 175/);
    expect(await client("AT2")).toMatchObject({ psaCompanyId: 175, psaCompanyName: "Birch Logistics" });
    expect((await client("AT3")).psaCompanyId).toBeNull();
    expect(await text(rowOf("AT3"))).toMatch(/Not mapped/);

    expect(expectedErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  }, 120_000);
});
