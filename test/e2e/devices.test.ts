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
  launchChromium,
  openTestServices,
  serveWebUi,
  signIn,
  shot as takeShot,
  textOf,
  until,
  watchConsole,
} from "../helpers/browser.js";

/**
 * The Devices pages in chromium: every client at once with a client column, the serial number and
 * warranty end columns, search as you type, sort by warranty, company names instead of ids, and a
 * device's own page (attributes, alerts, tickets with their Autotask numbers, its CI by name).
 */

const PASSWORD = "correct horse battery";

/** Devices of a client: numbered hostnames, serials, warranties spread over the years (some none). */
function devices(code: string, n: number, firstYear: number): DeviceInput[] {
  return Array.from({ length: n }, (_, i) => ({
    state: i % 4 === 3 ? "discovered" : "managed",
    hostname: `${code}-WS${String(i + 1).padStart(2, "0")}`,
    deviceType: i === 0 ? "Server" : "Workstation",
    ipAddress: `10.0.${code === "AT1" ? 1 : 2}.${10 + i}`,
    make: "Dell",
    model: "OptiPlex 7090",
    operatingSystem: "Windows 11 Pro",
    serialNumber: `${code}SN${1000 + i}`,
    warrantyEndDate: i % 3 === 2 ? null : `${firstYear + (i % 5)}-0${1 + (i % 9)}-15`,
  }));
}

const text = (l: Locator) => textOf(l, 2000);

describe("Devices pages, end to end in chromium", () => {
  let emulator: TestEmulator;
  let services: Services;
  let app: App;
  let baseUrl: string;
  let context: BrowserContext;
  let page: Page;
  let webRoot: string;
  let profile: string;
  let partnerId: number;
  let ticketId: number;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    webRoot = mkdtempSync(join(tmpdir(), "nb-devices-web-"));
    profile = mkdtempSync(join(tmpdir(), "nb-devices-chromium-"));
    await buildWebUi(webRoot);

    emulator = await startTestEmulator();
    services = await openTestServices([emulator.emu.url], join(profile, "data-unused"), {
      httpWebhooks: true,
      background: true,
    });
    const portal = services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Acme VAR", timeZone: "Asia/Kolkata" })).id;
    const clients: Record<string, number> = {};
    for (const [code, name, n, year] of [
      ["AT1", "Acme Dental Group", 9, 2027],
      ["AT2", "Birch Logistics", 7, 2025],
    ] as const) {
      const c = await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code,
        name,
        psaCompanyId: DEMO_IDS.companies[code],
      });
      clients[code] = c.id;
      await portal.importDevices(SYSTEM_ACTOR, c.id, devices(code, n, year));
    }
    // The name the company mapping keeps for AT1's company; AT2's is not known.
    await services.db.kysely
      .updateTable("clients")
      .set({ psa_company_name: "Acme Dental Group Inc." })
      .where("id", "=", clients["AT1"]!)
      .execute();
    await portal.createUser(SYSTEM_ACTOR, {
      name: "Vera Admin",
      role: "partner-admin",
      partnerId,
      username: "vera",
      password: PASSWORD,
    });

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
    expect((await services.sync.wait(onboarding!.id)).status).toBe("succeeded");
    const [srv] = (await portal.listDevices(SYSTEM_ACTOR, clients["AT1"]!, { search: "AT1-WS01" })).items;
    ticketId = (
      await portal.createTicket(SYSTEM_ACTOR, partnerId, {
        clientId: clients["AT1"]!,
        title: "Disk C: above 90 %",
        statusId: 1,
        priorityId: 9,
        alerts: [{ deviceId: srv!.id, message: "Disk C: 93 % used" }],
      })
    ).id;
    await services.sync.tickets.notify(partnerId);
    await until(
      "the ticket in Autotask",
      async () => (await services.sync.ticketViews([ticketId])).get(ticketId)?.ticketNumber ?? null,
      (n) => n !== null,
    );

    ({ context, page } = await launchChromium(profile));
    watchConsole(page, pageErrors);
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await app?.close();
    await services?.close();
    await emulator?.close();
    for (const dir of [webRoot, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const shot = (name: string) => takeShot(page, name, { phone: true });
  const rows = () => page.locator("table.devices tbody tr");
  const column = async (label: string) =>
    (await rows().locator(`td[data-label="${label}"]`).allTextContents()).map((s) => s.trim());

  it("lists every client's devices, searches as you type, sorts by warranty, names companies, opens a device", async () => {
    await signIn(page, baseUrl, "vera", PASSWORD);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Devices" }).click();

    // ---- columns, all clients at once (16 devices, both clients), client names in their column
    for (const name of [
      "Hostname",
      "Client",
      "State",
      "Type",
      "Serial number",
      "Warranty end",
      "Last synced",
    ])
      await page.getByRole("columnheader", { name, exact: true }).waitFor();
    await page.getByRole("columnheader", { name: "Autotask CI" }).waitFor();
    await until(
      "16 devices",
      () => rows().count(),
      (n) => n === 16,
    );
    expect(await page.getByLabel("Client", { exact: true }).inputValue()).toBe("");
    const clientCells = await column("Client");
    expect(clientCells.some((c) => c.startsWith("Acme Dental Group"))).toBe(true);
    expect(clientCells.some((c) => c.startsWith("Birch Logistics"))).toBe(true);
    expect(await column("Serial number")).toContain("AT2SN1003");
    expect(await text(page.getByTestId("device-count"))).toContain("16 devices");
    await shot("devices-all");

    // ---- search as you type: no Enter, the list narrows with the keys
    const search = page.getByLabel("Search", { exact: true });
    await search.pressSequentially("AT2-WS0", { delay: 40 });
    await until(
      "AT2's devices only",
      () => column("Hostname"),
      (h) => h.length === 7,
    );
    expect((await column("Hostname")).every((h) => h.startsWith("AT2-"))).toBe(true);
    await search.pressSequentially("3", { delay: 40 });
    await until(
      "one device",
      () => column("Hostname"),
      (h) => h.length === 1 && h[0] === "AT2-WS03",
    );
    expect(new URL(page.url()).searchParams.get("search")).toBe("AT2-WS03");
    await search.fill("");
    await until(
      "every device again",
      () => rows().count(),
      (n) => n === 16,
    );

    // ---- sort by warranty end: ascending, blanks last; again: descending
    const warrantyHeader = page.getByRole("columnheader", { name: "Warranty end", exact: true });
    await warrantyHeader.getByRole("button").click();
    await until(
      "sorted by warranty",
      () => warrantyHeader.getAttribute("aria-sort"),
      (s) => s === "ascending",
    );
    const dates = (w: string[]) => w.map((s) => s.replace(/\s*expired$/, ""));
    const up = dates(
      await until(
        "ascending warranties",
        () => column("Warranty end"),
        (w) => w[0] !== "—" && w.length === 16,
      ),
    );
    const known = up.filter((d) => d !== "—");
    expect(known).toEqual([...known].sort());
    expect(up.slice(known.length).every((d) => d === "—")).toBe(true);
    expect(known.length).toBeGreaterThan(5);
    await warrantyHeader.getByRole("button").click();
    await until(
      "descending",
      () => warrantyHeader.getAttribute("aria-sort"),
      (s) => s === "descending",
    );
    const down = dates(
      await until(
        "descending warranties",
        () => column("Warranty end"),
        (w) => w[0] === known.at(-1),
      ),
    );
    expect(down.filter((d) => d !== "—")).toEqual([...known].reverse());
    expect(await text(rows().first().locator('td[data-label="Warranty end"]'))).not.toBe("—");
    // Passed warranties are marked (AT2's start in 2025).
    expect(await rows().getByText("expired").count()).toBeGreaterThan(0);
    await shot("devices-by-warranty");

    // ---- the company by name, the id as secondary text; an unknown name says so
    const clientSelect = page.getByLabel("Client", { exact: true });
    await clientSelect.selectOption({ label: "AT1 — Acme Dental Group" });
    await until(
      "AT1's company by name",
      () => text(page.getByTestId("client-company")),
      (t) => t.includes(`Acme Dental Group Inc. (${DEMO_IDS.companies.AT1})`),
    );
    await until(
      "AT1's 9 devices",
      () => rows().count(),
      (n) => n === 9,
    );
    await clientSelect.selectOption({ label: "AT2 — Birch Logistics" });
    await until(
      "AT2's company without a name",
      () => text(page.getByTestId("client-company")),
      (t) => t.includes(`${DEMO_IDS.companies.AT2} (name not known)`),
    );
    await clientSelect.selectOption({ label: "AT1 — Acme Dental Group" });

    // ---- the device page: attributes, its CI by name and id, the alert, the ticket's Autotask number
    await until(
      "AT1's devices",
      () => rows().count(),
      (n) => n === 9,
    );
    await page
      .locator(`td[data-label="Hostname"]`)
      .getByRole("link", { name: "AT1-WS01", exact: true })
      .click();
    await page.getByRole("heading", { name: "AT1-WS01", level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toMatch(new RegExp(`^/p/${partnerId}/devices/\\d+$`));
    const attrs = await text(page.getByTestId("device-attributes"));
    for (const s of [
      "Acme Dental Group",
      "Serial numberAT1SN1000",
      "Warranty end2027-01-15",
      "ModelOptiPlex 7090",
    ])
      expect(attrs).toContain(s);
    expect(attrs).toContain(`Acme Dental Group Inc. (${DEMO_IDS.companies.AT1})`);
    const ci = await until(
      "the CI read live",
      () => text(page.getByTestId("device-ci")),
      (t) => t.includes("Active"),
    );
    expect(ci).toMatch(/NameAT1-WS01 \(id \d+\)/);
    expect(ci).toContain("ActiveYes");
    // Advanced mode: the CI's user-defined fields as Autotask holds them.
    await page.getByText(/^Its user-defined fields \(\d+\)$/).click();
    const udfs = await text(page.getByTestId("device-ci-custom"));
    expect(udfs).toContain("Operating SystemWindows 11 Pro");
    expect(udfs).toMatch(/Partner Portal Device Id\d+/);
    await page.getByTestId("device-alerts").getByText("Disk C: 93 % used").waitFor();
    const ticketRow = page.getByTestId("device-tickets").locator("tbody tr");
    expect(await text(ticketRow)).toMatch(/T\d{8}\.\d{4}/);
    expect(await text(ticketRow)).toContain("Disk C: above 90 %");
    await shot("device-page");
    await ticketRow.getByRole("link", { name: /Disk C: above 90 %/ }).click();
    await page.getByTestId("ticket-status").waitFor();
    expect(new URL(page.url()).pathname).toBe(`/p/${partnerId}/tickets/${ticketId}`);
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
