/**
 * Tenant state of the emulator: API users, picklists, UDF definitions and the rows of every entity,
 * with the write rules of the contract (docs/autotask.md, Writes; Entities and fields used): required and
 * read-only fields, type checks, picklist and reference checks, maintained fields (createDate,
 * lastActivityDate, ticketNumber, …), PATCH merge vs PUT replace, UDFs as [{name, value}].
 *
 * Rows are immutable once stored (a write replaces the object), so readers may serialise them
 * without copying. Each table keeps its ids sorted and builds per-field hash indexes on first use,
 * which keeps `companyID eq …` and `id gt …` paging fast on 10k+ rows (see query.ts).
 */
import { randomUUID } from "node:crypto";
import { rename, writeFile } from "node:fs/promises";
import { maintainAttachment } from "./attachments.js";
import {
  childrenOf,
  ENTITIES,
  type EntityDef,
  entityDef,
  type FieldDef,
  referencedEntity,
  webhookEntityFor,
} from "./entities.js";
import { picklistValues } from "./fields.js";
import type { ChangeListener, EntityChange, Row, WebhookEntityType } from "./hooks.js";
import { applyCategoryDefaults, checkCategoryRequired, checkWorkType } from "./ticket-rules.js";
import { checkTimeEntry, checkTimeEntryDelete } from "./time-entry-rules.js";

/** An error answered as `{"errors":[message]}` with this HTTP status (docs/autotask.md, Errors). */
export class ApiError extends Error {
  readonly status: number;
  readonly errors: string[];
  /** ASP.NET's own answers (unknown routes, unsupported methods) are `{"Message": …}`, not `{"errors": […]}`. */
  aspNet = false;
  constructor(status: number, ...errors: string[]) {
    super(errors.join(" "));
    this.status = status;
    this.errors = errors;
  }

  /** The answer's body in the shape the real API uses for this error. */
  body(): Record<string, unknown> {
    return this.aspNet ? { Message: this.errors.join(" ") } : { errors: this.errors };
  }
}

/** An error answered in ASP.NET's `{"Message": …}` shape. */
export function aspNetError(status: number, message: string): ApiError {
  const e = new ApiError(status, message);
  e.aspNet = true;
  return e;
}

/** Validation and business-rule failures are HTTP 500 on the real API (docs/autotask.md, Errors). */
export const invalid = (message: string) => new ApiError(500, message);

export interface PicklistValue {
  /**
   * Records carry the integer; FieldInfo shows it as a string (docs/autotask.md, Field information and UDFs).
   */
  value: number;
  label: string;
  isActive: boolean;
  isSystem: boolean;
  isDefaultValue: boolean;
  sortOrder: number;
  /** Value of the parent picklist (subIssueType → issueType), null if none. */
  parentValue: number | null;
}

/** UDF data types as FieldInfo reports them. */
export type UdfDataType = "string" | "integer" | "decimal" | "datetime" | "boolean";

export interface UdfDefinition {
  id: number;
  name: string;
  dataType: UdfDataType;
  length: number;
  isRequired: boolean;
  isActive: boolean;
  isProtected: boolean;
  description: string;
  sortOrder: number;
  defaultValue: string | null;
}

export interface ApiUser {
  /**
   * UserName header (e-mail form); unique across the emulator, as zone lookup needs (docs/autotask.md, Zone
   * discovery).
   */
  username: string;
  secret: string;
  /**
   * The API tracking identifier this user is set up with (ApiIntegrationCode header, docs/autotask.md,
   * Authentication).
   */
  integrationCode: string;
  /** The resource the API user is; writes are attributed to it unless impersonating. */
  resourceId: number;
  /** Security level "Can create WebHooks" (off unless granted; webhook-policy.ts). */
  canCreateWebhooks?: boolean;
  /** The security level's maximum number of webhooks (0 when not set). */
  maxWebhooks?: number;
  /** Webhooks this user ever created (the "lifetime" reading of the maximum). */
  webhooksCreated?: number;
}

export interface ZoneData {
  zoneName: string;
  /** Autotask's `ci` database identifier (docs/autotask.md, Zone discovery). */
  ci: number;
}

/** A tenant as saved in a state file and produced by seeds. */
export interface TenantData {
  id: string;
  zone: ZoneData;
  apiUsers: ApiUser[];
  /** `${entity}.${field}` → values. */
  picklists: Record<string, PicklistValue[]>;
  /** entity name → UDF definitions. */
  udfs: Record<string, UdfDefinition[]>;
  /** entity name → rows (nulls may be omitted). */
  rows: Record<string, Row[]>;
  /** entity name → next id to hand out. */
  nextIds?: Record<string, number>;
  /** `YYYYMMDD` → last ticket number sequence of that day. */
  ticketSeq?: Record<string, number>;
  nextUdfId?: number;
  /** Ticket category id → Tickets fields the category makes required (an admin setting). */
  ticketCategoryRules?: Record<string, string[]>;
}

export interface StateFile {
  version: 1;
  tenants: TenantData[];
}

export interface WriteContext {
  /** The acting resource (ImpersonationResourceId, else the API user's resource). */
  personId: number;
  /** The API user's own resource. */
  apiResourceId: number;
  now: Date;
}

type IndexKey = string | number | boolean | null;

/** Normalises a value for hash indexes and equality: strings compare case-insensitively. */
export function indexKey(v: unknown): IndexKey {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v.toLowerCase();
  if (typeof v === "number" || typeof v === "boolean") return v;
  return String(v);
}

function lowerBound(arr: number[], x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((arr[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sortedInsert(arr: number[], x: number): void {
  if (arr.length === 0 || (arr[arr.length - 1] as number) < x) {
    arr.push(x);
    return;
  }
  const i = lowerBound(arr, x);
  if (arr[i] !== x) arr.splice(i, 0, x);
}

function sortedRemove(arr: number[], x: number): void {
  const i = lowerBound(arr, x);
  if (arr[i] === x) arr.splice(i, 1);
}

/** Rows of one entity in one tenant. */
export class Table {
  readonly rows = new Map<number, Row>();
  /** Ids in ascending order: the stable order of query results (docs/autotask.md, Paging and counts). */
  readonly ids: number[] = [];
  private readonly indexes = new Map<string, Map<IndexKey, number[]>>();

  constructor(readonly def: EntityDef) {}

  get(id: number): Row | undefined {
    return this.rows.get(id);
  }

  put(row: Row): void {
    const id = row["id"] as number;
    const old = this.rows.get(id);
    this.rows.set(id, row);
    if (!old) sortedInsert(this.ids, id);
    for (const [field, index] of this.indexes) {
      const before = old ? indexKey(old[field]) : undefined;
      const after = indexKey(row[field]);
      if (old && before === after) continue;
      if (old) {
        const list = index.get(before as IndexKey);
        if (list) sortedRemove(list, id);
      }
      const list = index.get(after);
      if (list) sortedInsert(list, id);
      else index.set(after, [id]);
    }
  }

  delete(id: number): Row | undefined {
    const old = this.rows.get(id);
    if (!old) return undefined;
    this.rows.delete(id);
    sortedRemove(this.ids, id);
    for (const [field, index] of this.indexes) {
      const list = index.get(indexKey(old[field]));
      if (list) sortedRemove(list, id);
    }
    return old;
  }

  /** Sorted ids of rows whose `field` equals `key` (an index built on first use, kept up to date). */
  lookup(field: string, key: IndexKey): readonly number[] {
    let index = this.indexes.get(field);
    if (!index) {
      index = new Map();
      for (const id of this.ids) {
        const k = indexKey((this.rows.get(id) as Row)[field]);
        const list = index.get(k);
        if (list) list.push(id);
        else index.set(k, [id]);
      }
      this.indexes.set(field, index);
    }
    return index.get(key) ?? [];
  }
}

/** One Autotask database. */
export class Tenant {
  readonly id: string;
  zone: ZoneData;
  apiUsers: ApiUser[];
  picklists: Record<string, PicklistValue[]>;
  udfs: Record<string, UdfDefinition[]>;
  readonly tables = new Map<string, Table>();
  nextIds: Record<string, number>;
  ticketSeq: Record<string, number>;
  nextUdfId: number;
  ticketCategoryRules: Record<string, string[]>;

  constructor(data: TenantData) {
    this.ticketCategoryRules = structuredClone(data.ticketCategoryRules ?? {});
    this.id = data.id;
    this.zone = { ...data.zone };
    this.apiUsers = data.apiUsers.map((u) => ({ ...u }));
    this.picklists = structuredClone(data.picklists);
    this.udfs = structuredClone(data.udfs);
    this.nextIds = { ...(data.nextIds ?? {}) };
    this.ticketSeq = { ...(data.ticketSeq ?? {}) };
    let maxUdf = 0;
    for (const list of Object.values(this.udfs)) for (const u of list) maxUdf = Math.max(maxUdf, u.id);
    this.nextUdfId = Math.max(data.nextUdfId ?? 0, maxUdf + 1, 29683000);
    for (const def of ENTITIES) {
      if (def.singleton) continue;
      const table = new Table(def);
      this.tables.set(def.name, table);
      for (const raw of data.rows[def.name] ?? []) table.put(this.complete(def, raw));
      const last = table.ids[table.ids.length - 1];
      const floor = last === undefined ? def.idBase : Math.max(def.idBase, last + 1);
      this.nextIds[def.name] = Math.max(this.nextIds[def.name] ?? 0, floor);
    }
  }

  table(name: string): Table {
    const t = this.tables.get(name);
    if (!t) throw new Error(`no table ${name}`);
    return t;
  }

  /** Active and inactive UDF definitions of an entity, in their sort order. */
  udfDefs(entity: string): UdfDefinition[] {
    return this.udfs[entity] ?? [];
  }

  picklist(entity: string, field: string): PicklistValue[] {
    return this.picklists[`${entity}.${field}`] ?? [];
  }

  nextId(entity: string): number {
    const id = this.nextIds[entity] ?? 1;
    this.nextIds[entity] = id + 1;
    return id;
  }

  /** A row with every field of the entity (null when unset) and UDFs aligned to the definitions. */
  complete(def: EntityDef, raw: Row): Row {
    const row: Row = {};
    for (const fd of def.fields) row[fd.name] = raw[fd.name] ?? null;
    row["userDefinedFields"] = this.alignUdfs(def, raw["userDefinedFields"]);
    return row;
  }

  /** UDF pairs in definition order; values of names that are not defined are dropped. */
  alignUdfs(def: EntityDef, current: unknown): { name: string; value: string | null }[] {
    if (!def.hasUserDefinedFields) return [];
    const byName = new Map<string, string | null>();
    if (Array.isArray(current)) {
      for (const p of current as { name?: unknown; value?: unknown }[]) {
        if (typeof p?.name === "string") byName.set(p.name.toLowerCase(), (p.value as string | null) ?? null);
      }
    }
    return this.udfDefs(def.name).map((u) => ({
      name: u.name,
      value: byName.get(u.name.toLowerCase()) ?? null,
    }));
  }

  /** Re-aligns every row of an entity after its UDF definitions changed (admin API). */
  realignUdfs(entity: string): void {
    const table = this.table(entity);
    for (const id of table.ids) {
      const row = table.get(id) as Row;
      table.put({ ...row, userDefinedFields: this.alignUdfs(table.def, row["userDefinedFields"]) });
    }
  }

  toData(): TenantData {
    const rows: Record<string, Row[]> = {};
    for (const [name, table] of this.tables) {
      if (table.ids.length === 0) continue;
      rows[name] = table.ids.map((id) => {
        // Nulls are left out of the file: it is several times smaller for 10k+ rows.
        const row = table.get(id) as Row;
        const out: Row = {};
        for (const [k, v] of Object.entries(row)) {
          if (v === null) continue;
          if (k === "userDefinedFields") {
            const set = (v as { value: unknown }[]).filter((p) => p.value !== null);
            if (set.length > 0) out[k] = set;
          } else out[k] = v;
        }
        return out;
      });
    }
    return {
      id: this.id,
      zone: { ...this.zone },
      apiUsers: this.apiUsers.map((u) => ({ ...u })),
      picklists: structuredClone(this.picklists),
      udfs: structuredClone(this.udfs),
      rows,
      nextIds: { ...this.nextIds },
      ticketSeq: { ...this.ticketSeq },
      nextUdfId: this.nextUdfId,
      ticketCategoryRules: structuredClone(this.ticketCategoryRules),
    };
  }
}

/** ISO-8601 UTC with milliseconds and `Z`, the format of the public clients' sample payloads. */
export const timestamp = (d: Date) => d.toISOString();

/** The status value Autotask reserves for "Complete" (seed document: Complete 5). */
const STATUS_COMPLETE = 5;
/** Person type 1 = resource (creatorType / lastActivityPersonType). */
const PERSON_RESOURCE = 1;

const isSet = (v: unknown) => v !== null && v !== undefined;

/**
 * Converts a JSON value to the field's type, as the real API's deserialiser would (docs/autotask.md, Writes).
 */
export function coerce(fd: { name: string; dataType: string; length: number }, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  const bad = () =>
    invalid(`Invalid value for field ${fd.name}: ${JSON.stringify(v)} is not a valid ${fd.dataType}.`);
  switch (fd.dataType) {
    case "integer":
    case "long": {
      if (v === "") return null;
      const n = typeof v === "string" ? Number(v.trim()) : v;
      if (typeof n !== "number" || !Number.isInteger(n)) throw bad();
      return n;
    }
    case "double":
    case "decimal": {
      if (v === "") return null;
      const n = typeof v === "string" ? Number(v.trim()) : v;
      if (typeof n !== "number" || !Number.isFinite(n)) throw bad();
      return n;
    }
    case "boolean": {
      if (typeof v === "boolean") return v;
      if (v === 1 || v === 0) return v === 1;
      if (typeof v === "string" && /^(true|false)$/i.test(v)) return v.toLowerCase() === "true";
      if (v === "") return null;
      throw bad();
    }
    case "datetime": {
      if (v === "") return null;
      if (typeof v !== "string") throw bad();
      // A time without an offset is UTC: "all times UTC" (docs/autotask.md, Entities and fields used).
      const text = /[zZ]|[+-]\d\d:?\d\d$/.test(v) || !v.includes("T") ? v : `${v}Z`;
      const t = Date.parse(/^\d{4}-\d\d-\d\d$/.test(text) ? `${text}T00:00:00Z` : text);
      if (Number.isNaN(t)) throw bad();
      return new Date(t).toISOString();
    }
    default: {
      if (typeof v === "object") throw bad();
      const s = String(v);
      if (fd.length > 0 && s.length > fd.length) {
        throw invalid(`Value for field ${fd.name} exceeds the maximum length of ${fd.length} characters.`);
      }
      return s;
    }
  }
}

/**
 * Case-insensitive view of a JSON body's keys (field names are case-insensitive, docs/autotask.md, Queries;
 * Writes).
 */
function lowerKeys(body: Record<string, unknown>): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const [k, v] of Object.entries(body)) m.set(k.toLowerCase(), v);
  return m;
}

export type WriteMode = "create" | "patch" | "put";

export interface StoreOptions {
  now?: () => Date;
  listener?: ChangeListener;
}

/** The emulator's whole state: tenants by id and API users by name. */
export class EmulatorStore {
  readonly tenants = new Map<string, Tenant>();
  private readonly users = new Map<string, { tenant: Tenant; user: ApiUser }>();
  private readonly now: () => Date;
  listener: ChangeListener | undefined;
  /** Called after every committed change (state persistence). */
  onCommit: (() => void) | undefined;
  /**
   * Called when an active webhook is made inactive or deleted through the API, so that its
   * deactivationUrl is called (docs/autotask.md, Retries and deactivation).
   */
  onWebhookDeactivated: ((tenantId: string, entityType: WebhookEntityType, webhook: Row) => void) | undefined;

  constructor(opts: StoreOptions = {}) {
    this.now = opts.now ?? (() => new Date());
    this.listener = opts.listener;
  }

  clock(): Date {
    return this.now();
  }

  /** Replaces the whole state. */
  load(state: StateFile): void {
    if (state.version !== 1 || !Array.isArray(state.tenants))
      throw new Error("unsupported emulator state file");
    this.tenants.clear();
    this.users.clear();
    for (const t of state.tenants) this.addTenant(t, false);
    this.commit();
  }

  toState(): StateFile {
    return { version: 1, tenants: [...this.tenants.values()].map((t) => t.toData()) };
  }

  addTenant(data: TenantData, commit = true): Tenant {
    if (this.tenants.has(data.id)) throw invalid(`Tenant ${data.id} already exists.`);
    for (const u of data.apiUsers) {
      if (this.users.has(u.username.toLowerCase())) throw invalid(`API user ${u.username} already exists.`);
    }
    const tenant = new Tenant(data);
    this.tenants.set(tenant.id, tenant);
    for (const user of tenant.apiUsers) this.users.set(user.username.toLowerCase(), { tenant, user });
    if (commit) this.commit();
    return tenant;
  }

  removeTenant(id: string): boolean {
    const tenant = this.tenants.get(id);
    if (!tenant) return false;
    for (const u of tenant.apiUsers) this.users.delete(u.username.toLowerCase());
    this.tenants.delete(id);
    this.commit();
    return true;
  }

  tenant(id: string): Tenant | undefined {
    return this.tenants.get(id);
  }

  /** User names are matched case-insensitively, like the e-mail addresses they are. */
  findUser(username: string): { tenant: Tenant; user: ApiUser } | undefined {
    return this.users.get(username.toLowerCase());
  }

  addApiUser(tenant: Tenant, user: ApiUser): void {
    if (this.users.has(user.username.toLowerCase()))
      throw invalid(`API user ${user.username} already exists.`);
    if (!tenant.table("Resources").get(user.resourceId)) {
      throw invalid(`Resource ${user.resourceId} does not exist in tenant ${tenant.id}.`);
    }
    tenant.apiUsers.push(user);
    this.users.set(user.username.toLowerCase(), { tenant, user });
    this.commit();
  }

  commit(): void {
    this.onCommit?.();
  }

  // ---- reads ------------------------------------------------------------------------------

  get(tenant: Tenant, def: EntityDef, id: number): Row | undefined {
    return tenant.table(def.name).get(id);
  }

  // ---- writes -----------------------------------------------------------------------------

  /**
   * POST: a new row from the body. `parentId` comes from a child URL (`Tickets/{id}/Notes`) and
   * fills the parent field; a body value that disagrees is an error.
   */
  create(tenant: Tenant, def: EntityDef, body: unknown, ctx: WriteContext, parentId?: number): Row {
    const input = this.bodyObject(body);
    const row = tenant.complete(def, {});
    const supplied = this.applyFields(def, row, input, "create", null);
    this.applyParent(def, row, input, parentId, supplied);
    const fillDefault = (fd: FieldDef) => {
      if (!fd.defaultFromPicklist || row[fd.name] !== null) return;
      const dflt = picklistValues(tenant, def, fd).find((p) => p.isDefaultValue && p.isActive);
      if (dflt) {
        row[fd.name] = dflt.value;
        supplied.add(fd.name);
      }
    };
    if (def.name === "Tickets") {
      // The category first (the global default when none is given), then its defaults, which come
      // before the picklists' own defaults.
      fillDefault(def.byLowerName.get("ticketcategory") as FieldDef);
      applyCategoryDefaults(tenant, row, supplied);
    }
    for (const fd of def.fields) fillDefault(fd);
    const udfs = this.applyUdfs(tenant, def, row, input, "create");
    this.validate(tenant, def, row, supplied, null);
    this.validateUdfs(tenant, def, row, udfs);
    if (def.name === "Tickets") checkCategoryRequired(tenant, row);
    row["id"] = tenant.nextId(def.name);
    this.maintain(tenant, def, row, null, ctx);
    tenant.table(def.name).put(row);
    this.afterWrite(tenant, def, null, row, ctx);
    return row;
  }

  /** PATCH (partial) or PUT (full replace: omitted writable fields become null, docs/autotask.md, Writes). */
  update(
    tenant: Tenant,
    def: EntityDef,
    body: unknown,
    mode: "patch" | "put",
    ctx: WriteContext,
    parentId?: number,
  ): Row {
    const input = this.bodyObject(body);
    const id = coerce({ name: "id", dataType: "long", length: 0 }, input.get("id"));
    if (id === null) throw invalid("Missing Required Field: id.");
    const table = tenant.table(def.name);
    const before = table.get(id as number);
    if (!before || (parentId !== undefined && def.parent && before[def.parent.field] !== parentId)) {
      throw invalid("No matching records found.");
    }
    const row: Row = { ...before };
    if (mode === "put") {
      for (const fd of def.fields)
        if (!fd.isReadOnly && !fd.createOnly && fd.name !== "id") row[fd.name] = null;
    }
    const supplied = this.applyFields(def, row, input, mode, before);
    if (def.parent) row[def.parent.field] = before[def.parent.field] ?? null;
    const udfs = this.applyUdfs(tenant, def, row, input, mode);
    this.validate(tenant, def, row, supplied, before);
    this.validateUdfs(tenant, def, row, udfs);
    this.maintain(tenant, def, row, before, ctx);
    table.put(row);
    this.afterWrite(tenant, def, before, row, ctx);
    return row;
  }

  remove(tenant: Tenant, def: EntityDef, id: number, ctx: WriteContext, parentId?: number): void {
    const table = tenant.table(def.name);
    const before = table.get(id);
    if (!before || (parentId !== undefined && def.parent && before[def.parent.field] !== parentId)) {
      // What n8n saw when deleting a webhook that was already gone (docs/autotask.md, Writes).
      throw invalid("No matching records found.");
    }
    if (def.name === "TimeEntries") checkTimeEntryDelete(before);
    if (def.name === "ConfigurationItemTypes") {
      const used = tenant.table("ConfigurationItems").lookup("configurationItemType", id).length;
      if (used > 0) throw invalid(`ConfigurationItemType ${id} is used by ${used} configuration item(s).`);
    }
    for (const child of childrenOf(def)) {
      const ct = tenant.table(child.name);
      for (const cid of [...ct.lookup((child.parent as { field: string }).field, id)]) ct.delete(cid);
    }
    table.delete(id);
    this.afterWrite(tenant, def, before, null, ctx);
  }

  /**
   * Admin fixture insert: stores a row as given (read-only fields included), checking types only.
   * No webhook event: the row models data that was there before.
   */
  insertFixture(tenant: Tenant, def: EntityDef, raw: Row): Row {
    const input = this.bodyObject(raw);
    const row = tenant.complete(def, {});
    for (const fd of def.fields) {
      const key = fd.name.toLowerCase();
      if (input.has(key)) row[fd.name] = coerce(fd, input.get(key));
    }
    this.applyUdfs(tenant, def, row, input, "create");
    if (row["id"] === null) row["id"] = tenant.nextId(def.name);
    else if ((row["id"] as number) >= (tenant.nextIds[def.name] ?? 0)) {
      tenant.nextIds[def.name] = (row["id"] as number) + 1;
    }
    tenant.table(def.name).put(row);
    this.commit();
    return row;
  }

  private bodyObject(body: unknown): Map<string, unknown> {
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new ApiError(400, "The request body must be a JSON object.");
    }
    return lowerKeys(body as Record<string, unknown>);
  }

  /** Copies writable fields from the body; returns the names that were supplied. */
  private applyFields(
    def: EntityDef,
    row: Row,
    input: Map<string, unknown>,
    mode: WriteMode,
    before: Row | null,
  ): Set<string> {
    const supplied = new Set<string>();
    for (const fd of def.fields) {
      const key = fd.name.toLowerCase();
      if (!input.has(key) || fd.name === "id") continue;
      // Read-only fields in a body are ignored, not rejected (docs/autotask.md, Writes: clients send whole
      // rows back).
      if (fd.isReadOnly) continue;
      const value = coerce(fd, input.get(key));
      if (fd.createOnly && before && mode !== "create") {
        if (value !== before[fd.name]) {
          throw invalid(`${fd.name} cannot be changed after the ${def.singular} is created.`);
        }
        continue;
      }
      if (def.parent && fd.name === def.parent.field && mode !== "create") continue;
      row[fd.name] = value;
      supplied.add(fd.name);
    }
    return supplied;
  }

  private applyParent(
    def: EntityDef,
    row: Row,
    input: Map<string, unknown>,
    parentId: number | undefined,
    supplied: Set<string>,
  ): void {
    if (!def.parent || parentId === undefined) return;
    const field = def.parent.field;
    if (input.has(field.toLowerCase()) && row[field] !== null && row[field] !== parentId) {
      throw invalid(`${field} ${String(row[field])} does not match the parent id ${parentId} in the URL.`);
    }
    row[field] = parentId;
    supplied.add(field);
  }

  /**
   * Applies `userDefinedFields: [{name, value}]`; PATCH merges by name, PUT replaces (docs/autotask.md, Field
   * information and UDFs).
   */
  private applyUdfs(
    tenant: Tenant,
    def: EntityDef,
    row: Row,
    input: Map<string, unknown>,
    mode: WriteMode,
  ): Set<string> {
    const supplied = new Set<string>();
    const defs = tenant.udfDefs(def.name);
    const current = (row["userDefinedFields"] as { name: string; value: string | null }[]).map((p) => ({
      ...p,
    }));
    if (mode === "put") for (const p of current) p.value = null;
    if (mode === "create") {
      for (const p of current) {
        const d = defs.find((u) => u.name === p.name);
        if (d?.defaultValue !== undefined && d.defaultValue !== null) p.value = d.defaultValue;
      }
    }
    const given = input.get("userdefinedfields");
    if (given !== undefined && given !== null) {
      if (!Array.isArray(given)) throw invalid("userDefinedFields must be an array of {name, value}.");
      if (!def.hasUserDefinedFields && given.length > 0) {
        throw invalid(`${def.name} do not have user-defined fields.`);
      }
      for (const pair of given as unknown[]) {
        const p = pair && typeof pair === "object" ? lowerKeys(pair as Record<string, unknown>) : undefined;
        const name = p?.get("name");
        if (typeof name !== "string") throw invalid("Each user-defined field needs a name.");
        const udf = defs.find((u) => u.name.toLowerCase() === name.toLowerCase());
        // [U] The real API's answer to an unknown UDF name is not public; rejecting it lets tests
        // model a tenant that lacks one of the seed document's mandatory UDFs (docs/emulator.md).
        if (!udf) throw invalid(`User-defined field '${name}' does not exist for ${def.name}.`);
        const value = coerce({ name: udf.name, dataType: udf.dataType, length: udf.length }, p?.get("value"));
        const slot = current.find((c) => c.name === udf.name);
        // UDF values are strings on the wire whatever the UDF type (docs/autotask.md, Field information and
        // UDFs).
        if (slot) slot.value = value === null ? null : String(value);
        supplied.add(udf.name);
      }
    }
    row["userDefinedFields"] = current;
    return supplied;
  }

  private validate(
    tenant: Tenant,
    def: EntityDef,
    row: Row,
    supplied: Set<string>,
    before: Row | null,
  ): void {
    for (const fd of def.fields) {
      if (fd.isRequired && !fd.isReadOnly && fd.name !== "id" && !isSet(row[fd.name])) {
        throw invalid(`Missing Required Field: ${fd.name}.`);
      }
    }
    for (const name of supplied) {
      const fd = def.byLowerName.get(name.toLowerCase()) as FieldDef;
      const v = row[name];
      if (!isSet(v) || (before && before[name] === v)) continue;
      this.checkPicklist(tenant, def, fd, v as number, row);
      this.checkReference(tenant, fd, v as number);
    }
    const rule = def.validate?.(row);
    if (rule) throw invalid(rule);
    if (def.name === "Tickets") checkWorkType(tenant, row, before);
    if (def.name === "TimeEntries") checkTimeEntry(tenant, row, before);
  }

  private checkPicklist(tenant: Tenant, def: EntityDef, fd: FieldDef, v: number, row: Row): void {
    const src = fd.picklist;
    if (!src) return;
    let ok = false;
    if (src.kind === "tenant") {
      const pv = tenant.picklist(def.name, fd.name).find((p) => p.value === v && p.isActive);
      ok = pv !== undefined;
      if (pv && fd.picklistParentValueField) {
        const parent = row[fd.picklistParentValueField];
        if (pv.parentValue !== null && parent !== pv.parentValue) {
          throw invalid(
            `Value ${v} of ${fd.name} does not belong to ${fd.picklistParentValueField} ${String(parent)}.`,
          );
        }
      }
    } else if (src.kind === "entity") {
      const r = tenant.table(src.entity).get(v);
      ok = r !== undefined && r["isActive"] !== false;
    } else if (src.kind === "webhookFields") {
      ok = entityFieldByWebhookId(src.entityType, v) !== undefined;
    } else {
      ok = tenant.udfDefs(src.entity).some((u) => u.id === v);
    }
    // The real API's wording for a value outside a picklist (docs/autotask-errors.md).
    if (!ok) throw invalid(`Value does not reference an existing entity for ${fd.name}.`);
  }

  private checkReference(tenant: Tenant, fd: FieldDef, v: number): void {
    const target = referencedEntity(fd);
    if (!target || target.singleton) return;
    const row = tenant.table(target.name).get(v);
    if (!row) {
      throw invalid(`Value does not reference an existing entity for ${fd.name}.`);
    }
    // A reference to a record that exists but is inactive (docs/autotask-errors.md).
    if (row["isActive"] === false) {
      throw invalid(`Reference value on field: ${fd.name} does not exist or is invalid.`);
    }
  }

  private validateUdfs(tenant: Tenant, def: EntityDef, row: Row, supplied: Set<string>): void {
    if (!def.hasUserDefinedFields) return;
    const values = row["userDefinedFields"] as { name: string; value: string | null }[];
    for (const u of tenant.udfDefs(def.name)) {
      if (u.isRequired && u.isActive && values.find((p) => p.name === u.name)?.value == null) {
        if (supplied.has(u.name) || row["id"] === null) throw invalid(`Missing Required Field: ${u.name}.`);
      }
    }
  }

  /** Fields the API maintains itself: creation/activity stamps, ticket numbers, webhook state. */
  private maintain(tenant: Tenant, def: EntityDef, row: Row, before: Row | null, ctx: WriteContext): void {
    const at = timestamp(ctx.now);
    const impersonator = ctx.personId !== ctx.apiResourceId ? ctx.apiResourceId : null;
    switch (def.name) {
      case "Tickets": {
        if (!before) {
          row["ticketNumber"] = this.ticketNumber(tenant, ctx.now);
          row["createDate"] = at;
          row["creatorResourceID"] = ctx.personId;
          row["creatorType"] = PERSON_RESOURCE;
          row["impersonatorCreatorResourceID"] = impersonator;
        }
        row["lastActivityDate"] = at;
        row["lastActivityResourceID"] = ctx.personId;
        row["lastActivityPersonType"] = PERSON_RESOURCE;
        row["lastTrackedModificationDateTime"] = at;
        const wasComplete = before?.["status"] === STATUS_COMPLETE;
        if (row["status"] === STATUS_COMPLETE && !wasComplete) {
          row["completedDate"] = at;
          row["completedByResourceID"] = ctx.personId;
        } else if (row["status"] !== STATUS_COMPLETE) {
          row["completedDate"] = null;
          row["completedByResourceID"] = null;
        }
        break;
      }
      case "TicketNotes": {
        if (!before) {
          row["createDateTime"] = at;
          row["creatorResourceID"] = ctx.personId;
          row["impersonatorCreatorResourceID"] = impersonator;
        } else row["impersonatorUpdaterResourceID"] = impersonator;
        row["lastActivityDate"] = at;
        // A note is activity on its ticket: the ticket's lastActivityDate moves too, which is what
        // pollers filter on. The ticket itself did not change, so no Ticket webhook event.
        const tickets = tenant.table("Tickets");
        const ticket = tickets.get(row["ticketID"] as number);
        if (ticket) {
          tickets.put({ ...ticket, lastActivityDate: at, lastActivityResourceID: ctx.personId });
        }
        break;
      }
      case "TicketAttachments": {
        if (!before) maintainAttachment(row, at, ctx.personId, impersonator);
        // Activity on its ticket, as a note is, so pollers see it (an assumption, docs/emulator.md).
        const tickets = tenant.table("Tickets");
        const ticket = tickets.get(row["parentID"] as number);
        if (ticket) tickets.put({ ...ticket, lastActivityDate: at, lastActivityResourceID: ctx.personId });
        break;
      }
      case "ConfigurationItems":
        if (!before) {
          row["createDate"] = at;
          row["createdByPersonID"] = ctx.personId;
        }
        row["lastModifiedTime"] = at;
        row["lastActivityPersonID"] = ctx.personId;
        row["lastActivityPersonType"] = PERSON_RESOURCE;
        break;
      case "Companies":
        if (!before) {
          row["createDate"] = at;
          row["createdByResourceID"] = ctx.personId;
        }
        row["lastActivityDate"] = at;
        row["lastTrackedModifiedDateTime"] = at;
        break;
      case "TimeEntries": {
        if (!before) {
          row["createDateTime"] = at;
          row["creatorUserID"] = ctx.personId;
        }
        row["lastModifiedDateTime"] = at;
        row["lastModifiedUserID"] = ctx.personId;
        const start = row["startDateTime"];
        const end = row["endDateTime"];
        if (typeof start === "string" && typeof end === "string") {
          const hours = (Date.parse(end) - Date.parse(start)) / 3_600_000;
          if (hours <= 0) throw invalid("endDateTime must be after startDateTime.");
          if (!isSet(row["hoursWorked"])) row["hoursWorked"] = Math.round(hours * 100) / 100;
          if (!isSet(row["dateWorked"])) row["dateWorked"] = `${start.slice(0, 10)}T00:00:00.000Z`;
        }
        if (!isSet(row["hoursToBill"])) row["hoursToBill"] = row["hoursWorked"];
        break;
      }
      default:
        if (def.name.endsWith("Webhooks")) {
          if (!before) {
            row["ownerResourceID"] = ctx.personId;
            row["webhookGUID"] = randomUUID();
          }
          row["isReady"] = before ? (before["isReady"] ?? false) : false;
        }
    }
  }

  /**
   * `T{yyyymmdd}.{nnnn}`, numbered per day (docs/autotask.md, Entities and fields used: format
   * `T20120604.0002`).
   */
  private ticketNumber(tenant: Tenant, now: Date): string {
    const day = now.toISOString().slice(0, 10).replaceAll("-", "");
    const seq = (tenant.ticketSeq[day] ?? 0) + 1;
    tenant.ticketSeq[day] = seq;
    return `T${day}.${String(seq).padStart(4, "0")}`;
  }

  private afterWrite(
    tenant: Tenant,
    def: EntityDef,
    before: Row | null,
    after: Row | null,
    ctx: WriteContext,
  ): void {
    if (def.parent?.entity.endsWith("Webhooks")) {
      const parentId = (after ?? before)?.[def.parent.field] as number;
      this.refreshWebhookReady(tenant, entityDef(def.parent.entity), parentId);
    }
    if (def.webhookEntityType && this.listener) {
      this.listener.onChange(changeOf(tenant.id, def.webhookEntityType, before, after, ctx));
    }
    const hookType = WEBHOOK_TYPES.find((t) => `${t}Webhooks` === def.name);
    if (hookType && before?.["isActive"] === true && after?.["isActive"] !== true) {
      this.onWebhookDeactivated?.(tenant.id, hookType, after ?? before);
    }
    this.commit();
  }

  /** isReady = at least one subscribed standard or UDF field (docs/autotask.md, Registration). */
  refreshWebhookReady(tenant: Tenant, webhookDef: EntityDef, webhookId: number): void {
    const table = tenant.table(webhookDef.name);
    const hook = table.get(webhookId);
    if (!hook) return;
    let ready = false;
    for (const child of childrenOf(webhookDef)) {
      if (child.name.endsWith("ExcludedResources")) continue;
      const ct = tenant.table(child.name);
      if (ct.lookup("webhookID", webhookId).some((cid) => ct.get(cid)?.["isSubscribedField"] === true))
        ready = true;
    }
    if (hook["isReady"] !== ready) table.put({ ...hook, isReady: ready });
  }
}

const WEBHOOK_TYPES: readonly WebhookEntityType[] = ["Ticket", "TicketNote", "ConfigurationItem"];

function entityFieldByWebhookId(type: WebhookEntityType, fieldId: number): FieldDef | undefined {
  const def = ENTITIES.find((e) => e.webhookEntityType === type);
  return def?.fields.find((fd) => fd.webhookFieldId === fieldId);
}

/** The change as the ChangeListener sees it: which standard fields and UDFs differ (hooks.ts). */
export function changeOf(
  tenantId: string,
  entityType: WebhookEntityType,
  before: Row | null,
  after: Row | null,
  ctx: WriteContext,
): EntityChange {
  const changedFields: string[] = [];
  const changedUdfs: string[] = [];
  const ref = (after ?? before) as Row;
  for (const k of Object.keys(ref)) {
    if (k === "userDefinedFields") continue;
    const a = after?.[k] ?? null;
    const b = before?.[k] ?? null;
    if (after && before ? a !== b : a !== null) changedFields.push(k);
  }
  if (after) {
    const old = new Map(
      ((before?.["userDefinedFields"] as { name: string; value: unknown }[] | undefined) ?? []).map((p) => [
        p.name,
        p.value,
      ]),
    );
    for (const p of after["userDefinedFields"] as { name: string; value: unknown }[]) {
      if (before ? (old.get(p.name) ?? null) !== p.value : p.value !== null) changedUdfs.push(p.name);
    }
  }
  return {
    tenantId,
    entityType,
    action: !before ? "Create" : !after ? "Delete" : "Update",
    id: ref["id"] as number,
    before,
    after,
    changedFields,
    changedUdfs,
    personId: ctx.personId,
    at: ctx.now,
  };
}

/**
 * Saves the state to a file after writes: the first write of a burst schedules a save `delayMs`
 * later and the writes that follow ride along, so a burst costs one save. The gap grows with the
 * time a save takes (10× its duration), so a large tenant under a steady stream of writes does not
 * spend its time serialising. `flush()` saves now (on close). Writes go to a temporary file that is
 * renamed over the target, so a crash never leaves half a file.
 */
export class StatePersister {
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private gapMs: number;

  constructor(
    private readonly store: EmulatorStore,
    private readonly file: string,
    private readonly delayMs = 250,
  ) {
    this.gapMs = delayMs;
  }

  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.saving = this.saving.then(() => this.write()).catch(() => undefined);
    }, this.gapMs);
    this.timer.unref();
  }

  /** Writes now (cancelling a scheduled save) and waits for it. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.saving;
    await this.write();
  }

  private async write(): Promise<void> {
    const started = performance.now();
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(this.store.toState()));
    await rename(tmp, this.file);
    this.gapMs = Math.max(this.delayMs, Math.round((performance.now() - started) * 10));
  }
}

/** Webhook registrations of a tenant, for E2's delivery engine (hooks.ts WebhookRegistryView). */
export function webhookRows(tenant: Tenant, type: WebhookEntityType) {
  const hookDef = webhookEntityFor(type);
  const table = tenant.table(hookDef.name);
  const kids = childrenOf(hookDef);
  const childRows = (suffix: string, id: number): Row[] => {
    const child = kids.find((k) => k.name === `${type}Webhook${suffix}`);
    if (!child) return [];
    const ct = tenant.table(child.name);
    return ct.lookup("webhookID", id).map((cid) => ct.get(cid) as Row);
  };
  return table.ids.map((id) => ({
    entityType: type,
    webhook: table.get(id) as Row,
    fields: childRows("Fields", id),
    udfFields: childRows("UdfFields", id),
    excludedResources: childRows("ExcludedResources", id),
  }));
}
