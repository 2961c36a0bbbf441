import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import {
  CW_DEMO_PARTNER_NAME,
  seedConnectWiseDemo,
  wireConnectWiseDemo,
} from "../../src/demo/connectwise.js";
import { DEMO_IDS } from "../../src/emulators/autotask/index.js";
import {
  DEMO_IDS as CW_IDS,
  type RunningConnectWiseEmulator,
  startConnectWiseEmulator,
} from "../../src/emulators/connectwise/index.js";
import type { Services } from "../../src/main.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { DeviceInput } from "../../src/portal/service.js";
import { DEFAULT_CREDENTIALS, startTestEmulator, type TestEmulator, tenant } from "../helpers/autotask.js";
import {
  buildWebUi,
  launchChromium,
  openTestServices,
  REPO,
  SHOTS,
  serveWebUi,
  shot as takeShot,
  textOf,
  until,
  waitText,
  watchConsole,
} from "../helpers/browser.js";

/**
 * The web UI end to end: the built UI served by a real server (in-process) against the Autotask
 * emulator, driven in Debian's chromium by playwright-core. A partner admin configures a partner that
 * has nothing set up, through the browser only; the emulator plays the partner's Autotask. Beside it
 * the ConnectWise emulator (HTTPS, its certificate trusted by the ConnectWise clients only) plays the
 * ConnectWise of the demo's second partner and of a partner set up on ConnectWise from nothing.
 */

const DOCS_SHOTS = join(REPO, "docs", "screenshots");
const PASSWORD = "correct horse battery";
const TECHNICIAN_RESOURCE = 29682886; // Alex Morgan in the emulator's demo seed

function devices(code: string, n: number): DeviceInput[] {
  const states = ["managed", "managed", "managed", "discovered", "unmanaged"] as const;
  return Array.from({ length: n }, (_, i) => ({
    state: states[i % states.length] as DeviceInput["state"],
    hostname: `${code}-${i === 0 ? "SRV" : "WS"}${String(i + 1).padStart(2, "0")}`,
    deviceType: i === 0 ? "Server" : "Workstation",
    ipAddress: `10.0.${code === "AT1" ? 1 : 2}.${10 + i}`,
    make: "Dell",
    model: i === 0 ? "PowerEdge R650" : "OptiPlex 7090",
    operatingSystem: i === 0 ? "Windows Server 2022" : "Windows 11 Pro",
    serialNumber: `${code}SN${1000 + i}`,
    biosName: "Dell Inc.",
    biosVersion: "2.7.1",
  }));
}

describe("web UI, end to end in chromium", () => {
  let emulator: TestEmulator;
  let cw: RunningConnectWiseEmulator;
  let services: Services;
  let app: App;
  let baseUrl: string;
  let context: BrowserContext;
  let page: Page;
  let webRoot: string;
  let profile: string;
  let partnerId: number;
  let technicianToken: string;
  let nocToken: string;
  const consoleErrors: string[] = [];
  /** Errors the scenario provokes on purpose (a rejected save), each expected once. */
  const expectedErrors: string[] = [];
  let currentPage = "";

  beforeAll(async () => {
    webRoot = mkdtempSync(join(tmpdir(), "nb-ui-web-"));
    profile = mkdtempSync(join(tmpdir(), "nb-ui-chromium-"));
    await buildWebUi(webRoot);

    emulator = await startTestEmulator();
    cw = await startConnectWiseEmulator({ seed: "demo", timeScale: 0.01 });
    services = await openTestServices([emulator.emu.url, cw.url], join(profile, "data-unused"), {
      httpWebhooks: true,
      connectwiseCa: cw.caPem,
      // The test fixes things in Autotask and clicks Validate again at once.
      liveReadTtlMs: 0,
      background: true,
    });
    const portal = services.portal;
    // The NOC side exists (partner, clients, devices, users); the integration is not set up at all.
    const partner = await portal.createPartner(SYSTEM_ACTOR, { name: "Acme VAR", timeZone: "Asia/Kolkata" });
    partnerId = partner.id;
    for (const [code, name, n] of [
      ["AT1", "Acme Dental Group", 8],
      ["AT2", "Birch Logistics", 6],
    ] as const) {
      const c = await portal.createClient(SYSTEM_ACTOR, partnerId, { code, name });
      await portal.importDevices(SYSTEM_ACTOR, c.id, devices(code, n));
    }
    await portal.createUser(SYSTEM_ACTOR, {
      name: "Vera Admin",
      role: "partner-admin",
      partnerId,
      username: "vera",
      password: PASSWORD,
    });
    await portal.createUser(SYSTEM_ACTOR, {
      name: "Rita Reader",
      role: "read-only",
      partnerId,
      username: "rita",
      password: PASSWORD,
    });
    technicianToken = (
      await portal.createUser(SYSTEM_ACTOR, { name: "Tom Tech", role: "technician", partnerId })
    ).token;
    nocToken = (await portal.createUser(SYSTEM_ACTOR, { name: "Nora NOC", role: "noc-admin" })).token;

    ({ app, baseUrl } = await serveWebUi(services, webRoot));
    services.setListeningUrl(baseUrl);

    // The partner's Autotask lacks one user-defined field: Validate must say so.
    await emulator.admin("DELETE", tenant("/udfs/ConfigurationItems/BIOS%20Name"));

    ({ context, page } = await launchChromium(profile));
    watchConsole(page, consoleErrors, { expected: expectedErrors, label: () => currentPage });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await app?.close();
    await services?.close();
    await emulator?.close();
    await cw?.close();
    for (const dir of [webRoot, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const shot = (name: string, phone = false) => takeShot(page, name, phone ? { desktop: false, phone } : {});
  const nav = (name: string) => page.getByRole("navigation", { name: "Main" }).getByRole("link", { name });
  const go = async (name: string) => {
    currentPage = name;
    await nav(name).click();
  };
  /** Enabled buttons that would change something (a read-only user must see none). */
  const WRITE_BUTTONS =
    /^(Save\b.*|Sync|Dry run|Validate|Approve and run|Cancel the run|Add row|Remove row \d+|New ticket|Create ticket|Add note|Log time|Start timer|Add time entry|Retry( now)?|Click to view password)$/;
  const writeControls = async () => {
    const enabled: string[] = [];
    for (const b of await page.getByRole("button", { name: WRITE_BUTTONS }).all())
      if (await b.isEnabled()) enabled.push((await b.getAttribute("aria-label")) ?? (await textOf(b)).trim());
    return enabled;
  };
  const fieldError = (label: string) =>
    page.locator(".field", { has: page.getByLabel(label, { exact: true }) }).locator(".field-error");
  const integration = async () => {
    const r = await fetch(`${baseUrl}/api/partners/${partnerId}/integration`, {
      headers: { authorization: `Bearer ${nocToken}` },
    });
    return (await r.json()) as {
      ticketing: { username: string; enabled: boolean };
      devices: { enabled: boolean };
    };
  };

  it("a partner admin configures the integration from nothing, validates, syncs, maps, and works tickets", async () => {
    // ---- sign in with username and password
    currentPage = "sign-in";
    await page.goto(baseUrl);
    await page.getByLabel("Username", { exact: true }).fill("vera");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await shot("sign-in");
    await page.getByRole("button", { name: "Sign in" }).click();
    currentPage = "setup";
    await page.getByRole("heading", { name: "Service Center and Ticketing System Details" }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/p/${partnerId}/setup`);
    // Role-aware navigation: a partner admin sets up its own partner; no partner list.
    expect(await nav("Setup").count()).toBe(1);
    expect(await nav("Partners").count()).toBe(0);

    // ---- clients → Autotask companies
    for (const [code, company] of [
      ["AT1", DEMO_IDS.companies.AT1],
      ["AT2", DEMO_IDS.companies.AT2],
    ] as const) {
      await page.getByLabel(`Autotask company id of ${code}`).fill(String(company));
      const row = page.locator("tr", { has: page.getByLabel(`Autotask company id of ${code}`) });
      await row.getByRole("button", { name: `Save the company of ${code}` }).click();
      await row.getByText("Saved").waitFor();
    }

    // ---- a save the API rejects shows the message at the field, and saves nothing
    await page.getByLabel("Web Login URL").fill(emulator.emu.baseUrl);
    await page.getByLabel("Company Username").fill(DEFAULT_CREDENTIALS.username);
    await page.getByLabel("Company Password").fill(DEFAULT_CREDENTIALS.secret);
    await page.getByLabel("API Integration Code").fill(DEFAULT_CREDENTIALS.integrationCode);
    await page.getByRole("radio", { name: "Yes" }).check();
    await page.getByLabel("Enable NOC to enter Tickets in VAR Ticketing System").check();
    expectedErrors.push(`status of 400 (Bad Request) @ ${baseUrl}/api/partners/${partnerId}/integration`);
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await waitText("the queue id error", fieldError("Queue Id"), /NOC queue id is required/);
    expect(await page.getByLabel("Queue Id", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    expect(await textOf(page.getByRole("alert").filter({ hasText: "Nothing was saved" }))).toContain(
      "Nothing was saved",
    );
    expect((await integration()).ticketing.username).toBe("");
    expect(expectedErrors).toEqual([]); // the rejected save was the one expected console error

    // ---- credentials first (modules off): then the pick-lists come from the live Autotask
    await page.getByRole("radio", { name: "No" }).check();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText("Saved.", { exact: true }).waitFor();
    expect((await integration()).ticketing.username).toBe(DEFAULT_CREDENTIALS.username);
    const queue = page.getByRole("combobox", { name: "Queue Id" });
    await queue.waitFor();
    await queue.selectOption(String(DEMO_IDS.nocQueue));
    expect(await page.getByLabel("Queue Name").inputValue()).not.toBe("");
    await page.getByRole("combobox", { name: "Allocation Id" }).selectOption(String(DEMO_IDS.remoteSupport));
    // What the demo tenant's default ticket category requires; sub-issue types follow the issue type.
    await page
      .getByRole("combobox", { name: "Issue Type", exact: true })
      .selectOption(String(DEMO_IDS.issueType));
    await page.getByRole("combobox", { name: "Sub-Issue Type" }).selectOption(String(DEMO_IDS.subIssueType));
    await page.getByRole("radio", { name: "Yes" }).check();
    await page.getByLabel("Enable Device Integration").check();
    await page.getByRole("combobox", { name: "Product" }).selectOption(String(DEMO_IDS.product));
    await page
      .getByRole("combobox", { name: "Configuration Item Type" })
      .selectOption(String(DEMO_IDS.ciType));
    await page.getByLabel("Advanced Device Integration").check();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText(/Saved\. Device integration is on/).waitFor();
    const saved = await integration();
    expect(saved.ticketing.enabled).toBe(true);
    expect(saved.devices.enabled).toBe(true);
    await page.getByRole("button", { name: "Click to view password" }).click();
    await waitText(
      "the revealed secret",
      page.locator("code.secret"),
      new RegExp(DEFAULT_CREDENTIALS.secret),
    );
    await page.getByRole("button", { name: "Hide" }).click();
    await shot("setup");
    await shot("setup", true);

    // ---- validate: a missing user-defined field fails with its fix; created in Autotask, it passes
    await go("Validate & sync");
    // Saving registered the Autotask webhooks in the background; the page says so.
    await waitText(
      "the webhook state",
      page.getByTestId("webhook-state"),
      /Webhooks registered \(Ticket #\d+, TicketNote #\d+\)/,
      15_000,
    );
    await page.getByRole("button", { name: "Validate", exact: true }).click();
    const bios = page.getByRole("list", { name: "Failed checks" }).getByRole("listitem").filter({
      hasText: 'User-defined field "BIOS Name" is missing',
    });
    await bios.waitFor();
    expect(await textOf(bios.locator(".fix"))).toContain('Create the user-defined field "BIOS Name"');
    await emulator.admin("POST", tenant("/udfs/ConfigurationItems"), { name: "BIOS Name" });
    await page.getByRole("button", { name: "Validate", exact: true }).click();
    await page.getByText("Configuration validation success: every check passed.").waitFor();
    expect(await page.locator(".checklist li.bad").count()).toBe(0);

    // ---- sync devices, the log streaming live to "Integration completed."
    const log = page.getByTestId("sync-log");
    await page.getByRole("button", { name: "Sync", exact: true }).click();
    await waitText("the live log", log, /Integration completed\./, 30_000);
    const lines = await log.locator("li").allTextContents();
    expect(lines).toContain("Validating configuration...");
    expect(lines).toContain("Configuration validation success.");
    expect(lines).toContain("Creating/updating devices for client:AT1");
    expect(lines).toContain("Successfully created/updated devices for client:AT2");
    await waitText("Last Sync Status", page.getByTestId("last-sync-status"), /Success/);
    expect(await textOf(page.getByTestId("last-sync-date"))).toMatch(/\d{2}:\d{2}/);
    // The history lists the runs (the failed onboarding run, then this one) with counts and API calls.
    const history = page.locator("table.history tbody tr");
    await until(
      "two runs in the history",
      () => history.count(),
      (n) => n >= 2,
    );
    await shot("sync");
    await shot("sync", true);
    // A dry run: the plan, nothing to change after the sync.
    await page.getByRole("button", { name: "Dry run" }).click();
    const plan = page.getByRole("region", { name: "Dry run plan" });
    await plan.waitFor({ timeout: 30_000 });
    expect(await textOf(plan)).toMatch(/\d+ unchanged/);
    await shot("sync-dry-run");
    await plan.getByRole("button", { name: "Close" }).click();
    // Unmanaging 3 of AT1's 7 linked devices trips the mass-change guard: the run waits for approval.
    const at1 = (await services.portal.listClients(SYSTEM_ACTOR, partnerId, { limit: 10 })).items[0]!;
    for (const hostname of ["AT1-WS02", "AT1-WS03", "AT1-WS06"]) {
      const [d] = (await services.portal.listDevices(SYSTEM_ACTOR, at1.id, { search: hostname })).items;
      await services.portal.updateDevice(SYSTEM_ACTOR, d!.id, { state: "unmanaged" });
    }
    await page.getByRole("button", { name: "Sync", exact: true }).click();
    const held = page.getByRole("status").filter({ hasText: "is waiting for approval" });
    await held.waitFor({ timeout: 30_000 });
    expect(await textOf(held)).toMatch(/deactivate/);
    await shot("sync-held");
    await held.getByRole("button", { name: "Approve and run" }).click();
    await until(
      "the approved run to finish",
      () => log.locator("li").allTextContents(),
      (l) => l.some((x) => x.startsWith("Approved by Vera Admin")) && l.includes("Integration completed."),
      30_000,
    );
    await until(
      "the approved run in the history",
      () => history.first().textContent(),
      (t) => /manual/.test(t ?? "") && /Success/.test(t ?? "") && !/dry run/.test(t ?? ""),
    );
    expect(await textOf(history.first().locator('td[data-label="Deactivated"]'))).toBe("3");
    // Tripped again (3 of AT2's 5 linked devices), the held run is cancelled: it fails as cancelled by
    // the admin, and no configuration item is written.
    const at2 = (await services.portal.listClients(SYSTEM_ACTOR, partnerId, { limit: 10 })).items[1]!;
    for (const hostname of ["AT2-WS02", "AT2-WS03", "AT2-WS06"]) {
      const [d] = (await services.portal.listDevices(SYSTEM_ACTOR, at2.id, { search: hostname })).items;
      await services.portal.updateDevice(SYSTEM_ACTOR, d!.id, { state: "unmanaged" });
    }
    const ciWrites = async () => {
      const { byOperation } = (await emulator.stats()) as unknown as { byOperation: Record<string, number> };
      return {
        update: byOperation["update ConfigurationItems"] ?? 0,
        create: byOperation["create ConfigurationItems"] ?? 0,
      };
    };
    const writesBefore = await ciWrites();
    await page.getByRole("button", { name: "Sync", exact: true }).click();
    await held.waitFor({ timeout: 30_000 });
    const heldRunId = Number(/Run #(\d+)/.exec(await textOf(held))?.[1]);
    expect(await textOf(held)).toMatch(/client:AT2 \(Birch Logistics\) would deactivate 3 of 5/);
    await held.getByRole("button", { name: "Cancel the run" }).click();
    await page.getByText(`Run #${heldRunId} was cancelled; nothing was written.`).waitFor();
    expect(await held.count()).toBe(0);
    await until(
      "the cancelled run in the history",
      () => history.first().textContent(),
      (t) =>
        (t ?? "").startsWith(`#${heldRunId}`) &&
        /Failed/.test(t ?? "") &&
        /cancelled by Vera Admin/.test(t ?? ""),
    );
    expect(await log.locator("li").allTextContents()).toContain(
      "Cancelled by Vera Admin; nothing was written.",
    );
    await history.first().getByRole("button", { name: "Log", exact: true }).click();
    await page.locator("tr.log-row").getByText("Cancelled by Vera Admin; nothing was written.").waitFor();
    const cancelled = await fetch(`${baseUrl}/api/sync-runs/${heldRunId}`, {
      headers: { authorization: `Bearer ${nocToken}` },
    }).then((r) => r.json() as Promise<{ status: string; error: string | null }>);
    expect(cancelled).toMatchObject({ status: "failed", error: "cancelled by Vera Admin" });
    expect(await ciWrites()).toEqual(writesBefore);

    // ---- mapping tables: edit a row, add one and remove it; uncovered statuses are warned about
    await go("Mappings");
    const forward = page.locator("section#status-forward");
    await forward.locator("table.mapping tbody tr").first().waitFor();
    expect(await textOf(forward.locator(".banner-warning"))).toContain(
      'No row for the portal status "Response due" (19)',
    );
    // Row 1 (New): Information → Assigned to NOC.
    await forward.getByLabel("Autotask status of row 1").selectOption("30");
    await forward.getByRole("button", { name: "Save table" }).click();
    await forward.getByText("Table saved.").waitFor();
    expect(await forward.getByLabel("Autotask status of row 1").inputValue()).toBe("30");
    const stored = await fetch(`${baseUrl}/api/partners/${partnerId}/mappings/status-forward`, {
      headers: { authorization: `Bearer ${nocToken}` },
    }).then((r) => r.json() as Promise<{ rows: Array<{ portalStatusId: number; psaStatusId: number }> }>);
    expect(stored.rows.find((r) => r.portalStatusId === 1)?.psaStatusId).toBe(30);
    // Adding and removing rows are edits too, stored by "Save table" (test/e2e/mappings.test.ts
    // covers the unsaved-changes warning).
    const rowsBefore = await forward.locator("table.mapping tbody tr").count();
    await forward.getByLabel("Portal status of the new row").selectOption("19");
    await forward.getByLabel("Autotask status of the new row").selectOption("29");
    await forward.getByRole("button", { name: "Add row" }).click();
    expect(await forward.locator("table.mapping tbody tr").count()).toBe(rowsBefore + 1);
    // Every portal status has a row now: the warning is gone.
    await forward.locator(".banner-warning").waitFor({ state: "detached" });
    await forward.getByRole("button", { name: "Save table" }).click();
    await forward.getByText("Table saved.").waitFor();
    await forward.getByRole("button", { name: `Remove row ${rowsBefore + 1}` }).click();
    await forward.getByRole("button", { name: "Save table" }).click();
    await forward.getByText("Table saved.").waitFor();
    expect(await forward.locator("table.mapping tbody tr").count()).toBe(rowsBefore);
    const afterRemove = await fetch(`${baseUrl}/api/partners/${partnerId}/mappings/status-forward`, {
      headers: { authorization: `Bearer ${nocToken}` },
    }).then((r) => r.json() as Promise<{ rows: unknown[] }>);
    expect(afterRemove.rows).toHaveLength(rowsBefore);
    await shot("mappings");

    // ---- time entries' resource map: Tom Tech is booked as an Autotask resource; it persists
    // A user who signs in with Sam Rivera's e-mail address is suggested Sam's resource.
    const sam = await services.portal.createUser(SYSTEM_ACTOR, {
      name: "Sam R.",
      role: "technician",
      partnerId,
      username: "sam.rivera@example.com",
    });
    await page.reload();
    const resourceMap = page.locator("section#resource-map");
    const tomResource = resourceMap.getByLabel("Autotask resource of Tom Tech");
    await waitText("the resource map's users", resourceMap.locator("tbody"), /Tom Tech/);
    expect(await textOf(resourceMap.locator("tr", { hasText: "Sam R." }))).toContain(
      "suggested from the e-mail address",
    );
    expect(await resourceMap.getByLabel("Autotask resource of Sam R.").inputValue()).toBe(
      String(DEMO_IDS.technicians[1]),
    );
    await tomResource.selectOption(String(TECHNICIAN_RESOURCE));
    await resourceMap.getByRole("button", { name: "Save map" }).click();
    await resourceMap.getByText("Map saved.").waitFor();
    await page.reload();
    await until(
      "the stored resource after a reload",
      () => tomResource.inputValue({ timeout: 1000 }),
      (v) => v === String(TECHNICIAN_RESOURCE),
    );
    const map = await fetch(`${baseUrl}/api/partners/${partnerId}/resource-map`, {
      headers: { authorization: `Bearer ${nocToken}` },
    }).then(
      (r) =>
        r.json() as Promise<{
          lines: Array<{ userName: string; psaResourceId: number | null; suggested: boolean }>;
        }>,
    );
    expect(map.lines.find((l) => l.userName === "Tom Tech")).toMatchObject({
      psaResourceId: TECHNICIAN_RESOURCE,
      suggested: false,
    });
    // Save map stored the suggestion too.
    expect(map.lines.find((l) => l.userName === "Sam R.")).toMatchObject({
      psaResourceId: DEMO_IDS.technicians[1],
      suggested: false,
    });
    await services.portal.users.remove(SYSTEM_ACTOR, sam.user.id);

    // ---- a new ticket goes to Autotask: its number appears, with the edited mapping's status
    await go("Tickets");
    await page.getByRole("button", { name: "New ticket" }).click();
    const form = page.getByRole("region", { name: "New ticket" });
    await form.getByLabel("Client").selectOption({ label: "AT1 — Acme Dental Group" });
    await form.getByLabel("Device", { exact: true }).selectOption({ label: "AT1-SRV01 (managed)" });
    await form.getByLabel("Alert", { exact: true }).fill("C: free space 8 % (threshold 10 %)");
    await form.getByLabel("Title").fill("Disk C: above 90 % on AT1-SRV01");
    await form.getByLabel("Description").fill("Free space fell below 10 % at 02:10.");
    await form.getByLabel("Priority", { exact: true }).selectOption({ label: "P1" });
    await form.getByRole("button", { name: "Create ticket" }).click();
    currentPage = "ticket";
    const number = page.getByTestId("autotask-number");
    await waitText("the Autotask ticket number", number, /^T\d{8}\.\d{4}$/, 20_000);
    await waitText("the sync state", page.getByTestId("sync-state"), /Synced/);
    const link = await number.getByRole("link").getAttribute("href");
    expect(link).toMatch(
      /\/Autotask\/AutotaskExtend\/ExecuteCommand\.aspx\?Code=OpenTicketDetail&TicketID=\d+$/,
    );
    const atId = Number(new URL(link as string).searchParams.get("TicketID"));
    const atTicket = await emulator.api<{ item: { status: number; priority: number; queueID: number } }>(
      "GET",
      `Tickets/${atId}`,
    );
    expect(atTicket.item.status).toBe(30); // New → Assigned to NOC, the row edited above
    expect(atTicket.item.priority).toBe(1); // P1 → High
    expect(atTicket.item.queueID).toBe(DEMO_IDS.nocQueue);
    expect(await textOf(page.getByRole("region", { name: "Alerts (1)" }))).toContain("C: free space 8 %");
    // A published note.
    await page.getByRole("textbox", { name: "Add a note" }).fill("Cleared 12 GB of temp files; watching.");
    await page.getByRole("button", { name: "Add note" }).click();
    await page
      .locator(".notes li", { hasText: "Cleared 12 GB of temp files" })
      .getByText("Published")
      .waitFor();
    // Time logged by hand: the entry is listed and the ticket's total follows.
    await page.getByRole("button", { name: "Log time" }).click();
    const entryForm = page.getByRole("form", { name: "Log time" });
    await entryForm.getByLabel("Start (your local time)").fill("2026-03-02T09:00");
    await entryForm.getByLabel("End (your local time)").fill("2026-03-02T10:30");
    await entryForm.getByLabel("Summary").fill("Cleared temp files and checked the disk.");
    await entryForm.getByRole("button", { name: "Add time entry" }).click();
    await page.getByTestId("time-entry").filter({ hasText: "Cleared temp files and checked" }).waitFor();
    await waitText("the ticket's effort total", page.getByTestId("effort-total"), /Total 1 h 30 min/);

    // ---- a technician changes the status in Autotask: the portal ticket follows
    const tech = await emulator.admin<{ username: string; secret: string; integrationCode: string }>(
      "POST",
      tenant("/actAs"),
      { resourceId: TECHNICIAN_RESOURCE },
    );
    await emulator.api("PATCH", "Tickets", { id: atId, status: 28 }, tech); // Action Required
    await waitText(
      "the status from Autotask",
      page.getByTestId("ticket-status"),
      /Handed Over to MSP/,
      20_000,
    );
    await shot("ticket");
    await shot("ticket", true);

    // ---- lists: tickets (with sync state), devices (with CI links), sync errors
    await go("Tickets");
    const ticketRow = page.locator("table.tickets tbody tr", { hasText: "Disk C: above 90 %" });
    await waitText("the ticket's sync state in the list", ticketRow, /Synced/);
    expect(await textOf(ticketRow)).toMatch(/T\d{8}\.\d{4}/);
    await page.getByLabel("Status", { exact: true }).selectOption({ label: "New" });
    await page.getByText("No ticket matches.").waitFor();
    await page.getByLabel("Status", { exact: true }).selectOption({ label: "Handed Over to MSP" });
    await ticketRow.waitFor();
    await shot("tickets");

    await go("Devices");
    await page
      .locator("table tbody tr", { hasText: "AT1-SRV01" })
      .locator('td[data-label="Autotask CI"]')
      .getByRole("link", { name: "AT1-SRV01" })
      .waitFor();
    expect(await page.getByText("Synced (active CI)").count()).toBeGreaterThan(0);
    await page.getByLabel("State", { exact: true }).selectOption("unmanaged");
    await waitText("unmanaged devices", page.locator("table tbody"), /No CI \(unmanaged\)/);
    await shot("devices");

    // A ticket of a client mapped to no Autotask company is parked; mapping it and a retry fix it.
    const unmapped = await services.portal.createClient(SYSTEM_ACTOR, partnerId, {
      code: "AT7",
      name: "Granite Dental",
    });
    const parked = await services.portal.createTicket(SYSTEM_ACTOR, partnerId, {
      clientId: unmapped.id,
      title: "Backup job failed twice",
      statusId: 19, // Response due: no forward row either (that alone only warns)
      priorityId: 10,
    });
    await go("Sync errors");
    const errRow = page.locator("tbody tr", {
      has: page.getByRole("link", { name: "“Backup job failed twice”" }),
    });
    await until(
      "the parked ticket on the sync errors page",
      async () => {
        await page.reload();
        await errRow.waitFor({ timeout: 2000 });
        return true;
      },
      (v) => v,
      20_000,
    );
    expect(await textOf(errRow)).toMatch(/not mapped to an Autotask company/);
    await shot("sync-errors");
    // The ticket list's sync-state filter: the parked ticket is under "Error", not under "Synced". The
    // list answer carries each ticket's Autotask side: the page reads no ticket one by one.
    const detailReads: string[] = [];
    const onRequest = (r: Request) => {
      if (/^\/api\/tickets\/\d+$/.test(new URL(r.url()).pathname)) detailReads.push(r.url());
    };
    page.on("request", onRequest);
    await go("Tickets");
    const tickets = page.locator("table.tickets tbody");
    const syncState = page.getByLabel("Sync state", { exact: true });
    await syncState.selectOption({ label: "Error" });
    await waitText("the parked ticket under Error", tickets, /Backup job failed twice/);
    expect(await textOf(tickets)).not.toContain("Disk C: above 90 %");
    expect(new URL(page.url()).searchParams.get("syncState")).toBe("error");
    await syncState.selectOption({ label: "Synced" });
    await waitText("the synced ticket under Synced", tickets, /Disk C: above 90 %/);
    expect(await textOf(tickets)).not.toContain("Backup job failed twice");
    await syncState.selectOption({ label: "Out of NOC queue" });
    await page.getByText("No ticket matches.").waitFor();
    page.off("request", onRequest);
    expect(detailReads).toEqual([]);
    await go("Mappings");
    await forward.getByLabel("Portal status of the new row").selectOption("19");
    await forward.getByLabel("Autotask status of the new row").selectOption("29");
    await forward.getByRole("button", { name: "Add row" }).click();
    await forward.getByRole("button", { name: "Save table" }).click();
    await forward.getByText("Table saved.").waitFor();
    await services.portal.updateClient(SYSTEM_ACTOR, unmapped.id, { psaCompanyId: DEMO_IDS.companies.AT3 });
    await go("Sync errors");
    await errRow.getByRole("button", { name: "Retry" }).waitFor();
    expect(await writeControls()).toContain("Retry"); // what the read-only checks below look for
    await errRow.getByRole("button", { name: "Retry" }).click();
    await until(
      "the retried ticket to sync",
      async () => (await services.sync.tickets.view(parked.id)).state,
      (s) => s === "synced",
      20_000,
    );
    await page.reload();
    await page.getByText("No sync errors. Every ticket is in step.").waitFor();

    // ---- sign out; a technician (API token) sees tickets and devices only
    await page.getByRole("button", { name: "Sign out" }).click();
    currentPage = "sign-in (token)";
    await page.getByRole("radio", { name: "API token" }).check();
    await page.getByLabel("Your API token").fill(technicianToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    currentPage = "technician queue";
    await page.getByRole("heading", { name: "Ticket queue", exact: true }).waitFor();
    const techNav = await page.getByRole("navigation", { name: "Main" }).getByRole("link").allTextContents();
    expect(techNav).toEqual(["Queue", "Tickets", "Devices", "Sync errors"]);

    // ---- a read-only user (password) sees the data, and no control that writes
    // One more ticket of a client mapped to no company: parked, shown without Retry.
    const unmapped2 = await services.portal.createClient(SYSTEM_ACTOR, partnerId, {
      code: "AT8",
      name: "Harbor Vets",
    });
    const printer = await services.portal.createTicket(SYSTEM_ACTOR, partnerId, {
      clientId: unmapped2.id,
      title: "Printer offline at the front desk",
      statusId: 3,
      priorityId: 11,
    });
    await until(
      "the second ticket to be parked",
      async () => (await services.sync.tickets.view(printer.id)).state,
      (s) => s === "error",
      20_000,
    );
    await page.getByRole("button", { name: "Sign out" }).click();
    currentPage = "sign-in (read-only)";
    await page.getByLabel("Username", { exact: true }).fill("rita");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    currentPage = "read-only tickets";
    await page.getByRole("heading", { name: "Tickets", exact: true }).waitFor();
    expect(await page.getByRole("navigation", { name: "Main" }).getByRole("link").allTextContents()).toEqual([
      "Queue",
      "Tickets",
      "Devices",
      "Sync errors",
    ]);
    expect(await textOf(page.locator(".who-role"))).toBe("Read-only");
    await waitText("the tickets, read-only", tickets, /T\d{8}\.\d{4}\s*Disk C: above 90 %/);
    expect(await textOf(tickets)).toContain("Printer offline at the front desk");
    expect(await writeControls()).toEqual([]);
    await tickets.getByRole("link", { name: "Disk C: above 90 % on AT1-SRV01" }).click();
    currentPage = "read-only ticket";
    await waitText("the Autotask number, read-only", number, /^T\d{8}\.\d{4}$/);
    await page.locator(".notes li", { hasText: "Cleared 12 GB of temp files" }).waitFor();
    expect(await page.getByRole("textbox", { name: "Add a note" }).count()).toBe(0);
    expect(await page.getByLabel("Change status").count()).toBe(0);
    expect(await writeControls()).toEqual([]);
    await go("Devices");
    await page
      .locator("table tbody tr", { hasText: "AT1-SRV01" })
      .locator('td[data-label="Autotask CI"]')
      .getByRole("link", { name: "AT1-SRV01" })
      .waitFor();
    expect(await writeControls()).toEqual([]);
    await go("Sync errors");
    const printerRow = page.locator("tbody tr", {
      has: page.getByRole("link", { name: "“Printer offline at the front desk”" }),
    });
    await waitText("the parked ticket, read-only", printerRow, /not mapped to an Autotask company/);
    expect(await writeControls()).toEqual([]);
    await printerRow.getByRole("link", { name: "“Printer offline at the front desk”" }).click();
    currentPage = "read-only parked ticket";
    await page.getByText(/^Parked after \d+ attempts?\.$/).waitFor();
    expect(await textOf(page.getByTestId("sync-state"))).toBe("Error");
    expect(await writeControls()).toEqual([]);
    await shot("ticket-read-only");
    // Outside its navigation, the settings open read-only by address; the sync page is not for the role.
    currentPage = "read-only setup";
    await page.goto(`${baseUrl}/p/${partnerId}/setup`);
    await page.getByText("Your role can view these settings; a partner admin changes them.").waitFor();
    expect(await page.getByLabel("Company Username").inputValue()).toBe(DEFAULT_CREDENTIALS.username);
    expect(await page.getByLabel("Company Username").isDisabled()).toBe(true);
    expect(await writeControls()).toEqual([]);
    currentPage = "read-only mappings";
    await page.goto(`${baseUrl}/p/${partnerId}/mappings`);
    await waitText("the forward table, read-only", forward.locator("table.mapping tbody"), /Assigned to NOC/);
    await waitText("the resource map, read-only", resourceMap.locator("tbody"), /Tom Tech.*Alex Morgan/);
    expect(await resourceMap.locator("select, input").count()).toBe(0);
    expect(await writeControls()).toEqual([]);
    currentPage = "read-only sync";
    await page.goto(`${baseUrl}/p/${partnerId}/sync`);
    await page.getByText("Not available for your role").waitFor();
    expect(await writeControls()).toEqual([]);
    expect(consoleErrors).toEqual([]);

    // ---- a NOC admin sees every partner
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("radio", { name: "API token" }).check();
    await page.getByLabel("Your API token").fill(nocToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    // A NOC admin lands on the ticket queue; the partner list is one click away.
    await page.getByRole("heading", { name: "Ticket queue", exact: true }).waitFor();
    await go("Partners");
    await page.getByRole("heading", { name: "Partners", exact: true }).waitFor();
    await page.getByRole("link", { name: "Acme VAR" }).waitFor();
    await shot("partners");

    // The README's two pictures are refreshed only on request, so a test run leaves the tree clean.
    if (process.env.NOCBRIDGE_UPDATE_SCREENSHOTS === "1") {
      mkdirSync(DOCS_SHOTS, { recursive: true });
      copyFileSync(join(SHOTS, "setup.png"), join(DOCS_SHOTS, "settings.png"));
      copyFileSync(join(SHOTS, "sync.png"), join(DOCS_SHOTS, "sync.png"));
    }
    expect(consoleErrors).toEqual([]);
  }, 120_000);

  it("a partner admin manages its users: create, new token shown once, disable, set password, delete", async () => {
    const meStatus = async (token: string) =>
      (await fetch(`${baseUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status;
    // Start signed out: the previous test leaves a NOC admin signed in.
    await page.goto(baseUrl, { waitUntil: "load" });
    const signInButton = page.getByRole("button", { name: "Sign in" });
    const signOutButton = page.getByRole("button", { name: "Sign out" });
    await signInButton.or(signOutButton).first().waitFor();
    if (await signOutButton.isVisible()) await signOutButton.click();
    currentPage = "sign-in (users)";
    await signInButton.waitFor();
    await page.getByLabel("Username", { exact: true }).fill("vera");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await go("Users");
    await page.getByRole("heading", { name: "Users of Acme VAR" }).waitFor();
    const table = page.locator("table tbody");
    await waitText("the partner's users", table, /Vera Admin \(you\).*Rita Reader.*Tom Tech/s);
    // The signed-in admin cannot disable or delete itself.
    expect(await page.getByRole("button", { name: "Delete Vera Admin" }).isDisabled()).toBe(true);

    const form = page.getByRole("form", { name: "New user" });
    await form.getByLabel(/^Name/).fill("Uma User");
    await form.getByLabel("Username", { exact: true }).fill("uma");
    await form.getByLabel("Password", { exact: true }).fill("uma-password-1");
    await form.getByRole("button", { name: "Create user" }).click();
    const shown = page.getByTestId("shown-token");
    await shown.waitFor();
    const first = await shown.inputValue();
    expect(first).toMatch(/^nbt_/);
    expect(await meStatus(first)).toBe(200);
    await page.getByRole("button", { name: "Done" }).click();
    await table.getByText("Uma User").waitFor();

    await page.getByRole("button", { name: "Disable Uma User" }).click();
    await page.getByRole("button", { name: "Enable Uma User" }).waitFor();
    expect(await meStatus(first)).toBe(401);
    await page.getByRole("button", { name: "Enable Uma User" }).click();
    await page.getByRole("button", { name: "Disable Uma User" }).waitFor();
    expect(await meStatus(first)).toBe(200);

    await page.getByRole("button", { name: "New token for Uma User" }).click();
    await page.getByLabel("Expires", { exact: true }).selectOption("30");
    await page.getByRole("button", { name: "Create new token" }).click();
    await shown.waitFor();
    const second = await shown.inputValue();
    expect(second).not.toBe(first);
    expect(await meStatus(first)).toBe(401);
    expect(await meStatus(second)).toBe(200);
    await shot("users");
    await page.getByRole("button", { name: "Done" }).click();

    await page.getByRole("button", { name: "Set password of Uma User" }).click();
    await page.getByLabel("New password").fill("uma-password-2");
    await page.getByRole("button", { name: "Set password", exact: true }).click();
    await page.getByLabel("New password").waitFor({ state: "detached" });
    const signIn = await fetch(`${baseUrl}/api/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "uma", password: "uma-password-2" }),
    });
    expect(signIn.status).toBe(200);

    await page.getByRole("button", { name: "Delete Uma User" }).click();
    await page.getByRole("button", { name: "Yes, delete" }).click();
    await table.getByText("Uma User").waitFor({ state: "detached" });
    expect(await meStatus(second)).toBe(401);
    expect(consoleErrors).toEqual([]);
  }, 60_000);

  it("on ConnectWise: Setup shows ConnectWise's fields once chosen, the mapping tables offer the board's statuses, the demo's partner validates", async () => {
    const portal = services.portal;
    /** A settings field by its label (a required one's label ends in " *"). */
    const field = (label: string) => page.getByLabel(new RegExp(`^${label}( \\*)?$`));
    // The demo's ConnectWise partner, wired to the emulator as `nocbridge demo` wires it.
    const demo = await seedConnectWiseDemo(portal, SYSTEM_ACTOR);
    expect(demo.partner.name).toBe(CW_DEMO_PARTNER_NAME);
    const cwPartner = demo.partner.id;
    await wireConnectWiseDemo(portal, SYSTEM_ACTOR, cwPartner, cw);
    await services.sync.settingsSaved(cwPartner);
    // A partner with nothing set up yet, whose PSA is ConnectWise.
    const fresh = (await portal.createPartner(SYSTEM_ACTOR, { name: "Birch IT", timeZone: "Europe/London" }))
      .id;

    await page.goto(baseUrl, { waitUntil: "load" });
    const signInButton = page.getByRole("button", { name: "Sign in" });
    const signOutButton = page.getByRole("button", { name: "Sign out" });
    await signInButton.or(signOutButton).first().waitFor();
    if (await signOutButton.isVisible()) await signOutButton.click();
    currentPage = "sign-in (connectwise)";
    await page.getByRole("radio", { name: "API token" }).check();
    await page.getByLabel("Your API token").fill(nocToken);
    await signInButton.click();
    await page.getByRole("heading", { name: "Ticket queue", exact: true }).waitFor();

    // ---- Setup: choosing ConnectWise shows its fields (from its manifest) instead of Autotask's
    currentPage = "connectwise setup";
    await page.goto(`${baseUrl}/p/${fresh}/setup`);
    await page.getByRole("heading", { name: "Service Center and Ticketing System Details" }).waitFor();
    await page.getByLabel("Web Login URL (API URL)").waitFor();
    await page.getByLabel("Ticketing System Type").selectOption({ label: "ConnectWise" });
    for (const label of ["Site URL", "Company Id", "Public Key", "Private Key", "Client Id"])
      await field(label).waitFor();
    expect(await page.getByLabel("Web Login URL (API URL)").count()).toBe(0);
    expect(await page.getByLabel("Company Username").count()).toBe(0);
    await page.getByText("Ticket defaults").waitFor();
    for (const label of ["Configuration Type", "Status of Managed Devices"])
      await page.getByLabel(label, { exact: true }).waitFor();
    // The credentials first (modules off): then the board and its statuses come from ConnectWise.
    await field("Site URL").fill(cw.url);
    await field("Company Id").fill(cw.credentials.companyId);
    await field("Public Key").fill(cw.credentials.publicKey);
    await field("Private Key").fill(cw.credentials.privateKey);
    await field("Client Id").fill(cw.credentials.clientId);
    await page.getByRole("radio", { name: "No" }).check();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText("Saved.", { exact: true }).waitFor();
    await page.getByText("The pick-lists are read from ConnectWise.").waitFor();
    const board = page.getByRole("combobox", { name: "Service Board" });
    await board.selectOption(String(CW_IDS.nocBoard));
    expect(await page.getByLabel("Service Board Name").inputValue()).toBe("NOC");
    // The default status offers the chosen board's statuses only (Help Desk's "Completed" is not one).
    const defaultStatus = page.getByRole("combobox", { name: "Default Status" });
    const statusTexts = await defaultStatus.locator("option").allTextContents();
    expect(statusTexts).toContain("In Progress (2)");
    expect(statusTexts.some((t) => t.startsWith("Completed"))).toBe(false);
    await defaultStatus.selectOption(String(CW_IDS.statuses.new));
    const companyOf = (code: string) => page.getByLabel(`ConnectWise company id of ${code}`);
    expect(await companyOf("AT1").count()).toBe(0); // this partner has no clients yet
    await shot("setup-connectwise");

    // ---- the demo's ConnectWise partner: its clients' companies are ConnectWise's
    await page.goto(`${baseUrl}/p/${cwPartner}/setup`);
    await page.getByRole("heading", { name: "Clients and their ConnectWise companies" }).waitFor();
    await waitText("CW1's company", page.locator("tr", { has: companyOf("CW1") }), /Acme Dental Group/);
    expect(await companyOf("CW1").inputValue()).toBe(String(CW_IDS.companies.acme));

    // ---- mapping tables: the statuses of the partner's board, rows saved with the board
    currentPage = "connectwise mappings";
    await go("Mappings");
    const forward = page.locator("section#status-forward");
    await page.getByRole("heading", { name: "Ticket status mapping: portal → ConnectWise" }).waitFor();
    const row1 = forward.getByLabel("ConnectWise status of row 1");
    await until(
      "the board's statuses in the forward table",
      () => row1.locator("option").allTextContents(),
      (o) => o.includes("Waiting Customer (3)"),
    );
    const offered = await row1
      .locator("option")
      .evaluateAll((os) => os.map((o) => o.getAttribute("value") ?? ""));
    expect(offered.sort()).toEqual(["1", "2", "3", "4", "5"]);
    await row1.selectOption(String(CW_IDS.statuses.inProgress));
    await forward.getByRole("button", { name: "Save table" }).click();
    await forward.getByText("Table saved.").waitFor();
    const stored = await fetch(`${baseUrl}/api/partners/${cwPartner}/mappings/status-forward`, {
      headers: { authorization: `Bearer ${nocToken}` },
    }).then(
      (r) =>
        r.json() as Promise<{
          rows: Array<{ portalStatusId: number; psaStatusId: number; scope: number | null }>;
        }>,
    );
    expect(stored.rows.find((r) => r.portalStatusId === 1)).toMatchObject({
      psaStatusId: CW_IDS.statuses.inProgress,
      scope: CW_IDS.nocBoard,
    });
    expect(stored.rows.every((r) => r.scope === CW_IDS.nocBoard)).toBe(true);
    const reverse = page.locator("section#status-reverse");
    await reverse.getByLabel("ConnectWise status of the new row").waitFor();
    await shot("mappings-connectwise");

    // ---- Validate passes; the onboarding sync made the devices ConnectWise configurations
    currentPage = "connectwise sync";
    await go("Validate & sync");
    await waitText(
      "the callback state",
      page.getByTestId("webhook-state"),
      /Callbacks registered \(Ticket #\d+\): ConnectWise changes arrive at once/,
    );
    expect(await textOf(page.locator(".two-col"))).toContain("Ticketing System TypeConnectWise");
    await page.getByRole("button", { name: "Validate", exact: true }).click();
    await page.getByText("Configuration validation success: every check passed.").waitFor();
    expect(await page.locator(".checklist li.bad").count()).toBe(0);
    await waitText("Last Sync Status", page.getByTestId("last-sync-status"), /Success/, 30_000);
    await shot("sync-connectwise");

    currentPage = "connectwise devices";
    await go("Devices");
    await page.getByRole("columnheader", { name: "ConnectWise configuration" }).waitFor();
    await until(
      "a synced configuration",
      () => page.getByText("Synced (active configuration)").count(),
      (n) => n > 0,
    );
    // A configuration is named after its device, with its id after it.
    const configurations = await page.locator('td[data-label="ConnectWise configuration"]').allTextContents();
    expect(configurations.some((c) => /^CW\d-\S+ #\d+$/.test(c.trim()))).toBe(true);

    // ---- a ticket: its ConnectWise number
    currentPage = "connectwise tickets";
    await services.sync.ticketSetup(cwPartner);
    await services.sync.tickets.idle(cwPartner);
    await go("Tickets");
    await page.getByRole("columnheader", { name: "ConnectWise" }).waitFor();
    const cpu = page.locator("table.tickets tbody tr", { hasText: "CPU above 95 %" });
    await waitText("the ConnectWise number in the list", cpu, /#\d+/);
    await cpu.getByRole("link").first().click();
    currentPage = "connectwise ticket";
    await waitText("the ConnectWise ticket number", page.getByTestId("connectwise-number"), /^#\d+$/);
    expect(await textOf(page.locator("dt", { hasText: "ConnectWise ticket" }))).toBe("ConnectWise ticket");
    await page.getByText("Published (a Discussion note in ConnectWise").waitFor();
    await shot("ticket-connectwise");
    expect(consoleErrors).toEqual([]);
  }, 120_000);
});
