import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Dialog, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import type { Services } from "../../src/main.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import { demoTicketing, startTestEmulator, type TestEmulator } from "../helpers/autotask.js";
import {
  buildWebUi,
  launchChromium,
  openTestServices,
  SHOTS,
  serveWebUi,
  signIn,
  until,
  watchConsole,
} from "../helpers/browser.js";

/**
 * The mapping tables' one save model in chromium: rows are added, changed and removed on the page,
 * leaving with edits pending asks first (a link, Back, closing or reloading the tab), "Save table"
 * stores the whole table, a bad table is refused naming the value and the row; the new row's
 * pick-list offers only values not mapped yet; links to the reverse table land on it.
 */

const PASSWORD = "correct horse battery";

interface Row {
  portalStatusId: number;
  psaStatusId: number;
}

describe("mapping tables in chromium: edit, then one save", () => {
  let emulator: TestEmulator;
  let services: Services;
  let app: App;
  let baseUrl: string;
  let context: BrowserContext;
  let page: Page;
  let webRoot: string;
  let profile: string;
  let partnerId: number;
  let adminToken: string;
  const consoleErrors: string[] = [];
  /** Errors the scenario provokes on purpose (a refused save), each expected once. */
  const expectedErrors: string[] = [];
  /** Dialogs the page opened (type and message); each is dismissed unless `accept` says otherwise. */
  const dialogs: Array<{ type: string; message: string }> = [];
  const acceptDialogs = false;

  beforeAll(async () => {
    webRoot = mkdtempSync(join(tmpdir(), "nb-map-web-"));
    profile = mkdtempSync(join(tmpdir(), "nb-map-chromium-"));
    await buildWebUi(webRoot);

    emulator = await startTestEmulator();
    services = await openTestServices([emulator.emu.url], join(profile, "data-unused"), {
      background: false,
    });
    const portal = services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Acme VAR" })).id;
    // The credentials are set (the tables' pick-lists come from the emulator's Autotask); modules off.
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(emulator.emu.baseUrl, { enabled: false, nocMayEnterTickets: false }),
      devices: {
        enabled: false,
        productId: null,
        configurationItemTypeId: null,
        advanced: false,
        schedule: null,
      },
    });
    adminToken = (
      await portal.createUser(SYSTEM_ACTOR, {
        name: "Vera Admin",
        role: "partner-admin",
        partnerId,
        username: "vera",
        password: PASSWORD,
      })
    ).token;

    ({ app, baseUrl } = await serveWebUi(services, webRoot));

    ({ context, page } = await launchChromium(profile));
    watchConsole(page, consoleErrors, { expected: expectedErrors });
    page.on("dialog", (d: Dialog) => {
      dialogs.push({ type: d.type(), message: d.message() });
      void (acceptDialogs ? d.accept() : d.dismiss());
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await app?.close();
    await services?.close();
    await emulator?.close();
    for (const dir of [webRoot, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const stored = async (table: string) =>
    (
      (await fetch(`${baseUrl}/api/partners/${partnerId}/mappings/${table}`, {
        headers: { authorization: `Bearer ${adminToken}` },
      }).then((r) => r.json())) as { rows: Row[] }
    ).rows;
  const optionValues = (l: Locator) =>
    l.locator("option").evaluateAll((os) => os.map((o) => o.getAttribute("value") ?? ""));
  const dialogCount = async (n: number) =>
    until(
      "a dialog",
      async () => dialogs.length,
      (c) => c >= n,
    );
  /** Where the top of an element is in the viewport, and how far the page is scrolled. */
  const position = (id: string) =>
    page.evaluate(
      `(() => { const el = document.getElementById(${JSON.stringify(id)}); return { top: el ? el.getBoundingClientRect().top : -1, scrollY: window.scrollY }; })()`,
    ) as Promise<{ top: number; scrollY: number }>;
  /** The section is at the top of the viewport (under the sticky bar), the page scrolled to it. */
  const landedOn = (id: string) =>
    until(
      `the page scrolled to #${id}`,
      () => position(id),
      (p) => p.scrollY > 200 && p.top >= 0 && p.top < 200,
    );

  it("adds, changes and removes rows, warns before leaving, saves the whole table, and reloads it", async () => {
    await signIn(page, baseUrl, "vera", PASSWORD);
    await page.getByRole("heading", { name: "Service Center and Ticketing System Details" }).waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Mappings" }).click();

    const forward = page.locator("section#status-forward");
    const rows = forward.locator("table.mapping tbody tr");
    const newPortal = forward.getByLabel("Portal status of the new row");
    await rows.first().waitFor();
    expect(await rows.count()).toBe(9);
    // The forward table maps each portal status once: its new row offers only the one not mapped.
    expect(await optionValues(newPortal)).toEqual(["", "19"]);

    // Add Response due → Action Required; change New → Assigned to NOC; remove Closed (row 9).
    await newPortal.selectOption("19");
    await forward.getByLabel("Autotask status of the new row").selectOption("28");
    await forward.getByRole("button", { name: "Add row" }).click();
    expect(await rows.count()).toBe(10);
    expect(await optionValues(newPortal)).toEqual([""]);
    expect(await forward.getByRole("button", { name: "Add row" }).isDisabled()).toBe(true);
    await forward.getByLabel("Autotask status of row 1", { exact: true }).selectOption("30");
    await forward.getByRole("button", { name: "Remove row 9" }).click();
    expect(await rows.count()).toBe(9);
    // Closed has no row any more: the new row offers it again.
    expect(await optionValues(newPortal)).toEqual(["", "3"]);
    await forward.getByText("Not saved yet: 1 row added, 1 row changed, 1 row removed.").waitFor();
    // Nothing is written until the table is saved.
    expect((await stored("status-forward")).length).toBe(9);
    expect((await stored("status-forward")).find((r) => r.portalStatusId === 1)?.psaStatusId).toBe(29);
    await page.evaluate("window.scrollTo(0, 0)");
    await page.screenshot({ path: join(SHOTS, "mappings-unsaved.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(SHOTS, "mappings-unsaved-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });

    // Leaving asks first; declined, the page and its edits stay: a link, Back, and a reload.
    const path = `/p/${partnerId}/mappings`;
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tickets" }).click();
    await dialogCount(1);
    expect(dialogs[0]).toEqual({
      type: "confirm",
      message:
        '"Ticket status mapping: portal → Autotask" has changes that are not saved (1 row added, 1 row changed, 1 row removed). Leave without saving them?',
    });
    expect(new URL(page.url()).pathname).toBe(path);
    await page.evaluate("history.back()");
    await dialogCount(2);
    expect(dialogs[1]?.type).toBe("confirm");
    await until(
      "the address restored",
      async () => new URL(page.url()).pathname,
      (p) => p === path,
    );
    await page.evaluate("location.reload()");
    await dialogCount(3);
    expect(dialogs[2]?.type).toBe("beforeunload");
    expect(new URL(page.url()).pathname).toBe(path);
    expect(await rows.count()).toBe(9);
    expect(await forward.getByLabel("Autotask status of row 1", { exact: true }).inputValue()).toBe("30");

    // Save table: the whole table in one request.
    await forward.getByRole("button", { name: "Save table" }).click();
    await forward.getByText("Table saved.").waitFor();
    const saved = await stored("status-forward");
    expect(saved.map((r) => [r.portalStatusId, r.psaStatusId])).toEqual([
      [1, 30],
      [18, 29],
      [11, 29],
      [7, 29],
      [2, 29],
      [12, 29],
      [16, 29],
      [9, 28],
      [19, 28],
    ]);
    // Saved: leaving does not ask any more; the reload shows the stored table.
    await page.reload();
    await rows.first().waitFor();
    expect(dialogs).toHaveLength(3);
    expect(await rows.count()).toBe(9);
    expect(await forward.getByLabel("Autotask status of row 1", { exact: true }).inputValue()).toBe("30");
    expect(await forward.getByLabel("Portal status of row 9", { exact: true }).inputValue()).toBe("19");
    expect(await forward.locator(".unsaved").count()).toBe(0);
    expect(consoleErrors).toEqual([]);
  }, 120_000);

  it("the reverse table's new row offers only unmapped Autotask statuses; a bad table is refused by row", async () => {
    const reverse = page.locator("section#status-reverse");
    const newPsa = reverse.getByLabel("Autotask status of the new row");
    await until(
      "the live Autotask statuses",
      () => optionValues(newPsa),
      (v) => v.length > 1,
    );
    // Mapped: Assigned to NOC (30), Complete (5), Action Required (28), Information (29).
    expect((await optionValues(newPsa)).sort()).toEqual(["", "1", "8"]);

    const before = await stored("status-reverse");
    await reverse.getByLabel("Autotask status of row 2", { exact: true }).selectOption("30");
    expectedErrors.push(
      `status of 400 (Bad Request) @ ${baseUrl}/api/partners/${partnerId}/mappings/status-reverse`,
    );
    await reverse.getByRole("button", { name: "Save table" }).click();
    const refused = reverse.getByRole("alert").filter({ hasText: "Nothing was saved" });
    await refused.waitFor();
    expect(await refused.textContent()).toContain(
      "Row 2: Autotask status Assigned to NOC (30) is mapped twice (rows 1 and 2); each may appear in one row only",
    );
    expect(await reverse.locator("tbody tr").nth(1).getAttribute("class")).toBe("row-invalid");
    expect(await stored("status-reverse")).toEqual(before);
    expect(expectedErrors).toEqual([]);
    await reverse.getByRole("button", { name: "Discard changes" }).click();
    expect(await reverse.getByLabel("Autotask status of row 2", { exact: true }).inputValue()).toBe("5");
    expect(await refused.count()).toBe(0);
    expect(consoleErrors).toEqual([]);
  }, 60_000);

  it("links to the reverse table land on it: the forward table's link, the address, a sync error's link", async () => {
    await page.evaluate("window.scrollTo(0, 0)");
    await page
      .locator("section#status-forward")
      .getByRole("link", { name: /The reverse table/ })
      .click();
    expect(new URL(page.url()).hash).toBe("#status-reverse");
    await landedOn("status-reverse");

    // Opened by its address, the page scrolls once the tables above have their rows.
    await page.goto(`${baseUrl}/p/${partnerId}/mappings#status-reverse`);
    await page.locator("section#status-reverse table.mapping tbody tr").first().waitFor();
    await landedOn("status-reverse");

    // A mapping error on the Sync errors page links to the table it is about.
    const now = new Date().toISOString();
    await services.db.kysely
      .insertInto("sync_errors")
      .values({
        partner_id: partnerId,
        lane: "psa:4711",
        ticket_id: null,
        psa_ticket_id: 4711,
        error: "Autotask status In Progress (8) has no row in the reverse status mapping table",
        code: "MAPPING",
        attempts: 1,
        parked: 1,
        next_attempt_at: null,
        first_at: now,
        last_at: now,
        resolved_at: null,
      })
      .execute();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sync errors" }).click();
    await page.getByRole("link", { name: "open the mapping table" }).click();
    await until(
      "the Mappings page",
      async () => new URL(page.url()).pathname,
      (p) => p.endsWith("/mappings"),
    );
    expect(new URL(page.url()).hash).toBe("#status-reverse");
    await landedOn("status-reverse");
    expect(consoleErrors).toEqual([]);
  }, 60_000);
});
