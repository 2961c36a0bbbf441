/** One tenant's state in memory: its tables, picklists, UDF definitions and counters (store.ts). */
import { childrenOf, ENTITIES, type EntityDef, webhookEntityFor } from "./entities.js";
import type { Row, WebhookEntityType } from "./hooks.js";
import { Table } from "./table.js";
import type { ApiUser, PicklistValue, TenantData, UdfDefinition, ZoneData } from "./tenant-data.js";

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
