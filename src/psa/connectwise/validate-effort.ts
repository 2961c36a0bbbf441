/**
 * The time-entry defaults of Setup, checked against the tenant (docs/connectwise.md, Time entries):
 * the default NOC member is an active member, its work role (chosen, or the member's default) an
 * active work role, the default work type an active work type. Nothing is checked while no default
 * member is chosen. Fixes use ConnectWise's own menu words.
 */
import type { Check } from "../connector.js";
import { isPsaError } from "../errors.js";
import type { ConnectWiseApi } from "./api.js";
import { int } from "./query.js";
import type { ConnectWiseSettings } from "./settings.js";

const MEMBERS = "System > Members";
const SETUP = "System > Setup Tables";

interface Named {
  id: number;
  name?: string;
  identifier?: string;
  inactiveFlag?: boolean;
  workRole?: { id: number } | null;
}

const why = (e: unknown) =>
  isPsaError(e)
    ? `ConnectWise answered ${e.status ?? e.code}${e.errors.length ? `: ${e.errors.join(" ")}` : ""}`
    : String(e);

export async function checkEffortConnectWise(api: ConnectWiseApi, s: ConnectWiseSettings): Promise<Check[]> {
  if (s.effortResourceId === null) return [];
  const checks: Check[] = [];
  const memberId = s.effortResourceId;
  let member: Named | null;
  try {
    member = await api.get<Named>(`system/members/${int(memberId)}`);
  } catch (e) {
    return [
      {
        name: "effort-resource",
        ok: false,
        message: `Could not read the default NOC member ${memberId}: ${why(e)}`,
        fix: `The API member's security role needs System > Member Maintenance: Inquire Level All.`,
      },
    ];
  }
  const who = member ? `"${member.name ?? member.identifier ?? memberId}" (${memberId})` : String(memberId);
  if (!member || member.inactiveFlag === true) {
    checks.push({
      name: "effort-resource",
      ok: false,
      message: member
        ? `The default NOC member ${who} is inactive; ConnectWise refuses time entered for it.`
        : `The default NOC member ${memberId} does not exist in ConnectWise.`,
      fix: `Choose an active member as the default NOC member, or clear Inactive on it under ${MEMBERS}.`,
    });
    return checks;
  }
  checks.push({ name: "effort-resource", ok: true, message: `Default NOC member ${who} is active.` });

  /** An active record of a time setup table. */
  const active = async (name: string, what: string, path: string, id: number, fix: string): Promise<void> => {
    try {
      const r = await api.get<Named>(`${path}/${int(id)}`);
      const label = r ? `"${r.name ?? id}" (${id})` : String(id);
      checks.push(
        r && r.inactiveFlag !== true
          ? { name, ok: true, message: `${what} ${label} is active.` }
          : {
              name,
              ok: false,
              message: r ? `${what} ${label} is inactive.` : `${what} ${id} does not exist in ConnectWise.`,
              fix,
            },
      );
    } catch (e) {
      checks.push({ name, ok: false, message: `Could not read ${what.toLowerCase()} ${id}: ${why(e)}`, fix });
    }
  };

  const roleId = s.effortWorkRoleId ?? member.workRole?.id ?? null;
  const roleFix = `Choose an active work role in Setup, or set the member's default Work Role under ${MEMBERS} > the member (work roles: ${SETUP} > Work Role).`;
  if (roleId === null)
    checks.push({
      name: "effort-role",
      ok: false,
      message: `The default NOC member ${who} has no default work role and Setup names none.`,
      fix: roleFix,
    });
  else await active("effort-role", "Work role", "time/workRoles", roleId, roleFix);

  if (s.effortWorkTypeId !== null)
    await active(
      "effort-work-type",
      "Work type",
      "time/workTypes",
      s.effortWorkTypeId,
      `Choose an active work type, or clear Inactive on it under ${SETUP} > Work Type.`,
    );
  return checks;
}
