/**
 * The checks Autotask makes on a ticket time entry beyond its fields' own (docs/emulator.md, "Time
 * entries"): the role must be one of the resource's active service-desk roles, and the billing code a
 * ticket entry carries must be an active work type.
 */
import { invalid, type Tenant } from "./store.js";
import { checkWorkType } from "./ticket-rules.js";

type Row = Record<string, unknown>;

const isSet = (v: unknown) => v !== null && v !== undefined;

/**
 * The answer Autotask gives for a roleID the resource does not hold, as integrations quote it
 * (https://github.com/WYRE-AI/autotask-mcp/pull/298).
 */
export const ROLE_INVALID = "Role does not exist or is invalid";

export function checkTimeEntry(tenant: Tenant, row: Row, before: Row | null): void {
  const roleChanged =
    !before || before["roleID"] !== row["roleID"] || before["resourceID"] !== row["resourceID"];
  if (isSet(row["ticketID"]) && roleChanged) {
    const resourceId = row["resourceID"] as number;
    const roleId = row["roleID"] as number;
    const table = tenant.table("ResourceServiceDeskRoles");
    const held = table
      .lookup("resourceID", resourceId)
      .map((id) => table.get(id))
      .some((r) => r !== undefined && r["roleID"] === roleId && r["isActive"] !== false);
    if (!held) throw invalid(`${ROLE_INVALID}: roleID ${roleId} is not a role of resource ${resourceId}.`);
  }
  checkWorkType(tenant, row, before);
}

/**
 * An entry that went through billing approval cannot be deleted (docs/emulator.md, Time entries; the
 * text is unconfirmed). Tests mark an entry approved by re-inserting it with
 * `billingApprovalLevelMostRecent` set (admin rows).
 */
export function checkTimeEntryDelete(row: Row): void {
  if (Number(row["billingApprovalLevelMostRecent"] ?? 0) > 0)
    throw invalid(`Time entry ${String(row["id"])} has been approved and cannot be deleted.`);
}
