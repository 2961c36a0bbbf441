/**
 * In-memory state of the ConnectWise emulator: tenants (one per company id), each with its tables of
 * records, API keys, custom field definitions and the key that signs its callbacks. Records are plain
 * JSON objects; a write replaces the object, so a reader never sees a half-applied change.
 */
import { randomBytes, randomUUID } from "node:crypto";

export type Rec = Record<string, unknown> & { id: number };

/** Entities that carry custom fields. */
export type CustomFieldEntity = "Ticket" | "Configuration" | "Company";

export interface CustomFieldDef {
  id: number;
  entity: CustomFieldEntity;
  caption: string;
  type:
    | "Text"
    | "TextArea"
    | "Number"
    | "Checkbox"
    | "Date"
    | "Currency"
    | "Percent"
    | "Hyperlink"
    | "IPAddress";
  entryMethod: "EntryField" | "List" | "Option" | "Date";
  numberOfDecimals: number;
}

/** An API key pair; records written with it carry its member as `updatedBy`. */
export interface ApiKey {
  publicKey: string;
  privateKey: string;
  memberId: number;
}

export interface TenantData {
  companyId: string;
  companyName: string;
  /** Versioned codebase of this tenant, e.g. "v2025_1" (v4_6_release is always accepted too). */
  codebase: string;
  /** Secret behind the callbacks' key_url, and the id in that URL. */
  signingKey: string;
  signingKeyId: string;
  apiKeys: ApiKey[];
  customFields: CustomFieldDef[];
  tables: Record<string, Rec[]>;
  /** Links of tickets to configurations: ticket id → configuration ids. */
  ticketConfigurations: Record<string, number[]>;
}

export class Tenant {
  readonly companyId: string;
  companyName: string;
  codebase: string;
  signingKey: string;
  signingKeyId: string;
  apiKeys: ApiKey[];
  customFields: CustomFieldDef[];
  private readonly tables = new Map<string, Map<number, Rec>>();
  private readonly nextIds = new Map<string, number>();
  readonly ticketConfigurations = new Map<number, number[]>();

  constructor(d: TenantData) {
    this.companyId = d.companyId;
    this.companyName = d.companyName;
    this.codebase = d.codebase;
    this.signingKey = d.signingKey;
    this.signingKeyId = d.signingKeyId;
    this.apiKeys = d.apiKeys.map((k) => ({ ...k }));
    this.customFields = d.customFields.map((c) => ({ ...c }));
    for (const [name, rows] of Object.entries(d.tables)) {
      const m = this.table(name);
      for (const r of rows) {
        m.set(r.id, structuredClone(r));
        this.nextIds.set(name, Math.max(this.nextIds.get(name) ?? 1, r.id + 1));
      }
    }
    for (const [t, ids] of Object.entries(d.ticketConfigurations))
      this.ticketConfigurations.set(Number(t), [...ids]);
  }

  table(name: string): Map<number, Rec> {
    let m = this.tables.get(name);
    if (!m) {
      m = new Map();
      this.tables.set(name, m);
    }
    return m;
  }

  rows(name: string): Rec[] {
    return [...this.table(name).values()];
  }

  get(name: string, id: number): Rec | undefined {
    return this.table(name).get(id);
  }

  nextId(name: string): number {
    const id = this.nextIds.get(name) ?? 1;
    this.nextIds.set(name, id + 1);
    return id;
  }

  put(name: string, rec: Rec): void {
    this.table(name).set(rec.id, rec);
    this.nextIds.set(name, Math.max(this.nextIds.get(name) ?? 1, rec.id + 1));
  }

  delete(name: string, id: number): boolean {
    return this.table(name).delete(id);
  }

  memberByKey(publicKey: string, privateKey: string): Rec | undefined {
    const k = this.apiKeys.find((x) => x.publicKey === publicKey && x.privateKey === privateKey);
    return k ? this.get("members", k.memberId) : undefined;
  }

  /** Adds an API key pair for a member (random when not given). */
  addKey(memberId: number, publicKey?: string, privateKey?: string): ApiKey {
    const key = {
      publicKey: publicKey ?? randomBytes(8).toString("hex"),
      privateKey: privateKey ?? randomBytes(8).toString("hex"),
      memberId,
    };
    this.apiKeys.push(key);
    return key;
  }

  rotateSigningKey(): void {
    this.signingKey = randomBytes(24).toString("base64");
    this.signingKeyId = randomUUID();
  }

  toData(): TenantData {
    const tables: Record<string, Rec[]> = {};
    for (const [name, m] of this.tables) tables[name] = [...m.values()].map((r) => structuredClone(r));
    const ticketConfigurations: Record<string, number[]> = {};
    for (const [t, ids] of this.ticketConfigurations) ticketConfigurations[String(t)] = [...ids];
    return {
      companyId: this.companyId,
      companyName: this.companyName,
      codebase: this.codebase,
      signingKey: this.signingKey,
      signingKeyId: this.signingKeyId,
      apiKeys: this.apiKeys.map((k) => ({ ...k })),
      customFields: this.customFields.map((c) => ({ ...c })),
      tables,
      ticketConfigurations,
    };
  }
}

/** All tenants by company id (matched case-insensitively, as the login does) and the known clientIds. */
export class CwStore {
  private readonly byId = new Map<string, Tenant>();
  readonly clientIds = new Set<string>();

  tenant(companyId: string): Tenant | undefined {
    return this.byId.get(companyId.toLowerCase());
  }

  tenants(): Tenant[] {
    return [...this.byId.values()];
  }

  add(data: TenantData): Tenant {
    if (this.byId.has(data.companyId.toLowerCase())) throw new Error(`Tenant ${data.companyId} exists.`);
    const t = new Tenant(data);
    this.byId.set(data.companyId.toLowerCase(), t);
    return t;
  }

  replace(data: TenantData): Tenant {
    this.byId.delete(data.companyId.toLowerCase());
    return this.add(data);
  }

  remove(companyId: string): boolean {
    return this.byId.delete(companyId.toLowerCase());
  }

  clear(): void {
    this.byId.clear();
  }
}

/** Second-resolution UTC stamp, as the API writes `_info.lastUpdated`: "2026-06-04T17:54:53Z". */
export function stamp(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
