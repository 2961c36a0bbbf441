/**
 * Ticket rules a tenant's admin sets up outside the entity model: ticket categories (defaults applied
 * on create, fields the category makes required) and the work-type rule of `billingCodeID`.
 *
 * A category's defaults are its TicketCategoryFieldDefaults row; which fields it makes required is
 * an admin setting (Admin > Features & Settings > Service Desk (Tickets) > Ticket Categories) that the
 * REST API does not expose, so the emulator keeps it in the tenant (`ticketCategoryRules`) and
 * enforces it on create only. See docs/emulator.md, "Ticket categories, work types, note visibility".
 */
import { ApiError, invalid, type Tenant } from "./store.js";

type Row = Record<string, unknown>;

const isSet = (v: unknown) => v !== null && v !== undefined;

/** TicketCategoryFieldDefaults field → Tickets field it fills. */
const DEFAULT_FIELDS: readonly (readonly [string, string])[] = [
  ["issueTypeID", "issueType"],
  ["subIssueTypeID", "subIssueType"],
  ["queueID", "queueID"],
  ["sourceID", "source"],
  ["ticketTypeID", "ticketType"],
  ["status", "status"],
  ["priority", "priority"],
  ["serviceLevelAgreementID", "serviceLevelAgreementID"],
  ["workTypeID", "billingCodeID"],
  ["estimatedHours", "estimatedHours"],
  ["purchaseOrderNumber", "purchaseOrderNumber"],
  ["title", "title"],
  ["description", "description"],
  ["resolution", "resolution"],
];

/** The useType of a work type (BillingCodes: 1 = tickets (labor), the Work Types tab). */
export const WORK_TYPE_USE_TYPE = 1;

/** Fills the fields the ticket's category has defaults for and the create left empty. */
export function applyCategoryDefaults(tenant: Tenant, row: Row, supplied: Set<string>): void {
  const category = row["ticketCategory"];
  if (!isSet(category)) return;
  const table = tenant.table("TicketCategoryFieldDefaults");
  const [defaultsId] = table.lookup("ticketCategoryID", category as number);
  const defaults = defaultsId === undefined ? undefined : table.get(defaultsId);
  if (!defaults) return;
  for (const [from, to] of DEFAULT_FIELDS) {
    if (isSet(row[to]) || !isSet(defaults[from])) continue;
    row[to] = defaults[from];
    supplied.add(to);
  }
}

/** A create must carry every field its category makes required (after the defaults). */
export function checkCategoryRequired(tenant: Tenant, row: Row): void {
  const category = row["ticketCategory"];
  if (!isSet(category)) return;
  const required = tenant.ticketCategoryRules[String(category)] ?? [];
  const name = String(tenant.table("TicketCategories").get(category as number)?.["name"] ?? category);
  const missing = required.filter((f) => !isSet(row[f]));
  if (missing.length > 0)
    throw new ApiError(500, ...missing.map((f) => `${f} is required for ticket category "${name}".`));
}

/** `billingCodeID` must be an active billing code of the work-type kind. */
export function checkWorkType(tenant: Tenant, row: Row, before: Row | null): void {
  const v = row["billingCodeID"];
  if (!isSet(v) || (before && before["billingCodeID"] === v)) return;
  const code = tenant.table("BillingCodes").get(v as number);
  if (!code) return; // the reference check answers for a code that does not exist
  if (code["useType"] !== WORK_TYPE_USE_TYPE || code["isActive"] === false)
    throw invalid(`billingCodeID ${String(v)} is not an active work type.`);
}
