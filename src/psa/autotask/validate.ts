import { BUDGET_SHARES, budgetFigures } from "../budget.js";
import { clientsToCheck, unmappedMessage } from "../companies.js";
import type { Check, ValidateInput, ValidationResult } from "../connector.js";
import { isPsaError } from "../errors.js";
import { type AutotaskApi, queryAll } from "./api.js";
import { CI_UDFS } from "./mapper.js";
import type { AutotaskSettings } from "./settings.js";
import type { AutotaskEntity, FieldInfo } from "./types.js";
import { checkTickets, isBudgetStop, passBudgetStop } from "./validate-tickets.js";

type ClientForValidation = ValidateInput["clients"][number];

const ADMIN_CI = "Admin → Products and Services → Products → Configuration Items";

/**
 * Checks the partner's configuration against the live Autotask, in the order a partner admin fixes
 * things: the API user first (nothing else can be checked without it), then the records an asset sync
 * needs (product, configuration item type, the advanced mode's UDFs, the clients' companies), then the
 * ticket settings. Each failed check names what to create or change, in Autotask's admin menus.
 */
export async function validateAutotask(
  api: AutotaskApi,
  s: AutotaskSettings,
  input: ValidateInput,
): Promise<ValidationResult> {
  const checks: Check[] = [];
  try {
    return await runChecks(api, s, input, checks);
  } catch (e) {
    // The hourly budget ran out part-way: that, not what the unread checks would say, is the finding.
    if (!isBudgetStop(e)) throw e;
    checks.push(budgetCheck(e.message));
    return { ok: false, checks };
  }
}

function budgetCheck(message: string): Check {
  return {
    name: "budget",
    ok: false,
    message: `${message}. The remaining checks were not run.`,
    fix: "Wait until usage drops (Autotask counts the last 60 minutes), then validate again; if it stays high, find the other integrations using this Autotask tenant's API (Admin → Extensions & Integrations → Other Extensions & Tools → API usage).",
  };
}

async function runChecks(
  api: AutotaskApi,
  s: AutotaskSettings,
  input: ValidateInput,
  checks: Check[],
): Promise<ValidationResult> {
  const wantAssets = input.devicesEnabled || input.scope === "assets";
  const wantTickets = input.scope === "all" && input.ticketingEnabled;

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
      message: `Connected to Autotask as ${s.username} (${figures}).`,
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
    // Refused at the tenant's hourly threshold: the hour is used up, which says nothing of the API user.
    if (isPsaError(e) && e.code === "RATE_LIMITED") {
      checks.push(budgetCheck("Autotask refused the request: the tenant's hourly API threshold is used up"));
      return { ok: false, checks };
    }
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
        s.productId,
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
        s.configurationItemTypeId,
        "configuration-item-type",
        "Configuration item type",
        "name",
        `Create a configuration item type (e.g. "NetEnrich Configuration Item Type") under ${ADMIN_CI} → Configuration Item Types, check Active, and enter its id.`,
      ),
    );
    if (input.advanced) checks.push(...(await checkUdfs(api)));
  }
  const clients = clientsToCheck(input, { assets: wantAssets, tickets: wantTickets });
  if (clients.length > 0) checks.push(...(await checkCompanies(api, clients)));

  if (wantTickets) checks.push(...(await checkTickets(api, s, input)));
  return { ok: checks.every((c) => c.ok), checks };
}

/** Advanced mode: each CI user-defined field the sync writes exists. */
async function checkUdfs(api: AutotaskApi): Promise<Check[]> {
  let udfs: FieldInfo[] = [];
  let failed: string | null = null;
  try {
    udfs = await api.udfInfo("ConfigurationItems");
  } catch (e) {
    passBudgetStop(e);
    failed = (e as Error).message;
  }
  const names = new Set(udfs.map((u) => u.name.toLowerCase()));
  return CI_UDFS.map(([name]): Check => {
    const ok = failed === null && names.has(name.toLowerCase());
    return {
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
    };
  });
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

/**
 * Every client with devices or tickets maps to an existing, active company; those without one are
 * listed in one check, with a suggestion by exact name.
 */
async function checkCompanies(api: AutotaskApi, clients: ClientForValidation[]): Promise<Check[]> {
  const mappedIds = [...new Set(clients.flatMap((c) => (c.psaCompanyId === null ? [] : [c.psaCompanyId])))];
  const unmapped = clients.filter((c) => c.psaCompanyId === null);
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
  const out: Check[] = [];
  if (unmapped.length > 0) {
    const fixes = unmapped.map((c) => {
      const match = suggestions.find(
        (s) => s.companyName.toLowerCase() === c.name.toLowerCase() && s.isActive,
      );
      return match
        ? `Map client ${c.code} to the Autotask company "${match.companyName}" (id ${match.id}), which has the same name.`
        : `Create the company "${c.name}" in Autotask (CRM → New Company) or map client ${c.code} to an existing company (Setup → Clients, or Auto-match by name).`;
    });
    out.push({
      name: "companies:unmapped",
      ok: false,
      message: unmappedMessage(unmapped),
      fix: fixes.join(" "),
    });
  }
  return out.concat(
    clients
      .filter((c) => c.psaCompanyId !== null)
      .map((c): Check => {
        const name = `company:${c.code}`;
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
      }),
  );
}
