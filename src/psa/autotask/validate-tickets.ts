/**
 * The ticket checks of Validate that go beyond "the record exists": the allocation is an active work
 * type, the ticket defaults exist in Autotask's pick-lists, the fields the ticket category requires
 * are sent (or defaulted by the category), and which statuses and priorities no mapping row covers.
 *
 * Autotask's REST API does not say which fields a ticket category makes required (docs/emulator.md,
 * "Ticket categories, work types, note visibility"), so two readings are taken: a field the Tickets
 * field list marks required, and a field named in a create Autotask refused ("issueType is required
 * …"). Either way the check names the field and where to fix it.
 */

import type { Check, ValidateInput } from "../connector.js";
import { isPsaError, type PsaError } from "../errors.js";
import { type AutotaskApi, queryAll } from "./api.js";
import { WORK_TYPE_USE_TYPE } from "./options.js";
import type { AutotaskSettings } from "./settings.js";
import type { AutotaskEntity, FieldInfo, PicklistValue } from "./types.js";
import { checkEffort } from "./validate-effort.js";

const ADMIN_TICKETS = "Admin → Features & Settings → Service Desk (Tickets)";
const ADMIN_WORK_TYPES =
  "Admin → Features & Settings → Finance, Accounting & Invoicing → Billing Codes → Work Types tab";

/** Ticket fields a category can require that the ticket defaults can send. */
const COVERABLE: Record<
  string,
  { label: string; setting: keyof AutotaskSettings; defaultsField: string | null }
> = {
  issueType: { label: "Issue Type", setting: "issueTypeId", defaultsField: "issueTypeID" },
  subIssueType: { label: "Sub-Issue Type", setting: "subIssueTypeId", defaultsField: "subIssueTypeID" },
  dueDateTime: { label: "Due Date", setting: "dueDateOffsetHours", defaultsField: null },
  source: { label: "Source", setting: "sourceId", defaultsField: "sourceID" },
  ticketType: { label: "Ticket Type", setting: "ticketTypeId", defaultsField: "ticketTypeID" },
};

/** Fields every create sends whatever the defaults. */
const ALWAYS_SENT = new Set(
  ["companyID", "queueID", "billingCodeID", "title", "description", "status", "priority", "externalID"].map(
    (f) => f.toLowerCase(),
  ),
);

type MappingCoverage = NonNullable<ValidateInput["mappings"]["coverage"]>;

export const isBudgetStop = (e: unknown): e is PsaError => isPsaError(e) && e.code === "BUDGET_EXHAUSTED";

/** Lets a spent budget through the per-check error handling, to the top. */
export function passBudgetStop(e: unknown): void {
  if (isBudgetStop(e)) throw e;
}

/**
 * The ticket part of the checklist: the NOC queue, the allocation, the ticket defaults and what the
 * category requires, the statuses and priorities the mapping tables use, and what they leave out.
 */
export async function checkTickets(
  api: AutotaskApi,
  t: AutotaskSettings,
  input: ValidateInput,
): Promise<Check[]> {
  const checks: Check[] = [];
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
    checks.push(...(await checkCategoryRequirements(api, ticketFields, t, input.refusals)));
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
  checks.push(...(await checkEffort(api, t)));
  return checks;
}

/** The allocation is an active billing code of the work-type kind. */
export async function checkWorkType(api: AutotaskApi, t: AutotaskSettings): Promise<Check> {
  const name = "billing-code";
  const fix = `Choose a work type (e.g. "Remote Support") as the Allocation: ${ADMIN_WORK_TYPES}; only active work types can be a ticket's billing code.`;
  if (t.billingCodeId === null) return { name, ok: false, message: "The allocation is not set.", fix };
  try {
    const rec = await api.get<AutotaskEntity>("BillingCodes", t.billingCodeId);
    if (!rec)
      return { name, ok: false, message: `Billing code ${t.billingCodeId} does not exist in Autotask.`, fix };
    const label = `"${String(rec["name"] ?? t.billingCodeId)}" (${t.billingCodeId})`;
    if (rec.isActive === false)
      return { name, ok: false, message: `Billing code ${label} is inactive.`, fix };
    if (Number(rec["useType"]) !== WORK_TYPE_USE_TYPE)
      return {
        name,
        ok: false,
        message: `Billing code ${label} is not a work type (useType ${String(rec["useType"])}); Autotask refuses it on tickets.`,
        fix,
      };
    return { name, ok: true, message: `Allocation ${label} is an active work type.` };
  } catch (e) {
    return {
      name,
      ok: false,
      message: `Could not read billing code ${t.billingCodeId}: ${(e as Error).message}`,
      fix,
    };
  }
}

const pickOf = (fields: FieldInfo[], name: string): PicklistValue[] =>
  fields.find((f) => f.name.toLowerCase() === name.toLowerCase())?.picklistValues ?? [];

/** Each chosen ticket default is an active value of its Autotask pick-list. */
export function checkDefaultValues(fields: FieldInfo[], t: AutotaskSettings): Check[] {
  const out: Check[] = [];
  const one = (field: string, label: string, id: number | null, parent?: number | null) => {
    if (id === null) return;
    const v = pickOf(fields, field).find((x) => Number(x.value) === id);
    const name = `ticket-default:${field}`;
    const fix = `Choose another ${label} under Setup → Ticket defaults, or activate it under ${ADMIN_TICKETS}.`;
    if (!v?.isActive)
      out.push({
        name,
        ok: false,
        message: v
          ? `${label} "${v.label}" (${id}) is inactive.`
          : `${label} ${id} does not exist in Autotask.`,
        fix,
      });
    else if (parent !== undefined && v.parentValue && Number(v.parentValue) !== parent)
      out.push({
        name,
        ok: false,
        message: `${label} "${v.label}" (${id}) does not belong to the chosen Issue Type.`,
        fix,
      });
    else out.push({ name, ok: true, message: `${label} "${v.label}" (${id}) exists.` });
  };
  one("ticketCategory", "Ticket Category", t.ticketCategoryId);
  one("ticketType", "Ticket Type", t.ticketTypeId);
  one("issueType", "Issue Type", t.issueTypeId);
  one("subIssueType", "Sub-Issue Type", t.subIssueTypeId, t.issueTypeId);
  one("source", "Source", t.sourceId);
  return out;
}

/** Fields named required in Autotask's refusals ("issueType is required …"). */
export function requiredInRefusals(refusals: readonly string[]): string[] {
  const out = new Set<string>();
  for (const r of refusals)
    for (const m of r.matchAll(/\b([A-Za-z]+) is required\b/g)) out.add(m[1] as string);
  return [...out];
}

/** The fields the ticket category requires are sent by the defaults or filled by the category. */
export async function checkCategoryRequirements(
  api: AutotaskApi,
  fields: FieldInfo[],
  t: AutotaskSettings,
  refusals: readonly string[],
): Promise<Check[]> {
  const categories = pickOf(fields, "ticketCategory");
  const category =
    t.ticketCategoryId !== null
      ? categories.find((c) => Number(c.value) === t.ticketCategoryId)
      : categories.find((c) => c.isDefaultValue);
  const categoryId = category ? Number(category.value) : t.ticketCategoryId;
  const categoryName = category?.label ?? (categoryId === null ? "the default category" : String(categoryId));
  const required = new Set<string>();
  for (const f of fields) if (f.isRequired && !f.isReadOnly) required.add(f.name);
  for (const f of requiredInRefusals(refusals)) required.add(f);
  let defaults: AutotaskEntity | undefined;
  if (categoryId !== null) {
    try {
      [defaults] = await queryAll<AutotaskEntity>(api, "TicketCategoryFieldDefaults", {
        filter: [{ op: "eq", field: "ticketCategoryID", value: categoryId }],
      });
    } catch {
      defaults = undefined; // a tenant that does not expose category defaults: nothing is defaulted
    }
  }
  const out: Check[] = [];
  for (const field of [...required].sort()) {
    if (ALWAYS_SENT.has(field.toLowerCase()) || field === "id") continue;
    const c = COVERABLE[field];
    const name = `ticket-field:${field}`;
    const where = `${ADMIN_TICKETS} → Ticket Categories → ${categoryName} → Details`;
    if (!c) {
      out.push({
        name,
        ok: false,
        message: `Ticket category "${categoryName}" requires ${field}, which nocbridge does not send.`,
        fix: `Make ${field} optional or give it a default in the category (${where}), or choose another category under Setup → Ticket defaults.`,
      });
      continue;
    }
    const sent = t[c.setting] !== null;
    const defaulted = c.defaultsField !== null && defaults?.[c.defaultsField] != null;
    out.push(
      sent || defaulted
        ? {
            name,
            ok: true,
            message: `${c.label}, required by ticket category "${categoryName}", is ${sent ? "sent with every ticket" : "set by the category's defaults"}.`,
          }
        : {
            name,
            ok: false,
            message: `Ticket category "${categoryName}" requires ${c.label}, and no ${c.label} is sent.`,
            fix: `Choose a ${c.label} under Setup → Ticket defaults, or give the category a default ${c.label} or make it optional (${where}).`,
          },
    );
  }
  return out;
}

/** Statuses and priorities no mapping row covers: warnings, never failures (nothing is guessed). */
export function checkCoverage(fields: FieldInfo[], cov: MappingCoverage): Check[] {
  const out: Check[] = [];
  const fwd = new Set(cov.forwardPortalIds);
  const warn = (name: string, gaps: string[], what: string, fix: string): void => {
    out.push(
      gaps.length === 0
        ? { name, ok: true, message: `Every ${what} has a mapping row.` }
        : {
            name,
            ok: true,
            warning: true,
            message: `No mapping row covers ${what} ${gaps.join(", ")}.`,
            fix,
          },
    );
  };
  if (cov.portalStatuses)
    warn(
      "coverage:portal-statuses",
      cov.portalStatuses.filter((s) => !fwd.has(s.id)).map((s) => `"${s.name}" (${s.id})`),
      "portal status",
      "Add forward status rows for them under Mappings; until then a ticket in such a status keeps its Autotask status (with a warning on the ticket).",
    );
  const active = (name: string) => pickOf(fields, name).filter((v) => v.isActive);
  const rev = new Set(cov.reversePsaIds);
  warn(
    "coverage:autotask-statuses",
    active("status")
      .filter((v) => !rev.has(Number(v.value)))
      .map((v) => `"${v.label}" (${v.value})`),
    "Autotask status",
    "Add reverse status rows for them under Mappings; a ticket put into such a status is parked until then.",
  );
  const pri = new Set(cov.priorityPsaIds);
  warn(
    "coverage:autotask-priorities",
    active("priority")
      .filter((v) => !pri.has(Number(v.value)))
      .map((v) => `"${v.label}" (${v.value})`),
    "Autotask priority",
    "Add priority rows for them under Mappings; a ticket given such a priority is parked until then.",
  );
  return out;
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
