/**
 * Live pick-lists of a ConnectWise tenant for the settings form and the mapping tables
 * (docs/connectwise.md, Setup tables). Statuses, types, subtypes and items belong to a service
 * board: each carries its board as `parentId` (the form filters by the chosen board) and statuses
 * also as `scope` (mapping rows of statuses are per board).
 */
import type { PsaOption, PsaOptions } from "../connector.js";
import { isPsaError } from "../errors.js";
import type { ConnectWiseApi } from "./api.js";
import { int } from "./query.js";
import type { ConnectWiseSettings } from "./settings.js";

interface Named {
  id: number;
  name?: string;
  description?: string;
  identifier?: string;
  inactiveFlag?: boolean;
  inactive?: boolean;
  deletedFlag?: boolean;
  sort?: number;
  sortOrder?: number;
}

const label = (r: Named) => r.name ?? r.description ?? String(r.id);
const active = (r: Named) => r.inactiveFlag !== true && r.inactive !== true && r.deletedFlag !== true;

/** A list that a tenant (or an older release) may not offer reads as empty. */
async function optional<T>(read: () => Promise<T[]>): Promise<T[]> {
  try {
    return await read();
  } catch (e) {
    if (isPsaError(e) && e.code === "NOT_FOUND") return [];
    throw e;
  }
}

/** The statuses of the partner's board (scoped to it) and the priorities: two reads. */
export async function connectwiseTicketValues(
  api: ConnectWiseApi,
  s: ConnectWiseSettings,
): Promise<Pick<PsaOptions, "statuses" | "priorities">> {
  const board = s.boardId;
  const [statuses, priorities] = await Promise.all([
    board === null
      ? Promise.resolve([] as Named[])
      : api.all<Named>(`service/boards/${int(board)}/statuses`, {
          fields: ["name", "inactive", "sortOrder"],
        }),
    api.all<Named>("service/priorities", { fields: ["name", "sort"] }),
  ]);
  return {
    statuses: statuses.map((r) => ({
      id: r.id,
      label: label(r),
      isActive: active(r),
      parentId: board,
      scope: board,
    })),
    priorities: [...priorities]
      .sort((a, b) => (a.sort ?? 0) - (b.sort ?? 0) || a.id - b.id)
      .map((r) => ({ id: r.id, label: label(r), isActive: active(r) })),
  };
}

export async function connectwiseOptions(api: ConnectWiseApi, s: ConnectWiseSettings): Promise<PsaOptions> {
  const list = (path: string, fields: string[], orderBy?: string) =>
    api.all<Named>(path, { fields, orderBy });
  const boards = await list("service/boards", ["name", "inactiveFlag"]);
  const wanted = boards.filter((b) => active(b) || b.id === s.boardId);
  const perBoard = async (child: string, fields: string[], withScope: boolean): Promise<PsaOption[]> => {
    const lists = await Promise.all(
      wanted.map(async (b) =>
        (await optional(() => list(`service/boards/${int(b.id)}/${child}`, fields))).map(
          (r): PsaOption => ({
            id: r.id,
            label: label(r),
            isActive: active(r),
            parentId: b.id,
            ...(withScope ? { scope: b.id } : {}),
          }),
        ),
      ),
    );
    return lists.flat();
  };
  const plain = (rows: Named[], show: (r: Named) => string = label): PsaOption[] =>
    rows.map((r) => ({ id: r.id, label: show(r), isActive: active(r) }));
  const [
    statuses,
    types,
    subTypes,
    items,
    priorities,
    sources,
    locations,
    configurationTypes,
    configurationStatuses,
    companies,
    members,
    workRoles,
    workTypes,
  ] = await Promise.all([
    perBoard("statuses", ["name", "inactive", "sortOrder"], true),
    perBoard("types", ["name", "inactiveFlag"], false),
    perBoard("subtypes", ["name", "inactiveFlag"], false),
    perBoard("items", ["name", "inactiveFlag"], false),
    list("service/priorities", ["name", "sort"]),
    list("service/sources", ["name"]),
    optional(() => list("service/locations", ["name"])),
    list("company/configurations/types", ["name", "inactiveFlag"]),
    list("company/configurations/statuses", ["description"]),
    list("company/companies", ["identifier", "name", "deletedFlag"]),
    optional(() => list("system/members", ["identifier", "name", "inactiveFlag"])),
    optional(() => list("time/workRoles", ["name", "inactiveFlag"])),
    optional(() => list("time/workTypes", ["name", "inactiveFlag"])),
  ]);
  return {
    boards: plain(boards),
    statuses,
    priorities: plain([...priorities].sort((a, b) => (a.sort ?? 0) - (b.sort ?? 0) || a.id - b.id)),
    types,
    subTypes,
    items,
    sources: plain(sources),
    locations: plain(locations),
    configurationTypes: plain(configurationTypes),
    configurationStatuses: plain(configurationStatuses),
    companies: plain(companies, (c) => (c.identifier ? `${label(c)} (${c.identifier})` : label(c))),
    members: plain(members, (m) => (m.identifier ? `${label(m)} (${m.identifier})` : label(m))),
    workRoles: plain(workRoles),
    workTypes: plain(workTypes),
  };
}
