import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { CW_ADMIN, DEMO_PASSWORD, type Demo, NOC_TECH, startDemo } from "../../src/demo/run.js";
import { createLogger } from "../../src/lib/logger.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import { buildWebUi, DESKTOP, launchChromium, PHONE, REPO, watchConsole } from "../helpers/browser.js";
import { TEST_MASTER_KEY } from "../helpers/services.js";

/**
 * Every page of the UI on the real demo (both demo partners, as `npm start` runs it), at 1280 × 800 and
 * at 390 px wide, as each role sees it. Each page must show its heading, raise no console error, and at
 * 390 px the page itself must not scroll sideways (wide tables scroll inside their own box). The
 * pictures go to test-results/screenshots/pages; with NOCBRIDGE_UPDATE_SCREENSHOTS=1 the desktop ones
 * also replace docs/screenshots/pages/, which the README shows.
 */

const SHOTS = join(REPO, "test-results", "screenshots", "pages");
const DOCS = join(REPO, "docs", "screenshots", "pages");
const UPDATE_DOCS = process.env.NOCBRIDGE_UPDATE_SCREENSHOTS === "1";

interface Shot {
  name: string;
  path: (ids: Ids) => string;
  /** Text of a heading the page shows once loaded. */
  heading: RegExp;
}

interface Ids {
  partner: number;
  cwPartner: number;
  ticket: number;
  device: number;
}

const PARTNER_ADMIN_PAGES: Shot[] = [
  {
    name: "setup",
    path: (i) => `/p/${i.partner}/setup`,
    heading: /Service Center and Ticketing System Details/,
  },
  {
    name: "mappings",
    path: (i) => `/p/${i.partner}/mappings`,
    heading: /Ticket status and priority mapping/,
  },
  { name: "sync", path: (i) => `/p/${i.partner}/sync`, heading: /Validate the Ticket System/ },
  { name: "reconciliation", path: (i) => `/p/${i.partner}/reconciliation`, heading: /Reconciliation/ },
  { name: "tickets", path: (i) => `/p/${i.partner}/tickets`, heading: /Tickets/ },
  { name: "ticket", path: (i) => `/p/${i.partner}/tickets/${i.ticket}`, heading: /./ },
  { name: "devices", path: (i) => `/p/${i.partner}/devices`, heading: /Devices/ },
  { name: "device", path: (i) => `/p/${i.partner}/devices/${i.device}`, heading: /./ },
  { name: "sync-errors", path: (i) => `/p/${i.partner}/sync-errors`, heading: /Sync errors/ },
  { name: "users", path: (i) => `/p/${i.partner}/users`, heading: /Users/ },
];

describe("every page at 1280 × 800 and 390 px, on the demo", () => {
  let demo: Demo;
  let context: BrowserContext;
  let page: Page;
  let webRoot: string;
  let dir: string;
  let ids: Ids;
  const errors: string[] = [];
  let current = "";

  beforeAll(async () => {
    webRoot = mkdtempSync(join(tmpdir(), "nb-shots-web-"));
    dir = mkdtempSync(join(tmpdir(), "nb-shots-"));
    await buildWebUi(webRoot);
    const config = loadConfig(
      { NOCBRIDGE_MASTER_KEY: TEST_MASTER_KEY, LOG_LEVEL: "silent" },
      { databaseUrl: join(dir, "demo.sqlite"), dataDir: dir, host: "127.0.0.1", port: 0 },
    );
    demo = await startDemo(config, {
      emulatorPort: 0,
      connectwisePort: 0,
      logger: createLogger("silent"),
      webRoot,
    });
    const { portal } = demo.services;
    const admin = SYSTEM_ACTOR;
    const partner = demo.summary.partner.id;
    const ticket = (await portal.listTickets(admin, partner, { limit: 1 })).items[0]?.id;
    const client = (await portal.listClients(admin, partner, { limit: 1 })).items[0]?.id;
    const device = client ? (await portal.listDevices(admin, client, { limit: 1 })).items[0]?.id : undefined;
    if (!ticket || !device) throw new Error("the demo has no ticket or device");
    ids = { partner, cwPartner: demo.connectwise.summary.partner.id, ticket, device };

    mkdirSync(SHOTS, { recursive: true });
    if (UPDATE_DOCS) mkdirSync(DOCS, { recursive: true });
    ({ context, page } = await launchChromium(join(dir, "profile"), DESKTOP, 30_000));
    watchConsole(page, errors, { label: () => current });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await demo?.close();
    for (const d of [webRoot, dir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  /** Signs out through the header (when signed in) and in again as `username`. */
  const signIn = async (username: string) => {
    current = `sign-in as ${username}`;
    const signOut = page.getByRole("button", { name: "Sign out" });
    if (page.url().startsWith(demo.server.url) && (await signOut.count()) > 0) await signOut.click();
    else await page.goto(`${demo.server.url}/signin`);
    await page.getByLabel("Username", { exact: true }).fill(username);
    await page.getByLabel("Password", { exact: true }).fill(DEMO_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
  };

  /** Opens the page at both widths: heading shown, no sideways scrolling at 390 px, pictures saved. */
  const capture = async (shot: Shot, who: string) => {
    const name = `${who}-${shot.name}`;
    for (const [viewport, suffix] of [
      [DESKTOP, ""],
      [PHONE, "-phone"],
    ] as const) {
      current = `${name}${suffix}`;
      await page.setViewportSize(viewport);
      await page.goto(`${demo.server.url}${shot.path(ids)}`);
      await page.getByRole("heading", { name: shot.heading }).first().waitFor();
      // Let pages that read the PSA live settle (their loading lines go away).
      await page.waitForLoadState("networkidle");
      const overflow = (await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      )) as number;
      expect(overflow, `${current} scrolls sideways by ${overflow} px`).toBeLessThanOrEqual(1);
      const file = join(SHOTS, `${current}.png`);
      await page.screenshot({ path: file, fullPage: suffix !== "" });
      if (UPDATE_DOCS && suffix === "") copyFileSync(file, join(DOCS, `${name}.png`));
    }
  };

  it("the partner admin's pages", async () => {
    await signIn("var-admin");
    for (const shot of PARTNER_ADMIN_PAGES) await capture(shot, "admin");
    expect(errors).toEqual([]);
  }, 600_000);

  it("the Autotask ticket number on a ticket page opens the emulator's page of that ticket", async () => {
    await signIn("var-admin");
    current = "ticket link";
    await page.setViewportSize(DESKTOP);
    await page.goto(`${demo.server.url}/p/${ids.partner}/tickets/${ids.ticket}`);
    const link = page.getByTestId("autotask-number").getByRole("link");
    const number = (await link.textContent())?.trim() ?? "";
    expect(number).toMatch(/^T\d{8}\.\d{4}$/);
    const [opened] = await Promise.all([context.waitForEvent("page"), link.click()]);
    await opened.getByRole("heading", { name: new RegExp(`Ticket ${number.replace(".", "\\.")}`) }).waitFor();
    expect(await opened.locator("body").textContent()).toMatch(/Company.+\(\d+\)/);
    await opened.screenshot({ path: join(SHOTS, "emulator-ticket-link.png") });
    await opened.close();
    expect(errors).toEqual([]);
  }, 120_000);

  it("the ConnectWise partner's Setup and Mappings", async () => {
    await signIn(CW_ADMIN);
    for (const shot of PARTNER_ADMIN_PAGES.filter((s) => ["setup", "mappings"].includes(s.name)))
      await capture({ ...shot, path: (i) => shot.path({ ...i, partner: i.cwPartner }) }, "cw-admin");
    expect(errors).toEqual([]);
  }, 300_000);

  it("the NOC technician's queue and the NOC admin's partners, and the sign-in page", async () => {
    await signIn(NOC_TECH);
    await capture({ name: "queue", path: () => "/queue", heading: /Ticket queue/ }, "technician");
    await signIn("noc");
    await capture({ name: "partners", path: () => "/partners", heading: /Partners/ }, "noc");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Username", { exact: true }).waitFor();
    await capture({ name: "sign-in", path: () => "/signin", heading: /nocbridge/ }, "anyone");
    expect(errors).toEqual([]);
  }, 300_000);
});
