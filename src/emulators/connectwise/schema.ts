/**
 * The resources the emulator serves: their URL, table, fields (kind, length, required, references)
 * and callback type. Field names, lengths and enumerations follow ConnectWise's published OpenAPI
 * types (see docs/connectwise-emulator.md); fields the engine does not need are left out.
 */
import type { FieldTyper, Kind } from "./conditions.js";
import type { CustomFieldEntity } from "./store.js";

export type FieldSpec =
  | { k: "string"; max?: number; req?: boolean }
  | { k: "int"; req?: boolean }
  | { k: "number" }
  | { k: "bool"; def?: boolean }
  | { k: "date"; req?: boolean }
  | { k: "enum"; values: readonly string[]; def?: string; req?: boolean }
  /** A reference `{id, …}`; `copy` maps reference keys to the target's fields; `lookup` = natural keys. */
  | { k: "ref"; table: string; copy: Record<string, string>; lookup?: string[]; req?: boolean }
  | { k: "strings" }
  | { k: "objects" }
  | { k: "custom" }
  /** Read-only: maintained by the emulator, ignored on write. */
  | { k: "ro"; kind: Kind }
  /** Write-only on create, never returned (ticket initial* texts). */
  | { k: "wo"; max?: number };

export interface ResourceDef {
  /** Path after /apis/3.0 ("service/tickets"); a child has `:parent` in it. */
  path: string;
  table: string;
  /** Label of 404 messages ("Ticket 5 not found"). */
  label: string;
  /** `resource` of validation errors ("ticket"). */
  resource: string;
  fields: Record<string, FieldSpec>;
  /** A child resource: the field holding the parent reference and the parent's table. */
  parent?: { field: string; table: string; label: string; asId?: boolean };
  callbackType?: string;
  customFields?: CustomFieldEntity;
  /** Served, but not writable through the API. */
  readOnly?: boolean;
}

const NAME50 = { k: "string", max: 50, req: true } as const;
const ref = (table: string, copy: Record<string, string> = { name: "name" }, req = false): FieldSpec => ({
  k: "ref",
  table,
  copy,
  lookup: Object.keys(copy).filter((k) => k === "name" || k === "identifier"),
  req,
});
const memberRef = ref("members", { identifier: "identifier", name: "name" });
const companyRef = (req: boolean) => ref("companies", { identifier: "identifier", name: "name" }, req);

export const RESOURCES: ResourceDef[] = [
  {
    path: "company/companies",
    table: "companies",
    label: "Company",
    resource: "company",
    callbackType: "company",
    customFields: "Company",
    fields: {
      identifier: { k: "string", max: 25, req: true },
      name: { k: "string", max: 50, req: true },
      status: { k: "objects" },
      types: { k: "objects" },
      phoneNumber: { k: "string", max: 30 },
      website: { k: "string", max: 255 },
      deletedFlag: { k: "bool", def: false },
      customFields: { k: "custom" },
    },
  },
  {
    path: "company/configurations/types",
    table: "configurationTypes",
    label: "ConfigurationType",
    resource: "configurationType",
    fields: { name: NAME50, inactiveFlag: { k: "bool", def: false }, systemFlag: { k: "bool", def: false } },
  },
  {
    path: "company/configurations/statuses",
    table: "configurationStatuses",
    label: "ConfigurationStatus",
    resource: "configurationStatus",
    fields: {
      description: NAME50,
      closedFlag: { k: "bool", def: false },
      defaultFlag: { k: "bool", def: false },
    },
  },
  {
    path: "company/configurations",
    table: "configurations",
    label: "Configuration",
    resource: "configuration",
    callbackType: "configuration",
    customFields: "Configuration",
    fields: {
      name: { k: "string", max: 100, req: true },
      type: ref("configurationTypes", { name: "name" }, true),
      // The status record's label is `description`; the reference on a configuration says `name`.
      status: ref("configurationStatuses", { name: "description" }),
      company: companyRef(true),
      deviceIdentifier: { k: "string", max: 100 },
      serialNumber: { k: "string", max: 250 },
      modelNumber: { k: "string", max: 50 },
      tagNumber: { k: "string", max: 50 },
      purchaseDate: { k: "date" },
      installationDate: { k: "date" },
      warrantyExpirationDate: { k: "date" },
      installedBy: memberRef,
      vendorNotes: { k: "string" },
      notes: { k: "string" },
      macAddress: { k: "string", max: 25 },
      ipAddress: { k: "string", max: 50 },
      defaultGateway: { k: "string", max: 50 },
      osType: { k: "string", max: 250 },
      osInfo: { k: "string", max: 250 },
      cpuSpeed: { k: "string", max: 100 },
      ram: { k: "string", max: 25 },
      localHardDrives: { k: "string" },
      lastLoginName: { k: "string", max: 100 },
      manufacturerPartNumber: { k: "string", max: 50 },
      remoteLink: { k: "string", max: 1000 },
      managementLink: { k: "string", max: 1000 },
      activeFlag: { k: "bool", def: true },
      billFlag: { k: "bool", def: false },
      questions: { k: "objects" },
      customFields: { k: "custom" },
    },
  },
  {
    path: "service/boards",
    table: "boards",
    label: "Board",
    resource: "board",
    fields: { name: NAME50, inactiveFlag: { k: "bool", def: false }, projectFlag: { k: "bool", def: false } },
  },
  {
    path: "service/boards/:parent/statuses",
    table: "boardStatuses",
    label: "BoardStatus",
    resource: "boardStatus",
    parent: { field: "board", table: "boards", label: "Board" },
    fields: {
      name: NAME50,
      sortOrder: { k: "int" },
      displayOnBoard: { k: "bool", def: true },
      inactive: { k: "bool", def: false },
      closedStatus: { k: "bool", def: false },
      timeEntryNotAllowed: { k: "bool", def: false },
      defaultFlag: { k: "bool", def: false },
      escalationStatus: {
        k: "enum",
        values: ["NotResponded", "Responded", "ResolutionPlan", "Resolved", "NoEscalation"],
        def: "NotResponded",
      },
      customerPortalDescription: { k: "string", max: 60 },
      customerPortalFlag: { k: "bool", def: false },
    },
  },
  ...(["types", "subtypes", "items"] as const).map(
    (child): ResourceDef => ({
      path: `service/boards/:parent/${child}`,
      table: `board${child[0]?.toUpperCase()}${child.slice(1)}`,
      label: child === "types" ? "BoardType" : child === "subtypes" ? "BoardSubType" : "BoardItem",
      resource: child === "types" ? "boardType" : child === "subtypes" ? "boardSubType" : "boardItem",
      parent: { field: "board", table: "boards", label: "Board" },
      fields: {
        name: NAME50,
        inactiveFlag: { k: "bool", def: false },
        defaultFlag: { k: "bool", def: false },
      },
    }),
  ),
  {
    path: "service/priorities",
    table: "priorities",
    label: "Priority",
    resource: "priority",
    fields: {
      name: NAME50,
      sort: { k: "int" },
      color: { k: "string", max: 50 },
      defaultFlag: { k: "bool", def: false },
    },
  },
  {
    path: "service/sources",
    table: "sources",
    label: "Source",
    resource: "source",
    fields: { name: NAME50, defaultFlag: { k: "bool", def: false } },
  },
  {
    path: "service/tickets",
    table: "tickets",
    label: "Ticket",
    resource: "ticket",
    callbackType: "ticket",
    customFields: "Ticket",
    fields: {
      summary: { k: "string", max: 100, req: true },
      recordType: {
        k: "enum",
        values: ["ServiceTicket", "ProjectTicket", "ProjectIssue"],
        def: "ServiceTicket",
      },
      board: ref("boards"),
      status: ref("boardStatuses"),
      priority: ref("priorities", { name: "name", sort: "sort" }),
      company: companyRef(true),
      contactName: { k: "string", max: 62 },
      contactEmailAddress: { k: "string", max: 250 },
      contactPhoneNumber: { k: "string", max: 20 },
      type: ref("boardTypes"),
      subType: ref("boardSubtypes"),
      item: ref("boardItems"),
      owner: memberRef,
      source: ref("sources"),
      severity: { k: "enum", values: ["Low", "Medium", "High"], def: "Medium" },
      impact: { k: "enum", values: ["Low", "Medium", "High"], def: "Medium" },
      initialDescription: { k: "wo" },
      initialInternalAnalysis: { k: "wo" },
      initialResolution: { k: "wo" },
      externalXRef: { k: "string", max: 100 },
      integratorTags: { k: "strings" },
      processNotifications: { k: "bool", def: true },
      skipCallback: { k: "bool", def: false },
      closedFlag: { k: "ro", kind: "boolean" },
      closedDate: { k: "ro", kind: "date" },
      closedBy: { k: "ro", kind: "string" },
      dateResolved: { k: "ro", kind: "date" },
      actualHours: { k: "ro", kind: "number" },
      customFields: { k: "custom" },
    },
  },
  {
    path: "service/tickets/:parent/notes",
    table: "notes",
    label: "ServiceNote",
    resource: "serviceNote",
    parent: { field: "ticketId", table: "tickets", label: "Ticket", asId: true },
    fields: {
      text: { k: "string", req: true },
      detailDescriptionFlag: { k: "bool", def: false },
      internalAnalysisFlag: { k: "bool", def: false },
      resolutionFlag: { k: "bool", def: false },
      issueFlag: { k: "bool", def: false },
      customerUpdatedFlag: { k: "bool", def: false },
      processNotifications: { k: "bool", def: true },
      internalFlag: { k: "ro", kind: "boolean" },
      externalFlag: { k: "ro", kind: "boolean" },
      member: { k: "ro", kind: "any" },
      dateCreated: { k: "ro", kind: "date" },
      createdBy: { k: "ro", kind: "string" },
    },
  },
  {
    path: "time/entries",
    table: "timeEntries",
    label: "TimeEntry",
    resource: "timeEntry",
    callbackType: "time",
    fields: {
      chargeToId: { k: "int", req: true },
      chargeToType: {
        k: "enum",
        values: ["ServiceTicket", "ProjectTicket", "ChargeCode", "Activity"],
        req: true,
      },
      member: memberRef,
      workRole: ref("workRoles"),
      workType: ref("workTypes"),
      timeStart: { k: "date", req: true },
      timeEnd: { k: "date" },
      hoursDeduct: { k: "number" },
      actualHours: { k: "ro", kind: "number" },
      billableOption: {
        k: "enum",
        values: ["Billable", "DoNotBill", "NoCharge", "NoDefault"],
        def: "Billable",
      },
      notes: { k: "string" },
      internalNotes: { k: "string" },
      addToDetailDescriptionFlag: { k: "bool", def: false },
      addToInternalAnalysisFlag: { k: "bool", def: false },
      addToResolutionFlag: { k: "bool", def: false },
      company: { k: "ro", kind: "any" },
      ticket: { k: "ro", kind: "any" },
      status: { k: "ro", kind: "string" },
    },
  },
  {
    path: "system/callbacks",
    table: "callbacks",
    label: "CallbackEntry",
    resource: "callbackEntry",
    fields: {
      description: { k: "string", max: 100 },
      url: { k: "string", max: 1000, req: true },
      objectId: { k: "int", req: true },
      type: { k: "string", max: 50, req: true },
      level: { k: "string", max: 50, req: true },
      memberId: { k: "ro", kind: "number" },
      payloadVersion: { k: "string", max: 25 },
      inactiveFlag: { k: "bool", def: false },
      isSoapCallbackFlag: { k: "bool", def: false },
      isSelfSuppressedFlag: { k: "bool", def: false },
      connectWiseID: { k: "ro", kind: "string" },
    },
  },
  {
    path: "system/members",
    table: "members",
    label: "Member",
    resource: "member",
    readOnly: true,
    fields: {
      identifier: { k: "string", max: 15, req: true },
      firstName: { k: "string", max: 30 },
      lastName: { k: "string", max: 30 },
      name: { k: "ro", kind: "string" },
      apiMemberFlag: { k: "ro", kind: "boolean" },
      inactiveFlag: { k: "bool", def: false },
      officeEmail: { k: "string", max: 250 },
      defaultEmail: { k: "ro", kind: "string" },
      workRole: ref("workRoles"),
      workType: ref("workTypes"),
    },
  },
  {
    path: "time/workRoles",
    table: "workRoles",
    label: "WorkRole",
    resource: "workRole",
    readOnly: true,
    fields: {
      name: NAME50,
      hourlyRate: { k: "number" },
      inactiveFlag: { k: "bool", def: false },
    },
  },
  {
    path: "time/workTypes",
    table: "workTypes",
    label: "WorkType",
    resource: "workType",
    readOnly: true,
    fields: {
      name: NAME50,
      billTime: { k: "enum", values: ["Billable", "DoNotBill", "NoCharge", "NoDefault"], def: "Billable" },
      inactiveFlag: { k: "bool", def: false },
      overallDefaultFlag: { k: "bool", def: false },
    },
  },
];

/** `_info` stamps readable as plain fields in conditions (`lastUpdated > [...]`). */
export const INFO_ALIASES: Record<string, string[]> = {
  lastupdated: ["_info", "lastUpdated"],
  updatedby: ["_info", "updatedBy"],
  dateentered: ["_info", "dateEntered"],
  enteredby: ["_info", "enteredBy"],
};

function fieldOf(def: ResourceDef, name: string): [string, FieldSpec] | undefined {
  const lower = name.toLowerCase();
  return Object.entries(def.fields).find(([k]) => k.toLowerCase() === lower);
}

function kindOf(spec: FieldSpec): Kind | undefined {
  switch (spec.k) {
    case "string":
    case "enum":
      return "string";
    case "int":
    case "number":
      return "number";
    case "bool":
      return "boolean";
    case "date":
      return "date";
    case "ro":
      return spec.kind;
    default:
      return undefined;
  }
}

/** Kinds of `conditions` / `orderBy` paths of a resource. */
export function typerOf(def: ResourceDef): FieldTyper {
  return (path) => {
    const [first, second, ...rest] = path;
    if (first === undefined) return undefined;
    const lower = first.toLowerCase();
    if (path.length === 1 && lower === "id") return "number";
    if (path.length === 1 && INFO_ALIASES[lower])
      return lower === "lastupdated" || lower === "dateentered" ? "date" : "string";
    if (def.parent && lower === def.parent.field.toLowerCase()) {
      if (def.parent.asId) return path.length === 1 ? "number" : undefined;
      return second?.toLowerCase() === "id"
        ? "number"
        : second?.toLowerCase() === "name"
          ? "string"
          : undefined;
    }
    const f = fieldOf(def, first);
    if (!f) return undefined;
    const [, spec] = f;
    if (spec.k === "ref") {
      if (second === undefined || rest.length > 0) return undefined;
      const s = second.toLowerCase();
      if (s === "id") return "number";
      if (s in spec.copy || Object.keys(spec.copy).some((c) => c.toLowerCase() === s))
        return s === "sort" ? "number" : "string";
      return undefined;
    }
    if ((spec.k === "ro" && spec.kind === "any") || spec.k === "objects")
      return second === undefined ? undefined : "any";
    if (spec.k === "strings") return path.length === 1 ? "string" : undefined;
    return path.length === 1 ? kindOf(spec) : undefined;
  };
}

/** Kinds of `childConditions` paths: an array field of the record, then any element field. */
export function childTyperOf(def: ResourceDef): FieldTyper {
  return (path) => {
    const f = path[0] ? fieldOf(def, path[0]) : undefined;
    if (!f || path.length < 2) return undefined;
    return f[1].k === "objects" ? "any" : undefined;
  };
}

export function resourceByTable(table: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.table === table);
}
