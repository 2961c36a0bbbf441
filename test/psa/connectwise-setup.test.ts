/**
 * ConnectWise's live pick-lists and the Validate checklist against the emulator over HTTPS: board-
 * scoped statuses and board-dependent types, and checks whose fixes use ConnectWise's own menus.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/connectwise/index.js";
import type { AssetSource, ValidateInput } from "../../src/psa/connector.js";
import { connectwiseConnector } from "../../src/psa/connectwise/connector.js";
import { CONNECTWISE_MANIFEST } from "../../src/psa/connectwise/manifest.js";
import {
  type CwFixture,
  demoIntegration,
  dropCustomField,
  openSession,
  silentLogger,
  startCwFixture,
} from "./connectwise-helpers.js";

let f: CwFixture;
beforeAll(async () => {
  f = await startCwFixture();
});
afterAll(async () => {
  await f?.close();
});
beforeEach(async () => {
  await f.admin("POST", "reset");
});

const input = (over: Partial<ValidateInput> = {}): ValidateInput => ({
  scope: "all",
  ticketingEnabled: true,
  devicesEnabled: true,
  advanced: true,
  clients: [
    { code: "ACME", name: "Acme Dental Group", psaCompanyId: DEMO_IDS.companies.acme, deviceCount: 3 },
    { code: "BIRCH", name: "Birch Logistics", psaCompanyId: DEMO_IDS.companies.birch, deviceCount: 1 },
  ],
  mappings: {
    statuses: [
      { table: "status-forward", psaId: 1, psaLabel: "New" },
      { table: "status-reverse", psaId: 4, psaLabel: "Resolved" },
    ],
    priorities: [{ psaId: 3, psaLabel: "Priority 3 - Medium" }],
  },
  refusals: [],
  ...over,
});

const device: AssetSource = {
  id: 1,
  hostname: "PC-1",
  deviceType: "",
  ipAddress: "",
  gateway: "",
  make: "",
  model: "",
  operatingSystem: "",
  ram: "",
  biosName: "",
  biosVersion: "",
  driveInfo: "",
  lastLoggedUser: "",
  serialNumber: "S1",
  warrantyEndDate: null,
  state: "managed",
};

describe("ConnectWise manifest, options and Validate", () => {
  it("describes its settings, with statuses scoped to the board", () => {
    expect(CONNECTWISE_MANIFEST.system).toBe("connectwise");
    expect(CONNECTWISE_MANIFEST.statusScope).toEqual({ label: "Service board", settingKey: "boardId" });
    expect(CONNECTWISE_MANIFEST.fields.find((x) => x.kind === "secret")?.key).toBe("secret");
    const keys = CONNECTWISE_MANIFEST.fields.map((x) => x.key);
    for (const k of keys.filter((x) => x !== "secret")) {
      const section = CONNECTWISE_MANIFEST.fields.find((x) => x.key === k)?.section as
        | "ticketing"
        | "devices";
      expect(Object.keys(CONNECTWISE_MANIFEST.schema[section].properties)).toContain(k);
    }
  });

  it("says which credential is missing before opening a session", () => {
    const c = connectwiseConnector();
    const full = demoIntegration(f.emu);
    expect(c.missing(full, true)).toBeNull();
    expect(c.missing(full, false)?.name).toBe("credentials");
    expect(c.missing({ ...full, ticketing: { ...full.ticketing, clientId: "" } }, true)?.fix).toMatch(
      /API Members/,
    );
  });

  it("reuses one client per partner while the credentials stay the same", async () => {
    let made = 0;
    const c = connectwiseConnector({
      client: (credentials) => {
        made++;
        return f.client({ credentials });
      },
    });
    const ctx = { partnerId: 7, logger: silentLogger, clock: { now: () => new Date() } };
    const a = c.open(demoIntegration(f.emu), f.emu.credentials.privateKey, ctx);
    await a.options();
    const b = c.open(demoIntegration(f.emu), f.emu.credentials.privateKey, ctx);
    expect(b.key).toBe(a.key);
    expect(b.stats().requests).toBe(a.stats().requests);
    expect(made).toBe(1);
    const other = c.open(demoIntegration(f.emu), "another private key", ctx);
    expect(other.key).not.toBe(a.key);
    expect(made).toBe(2);
  });

  it("offers the tenant's live pick-lists", async () => {
    const { session } = openSession(f);
    const o = await session.options();
    expect(o["boards"]?.map((b) => [b.id, b.label, b.isActive])).toEqual([
      [1, "NOC", true],
      [2, "Help Desk", true],
    ]);
    expect(o.statuses.filter((x) => x.scope === 1).map((x) => x.label)).toEqual([
      "New",
      "In Progress",
      "Waiting Customer",
      "Resolved",
      "Closed",
    ]);
    expect(o.statuses.find((x) => x.id === 6)).toMatchObject({ label: "New", scope: 2, parentId: 2 });
    expect(o.priorities.map((p) => p.label)[0]).toBe("Priority 1 - Critical");
    expect(o["types"]?.map((t) => [t.label, t.parentId])).toEqual([
      ["Alert", 1],
      ["Incident", 1],
      ["Service Request", 1],
    ]);
    expect(o["subTypes"]?.length).toBe(4);
    expect(o["items"]?.length).toBe(3);
    expect(o["sources"]?.map((x) => x.label)).toEqual(["Portal", "Email", "Phone", "Monitoring"]);
    expect(o["locations"]).toEqual([]);
    expect(o["configurationTypes"]?.find((x) => x.label === "Retired Device")?.isActive).toBe(false);
    expect(o["configurationStatuses"]?.map((x) => x.label)).toEqual(["Active", "Inactive"]);
    expect(o["companies"]?.map((x) => x.label)).toContain("Acme Dental Group (AcmeDental)");
  });

  it("passes a complete set-up, with a warning while no configuration exists to show the custom fields", async () => {
    const { session } = openSession(f);
    const r = await session.validate(input());
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.checks.find((c) => c.name === "custom-fields")).toMatchObject({ ok: true, warning: true });
    await session.assets.create(DEMO_IDS.companies.acme, session.assets.desired(device), device);
    const again = await openSession(f).session.validate(input());
    expect(again.checks.filter((c) => c.name.startsWith("custom-field:"))).toHaveLength(13);
    expect(again.ok).toBe(true);
  });

  it("names what is wrong in ConnectWise's own menus", async () => {
    const { session } = openSession(f);
    const d = device;
    await session.assets.create(DEMO_IDS.companies.acme, session.assets.desired(d), d);
    dropCustomField(f, "Gateway");
    const r = await openSession(f).session.validate(
      input({
        clients: [
          { code: "ACME", name: "Acme Dental Group", psaCompanyId: 99, deviceCount: 1 },
          { code: "BIRCH", name: "Birch Logistics", psaCompanyId: null, deviceCount: 1 },
        ],
        mappings: {
          statuses: [{ table: "status-reverse", psaId: 6, psaLabel: "New" }],
          priorities: [{ psaId: 9, psaLabel: "Urgent" }],
          coverage: {
            forwardPortalIds: [1],
            reversePsaIds: [1],
            priorityPsaIds: [3],
            portalStatuses: [
              { id: 1, name: "New" },
              { id: 2, name: "In Progress" },
            ],
          },
        },
        refusals: ["summary: The summary field is required."],
      }),
    );
    const failed = Object.fromEntries(r.checks.filter((c) => !c.ok).map((c) => [c.name, c.fix ?? ""]));
    expect(Object.keys(failed).sort()).toEqual([
      "companies:unmapped",
      "company:ACME",
      "custom-field:Gateway",
      "priority:9",
      "refusal:1",
      "status:6",
    ]);
    expect(failed["custom-field:Gateway"]).toMatch(/System > Setup Tables > Custom Fields/);
    expect(failed["status:6"]).toMatch(/System > Setup Tables > Service Board > "NOC" > Statuses/);
    expect(failed["companies:unmapped"]).toMatch(/"Birch Logistics" \(id 3\)/);
    expect(r.checks.find((c) => c.name === "companies:unmapped")?.message).toBe(
      "Clients without a company: BIRCH Birch Logistics (1 device, 0 tickets).",
    );
    const warnings = r.checks.filter((c) => c.warning).map((c) => c.name);
    expect(warnings).toEqual([
      "coverage:portal-statuses",
      "coverage:connectwise-statuses",
      "coverage:connectwise-priorities",
    ]);
    expect(r.checks.find((c) => c.name === "coverage:portal-statuses")?.message).toMatch(
      /"In Progress" \(2\)/,
    );
  });

  it("stops at the credentials when ConnectWise refuses them, and checks the board and configuration settings", async () => {
    const bad = connectwiseConnector({ client: (credentials) => f.client({ credentials }) }).open(
      demoIntegration(f.emu),
      "wrong",
      { partnerId: 1, logger: silentLogger, clock: { now: () => new Date() } },
    );
    const r = await bad.validate(input());
    expect(r.checks.map((c) => [c.name, c.ok])).toEqual([["credentials", false]]);
    expect(r.checks[0]?.fix).toMatch(/System > Members > API Members/);
    const s = demoIntegration(f.emu);
    const wrong = connectwiseConnector({ client: (credentials) => f.client({ credentials }) }).open(
      {
        ticketing: { ...s.ticketing, boardId: 42 },
        devices: { ...s.devices, configurationTypeId: 3, activeStatusId: null },
      },
      f.emu.credentials.privateKey,
      { partnerId: 1, logger: silentLogger, clock: { now: () => new Date() } },
    );
    const r2 = await wrong.validate(input());
    const failed = Object.fromEntries(r2.checks.filter((c) => !c.ok).map((c) => [c.name, c]));
    expect(failed["board"]?.message).toMatch(/42 does not exist/);
    expect(failed["board"]?.fix).toMatch(/System > Setup Tables > Service Board/);
    expect(failed["configuration-type"]?.message).toMatch(/"Retired Device" \(3\) is inactive/);
    expect(failed["configuration-status:active"]?.message).toMatch(/not set/);
    // The assets scope leaves the ticket checks out.
    const assetsOnly = await wrong.validate(input({ scope: "assets", ticketingEnabled: true }));
    expect(assetsOnly.checks.some((c) => c.name === "board")).toBe(false);
  });
});
