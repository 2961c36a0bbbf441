/**
 * The Validate checklist against a live ConnectWise tenant, in the order a partner admin fixes
 * things: the credentials first, then what asset sync needs (configuration type and statuses, the
 * custom fields of advanced mode, the clients' companies) and what ticket sync needs (the service
 * board, its statuses, the ticket defaults, the mapped statuses and priorities), and the API
 * member's permissions as far as reads can show them. Each fix is said in ConnectWise's own menu
 * words (docs/connectwise.md, Validate).
 */
import { clientsToCheck, unmappedMessage } from "../companies.js";
import type { Check, ValidateInput, ValidationResult } from "../connector.js";
import { isPsaError } from "../errors.js";
import type { ConnectWiseApi } from "./api.js";
import { type ConnectWiseCache, learnDefs } from "./cache.js";
import { CUSTOM_FIELDS } from "./mapper.js";
import { inList, int } from "./query.js";
import type { ConnectWiseSettings } from "./settings.js";
import type { CwConfiguration } from "./types.js";
import { checkEffortConnectWise } from "./validate-effort.js";

const SETUP = "System > Setup Tables";
const ROLES = "System > Security Roles > the API member's security role";
const KEYS = "System > Members > API Members > the API member > API Keys";

interface Rec {
  id: number;
  name?: string;
  description?: string;
  identifier?: string;
  inactiveFlag?: boolean;
  inactive?: boolean;
  deletedFlag?: boolean;
}

const why = (e: unknown) =>
  isPsaError(e)
    ? `ConnectWise answered ${e.status ?? e.code}${e.errors.length ? `: ${e.errors.join(" ")}` : ""}`
    : String(e);
const forbidden = (e: unknown) => isPsaError(e) && e.status === 403;

export async function validateConnectWise(
  api: ConnectWiseApi,
  s: ConnectWiseSettings,
  cache: ConnectWiseCache,
  input: ValidateInput,
): Promise<ValidationResult> {
  const checks: Check[] = [];
  const wantAssets = input.devicesEnabled || input.scope === "assets";
  const wantTickets = input.scope === "all" && input.ticketingEnabled;

  try {
    await api.count("service/boards");
    const [origin] = await api.trustedOrigins();
    checks.push({
      name: "credentials",
      ok: true,
      message: `Connected to ConnectWise at ${origin} as company ${s.companyId}.`,
    });
  } catch (e) {
    checks.push({
      name: "credentials",
      ok: false,
      message: `ConnectWise did not accept the API member: ${(e as Error).message}`,
      fix: `Check the site, the company id and the API member's public and private key (${KEYS}), and the integration's clientId (developer.connectwise.com).`,
    });
    return { ok: false, checks };
  }

  /** A record of a setup table: exists and is active. */
  const record = async (
    name: string,
    what: string,
    path: string,
    id: number | null,
    fix: string,
  ): Promise<Rec | null> => {
    if (id === null) {
      checks.push({ name, ok: false, message: `${what} is not set.`, fix });
      return null;
    }
    try {
      const r = await api.get<Rec>(`${path}/${int(id)}`);
      const label = r ? `"${r.name ?? r.description ?? id}" (${id})` : `${id}`;
      const inactive = r && (r.inactiveFlag === true || r.inactive === true);
      checks.push(
        r && !inactive
          ? { name, ok: true, message: `${what} ${label} exists and is active.` }
          : {
              name,
              ok: false,
              message: r ? `${what} ${label} is inactive.` : `${what} ${id} does not exist in ConnectWise.`,
              fix,
            },
      );
      return r && !inactive ? r : null;
    } catch (e) {
      checks.push({ name, ok: false, message: `Could not read ${what.toLowerCase()} ${id}: ${why(e)}`, fix });
      return null;
    }
  };

  /** A read that only a security role can refuse. */
  const permission = async (name: string, read: () => Promise<unknown>, what: string, fix: string) => {
    try {
      await read();
      checks.push({ name, ok: true, message: `The API member may read ${what}.` });
    } catch (e) {
      checks.push({
        name,
        ok: false,
        message: forbidden(e)
          ? `The API member's security role does not allow reading ${what}.`
          : `Could not read ${what}: ${why(e)}`,
        fix,
      });
    }
  };

  if (wantAssets) {
    await record(
      "configuration-type",
      "Configuration type",
      "company/configurations/types",
      s.configurationTypeId,
      `Create a configuration type (e.g. "Managed Device") under ${SETUP} > Configuration, keep it active, and choose it as the Configuration type.`,
    );
    for (const [key, id, kind] of [
      ["active", s.activeStatusId, "managed devices"],
      ["inactive", s.inactiveStatusId, "discovered and unmanaged devices"],
    ] as const) {
      await record(
        `configuration-status:${key}`,
        `Configuration status of ${kind}`,
        "company/configurations/statuses",
        id,
        `Create the configuration status (e.g. "${key === "active" ? "Active" : "Inactive"}") under ${SETUP} > Configuration Status and choose it here.`,
      );
    }
    await permission(
      "permission:configurations",
      () => api.count("company/configurations"),
      "configurations",
      `${ROLES} > Companies > Configurations: set Add, Edit and Inquire Level to All.`,
    );
    if (input.advanced) await customFieldChecks(api, cache, checks);
  }
  const clients = clientsToCheck(input, { assets: wantAssets, tickets: wantTickets });
  if (clients.length > 0) await companyChecks(api, clients, checks);

  if (wantTickets) {
    const board = await record(
      "board",
      "Service board",
      "service/boards",
      s.boardId,
      `Create the service board "NOC" under ${SETUP} > Service Board and choose it as the Service board.`,
    );
    if (board) await ticketChecks(api, s, board, input, checks);
    await permission(
      "permission:tickets",
      () => api.count("service/tickets", s.boardId === null ? undefined : `board/id = ${int(s.boardId)}`),
      "service tickets",
      `${ROLES} > Service Desk > Service Tickets: set Add, Edit and Inquire Level to All (and Close Service Tickets: Edit All).`,
    );
    checks.push(...(await checkEffortConnectWise(api, s)));
  }
  return { ok: checks.every((c) => c.ok), checks };
}

async function customFieldChecks(
  api: ConnectWiseApi,
  cache: ConnectWiseCache,
  checks: Check[],
): Promise<void> {
  const where = `${SETUP} > Custom Fields (called User Defined Fields in older releases), screen Configuration`;
  let failed: string | null = null;
  try {
    const [any] = await api.all<CwConfiguration>("company/configurations", {
      fields: ["customFields"],
      pageSize: 1,
      limit: 1,
    });
    learnDefs(cache, any?.customFields);
  } catch (e) {
    failed = why(e);
  }
  const defs = cache.customFieldDefs;
  if (failed === null && defs === null) {
    // ConnectWise lists a screen's custom fields on its records: with no configuration yet there is no list to read.
    checks.push({
      name: "custom-fields",
      ok: true,
      warning: true,
      message:
        "No configuration exists yet, so the configuration custom fields cannot be read; the first asset sync checks them and names any that is missing.",
      fix: `Make sure the ${CUSTOM_FIELDS.length} Text custom fields exist under ${where}: ${CUSTOM_FIELDS.map(([c]) => `"${c}"`).join(", ")}.`,
    });
    return;
  }
  for (const [caption] of CUSTOM_FIELDS) {
    const ok = failed === null && defs?.has(caption.toLowerCase()) === true;
    checks.push({
      name: `custom-field:${caption}`,
      ok,
      message: ok
        ? `Custom field "${caption}" exists on configurations.`
        : failed
          ? `Could not read the configuration custom fields: ${failed}`
          : `Custom field "${caption}" is missing on configurations (needed for advanced device integration).`,
      ...(ok
        ? {}
        : {
            fix: `Create the custom field "${caption}", type Text, under ${where}, or turn advanced device integration off.`,
          }),
    });
  }
}

/**
 * Every client with devices or tickets maps to an existing company; those without one are listed in
 * one check, with a suggestion by exact name.
 */
async function companyChecks(
  api: ConnectWiseApi,
  clients: ValidateInput["clients"],
  checks: Check[],
): Promise<void> {
  const ids = [...new Set(clients.flatMap((c) => (c.psaCompanyId === null ? [] : [c.psaCompanyId])))];
  const unmapped = clients.filter((c) => c.psaCompanyId === null);
  let companies: Rec[] = [];
  let all: Rec[] | null = null;
  try {
    if (ids.length > 0)
      companies = await api.all<Rec>("company/companies", {
        conditions: inList("id", ids),
        fields: ["name", "identifier", "deletedFlag"],
      });
    if (unmapped.length > 0)
      all = await api.all<Rec>("company/companies", { fields: ["name", "identifier", "deletedFlag"] });
  } catch (e) {
    checks.push({
      name: "companies",
      ok: false,
      message: `Could not read the ConnectWise companies: ${why(e)}`,
    });
    return;
  }
  if (unmapped.length > 0) {
    const fixes = unmapped.map((c) => {
      const match = all?.find(
        (x) => x.name?.toLowerCase() === c.name.toLowerCase() && x.deletedFlag !== true,
      );
      return match
        ? `Map client ${c.code} to the ConnectWise company "${match.name}" (id ${match.id}), which has the same name.`
        : `Create the company "${c.name}" in ConnectWise (Companies > Companies > +) or map client ${c.code} to an existing company (Setup → Clients, or Auto-match by name).`;
    });
    checks.push({
      name: "companies:unmapped",
      ok: false,
      message: unmappedMessage(unmapped),
      fix: fixes.join(" "),
    });
  }
  for (const c of clients) {
    if (c.psaCompanyId === null) continue;
    const name = `company:${c.code}`;
    const co = companies.find((x) => x.id === c.psaCompanyId);
    checks.push(
      !co
        ? {
            name,
            ok: false,
            message: `Client ${c.code} is mapped to company ${c.psaCompanyId}, which does not exist in ConnectWise.`,
            fix: `Map client ${c.code} to an existing ConnectWise company id.`,
          }
        : co.deletedFlag === true
          ? {
              name,
              ok: false,
              message: `Client ${c.code} is mapped to company "${co.name}" (${co.id}), which is deleted.`,
              fix: `Map client ${c.code} to an active ConnectWise company.`,
            }
          : { name, ok: true, message: `Client ${c.code} is mapped to company "${co.name}" (${co.id}).` },
    );
  }
}

async function ticketChecks(
  api: ConnectWiseApi,
  s: ConnectWiseSettings,
  board: Rec,
  input: ValidateInput,
  checks: Check[],
): Promise<void> {
  const where = `${SETUP} > Service Board > "${board.name ?? board.id}"`;
  const onBoard = async (child: string): Promise<Rec[] | null> => {
    try {
      return await api.all<Rec>(`service/boards/${int(board.id)}/${child}`, {
        fields: ["name", "inactive", "inactiveFlag"],
      });
    } catch (e) {
      checks.push({
        name: `board:${child}`,
        ok: false,
        message: `Could not read the board's ${child}: ${why(e)}`,
      });
      return null;
    }
  };
  const isActive = (r: Rec) => r.inactive !== true && r.inactiveFlag !== true;
  const statuses = await onBoard("statuses");
  const inList_ = (
    name: string,
    what: string,
    rows: Rec[] | null,
    id: number | null,
    tab: string,
    required: boolean,
  ) => {
    if (rows === null) return;
    if (id === null) {
      if (required)
        checks.push({
          name,
          ok: false,
          message: `${what} is not set.`,
          fix: `Choose a ${what.toLowerCase()} of the board here.`,
        });
      return;
    }
    const r = rows.find((x) => x.id === id);
    checks.push(
      r && isActive(r)
        ? { name, ok: true, message: `${what} "${r.name}" (${id}) is on board "${board.name}".` }
        : {
            name,
            ok: false,
            message: r
              ? `${what} "${r.name}" (${id}) is inactive.`
              : `${what} ${id} is not on board "${board.name}".`,
            fix: `Add or activate it under ${where} > ${tab}, or choose another here.`,
          },
    );
  };
  inList_("default-status", "Default status", statuses, s.defaultStatusId, "Statuses", true);
  if (s.typeId !== null) inList_("type", "Type", await onBoard("types"), s.typeId, "Types", false);
  if (s.subTypeId !== null)
    inList_("subtype", "Subtype", await onBoard("subtypes"), s.subTypeId, "Subtypes", false);
  if (s.itemId !== null) inList_("item", "Item", await onBoard("items"), s.itemId, "Items", false);
  if (statuses) {
    const seen = new Set<number>();
    for (const m of input.mappings.statuses) {
      if (seen.has(m.psaId)) continue;
      seen.add(m.psaId);
      const r = statuses.find((x) => x.id === m.psaId);
      checks.push(
        r && isActive(r)
          ? {
              name: `status:${m.psaId}`,
              ok: true,
              message: `Status "${r.name}" (${m.psaId}) is on board "${board.name}".`,
            }
          : {
              name: `status:${m.psaId}`,
              ok: false,
              message: r
                ? `Status "${r.name}" (${m.psaId}) used by the mapping tables is inactive.`
                : `Status ${m.psaId} ("${m.psaLabel || m.psaId}") used by the mapping tables is not on board "${board.name}".`,
              fix: `Create the status "${m.psaLabel || "…"}" under ${where} > Statuses, or change the mapping row.`,
            },
      );
    }
  }
  let priorities: Rec[] | null = null;
  try {
    priorities = await api.all<Rec>("service/priorities", { fields: ["name"] });
  } catch (e) {
    checks.push({ name: "priorities", ok: false, message: `Could not read the priorities: ${why(e)}` });
  }
  for (const p of input.mappings.priorities) {
    if (!priorities) break;
    const r = priorities.find((x) => x.id === p.psaId);
    checks.push(
      r
        ? { name: `priority:${p.psaId}`, ok: true, message: `Priority "${r.name}" (${p.psaId}) exists.` }
        : {
            name: `priority:${p.psaId}`,
            ok: false,
            message: `Priority ${p.psaId} ("${p.psaLabel}") used by the priority mapping does not exist in ConnectWise.`,
            fix: `Create it under ${SETUP} > Priority, or change the priority mapping row.`,
          },
    );
  }
  for (const [n, text] of input.refusals.entries()) {
    checks.push({
      name: `refusal:${n + 1}`,
      ok: false,
      message: `ConnectWise refused a ticket: ${text}`,
      fix: `Give the field it names a default on the board (${where}) or under Setup > Ticket defaults here.`,
    });
  }
  const cov = input.mappings.coverage;
  if (cov?.portalStatuses) {
    const fwd = new Set(cov.forwardPortalIds);
    const gaps = cov.portalStatuses.filter((x) => !fwd.has(x.id)).map((x) => `"${x.name}" (${x.id})`);
    checks.push(
      coverage(
        "coverage:portal-statuses",
        gaps,
        "portal status",
        "Add forward status rows for them under Mappings; until then a ticket in such a status keeps its ConnectWise status (with a warning on the ticket).",
      ),
    );
  }
  if (cov && statuses) {
    const rev = new Set(cov.reversePsaIds);
    const gaps = statuses.filter((x) => isActive(x) && !rev.has(x.id)).map((x) => `"${x.name}" (${x.id})`);
    checks.push(
      coverage(
        "coverage:connectwise-statuses",
        gaps,
        `status of board "${board.name}"`,
        "Add reverse status rows for them under Mappings; a ticket put into such a status is parked until then.",
      ),
    );
  }
  if (cov && priorities) {
    const pri = new Set(cov.priorityPsaIds);
    const gaps = priorities.filter((x) => !pri.has(x.id)).map((x) => `"${x.name}" (${x.id})`);
    checks.push(
      coverage(
        "coverage:connectwise-priorities",
        gaps,
        "ConnectWise priority",
        "Add priority rows for them under Mappings; a ticket given such a priority is parked until then.",
      ),
    );
  }
}

function coverage(name: string, gaps: string[], what: string, fix: string): Check {
  return gaps.length === 0
    ? { name, ok: true, message: `Every ${what} has a mapping row.` }
    : { name, ok: true, warning: true, message: `No mapping row covers ${what} ${gaps.join(", ")}.`, fix };
}
