import type { PsaOption, PsaOptions } from "../connector.js";
import { type AutotaskApi, queryAll } from "./api.js";
import type { AutotaskEntity } from "./types.js";

/** BillingCodes useType of a work type (the Work Types tab of Billing Codes). */
export const WORK_TYPE_USE_TYPE = 1;

/** Ticket statuses and priorities: one read of the Tickets field list. */
export async function autotaskTicketValues(
  api: AutotaskApi,
): Promise<Pick<PsaOptions, "statuses" | "priorities">> {
  const fields = await api.fieldInfo("Tickets");
  const pick = (name: string): PsaOption[] =>
    (fields.find((f) => f.name.toLowerCase() === name)?.picklistValues ?? []).map((v) => ({
      id: Number(v.value),
      label: v.label,
      isActive: v.isActive,
    }));
  return { statuses: pick("status"), priorities: pick("priority") };
}

/**
 * The live Autotask values the settings form and the mapping tables offer as pick-lists: queues,
 * ticket statuses and priorities, billing codes (work types only), the ticket defaults' pick-lists,
 * products and configuration item types.
 */
export async function autotaskOptions(api: AutotaskApi): Promise<PsaOptions> {
  const fields = await api.fieldInfo("Tickets");
  const pick = (name: string): PsaOption[] =>
    (fields.find((f) => f.name.toLowerCase() === name)?.picklistValues ?? []).map((v) => ({
      id: Number(v.value),
      label: v.label,
      isActive: v.isActive,
    }));
  const rows = async (entity: string, label: string, keep = (_r: AutotaskEntity) => true) =>
    (
      await queryAll<AutotaskEntity>(api, entity, {
        filter: [{ op: "gte", field: "id", value: 0 }],
        includeFields: ["id", label, "isActive", ...(entity === "BillingCodes" ? ["useType"] : [])],
      })
    )
      .filter(keep)
      .map((r) => ({
        id: r.id,
        label: String(r[label] ?? r.id),
        isActive: r.isActive !== false,
      }));
  // Sub-issue types carry their issue type, so the form can offer only the chosen one's.
  const subIssueTypes = (
    fields.find((f) => f.name.toLowerCase() === "subissuetype")?.picklistValues ?? []
  ).map((v) => ({
    id: Number(v.value),
    label: v.label,
    isActive: v.isActive,
    parentId: v.parentValue ? Number(v.parentValue) : null,
  }));
  return {
    queues: pick("queueid"),
    statuses: pick("status"),
    priorities: pick("priority"),
    // Only work types can be a ticket's billing code.
    billingCodes: await rows("BillingCodes", "name", (r) => Number(r["useType"]) === WORK_TYPE_USE_TYPE),
    ticketCategories: pick("ticketcategory"),
    ticketTypes: pick("tickettype"),
    issueTypes: pick("issuetype"),
    subIssueTypes,
    sources: pick("source"),
    products: await rows("Products", "name"),
    configurationItemTypes: await rows("ConfigurationItemTypes", "name"),
    // Time entries: the default NOC resource and its role (docs/emulator.md, Time entries).
    roles: await rows("Roles", "name"),
    resources: (
      await queryAll<AutotaskEntity>(api, "Resources", {
        filter: [{ op: "gte", field: "id", value: 0 }],
        includeFields: ["id", "firstName", "lastName", "isActive"],
      })
    ).map((r) => ({
      id: r.id,
      label: [r["firstName"], r["lastName"]].filter(Boolean).join(" ") || String(r.id),
      isActive: r.isActive !== false,
    })),
  };
}
