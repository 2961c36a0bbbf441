/**
 * Seeds of a tenant: "empty" (one API member and its keys, nothing else) and "demo" (the demo's
 * clients as companies, a NOC service board with statuses, types, subtypes and items, priorities,
 * sources, configuration types and statuses, the device custom fields, two technicians).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { type CustomFieldDef, type Rec, stamp, type TenantData } from "./store.js";

export const SEED_NAMES = ["demo", "empty"] as const;
export type SeedName = (typeof SEED_NAMES)[number];

export const DEFAULT_COMPANY_ID = "nocbridge";
export const DEFAULT_KEYS = { publicKey: "emulatorPublicKey", privateKey: "emulatorPrivateKey" } as const;
export const DEFAULT_CLIENT_ID = "00000000-0000-4000-8000-00000000c11e";

/** The device attributes the portal keeps in custom fields (all Text). */
export const DEVICE_CUSTOM_FIELDS: readonly string[] = [
  "BIOS Name",
  "BIOS Version",
  "Device Type",
  "DNS",
  "Drive Info",
  "Gateway",
  "IP Address",
  "Make",
  "Model",
  "Operating System",
  "RAM",
  "Last Logged User",
  "Partner Portal Device Id",
];

export interface SeedOptions {
  companyId?: string | undefined;
  companyName?: string | undefined;
  publicKey?: string | undefined;
  privateKey?: string | undefined;
  codebase?: string | undefined;
  now?: Date | undefined;
}

/** Ids of the demo seed's records, for tests and the docs. */
export const DEMO_IDS = {
  apiMember: 1,
  technicians: [2, 3],
  companies: { owner: 1, acme: 2, birch: 3 },
  nocBoard: 1,
  statuses: { new: 1, inProgress: 2, waitingCustomer: 3, resolved: 4, closed: 5 },
  priorities: { critical: 1, high: 2, medium: 3, low: 4 },
  configurationTypes: { device: 1, network: 2, retired: 3 },
  configurationStatuses: { active: 1, inactive: 2 },
  workRoles: { technician: 1, engineer: 2, retired: 3 },
  workTypes: { remote: 1, onsite: 2, afterHours: 3, retired: 4 },
} as const;

function info(now: Date, who = "nocbridge-api"): Record<string, string> {
  const s = stamp(now);
  return { lastUpdated: s, updatedBy: who, dateEntered: s, enteredBy: who };
}

function base(o: SeedOptions): TenantData {
  const now = o.now ?? new Date();
  const member: Rec = {
    id: DEMO_IDS.apiMember,
    identifier: "nocbridge-api",
    firstName: "NOC Bridge",
    lastName: "API",
    name: "NOC Bridge API",
    apiMemberFlag: true,
    inactiveFlag: false,
    _info: info(now),
  };
  return {
    companyId: o.companyId ?? DEFAULT_COMPANY_ID,
    companyName: o.companyName ?? "NOC Bridge MSP",
    codebase: o.codebase ?? "v2025_1",
    signingKey: randomBytes(24).toString("base64"),
    signingKeyId: randomUUID(),
    apiKeys: [
      {
        publicKey: o.publicKey ?? DEFAULT_KEYS.publicKey,
        privateKey: o.privateKey ?? DEFAULT_KEYS.privateKey,
        memberId: member.id,
      },
    ],
    customFields: [],
    tables: { members: [member] },
    ticketConfigurations: {},
  };
}

export function emptySeed(o: SeedOptions = {}): TenantData {
  return base(o);
}

export function demoSeed(o: SeedOptions = {}): TenantData {
  const d = base(o);
  const now = o.now ?? new Date();
  const i = info(now);
  const rows = (items: Record<string, unknown>[]): Rec[] =>
    items.map((r, n) => ({ id: n + 1, ...r, _info: i }));
  const board = { id: DEMO_IDS.nocBoard, name: "NOC" };
  const onBoard = (items: Record<string, unknown>[]) => rows(items.map((r) => ({ board, ...r })));
  d.tables["members"]?.push(
    ...(
      [
        ["asmith", "Alice", "Smith", DEMO_IDS.workRoles.technician],
        ["bjones", "Bob", "Jones", DEMO_IDS.workRoles.engineer],
      ] as const
    ).map(([identifier, firstName, lastName, role], n) => ({
      id: n + 2,
      identifier,
      firstName,
      lastName,
      name: `${firstName} ${lastName}`,
      apiMemberFlag: false,
      inactiveFlag: false,
      officeEmail: `${firstName.toLowerCase()}.${lastName.toLowerCase()}@example.com`,
      defaultEmail: "Office",
      workRole: { id: role, name: role === DEMO_IDS.workRoles.technician ? "Technician" : "Engineer" },
      _info: i,
    })),
  );
  // A member's default work role is required in ConnectWise (Member.workRole); the API member's too.
  const api = d.tables["members"]?.find((m) => m.id === DEMO_IDS.apiMember);
  if (api) api["workRole"] = { id: DEMO_IDS.workRoles.technician, name: "Technician" };
  d.tables["workRoles"] = rows(
    [
      ["Technician", 95],
      ["Engineer", 125],
      ["Retired Role", 80],
    ].map(([name, hourlyRate]) => ({ name, hourlyRate, inactiveFlag: name === "Retired Role" })),
  );
  d.tables["workTypes"] = rows(
    [
      ["Remote Support", "Billable", true],
      ["Onsite", "Billable", false],
      ["After Hours", "Billable", false],
      ["Retired Type", "DoNotBill", false],
    ].map(([name, billTime, overallDefaultFlag]) => ({
      name,
      billTime,
      overallDefaultFlag,
      inactiveFlag: name === "Retired Type",
    })),
  );
  d.customFields = DEVICE_CUSTOM_FIELDS.map(
    (caption, n): CustomFieldDef => ({
      id: n + 1,
      entity: "Configuration",
      caption,
      type: "Text",
      entryMethod: "EntryField",
      numberOfDecimals: 0,
    }),
  );
  const client = { id: 1, name: "Client" };
  d.tables["companies"] = rows(
    [
      {
        identifier: "NOCBridgeMSP",
        name: o.companyName ?? "NOC Bridge MSP",
        types: [{ id: 2, name: "Owner" }],
      },
      { identifier: "AcmeDental", name: "Acme Dental Group", types: [client] },
      { identifier: "BirchLogistics", name: "Birch Logistics", types: [client] },
    ].map((c) => ({
      status: { id: 1, name: "Active" },
      deletedFlag: false,
      phoneNumber: null,
      website: null,
      customFields: [],
      ...c,
    })),
  );
  d.tables["boards"] = rows([
    { name: "NOC", inactiveFlag: false, projectFlag: false },
    { name: "Help Desk", inactiveFlag: false, projectFlag: false },
  ]);
  const status = (name: string, sortOrder: number, extra: Record<string, unknown> = {}) => ({
    name,
    sortOrder,
    displayOnBoard: true,
    inactive: false,
    closedStatus: false,
    timeEntryNotAllowed: false,
    defaultFlag: false,
    escalationStatus: "NotResponded",
    customerPortalDescription: null,
    customerPortalFlag: true,
    ...extra,
  });
  const noc = [
    status("New", 1, { defaultFlag: true }),
    status("In Progress", 2, { escalationStatus: "Responded" }),
    status("Waiting Customer", 3, { escalationStatus: "Responded" }),
    status("Resolved", 4, { closedStatus: true, escalationStatus: "Resolved" }),
    status("Closed", 5, { closedStatus: true, escalationStatus: "Resolved", timeEntryNotAllowed: true }),
  ];
  d.tables["boardStatuses"] = [
    ...onBoard(noc),
    ...[status("New", 1, { defaultFlag: true }), status("Completed", 2, { closedStatus: true })].map(
      (s, n) => ({
        id: noc.length + n + 1,
        board: { id: 2, name: "Help Desk" },
        ...s,
        _info: i,
      }),
    ),
  ];
  const named = (names: string[]) => names.map((name) => ({ name, inactiveFlag: false, defaultFlag: false }));
  d.tables["boardTypes"] = onBoard(named(["Alert", "Incident", "Service Request"]));
  d.tables["boardSubtypes"] = onBoard(named(["Disk", "Backup", "Network", "Performance"]));
  d.tables["boardItems"] = onBoard(named(["Threshold Breach", "Job Failure", "Outage"]));
  d.tables["priorities"] = rows(
    [
      ["Priority 1 - Critical", 1, "red"],
      ["Priority 2 - High", 2, "orange"],
      ["Priority 3 - Medium", 3, "yellow", true],
      ["Priority 4 - Low", 4, "green"],
    ].map(([name, sort, color, def]) => ({ name, sort, color, defaultFlag: def === true })),
  );
  d.tables["sources"] = rows(
    [["Portal", true], ["Email"], ["Phone"], ["Monitoring"]].map(([name, def]) => ({
      name,
      defaultFlag: def === true,
    })),
  );
  d.tables["configurationTypes"] = rows(
    ["Managed Device", "Network Device", "Retired Device"].map((name) => ({
      name,
      inactiveFlag: name === "Retired Device",
      systemFlag: false,
    })),
  );
  d.tables["configurationStatuses"] = rows([
    { description: "Active", closedFlag: false, defaultFlag: true },
    { description: "Inactive", closedFlag: true, defaultFlag: false },
  ]);
  return d;
}

export function seedTenant(name: SeedName, o: SeedOptions = {}): TenantData {
  return name === "demo" ? demoSeed(o) : emptySeed(o);
}
