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
import { ApiError, invalid } from "./api-error.js";
import { changeOf } from "./changes.js";
import { childrenOf, type EntityDef, entityDef, type FieldDef } from "./entities.js";
import { picklistValues } from "./fields.js";
import type { ChangeListener, Row, WebhookEntityType } from "./hooks.js";
import { maintain } from "./maintain.js";
import { Tenant } from "./tenant.js";
import type { ApiUser, StateFile, TenantData, WriteContext } from "./tenant-data.js";
import { applyCategoryDefaults, checkCategoryRequired } from "./ticket-rules.js";
import { checkTimeEntryDelete } from "./time-entry-rules.js";
import { validate, validateUdfs } from "./write-checks.js";
import { coerce, lowerKeys } from "./write-values.js";

// The modules the store is made of; importers use this module path.
export { ApiError, aspNetError, invalid } from "./api-error.js";
export { changeOf } from "./changes.js";
export { StatePersister } from "./persist.js";
export { indexKey, Table } from "./table.js";
export { Tenant, webhookRows } from "./tenant.js";
export type {
  ApiUser,
  PicklistValue,
  StateFile,
  TenantData,
  UdfDataType,
  UdfDefinition,
  WriteContext,
  ZoneData,
} from "./tenant-data.js";
export { coerce, timestamp } from "./write-values.js";

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
    validate(tenant, def, row, supplied, null);
    validateUdfs(tenant, def, row, udfs);
    if (def.name === "Tickets") checkCategoryRequired(tenant, row);
    row["id"] = tenant.nextId(def.name);
    maintain(tenant, def, row, null, ctx);
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
    validate(tenant, def, row, supplied, before);
    validateUdfs(tenant, def, row, udfs);
    maintain(tenant, def, row, before, ctx);
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
