import type { Check } from "../connector.js";
import { type AutotaskApi, queryAll } from "./api.js";
import { WORK_TYPE_USE_TYPE } from "./options.js";
import type { AutotaskSettings } from "./settings.js";
import type { AutotaskEntity } from "./types.js";

const ADMIN_RESOURCES = "Admin → Account Settings & Users → Resources/Users (HR)";

/**
 * The time-entry defaults of Setup (docs/emulator.md, Time entries): the default NOC resource is an
 * active resource, its role one of its active service-desk roles, the default work type an active
 * work type. Nothing is checked while no default resource is chosen.
 */
export async function checkEffort(api: AutotaskApi, t: AutotaskSettings): Promise<Check[]> {
  if (t.effortResourceId === null) return [];
  const checks: Check[] = [];
  const resourceId = t.effortResourceId;
  try {
    const res = await api.get<AutotaskEntity>("Resources", resourceId);
    const who = res
      ? `"${[res["firstName"], res["lastName"]].filter(Boolean).join(" ")}" (${resourceId})`
      : "";
    if (!res || res["isActive"] === false) {
      checks.push({
        name: "effort-resource",
        ok: false,
        message: res
          ? `The default NOC resource ${who} is inactive.`
          : `The default NOC resource ${resourceId} does not exist in Autotask.`,
        fix: `Choose an active resource as the default NOC resource, or activate it under ${ADMIN_RESOURCES}.`,
      });
      return checks;
    }
    checks.push({ name: "effort-resource", ok: true, message: `Default NOC resource ${who} is active.` });
    const held = await queryAll<AutotaskEntity>(api, "ResourceServiceDeskRoles", {
      filter: [{ op: "eq", field: "resourceID", value: resourceId }],
    });
    const active = held.filter((r) => r["isActive"] !== false);
    const roleId =
      t.effortRoleId ??
      (typeof res["defaultServiceDeskRoleID"] === "number"
        ? res["defaultServiceDeskRoleID"]
        : Number(active.find((r) => r["isDefault"] === true)?.["roleID"] ?? Number.NaN));
    const ok = active.some((r) => r["roleID"] === roleId);
    checks.push(
      ok
        ? {
            name: "effort-role",
            ok: true,
            message: `Role ${roleId} is one of the resource's service-desk roles.`,
          }
        : {
            name: "effort-role",
            ok: false,
            message: Number.isNaN(roleId)
              ? `The default NOC resource ${who} has no default service-desk role and Setup names none.`
              : `Role ${roleId} is not an active service-desk role of the default NOC resource ${who}; Autotask refuses its time entries.`,
            fix: `Give the resource the role under ${ADMIN_RESOURCES} → Service Desk Roles, or choose one of its roles in Setup.`,
          },
    );
  } catch (e) {
    checks.push({
      name: "effort-resource",
      ok: false,
      message: `Could not read the default NOC resource ${resourceId}: ${(e as Error).message}`,
    });
    return checks;
  }
  if (t.effortWorkTypeId !== null) {
    const name = "effort-work-type";
    const fix =
      "Choose an active work type (Admin → Finance, Accounting & Invoicing → Billing Codes → Work Types).";
    try {
      const rec = await api.get<AutotaskEntity>("BillingCodes", t.effortWorkTypeId);
      const ok = rec !== null && rec.isActive !== false && Number(rec["useType"]) === WORK_TYPE_USE_TYPE;
      checks.push(
        ok
          ? {
              name,
              ok,
              message: `Default work type "${String(rec?.["name"])}" (${t.effortWorkTypeId}) is active.`,
            }
          : {
              name,
              ok,
              message: `The default work type of time entries (${t.effortWorkTypeId}) ${rec ? "is not an active work type" : "does not exist in Autotask"}.`,
              fix,
            },
      );
    } catch (e) {
      checks.push({
        name,
        ok: false,
        message: `Could not read billing code ${t.effortWorkTypeId}: ${(e as Error).message}`,
        fix,
      });
    }
  }
  return checks;
}
