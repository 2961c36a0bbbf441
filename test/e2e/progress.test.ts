import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/index.js";
import type { Services } from "../../src/main.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { DeviceInput } from "../../src/portal/service.js";
import { demoTicketing, startTestEmulator, type TestEmulator } from "../helpers/autotask.js";
import {
  buildWebUi,
  DESKTOP,
  launchChromium,
  openTestServices,
  PHONE,
  SHOTS,
  serveWebUi,
  signIn,
  textOf,
  until,
  watchConsole,
} from "../helpers/browser.js";

/**
 * Honest progress in the browser: a partner admin clicks Sync on a partner with 3,000 devices; the page
 * brings the live log into view and shows devices done of the total with the percentage while the run
 * writes, the history's row counts as it goes, and a dry run's row shows what it plans. The emulator's
 * latency is raised so the run lasts long enough to be seen (nothing here measures time).
 */

const PASSWORD = "correct horse battery";

function devices(code: string, n: number): DeviceInput[] {
  return Array.from({ length: n }, (_, i) => ({
    state: "managed",
    hostname: `${code}-WS${String(i + 1).padStart(4, "0")}`,
    deviceType: "Workstation",
    ipAddress: `10.${code === "AT1" ? 1 : 2}.${Math.floor(i / 250)}.${i % 250}`,
    make: "Dell",
    model: "OptiPlex 7090",
    operatingSystem: "Windows 11 Pro",
    serialNumber: `${code}SN${10000 + i}`,
    biosName: "Dell Inc.",
    biosVersion: "2.7.1",
  }));
}

const text = (l: Locator) => textOf(l, 1000);
/** "1,240" → 1240. */
const num = (s: string) => Number(s.replace(/[^\d]/g, ""));

describe("sync progress in chromium", () => {
  let emulator: TestEmulator;
  let services: Services;
  let app: App;
  let baseUrl: string;
  let context: BrowserContext;
  let page: Page;
  let webRoot: string;
  let profile: string;
  let partnerId: number;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    webRoot = mkdtempSync(join(tmpdir(), "nb-progress-web-"));
    profile = mkdtempSync(join(tmpdir(), "nb-progress-chromium-"));
    await buildWebUi(webRoot);

    emulator = await startTestEmulator();
    await emulator.admin("PUT", "/limits", { requestThreshold: 1_000_000 });
    services = await openTestServices([emulator.emu.url], join(profile, "data-unused"), {
      httpWebhooks: true,
      background: true,
    });
    const portal = services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Acme VAR", timeZone: "Asia/Kolkata" })).id;
    for (const [code, name] of [
      ["AT1", "Acme Dental Group"],
      ["AT2", "Birch Logistics"],
    ] as const) {
      const c = await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code,
        name,
        psaCompanyId: DEMO_IDS.companies[code],
      });
      // The company's name as the mapping keeps it: AT1's is known, AT2's not yet (the plan shows the id).
      if (code === "AT1")
        await services.db.kysely
          .updateTable("clients")
          .set({ psa_company_name: "Acme Dental" })
          .where("id", "=", c.id)
          .execute();
    }
    await portal.createUser(SYSTEM_ACTOR, {
      name: "Vera Admin",
      role: "partner-admin",
      partnerId,
      username: "vera",
      password: PASSWORD,
    });
    // Set up and onboarded while the clients have no devices: the 3,000 arrive afterwards.
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(emulator.emu.baseUrl, { enabled: false, nocMayEnterTickets: false }),
      devices: {
        enabled: true,
        productId: DEMO_IDS.product,
        configurationItemTypeId: DEMO_IDS.ciType,
        advanced: true,
        schedule: null,
      },
    });
    await services.sync.settingsSaved(partnerId);
    const [onboarding] = (await services.sync.runs.list(partnerId, "assets")).items;
    await services.sync.wait(onboarding!.id);
    const clients = (await portal.listClients(SYSTEM_ACTOR, partnerId, { limit: 10 })).items;
    for (const c of clients)
      await portal.importDevices(SYSTEM_ACTOR, c.id, devices(c.code, c.code === "AT1" ? 2000 : 1000));

    ({ app, baseUrl } = await serveWebUi(services, webRoot));
    services.setListeningUrl(baseUrl);

    ({ context, page } = await launchChromium(profile));
    watchConsole(page, consoleErrors);
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await app?.close();
    await services?.close();
    await emulator?.close();
    for (const dir of [webRoot, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("Sync brings the live log into view and shows devices done of 3,000 with the percentage; the history counts as it goes", async () => {
    await signIn(page, baseUrl, "vera", PASSWORD);
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Validate & sync" })
      .click();
    await page.getByRole("heading", { name: "Sync history" }).waitFor();
    await page.evaluate("window.scrollTo(0, 0)");
    const live = page.getByTestId("sync-live");
    // The box is relative to the viewport: in view when its top is inside the window.
    const inView = async () => {
      const box = await live.boundingBox();
      const height = page.viewportSize()?.height ?? 0;
      return box !== null && box.y >= 0 && box.y < height;
    };
    expect(await inView()).toBe(false); // below the settings and the checklist at first

    // Each CI create waits 3 ms more (nominal 3 s × the test emulator's time scale): 3,000 of them
    // take long enough to watch.
    await emulator.admin("PUT", "/faults", {
      latencyMs: 3_000,
      onlyMethods: ["POST"],
      onlyEntities: ["ConfigurationItems"],
    });
    try {
      await page.getByRole("button", { name: "Sync", exact: true }).click();
      await until("the live log in view", inView, (v) => v);

      // Devices done of the total with the percentage while the run writes.
      const count = page.getByTestId("sync-progress-count");
      const first = await until(
        "progress while writing",
        () => text(page.getByTestId("sync-progress-text")),
        (t) => /^Writing:/.test(t) && /[1-9][\d,]* of 3,000 devices, \d+%/.test(t),
        60_000,
      );
      const m = /([\d,]+) of 3,000 devices, (\d+)%/.exec(first)!;
      const done = num(m[1]!);
      expect(done).toBeLessThan(3000);
      expect(Number(m[2])).toBe(Math.floor((100 * done) / 3000));
      await page.screenshot({ path: join(SHOTS, "sync-progress.png") });
      await page.setViewportSize(PHONE);
      await page.screenshot({ path: join(SHOTS, "sync-progress-phone.png") });
      await page.setViewportSize(DESKTOP);
      // The counts under the bar and the running run's history row grow with it (not zeros).
      await until(
        "a later reading with more devices done",
        () => text(count),
        (t) => num(/^([\d,]+) of/.exec(t)?.[1] ?? "0") > done,
        60_000,
      );
      expect(await text(page.getByTestId("sync-progress-counts"))).toMatch(/[1-9][\d,]* created/);
      const row = page.locator("table.history tbody tr").first();
      await until(
        "the running row with live counts",
        async () => [await text(row), await text(row.locator('td[data-label="Created"]'))] as const,
        ([t, created]) => /Running/.test(t) && num(created) > 0 && num(created) < 3000,
        30_000,
      );
      expect(await text(row.locator('td[data-label="Took"]'))).toMatch(/running, \d+%/);

      await until(
        "the run to finish",
        () => text(page.getByTestId("sync-log")),
        (t) => t.includes("Integration completed."),
        180_000,
      );
    } finally {
      await emulator.admin("PUT", "/faults", { latencyMs: 0, onlyMethods: null, onlyEntities: null });
    }
    const row = page.locator("table.history tbody tr").first();
    await until(
      "the finished row",
      () => text(row),
      (t) => /Success/.test(t),
    );
    expect(await text(row.locator('td[data-label="Created"]'))).toBe("3,000");
    expect(await text(row.locator('td[data-label="Took"]'))).toMatch(/\d+(\.\d)? s|min/);

    // ---- a dry run: its row shows the counts of its plan; the plan names the client and the company.
    await page.getByRole("button", { name: "Dry run" }).click();
    const plan = page.getByRole("region", { name: "Dry run plan" });
    await plan.waitFor({ timeout: 60_000 });
    const planText = await text(plan);
    expect(planText).toContain("Client AT1 · Acme Dental Group → Autotask company Acme Dental (id 174)");
    expect(planText).toContain(`Client AT2 · Birch Logistics → Autotask company ${DEMO_IDS.companies.AT2}`);
    expect(planText).toMatch(/2,000 unchanged/);
    const dry = page.locator("table.history tbody tr").first();
    await until(
      "the dry run's row",
      () => text(dry),
      (t) => /dry run/.test(t) && /Success/.test(t),
    );
    expect(await text(dry.locator('td[data-label="Unchanged"]'))).toBe("3,000");
    expect(await text(dry.locator('td[data-label="Created"]'))).toBe("0");
    await page.evaluate("window.scrollTo(0, 0)");
    await page.screenshot({ path: join(SHOTS, "sync-dry-run-names.png"), fullPage: true });
    expect(consoleErrors).toEqual([]);
  }, 400_000);
});
