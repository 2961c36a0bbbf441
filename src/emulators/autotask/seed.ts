/**
 * Seeds: the `demo` tenant uses the values of the product's seed document (Autotask Integration with
 * NetEnrich Partner Portal): ticket statuses and priorities of its mapping tables, the "NOC" queue
 * 18151451, the "Remote Support" billing code (allocation code) 78955512, the "NetEnrich Product"
 * product and "NetEnrich Configuration Item Type", and the 13 CI UDFs of its Table 1. The `empty`
 * tenant holds only the API user, the root company 0 and Autotask's system picklist values.
 */
import type { Row } from "./hooks.js";
import type { ApiUser, PicklistValue, TenantData, UdfDefinition } from "./store.js";

export type SeedName = "demo" | "empty";
export const SEED_NAMES: readonly SeedName[] = ["demo", "empty"];

export interface SeedOptions {
  tenantId?: string;
  username?: string;
  secret?: string;
  integrationCode?: string;
  /** Autotask's `ci` database number reported by ZoneInformation. */
  ci?: number;
  now?: Date;
}

/** Credentials the CLI prints when none are given. */
export const DEFAULT_CREDENTIALS = {
  username: "nocbridge-api@example.com",
  secret: "emulator-secret",
  // 27 characters, the length of a real tracking identifier (docs/autotask.md, Authentication).
  integrationCode: "NOCBRIDGEEMULATORTRACKING01",
} as const;

export const DEFAULT_TENANT_ID = "default";

/** Resource ids of the demo seed. */
export const DEMO_IDS = {
  apiResource: 29682885,
  /** Service-desk roles (Roles): the technicians' default role and a second one. */
  roles: { technician: 8, engineer: 29683402 } as const,
  technicians: [29682886, 29682887] as const,
  rootCompany: 0,
  companies: { AT1: 174, AT2: 175, AT3: 176, AT4: 177 },
  vendorCompany: 178,
  nocQueue: 18151451,
  remoteSupport: 78955512,
  product: 232486923,
  ciType: 2,
  /** Internal time code: a billing code that is not a work type. */
  internalTime: 29682803,
  categories: { standard: 3, nocMonitoring: 101, change: 102 },
  /** Issue type "Monitoring Alert" and its sub-issue type "Availability". */
  issueType: 4,
  subIssueType: 16,
} as const;

/** Ticket statuses of the seed document's mapping tables (Figures 10 and 11). */
export const DEMO_STATUSES: readonly [number, string][] = [
  [1, "New"],
  [5, "Complete"],
  [8, "In Progress"],
  [28, "Action Required"],
  [29, "Information"],
  [30, "Assigned to NOC"],
];

/** Priorities of the seed document's mapping table (Figure 12). */
export const DEMO_PRIORITIES: readonly [number, string][] = [
  [1, "High"],
  [2, "Medium"],
  [4, "Critical"],
  [7, "Low"],
  [8, "Project"],
];

/** The 13 mandatory CI UDFs of the seed document's Table 1, all "Text (Single Line)". */
export const NOC_CI_UDFS: readonly string[] = [
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

/** Length of a "Text (Single Line)" UDF [U]: not stated by any public source we have. */
export const TEXT_UDF_LENGTH = 1024;

/** Picklist values from [value, label] pairs; `system` marks Autotask's built-in values. */
export function pick(
  pairs: readonly (readonly [number, string])[],
  opts: { system?: readonly number[]; default?: number; parents?: Record<number, number> } = {},
): PicklistValue[] {
  return pairs.map(([value, label], i) => ({
    value,
    label,
    isActive: true,
    isSystem: opts.system?.includes(value) ?? false,
    isDefaultValue: opts.default === value,
    sortOrder: i + 1,
    parentValue: opts.parents?.[value] ?? null,
  }));
}

export function textUdf(id: number, name: string, sortOrder: number): UdfDefinition {
  return {
    id,
    name,
    dataType: "string",
    length: TEXT_UDF_LENGTH,
    isRequired: false,
    isActive: true,
    isProtected: false,
    description: "",
    sortOrder,
    defaultValue: null,
  };
}

/** Picklists every tenant has, whatever its admin set up (Autotask's out-of-the-box values). */
function basePicklists(): Record<string, PicklistValue[]> {
  const personTypes = pick([
    [1, "Resource"],
    [2, "Contact"],
  ]);
  return {
    "Tickets.status": pick(
      [
        [1, "New"],
        [5, "Complete"],
      ],
      { system: [1, 5], default: 1 },
    ),
    "Tickets.priority": pick(
      [
        [1, "High"],
        [2, "Medium"],
        [3, "Low"],
        [4, "Critical"],
      ],
      { default: 2 },
    ),
    "Tickets.queueID": pick([[5, "Client Portal"]]),
    "Tickets.issueType": [],
    "Tickets.subIssueType": [],
    "Tickets.ticketType": pick(
      [
        [1, "Service Request"],
        [2, "Incident"],
        [3, "Problem"],
        [4, "Change Request"],
        [5, "Alert"],
      ],
      { system: [1, 2, 3, 4, 5], default: 1 },
    ),
    "Tickets.source": pick(
      [
        [-2, "Insourced"],
        [-1, "Client Portal"],
        [1, "Other"],
        [2, "Phone"],
        [4, "Email"],
        [6, "Monitoring Alert"],
        [8, "Web Portal"],
      ],
      { system: [-2, -1] },
    ),
    "Tickets.serviceLevelAgreementID": [],
    "Tickets.creatorType": personTypes,
    "Tickets.lastActivityPersonType": personTypes,
    "TicketNotes.noteType": pick(
      [
        [1, "Task Summary"],
        [2, "Task Detail"],
        [3, "Task Notes"],
      ],
      { system: [1, 2, 3] },
    ),
    // The "Publish To" choices of ticket notes (docs/emulator.md, note visibility).
    "TicketNotes.publish": pick(
      [
        [1, "All Autotask Users"],
        [2, "Internal Project Team"],
        [4, "Internal & Co-Managed"],
      ],
      { system: [1, 2, 4] },
    ),
    "ConfigurationItems.configurationItemCategoryID": pick([[1, "Standard"]], { default: 1, system: [1] }),
    "ConfigurationItems.lastActivityPersonType": personTypes,
    "Companies.companyType": pick(
      [
        [1, "Customer"],
        [2, "Lead"],
        [3, "Prospect"],
        [4, "Dead"],
        [6, "Cancellation"],
        [7, "Vendor"],
        [8, "Partner"],
      ],
      { system: [1, 2, 3, 4, 6, 7, 8] },
    ),
    "Companies.classification": [],
    "Products.productCategory": pick([[1, "Hardware"]]),
    "Products.billingType": [],
    "Products.periodType": pick([
      [1, "One-Time"],
      [2, "Monthly"],
      [3, "Quarterly"],
      [4, "Semi-Annual"],
      [5, "Yearly"],
    ]),
    "Products.priceCostMethod": [],
    "Resources.licenseType": pick([
      [1, "Full"],
      [7, "API User"],
    ]),
    "Resources.userType": pick([
      [1, "Full"],
      [2, "API User"],
    ]),
    // billingCodeType values from the django-autotask fixture (docs/autotask.md, Entities and fields used);
    // useType values from the BillingCodes entity help page (docs/emulator.md, work types).
    "BillingCodes.billingCodeType": pick(
      [
        [0, "Normal"],
        [1, "System"],
        [2, "Non-Billable"],
      ],
      { system: [0, 1, 2] },
    ),
    "BillingCodes.useType": pick(
      [
        [1, "Work Type"],
        [2, "Expense Category"],
        [3, "Internal Time"],
        [4, "Material"],
        [5, "Service"],
      ],
      { system: [1, 2, 3, 4, 5] },
    ),
    "TimeEntries.timeEntryType": pick([
      [2, "Ticket"],
      [6, "Task"],
    ]),
  };
}

function resource(
  id: number,
  first: string,
  last: string,
  email: string,
  apiUser: boolean,
  userName: string,
): Row {
  return {
    id,
    firstName: first,
    lastName: last,
    email,
    userName,
    isActive: true,
    licenseType: apiUser ? 7 : 1,
    userType: apiUser ? 2 : 1,
    resourceType: "Employee",
    title: apiUser ? "API User" : "Technician",
  };
}

function company(id: number, name: string, number: string, type: number, at: string, extra: Row = {}): Row {
  return {
    id,
    companyName: name,
    companyNumber: number,
    companyType: type,
    isActive: true,
    phone: "555-0100",
    ownerResourceID: DEMO_IDS.technicians[0],
    createDate: at,
    lastActivityDate: at,
    createdByResourceID: DEMO_IDS.apiResource,
    ...extra,
  };
}

function category(id: number, name: string, nickname: string, isGlobalDefault: boolean): Row {
  return { id, name, nickname, isActive: true, isGlobalDefault, isApiOnly: false, displayColorRGB: 0 };
}

function apiUser(o: SeedOptions): ApiUser {
  return {
    username: o.username ?? DEFAULT_CREDENTIALS.username,
    secret: o.secret ?? DEFAULT_CREDENTIALS.secret,
    integrationCode: o.integrationCode ?? DEFAULT_CREDENTIALS.integrationCode,
    resourceId: DEMO_IDS.apiResource,
    // Set up as our setup guide asks (the real default is no webhook permission; docs/emulator.md).
    canCreateWebhooks: true,
    maxWebhooks: 10,
  };
}

/** A tenant with only the API user's resource, the root company 0 and the system picklists. */
export function emptySeed(o: SeedOptions = {}): TenantData {
  const at = (o.now ?? new Date()).toISOString();
  return {
    id: o.tenantId ?? DEFAULT_TENANT_ID,
    zone: { zoneName: "Emulator Zone", ci: o.ci ?? 900001 },
    apiUsers: [apiUser(o)],
    picklists: basePicklists(),
    udfs: {},
    rows: {
      Resources: [
        // An API-only user is a resource whose username is the API username (how an integration
        // finds its own resource id, e.g. for webhook ExcludedResources).
        resource(DEMO_IDS.apiResource, "NOC", "Integration", apiUser(o).username, true, apiUser(o).username),
      ],
      // The root company (the MSP itself) has id 0 (docs/autotask.md, Entities and fields used).
      Companies: [company(0, "Emulated MSP", "0", 1, at, { ownerResourceID: DEMO_IDS.apiResource })],
      // Every tenant has the system "Standard" category; it requires nothing beyond the entity's fields.
      TicketCategories: [category(DEMO_IDS.categories.standard, "Standard", "STD", true)],
    },
  };
}

/** The demo tenant of the seed document (see the module comment). */
export function demoSeed(o: SeedOptions = {}): TenantData {
  const base = emptySeed(o);
  const at = (o.now ?? new Date()).toISOString();
  const p = base.picklists;
  p["Tickets.status"] = pick(DEMO_STATUSES, { system: [1, 5], default: 1 });
  p["Tickets.priority"] = pick(DEMO_PRIORITIES, { default: 2 });
  p["Tickets.queueID"] = pick([
    [5, "Client Portal"],
    [6, "Post Sale"],
    [8, "Level I Support"],
    [29682833, "Level II Support"],
    [DEMO_IDS.nocQueue, "NOC"],
    [29683481, "Monitoring Alert"],
  ]);
  p["Tickets.issueType"] = pick([
    [1, "Hardware"],
    [2, "Software"],
    [3, "Network"],
    [4, "Monitoring Alert"],
  ]);
  p["Tickets.subIssueType"] = pick(
    [
      [10, "Server"],
      [11, "Workstation"],
      [12, "Application"],
      [13, "Operating System"],
      [14, "Connectivity"],
      [15, "Performance"],
      [16, "Availability"],
    ],
    { parents: { 10: 1, 11: 1, 12: 2, 13: 2, 14: 3, 15: 4, 16: 4 } },
  );
  p["Tickets.serviceLevelAgreementID"] = pick([[1, "Standard SLA"]]);
  p["Products.productCategory"] = pick([
    [1, "Hardware"],
    [2, "Software"],
    [3, "Services"],
  ]);

  const tech = DEMO_IDS.technicians;
  const roles = DEMO_IDS.roles;
  base.rows["Resources"] = [
    ...(base.rows["Resources"] ?? []),
    resource(tech[0], "Alex", "Morgan", "alex.morgan@example.com", false, "amorgan"),
    resource(tech[1], "Sam", "Rivera", "sam.rivera@example.com", false, "srivera"),
  ].map((r) => ({ ...r, defaultServiceDeskRoleID: roles.technician }));
  base.rows["Roles"] = [
    { id: roles.technician, name: "Technician", isActive: true, hourlyRate: 125, roleType: 1 },
    { id: roles.engineer, name: "NOC Engineer", isActive: true, hourlyRate: 150, roleType: 1 },
  ];
  // Every resource (the API user's too, for entries of unmapped technicians) holds the Technician role
  // as its default; Alex is also an NOC Engineer.
  base.rows["ResourceServiceDeskRoles"] = [
    [DEMO_IDS.apiResource, roles.technician, true],
    [tech[0], roles.technician, true],
    [tech[0], roles.engineer, false],
    [tech[1], roles.technician, true],
  ].map(([resourceID, roleID, isDefault], i) => ({
    id: i + 1,
    resourceID,
    roleID,
    isActive: true,
    isDefault,
  }));
  const c = DEMO_IDS.companies;
  base.rows["Companies"] = [
    ...(base.rows["Companies"] ?? []),
    // The seed document's clients AT1 and AT2 are companyNumber "AT1"/"AT2" with realistic names.
    company(c.AT1, "Acme Dental Group", "AT1", 1, at, { city: "Springfield", state: "IL" }),
    company(c.AT2, "Birch Logistics", "AT2", 1, at, { city: "Riverton", state: "WY" }),
    company(c.AT3, "Cobalt Legal LLP", "AT3", 1, at),
    company(c.AT4, "Delta Clinics", "AT4", 3, at),
    company(DEMO_IDS.vendorCompany, "NetEnrich", "NE", 7, at),
  ];
  base.rows["BillingCodes"] = [
    [DEMO_IDS.remoteSupport, "Remote Support", 1, 0],
    [78955513, "Onsite Support", 1, 0],
    [78955514, "After Hours Support", 1, 0],
    [29682801, "Project Work", 1, 0],
    [29682802, "Non-Taxable Products", 4, 0],
    [DEMO_IDS.internalTime, "Internal Administration", 3, 2],
  ].map(([id, name, useType, billingCodeType]) => ({
    id,
    name,
    useType,
    billingCodeType,
    isActive: true,
    unitCost: 0,
    unitPrice: useType === 1 ? 125 : 0,
    isExcludedFromNewContracts: false,
  }));
  base.rows["ConfigurationItemTypes"] = [
    { id: 1, name: "Workstation", isActive: true },
    { id: DEMO_IDS.ciType, name: "NetEnrich Configuration Item Type", isActive: true },
    { id: 3, name: "Server", isActive: true },
    { id: 4, name: "Network Device", isActive: true },
  ];
  base.rows["Products"] = [
    {
      id: DEMO_IDS.product,
      name: "NetEnrich Product",
      description: "Devices managed by the NetEnrich NOC",
      productCategory: 1,
      isActive: true,
      isSerialized: false,
      productBillingCodeID: 29682802,
    },
    {
      id: 232486924,
      name: "Managed Workstation",
      productCategory: 1,
      isActive: true,
      productBillingCodeID: 29682802,
    },
  ];
  // Ticket categories as partners run them: the global default "NOC Monitoring" makes issue type and
  // sub-issue type required (a create without them is refused) and defaults source and ticket type;
  // "Change" makes the due date required; "Standard" requires nothing.
  const cats = DEMO_IDS.categories;
  base.rows["TicketCategories"] = [
    category(cats.standard, "Standard", "STD", false),
    category(cats.nocMonitoring, "NOC Monitoring", "NOC", true),
    category(cats.change, "Change", "CHG", false),
  ];
  base.rows["TicketCategoryFieldDefaults"] = [
    { id: 1, ticketCategoryID: cats.nocMonitoring, sourceID: 6, ticketTypeID: 5, queueID: DEMO_IDS.nocQueue },
    { id: 2, ticketCategoryID: cats.change, ticketTypeID: 4 },
  ];
  base.ticketCategoryRules = {
    [cats.nocMonitoring]: ["issueType", "subIssueType"],
    [cats.change]: ["dueDateTime"],
  };
  base.udfs["ConfigurationItems"] = NOC_CI_UDFS.map((name, i) => textUdf(29683001 + i, name, i + 1));
  base.nextUdfId = 29683001 + NOC_CI_UDFS.length;
  return base;
}

export function seedTenant(name: SeedName, o: SeedOptions = {}): TenantData {
  return name === "demo" ? demoSeed(o) : emptySeed(o);
}
