import type { IntegrationView } from "../portal/types.js";
import { type AutotaskApi, queryAll } from "../psa/autotask/api.js";
import { CI_UDFS } from "../psa/autotask/mapper.js";
import type { AutotaskEntity, FieldInfo } from "../psa/autotask/types.js";
import { BUDGET_SHARES, budgetFigures } from "../psa/budget.js";
import { isPsaError, type PsaError } from "../psa/errors.js";
import {
  checkCategoryRequirements,
  checkCoverage,
  checkDefaultValues,
  checkWorkType,
  type MappingCoverage,
} from "./validate-tickets.js";

/** One line of the validation checklist. `fix` says what to create or change in Autotask. */
export interface Check {
  name: string;
  ok: boolean;
  message: string;
  fix?: string;
  /** Passed, but worth acting on (a status no mapping row covers). */
  warning?: boolean;
}

export interface ValidationResult {
  ok: boolean;
  checks: Check[];
}

export interface ClientForValidation {
  code: string;
  name: string;
  psaCompanyId: number | null;
  deviceCount: number;
}

export interface MappingForValidation {
  statuses: Array<{ table: string; psaId: number; psaLabel: string }>;
  priorities: Array<{ psaId: number; psaLabel: string }>;
  /** What the tables cover, for the coverage warnings (left out: no coverage checks). */
  coverage?: MappingCoverage;
}

export interface ValidateInput {
  /** null when the credentials are incomplete (no client can be built). */
  api: AutotaskApi | null;
  settings: IntegrationView;
  hasSecret: boolean;
  clients: ClientForValidation[];
  mappings: MappingForValidation;
  /** assets: what an asset sync needs; all: every enabled module (the Validate button). */
  scope: "assets" | "all";
  /** Texts of the ticket creates Autotask refused and that are still open (a required field named). */
  refusals?: string[];
}

const ADMIN_CI = "Admin → Products and Services → Products → Configuration Items";
const ADMIN_TICKETS = "Admin → Features & Settings → Service Desk (Tickets)";

/**
 * Checks the partner's configuration against the live Autotask, in the order a partner admin fixes
 * things: credentials first (nothing else can be checked without them), then the records the seed's
 * sections 3 and 4 ask the partner to create. Each failed check names what to create or change, in
 * the seed's words.
 */
export async function validateConfiguration(input: ValidateInput): Promise<ValidationResult> {
  const checks: Check[] = [];
  try {
    return await runChecks(input, checks);
  } catch (e) {
    // The hourly budget ran out part-way: that, not what the unread checks would say, is the finding.
    if (!isBudgetStop(e)) throw e;
    checks.push(budgetCheck(e.message));
    return { ok: false, checks };
  }
}

const isBudgetStop = (e: unknown): e is PsaError => isPsaError(e) && e.code === "BUDGET_EXHAUSTED";

/** Lets a spent budget through the per-check error handling, to the top. */
function passBudgetStop(e: unknown): void {
  if (isBudgetStop(e)) throw e;
}

function budgetCheck(message: string): Check {
  return {
    name: "budget",
    ok: false,
    message: `${message}. The remaining checks were not run.`,
    fix: "Wait until usage drops (Autotask counts the last 60 minutes), then validate again; if it stays high, find the other integrations using this Autotask tenant's API (Admin → Extensions & Integrations → Other Extensions & Tools → API usage).",
  };
}

async function runChecks(input: ValidateInput, checks: Check[]): Promise<ValidationResult> {
  const { api, settings } = input;
  const t = settings.ticketing;
  const d = settings.devices;
  const wantAssets = d.enabled || input.scope === "assets";
  const wantTickets = input.scope === "all" && t.enabled;

  if (api === null || t.username === "" || !input.hasSecret || t.integrationCode === "") {
    checks.push({
      name: "credentials",
      ok: false,
      message: "The Autotask API username, secret and integration code are not all set.",
      fix: "Enter the API user's username, secret and the API integration code under Setup → Partner details → Service Center and Ticketing System Details.",
    });
    return { ok: false, checks };
  }
  try {
    const th = await api.thresholdInformation();
    const figures = budgetFigures(
      th.currentTimeframeRequestCount,
      th.externalRequestThreshold,
      th.requestThresholdTimeframe,
    );
    checks.push({
      name: "credentials",
      ok: true,
      message: `Connected to Autotask as ${t.username} (${figures}).`,
    });
    const share = th.currentTimeframeRequestCount / Math.max(1, th.externalRequestThreshold);
    if (share >= BUDGET_SHARES.reads) {
      checks.push(
        budgetCheck(
          `${figures}; live reads stop at ${Math.round(BUDGET_SHARES.reads * 100)} % to keep the rest for ticket sync`,
        ),
      );
      return { ok: false, checks };
    }
  } catch (e) {
    checks.push({
      name: "credentials",
      ok: false,
      message: `Autotask did not accept the API user: ${(e as Error).message}`,
      fix: "Check the username, secret and integration code of the API user (Admin → Resources/Users → the API user → Security), and that the Web Services API is enabled for it.",
    });
    return { ok: false, checks };
  }

  if (wantAssets) {
    checks.push(
      await checkRecord(
        api,
        "Products",
        d.productId,
        "product",
        "Product",
        "name",
        `Create a product (e.g. "NetEnrich Product") under Admin → Products and Services → Products → Products, check Active, and enter its id as the Product.`,
      ),
    );
    checks.push(
      await checkRecord(
        api,
        "ConfigurationItemTypes",
        d.configurationItemTypeId,
        "configuration-item-type",
        "Configuration item type",
        "name",
        `Create a configuration item type (e.g. "NetEnrich Configuration Item Type") under ${ADMIN_CI} → Configuration Item Types, check Active, and enter its id.`,
      ),
    );
    if (d.advanced) {
      let udfs: FieldInfo[] = [];
      let failed: string | null = null;
      try {
        udfs = await api.udfInfo("ConfigurationItems");
      } catch (e) {
        passBudgetStop(e);
        failed = (e as Error).message;
      }
      const names = new Set(udfs.map((u) => u.name.toLowerCase()));
      for (const [name] of CI_UDFS) {
        const ok = failed === null && names.has(name.toLowerCase());
        checks.push({
          name: `udf:${name}`,
          ok,
          message: ok
            ? `User-defined field "${name}" exists on configuration items.`
            : failed
              ? `Could not read the configuration item user-defined fields: ${failed}`
              : `User-defined field "${name}" is missing on configuration items (needed for Advanced Device Integration).`,
          ...(ok
            ? {}
            : {
                fix: `Create the user-defined field "${name}", Text (Single Line), under ${ADMIN_CI} → User-Defined Fields (uncheck Protected), or turn Advanced Device Integration off.`,
              }),
        });
      }
    }
    checks.push(...(await checkCompanies(api, input.clients)));
  }

  if (wantTickets) {
    let ticketFields: FieldInfo[] | null = null;
    let fieldError = "";
    try {
      ticketFields = await api.fieldInfo("Tickets");
    } catch (e) {
      passBudgetStop(e);
      fieldError = (e as Error).message;
    }
    const picklist = (name: string) =>
      ticketFields?.find((f) => f.name.toLowerCase() === name.toLowerCase())?.picklistValues ?? [];
    const queue = picklist("queueID").find((v) => Number(v.value) === t.queueId);
    checks.push(
      queue?.isActive
        ? { name: "queue", ok: true, message: `Queue "${queue.label}" (${t.queueId}) exists and is active.` }
        : {
            name: "queue",
            ok: false,
            message: fieldError
              ? `Could not read the ticket queues: ${fieldError}`
              : queue
                ? `Queue ${t.queueId} ("${queue.label}") is inactive.`
                : `Queue ${t.queueId} does not exist in Autotask.`,
            fix: `Create the queue "NOC" under ${ADMIN_TICKETS} → Queues and enter its id as the Queue Id.`,
          },
    );
    checks.push(await checkWorkType(api, t));
    if (ticketFields) {
      checks.push(...checkDefaultValues(ticketFields, t));
      checks.push(...(await checkCategoryRequirements(api, ticketFields, t, input.refusals ?? [])));
    }
    const statuses = picklist("status");
    for (const s of uniqueBy(input.mappings.statuses, (x) => x.psaId)) {
      const v = statuses.find((x) => Number(x.value) === s.psaId);
      const label = s.psaLabel || `status ${s.psaId}`;
      checks.push(
        v?.isActive
          ? {
              name: `status:${s.psaId}`,
              ok: true,
              message: `Ticket status "${v.label}" (${s.psaId}) exists.`,
            }
          : {
              name: `status:${s.psaId}`,
              ok: false,
              message: v
                ? `Ticket status "${v.label}" (${s.psaId}) used by the mapping tables is inactive.`
                : `Ticket status ${s.psaId} ("${label}") used by the mapping tables does not exist in Autotask.`,
              fix: `Create the status "${label}" under ${ADMIN_TICKETS} → Ticket Statuses, or change the mapping row.`,
            },
      );
    }
    const priorities = picklist("priority");
    for (const p of uniqueBy(input.mappings.priorities, (x) => x.psaId)) {
      const v = priorities.find((x) => Number(x.value) === p.psaId);
      checks.push(
        v?.isActive
          ? {
              name: `priority:${p.psaId}`,
              ok: true,
              message: `Ticket priority "${v.label}" (${p.psaId}) exists.`,
            }
          : {
              name: `priority:${p.psaId}`,
              ok: false,
              message: `Ticket priority ${p.psaId} ("${p.psaLabel}") used by the priority mapping ${v ? "is inactive" : "does not exist"} in Autotask.`,
              fix: `Create or activate the priority under ${ADMIN_TICKETS} → Priorities, or change the priority mapping row.`,
            },
      );
    }
    if (ticketFields && input.mappings.coverage)
      checks.push(...checkCoverage(ticketFields, input.mappings.coverage));
  }
  return { ok: checks.every((c) => c.ok), checks };
}

async function checkRecord(
  api: AutotaskApi,
  entity: "Products" | "ConfigurationItemTypes",
  id: number | null,
  name: string,
  what: string,
  labelField: string,
  fix: string,
): Promise<Check> {
  if (id === null) return { name, ok: false, message: `${what} is not set.`, fix };
  try {
    const rec = await api.get<AutotaskEntity>(entity, id);
    if (!rec) return { name, ok: false, message: `${what} ${id} does not exist in Autotask.`, fix };
    const label = String(rec[labelField] ?? id);
    if (rec.isActive === false)
      return { name, ok: false, message: `${what} "${label}" (${id}) is inactive.`, fix };
    return { name, ok: true, message: `${what} "${label}" (${id}) exists and is active.` };
  } catch (e) {
    passBudgetStop(e);
    return {
      name,
      ok: false,
      message: `Could not read ${what.toLowerCase()} ${id}: ${(e as Error).message}`,
      fix,
    };
  }
}

/** Every client with devices maps to an existing, active company; unmapped ones get a suggestion by exact name. */
async function checkCompanies(api: AutotaskApi, clients: ClientForValidation[]): Promise<Check[]> {
  const withDevices = clients.filter((c) => c.deviceCount > 0);
  const mappedIds = [
    ...new Set(withDevices.flatMap((c) => (c.psaCompanyId === null ? [] : [c.psaCompanyId]))),
  ];
  const unmapped = withDevices.filter((c) => c.psaCompanyId === null);
  type Company = AutotaskEntity & { companyName: string; isActive: boolean };
  let companies: Company[] = [];
  let suggestions: Company[] = [];
  try {
    if (mappedIds.length > 0) {
      companies = await queryAll<Company>(api, "Companies", {
        filter: [{ op: "in", field: "id", value: mappedIds }],
        includeFields: ["id", "companyName", "isActive"],
      });
    }
    if (unmapped.length > 0) {
      suggestions = await queryAll<Company>(api, "Companies", {
        filter: [{ op: "in", field: "companyName", value: [...new Set(unmapped.map((c) => c.name))] }],
        includeFields: ["id", "companyName", "isActive"],
      });
    }
  } catch (e) {
    passBudgetStop(e);
    return [
      {
        name: "companies",
        ok: false,
        message: `Could not read the Autotask companies: ${(e as Error).message}`,
      },
    ];
  }
  return withDevices.map((c): Check => {
    const name = `company:${c.code}`;
    if (c.psaCompanyId === null) {
      const match = suggestions.find(
        (s) => s.companyName.toLowerCase() === c.name.toLowerCase() && s.isActive,
      );
      return {
        name,
        ok: false,
        message: `Client ${c.code} ("${c.name}") is not mapped to an Autotask company.`,
        fix: match
          ? `Map client ${c.code} to the Autotask company "${match.companyName}" (id ${match.id}), which has the same name.`
          : `Create the company "${c.name}" in Autotask (CRM → New Company) or map client ${c.code} to an existing company id.`,
      };
    }
    const co = companies.find((x) => x.id === c.psaCompanyId);
    if (!co)
      return {
        name,
        ok: false,
        message: `Client ${c.code} is mapped to company ${c.psaCompanyId}, which does not exist in Autotask.`,
        fix: `Map client ${c.code} to an existing Autotask company id.`,
      };
    if (!co.isActive)
      return {
        name,
        ok: false,
        message: `Client ${c.code} is mapped to company "${co.companyName}" (${co.id}), which is inactive.`,
        fix: `Reactivate the company in Autotask or map client ${c.code} to an active one.`,
      };
    return {
      name,
      ok: true,
      message: `Client ${c.code} is mapped to company "${co.companyName}" (${co.id}).`,
    };
  });
}

function uniqueBy<T>(xs: T[], key: (x: T) => unknown): T[] {
  const seen = new Set<unknown>();
  return xs.filter((x) => {
    const k = key(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
