/**
 * Writes of records: validation of a POST/PUT body or of a record after PATCH operations against the
 * resource's fields (kinds, lengths, required fields, references resolved by id or natural key,
 * custom fields), the rules between fields (a ticket's status belongs to its board, closed statuses
 * close the ticket), and the maintained `_info` stamps. Every error of one body is reported at once.
 */
import { fieldError, invalidObject, type ValidationError } from "./errors.js";
import type { FieldSpec, ResourceDef } from "./schema.js";
import { type Rec, stamp, type Tenant } from "./store.js";

type Body = Record<string, unknown>;

export interface WriteContext {
  tenant: Tenant;
  member: Rec;
  now: Date;
}

/** The API turns \r and \n into single spaces and drops \b and \f (not supported in JSON strings). */
const clean = (s: string) => s.replace(/\r\n|\r|\n/g, " ").replace(/[\b\f]/g, "");

function isObj(v: unknown): v is Body {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isoOk(v: string): boolean {
  return (
    /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) &&
    Number.isFinite(Date.parse(v))
  );
}

/** Resolves a reference by id or a natural key; pushes an error and returns undefined when it fails. */
function resolveRef(
  t: Tenant,
  spec: Extract<FieldSpec, { k: "ref" }>,
  v: Body,
  err: (code: string, msg: string) => void,
  field: string,
): Body | undefined {
  let target: Rec | undefined;
  if (v["id"] !== undefined && v["id"] !== null) {
    if (typeof v["id"] !== "number" || !Number.isInteger(v["id"])) {
      err("InvalidField", `The ${field} id must be an integer.`);
      return undefined;
    }
    target = t.get(spec.table, v["id"]);
  } else {
    const key = (spec.lookup ?? []).find((k) => typeof v[k] === "string");
    if (!key) {
      err(
        "InvalidField",
        `The ${field} reference needs an id${spec.lookup?.length ? ` or ${spec.lookup.join("/")}` : ""}.`,
      );
      return undefined;
    }
    const want = (v[key] as string).toLowerCase();
    const src = spec.copy[key] ?? key;
    target = t
      .rows(spec.table)
      .find((r) => typeof r[src] === "string" && (r[src] as string).toLowerCase() === want);
  }
  if (!target) {
    err("InvalidField", `The ${field} reference is not valid.`);
    return undefined;
  }
  return refOf(target, spec.copy);
}

export function refOf(target: Rec, copy: Record<string, string>): Body {
  const out: Body = { id: target.id };
  for (const [k, src] of Object.entries(copy)) out[k] = target[src] ?? null;
  return out;
}

function customFields(
  ctx: WriteContext,
  def: ResourceDef,
  v: unknown,
  err: (c: string, m: string) => void,
): unknown {
  const defs = ctx.tenant.customFields.filter((c) => c.entity === def.customFields);
  if (v === null || v === undefined) return defs.map((d) => ({ ...d, entity: undefined, value: null }));
  if (!Array.isArray(v)) {
    err("InvalidField", "customFields must be an array.");
    return undefined;
  }
  const values = new Map<number, unknown>();
  for (const item of v) {
    const d = isObj(item) ? defs.find((x) => x.id === item["id"]) : undefined;
    if (!d || !isObj(item)) {
      err(
        "InvalidField",
        `Unknown custom field ${isObj(item) ? JSON.stringify(item["id"]) : "(not an object)"}.`,
      );
      continue;
    }
    const val = item["value"];
    const okType =
      val === null ||
      val === undefined ||
      (d.type === "Checkbox"
        ? typeof val === "boolean"
        : ["Number", "Currency", "Percent"].includes(d.type)
          ? typeof val === "number"
          : d.type === "Date"
            ? typeof val === "string" && isoOk(val)
            : typeof val === "string");
    if (!okType) err("InvalidField", `Custom field ${d.caption} (${d.type}) has a value of the wrong type.`);
    else values.set(d.id, typeof val === "string" ? clean(val) : (val ?? null));
  }
  return defs.map((d) => ({
    id: d.id,
    caption: d.caption,
    type: d.type,
    entryMethod: d.entryMethod,
    numberOfDecimals: d.numberOfDecimals,
    value: values.get(d.id) ?? null,
  }));
}

/**
 * Validates `body` as the full writable content of a record (POST, PUT, or the record after PATCH)
 * and returns the stored record (without `_info` stamps). Unknown fields are ignored, as the API
 * does with JSON it does not map; read-only fields keep `base`'s values.
 */
export function buildRecord(
  ctx: WriteContext,
  def: ResourceDef,
  body: Body,
  base: Rec | undefined,
  id: number,
): Rec {
  const errors: ValidationError[] = [];
  const out: Rec = { id };
  for (const [field, spec] of Object.entries(def.fields)) {
    const err = (code: string, message: string) =>
      errors.push(fieldError(def.resource, field, code, message));
    const v = body[field];
    const absent = v === undefined || v === null;
    if (spec.k === "ro") {
      if (base && base[field] !== undefined) out[field] = base[field];
      continue;
    }
    if (spec.k === "wo") {
      if (!absent && typeof v !== "string") err("InvalidField", `The ${field} field must be a string.`);
      continue;
    }
    if (absent) {
      if ("req" in spec && spec.req) err("MissingRequiredField", `The ${field} field is required.`);
      else if (spec.k === "custom") out[field] = customFields(ctx, def, null, err);
      else out[field] = "def" in spec && spec.def !== undefined ? spec.def : null;
      continue;
    }
    switch (spec.k) {
      case "string":
        if (typeof v !== "string") err("InvalidField", `The ${field} field must be a string.`);
        else if (spec.max !== undefined && v.length > spec.max)
          err("InvalidField", `The ${field} field must be at most ${spec.max} characters.`);
        else if (spec.req && v.trim() === "") err("MissingRequiredField", `The ${field} field is required.`);
        else out[field] = clean(v);
        break;
      case "int":
      case "number":
        if (typeof v !== "number" || !Number.isFinite(v) || (spec.k === "int" && !Number.isInteger(v)))
          err("InvalidField", `The ${field} field must be ${spec.k === "int" ? "an integer" : "a number"}.`);
        else out[field] = v;
        break;
      case "bool":
        if (typeof v !== "boolean") err("InvalidField", `The ${field} field must be true or false.`);
        else out[field] = v;
        break;
      case "date":
        if (typeof v !== "string" || !isoOk(v))
          err("InvalidField", `The ${field} field must be an ISO-8601 date-time.`);
        else out[field] = stamp(new Date(Date.parse(/[Z+-]\d*:?\d*$/.test(v.slice(10)) ? v : `${v}Z`)));
        break;
      case "enum":
        if (typeof v !== "string" || !spec.values.includes(v))
          err("InvalidField", `The ${field} field must be one of ${spec.values.join(", ")}.`);
        else out[field] = v;
        break;
      case "ref":
        if (!isObj(v)) err("InvalidField", `The ${field} field must be a reference object.`);
        else {
          const r = resolveRef(ctx.tenant, spec, v, err, field);
          if (r) out[field] = r;
        }
        break;
      case "strings":
        if (!Array.isArray(v) || v.some((s) => typeof s !== "string"))
          err("InvalidField", `The ${field} field must be an array of strings.`);
        else out[field] = v.map((s: string) => clean(s));
        break;
      case "objects":
        if (typeof v !== "object") err("InvalidField", `The ${field} field must be an object or array.`);
        else out[field] = structuredClone(v);
        break;
      case "custom":
        out[field] = customFields(ctx, def, v, err);
        break;
    }
  }
  if (errors.length > 0) throw invalidObject(def.resource, errors);
  return out;
}

/** Sets `_info` on a record written by `ctx.member`. */
export function stampRecord(ctx: WriteContext, rec: Rec, base: Rec | undefined): void {
  const prev = isObj(base?.["_info"]) ? (base["_info"] as Body) : undefined;
  const who = String(ctx.member["identifier"]);
  rec["_info"] = {
    lastUpdated: stamp(ctx.now),
    updatedBy: who,
    dateEntered: prev?.["dateEntered"] ?? stamp(ctx.now),
    enteredBy: prev?.["enteredBy"] ?? who,
  };
}

/** The body a PATCH starts from: the stored writable fields, references reduced to what was stored. */
export function writableBody(def: ResourceDef, rec: Rec): Body {
  const out: Body = {};
  for (const [field, spec] of Object.entries(def.fields)) {
    if (spec.k === "ro" || spec.k === "wo") continue;
    if (rec[field] !== undefined) out[field] = structuredClone(rec[field]);
  }
  return out;
}

/**
 * Applies PATCH operations (`[{op, path, value}]`, bare case-sensitive field names; a leading "/" is
 * tolerated) to a body. Throws a 400 naming the operation when one is malformed.
 */
export function applyPatch(def: ResourceDef, body: Body, ops: unknown): { body: Body; nestedPath: boolean } {
  const errors: ValidationError[] = [];
  const bad = (i: number, msg: string) =>
    errors.push(fieldError(def.resource, `operations[${i}]`, "InvalidField", msg));
  if (!Array.isArray(ops) || ops.length === 0) {
    throw invalidObject(def.resource, [
      fieldError(
        def.resource,
        "operations",
        "InvalidField",
        "The body must be a non-empty array of patch operations.",
      ),
    ]);
  }
  const next = structuredClone(body);
  let nestedPath = false;
  for (const [i, op] of ops.entries()) {
    const problem = patchProblem(def, op);
    if (problem) {
      bad(i, problem);
      continue;
    }
    const o = op as Body;
    const path = (o["path"] as string).replace(/^\//, "");
    // Patching inside a reference is not applied, yet answered 200 (the "false 200").
    if (path.includes("/")) nestedPath = true;
    else next[path] = o["op"] === "remove" ? null : o["value"];
  }
  if (errors.length > 0) throw invalidObject(def.resource, errors);
  return { body: next, nestedPath };
}

function patchProblem(def: ResourceDef, op: unknown): string | undefined {
  if (!isObj(op)) return "A patch operation must be an object {op, path, value}.";
  const kind = op["op"];
  if (kind !== "add" && kind !== "replace" && kind !== "remove")
    return `Unsupported op ${JSON.stringify(kind)}; use add, replace or remove.`;
  const path = typeof op["path"] === "string" ? op["path"].replace(/^\//, "") : "";
  if (!path) return "A patch operation needs a path.";
  if (path.includes("/")) return undefined;
  const spec = def.fields[path];
  if (!spec || spec.k === "ro" || spec.k === "wo" || (def.parent && path === def.parent.field))
    return `The path ${JSON.stringify(path)} is not a writable field of ${def.resource}.`;
  if (kind !== "remove" && !("value" in op)) return `The ${kind} operation needs a value.`;
  return undefined;
}

/** Rules between fields of tickets, notes and time entries; runs after buildRecord. */
export function applyRules(ctx: WriteContext, def: ResourceDef, rec: Rec, base: Rec | undefined): void {
  const t = ctx.tenant;
  const errors: ValidationError[] = [];
  const err = (field: string, msg: string) =>
    errors.push(fieldError(def.resource, field, "InvalidField", msg));
  if (def.table === "tickets") {
    if (!rec["board"]) {
      const board = t.rows("boards").find((b) => !b["inactiveFlag"]);
      if (!board) err("board", "The board field is required.");
      else rec["board"] = { id: board.id, name: board["name"] };
    }
    const boardId = (rec["board"] as Body | undefined)?.["id"];
    const onBoard = (table: string) => t.rows(table).filter((s) => (s["board"] as Body)["id"] === boardId);
    if (!rec["status"] && boardId !== undefined) {
      const statuses = onBoard("boardStatuses").sort(
        (a, b) => Number(a["sortOrder"]) - Number(b["sortOrder"]),
      );
      const s = statuses.find((x) => x["defaultFlag"]) ?? statuses[0];
      if (s) rec["status"] = { id: s.id, name: s["name"] };
    }
    for (const [field, table] of [
      ["status", "boardStatuses"],
      ["type", "boardTypes"],
      ["subType", "boardSubtypes"],
      ["item", "boardItems"],
    ] as const) {
      const ref = rec[field] as Body | null;
      if (ref && !onBoard(table).some((s) => s.id === ref["id"]))
        err(field, `The ${field} ${String(ref["id"])} does not belong to board ${String(boardId)}.`);
    }
    if (!rec["priority"]) {
      const p = t.rows("priorities").find((x) => x["defaultFlag"]) ?? t.rows("priorities")[0];
      if (p) rec["priority"] = { id: p.id, name: p["name"], sort: p["sort"] ?? null };
    }
    const status = rec["status"]
      ? t.get("boardStatuses", (rec["status"] as Body)["id"] as number)
      : undefined;
    const closed = status?.["closedStatus"] === true;
    rec["closedFlag"] = closed;
    const wasClosed = base?.["closedFlag"] === true;
    rec["closedDate"] = closed ? (wasClosed ? (base?.["closedDate"] ?? null) : stamp(ctx.now)) : null;
    rec["closedBy"] = closed ? (wasClosed ? (base?.["closedBy"] ?? null) : ctx.member["identifier"]) : null;
    rec["dateResolved"] = rec["closedDate"];
    rec["skipCallback"] = false;
    rec["actualHours"] = base?.["actualHours"] ?? null;
  }
  if (def.table === "notes") {
    if (!rec["detailDescriptionFlag"] && !rec["internalAnalysisFlag"] && !rec["resolutionFlag"])
      err(
        "detailDescriptionFlag",
        "At least one of detailDescriptionFlag, internalAnalysisFlag, resolutionFlag must be true.",
      );
    rec["internalFlag"] = rec["internalAnalysisFlag"] === true;
    rec["externalFlag"] = rec["detailDescriptionFlag"] === true || rec["resolutionFlag"] === true;
    rec["member"] = base?.["member"] ?? {
      id: ctx.member.id,
      identifier: ctx.member["identifier"],
      name: ctx.member["name"],
    };
    rec["dateCreated"] = base?.["dateCreated"] ?? stamp(ctx.now);
    rec["createdBy"] = base?.["createdBy"] ?? ctx.member["identifier"];
  }
  if (def.table === "timeEntries") {
    if (rec["chargeToType"] === "ServiceTicket") {
      const ticket = t.get("tickets", rec["chargeToId"] as number);
      if (!ticket) err("chargeToId", `Ticket ${String(rec["chargeToId"])} does not exist.`);
      else {
        const status = t.get("boardStatuses", (ticket["status"] as Body | undefined)?.["id"] as number);
        if (!base && status?.["timeEntryNotAllowed"] === true)
          err(
            "chargeToId",
            `Time entries are not allowed on ticket ${ticket.id} in status ${String(status["name"])}.`,
          );
        rec["ticket"] = { id: ticket.id, summary: ticket["summary"] };
        rec["company"] = ticket["company"];
      }
    }
    if (!rec["member"])
      rec["member"] = { id: ctx.member.id, identifier: ctx.member["identifier"], name: ctx.member["name"] };
    timeEntryDefaults(t, rec, base, err);
    const start = Date.parse(String(rec["timeStart"]));
    const end = rec["timeEnd"] ? Date.parse(String(rec["timeEnd"])) : Number.NaN;
    if (Number.isFinite(end) && end < start) err("timeEnd", "timeEnd must not be before timeStart.");
    const deduct = typeof rec["hoursDeduct"] === "number" ? rec["hoursDeduct"] : 0;
    rec["actualHours"] = Number.isFinite(end)
      ? Math.round(((end - start) / 3_600_000 - deduct) * 100) / 100
      : null;
    rec["status"] = base?.["status"] ?? "Open";
  }
  if (def.table === "callbacks") {
    const url = String(rec["url"]);
    let ok = false;
    try {
      ok = ["http:", "https:"].includes(new URL(url).protocol);
    } catch {
      ok = false;
    }
    if (!ok) err("url", "Invalid URL");
    const levels = CALLBACK_LEVELS[String(rec["type"]).toLowerCase()];
    if (!levels) err("type", `Unsupported callback type ${JSON.stringify(rec["type"])}.`);
    else if (!levels.includes(String(rec["level"]).toLowerCase()))
      errors.push(
        fieldError(
          def.resource,
          "level",
          "InvalidObject",
          "Unrecognized level for type, see documentation for supported levels for each type",
        ),
      );
    rec["memberId"] = base?.["memberId"] ?? ctx.member.id;
    rec["connectWiseID"] = base?.["connectWiseID"] ?? crypto.randomUUID();
    if (!rec["payloadVersion"]) rec["payloadVersion"] = "3.0.0";
  }
  if (errors.length > 0) throw invalidObject(def.resource, errors);
}

/** Callback levels by type (lower case), as the Developer Guide's table lists them. */
export const CALLBACK_LEVELS: Record<string, string[]> = {
  ticket: ["owner", "board", "status", "ticket", "integratortag", "project", "phase"],
  configuration: ["owner", "type", "status", "configuration"],
  company: ["owner", "status", "type", "territory", "company", "integratortag"],
  time: ["owner", "company", "time"],
};

/**
 * Work role and work type of a time entry (docs/connectwise-emulator.md, Time entries): when the
 * body names none, the member's defaults (then the overall default work type) apply; an entry needs
 * both, and a new or changed reference must name an active one.
 */
function timeEntryDefaults(
  t: Tenant,
  rec: Body,
  base: Body | undefined,
  err: (field: string, msg: string) => void,
): void {
  const member = t.get("members", (rec["member"] as Body)["id"] as number);
  if (
    member?.["inactiveFlag"] === true &&
    (rec["member"] as Body)["id"] !== (base?.["member"] as Body | undefined)?.["id"]
  )
    err("member", `Member ${String(member["identifier"])} is inactive.`);
  for (const [field, table, label] of [
    ["workRole", "workRoles", "Work role"],
    ["workType", "workTypes", "Work type"],
  ] as const) {
    if (!rec[field]) {
      const fromMember = member?.[field] as Body | undefined;
      const fallback =
        fromMember ??
        (field === "workType" ? t.rows(table).find((r) => r["overallDefaultFlag"] === true) : undefined);
      const row = fallback ? t.get(table, fallback["id"] as number) : undefined;
      if (row) rec[field] = { id: row.id, name: row["name"] };
    }
    const ref = rec[field] as Body | undefined;
    if (!ref) {
      err(field, `${label} is required.`);
      continue;
    }
    const before = (base?.[field] as Body | undefined)?.["id"];
    const row = t.get(table, ref["id"] as number);
    if (row?.["inactiveFlag"] === true && before !== ref["id"])
      err(field, `${label} ${String(row["name"])} is inactive.`);
  }
}
