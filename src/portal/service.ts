import {
  type Insertable,
  type Kysely,
  type SelectQueryBuilder,
  type SqlBool,
  sql,
  type Transaction,
  type Updateable,
} from "kysely";
import type { Clock } from "../lib/clock.js";
import type { SecretBox } from "../lib/crypto.js";
import type { ConnectorManifest } from "../psa/connector.js";
import { BUILTIN_MANIFESTS, type ManifestSummary, manifestSummary } from "../psa/manifests.js";
import type { Db } from "../store/db.js";
import { escapeLike } from "../store/like.js";
import type { Database, DeviceRow, PartnerIntegrationRow } from "../store/schema.js";
import { type Actor, requirePartner, requirePermission, SYSTEM_ACTOR } from "./access.js";
import {
  DEFAULT_MAPPINGS,
  type DeviceState,
  MAPPING_KINDS,
  type MappingKind,
  PORTAL_PRIORITY_IDS,
  PORTAL_STATUS_IDS,
} from "./catalog.js";
import {
  bool,
  DEVICE_COLUMNS,
  toAlert,
  toAudit,
  toClient,
  toDevice,
  toMapping,
  toNote,
  toPartner,
  toTicket,
} from "./convert.js";
import { IMPORT_MAX_ROWS, importTooLarge, writeDeviceBatches } from "./device-import.js";
import { invalid, notFound, PortalError } from "./errors.js";
import {
  defaultIntegrationRow,
  type IntegrationRules,
  integrationView,
  integrationWrite,
} from "./integration-store.js";
import type {
  AuditEntry,
  Client,
  Device,
  DeviceAttributes,
  IntegrationInput,
  IntegrationView,
  MappingEntry,
  Note,
  Page,
  Partner,
  Ticket,
  TicketDetail,
  User,
} from "./types.js";
import { type UserInput, Users } from "./users.js";

type Q = Kysely<Database> | Transaction<Database>;

/** Who made a ticket change: a portal user (announced to the PSA through the outbox) or the sync itself. */
export interface ChangeOrigin {
  origin?: "portal" | "psa";
  /** Author shown on a note that came from the PSA. */
  author?: string;
}

export interface PortalHooks {
  /** Called after a portal ticket change was committed with its outbox row (the sync worker wakes up). */
  ticketChanged?(partnerId: number, ticketId: number): void;
  /** Called after integration settings were saved; `onboarding` is true the first time device integration is enabled. */
  integrationSaved?(partnerId: number, view: IntegrationView, onboarding: boolean): Promise<void>;
  /**
   * Why a PSA base URL may not be stored (the operator's allow-list), or null when it may. Without
   * it, only Autotask's own hosts are accepted.
   */
  psaUrlRefusal?(url: string): string | null;
  /** The manifests of the PSA connectors this nocbridge runs (default: the built-in ones). */
  manifests?: readonly ConnectorManifest[];
}

export interface PageQuery {
  limit?: number;
  offset?: number;
}

export type DeviceInput = Partial<DeviceAttributes> & { state: DeviceState; hostname: string };

export interface TicketInput {
  clientId: number;
  deviceId?: number | null;
  title: string;
  description?: string;
  statusId: number;
  priorityId: number;
  alerts?: Array<{ deviceId: number; message: string }>;
}

export type TicketPatch = Partial<Pick<TicketInput, "title" | "description" | "statusId" | "priorityId">> & {
  deviceId?: number | null;
};

/** One row of a mapping table as the API reads and writes it. */
export interface MappingRowInput {
  portalId: number;
  psaId: number;
  psaLabel?: string;
  /** What the PSA value belongs to (a ConnectWise status's board); omitted or null: no scope. */
  scope?: number | null;
}

export interface DeviceImportResult {
  created: number;
  updated: number;
  unchanged: number;
  items: Array<{ index: number; id: number; action: "created" | "updated" | "unchanged" }>;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

/**
 * The portal: partners, clients, devices, tickets, notes, users, integration settings and mapping
 * tables. Every method takes the acting user and enforces what that user may see and do: a record of
 * another partner is "not found", a write the role does not allow is "forbidden". Writes that touch
 * several rows happen in one transaction, so a rejected request writes nothing.
 */
export class Portal {
  readonly #db: Db;
  readonly #box: SecretBox;
  readonly #clock: Clock;
  readonly #hooks: PortalHooks;
  /** Users, tokens, sessions and sign-in. */
  readonly users: Users;

  constructor(db: Db, box: SecretBox, clock: Clock, hooks: PortalHooks = {}) {
    this.#db = db;
    this.#box = box;
    this.#clock = clock;
    this.#hooks = hooks;
    this.users = new Users(db, clock);
  }

  /** Registers what happens after integration settings change (the sync engine's onboarding trigger). */
  setHooks(hooks: PortalHooks): void {
    Object.assign(this.#hooks, hooks);
  }

  get #rules(): IntegrationRules {
    return {
      manifests: this.#hooks.manifests ?? BUILTIN_MANIFESTS,
      psaUrlRefusal: this.#hooks.psaUrlRefusal,
    };
  }

  /** The PSA systems a partner may choose, with their settings fields (the Setup form). */
  psaSystems(): ManifestSummary[] {
    return this.#rules.manifests.map(manifestSummary);
  }

  get #k(): Kysely<Database> {
    return this.#db.kysely;
  }

  /** Resolves when the store answers a trivial query (readiness). */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.#k);
  }

  #now(): string {
    return this.#clock.now().toISOString();
  }

  // ---------------------------------------------------------------- users and auth (users.ts)

  /** The actor a bearer token belongs to, or null. */
  authenticate(token: string): Promise<Actor | null> {
    return this.users.authenticate(token);
  }

  /** Username + password sign-in (the web UI); null when refused, 429 while the username is locked. */
  signIn(
    username: string,
    password: string,
    from: { ip: string },
  ): Promise<{ token: string; user: User } | null> {
    return this.users.signIn(username, password, from);
  }

  signOut(token: string): Promise<boolean> {
    return this.users.signOut(token);
  }

  ensureAdminToken(token: string): Promise<void> {
    return this.users.ensureAdminToken(token);
  }

  createUser(actor: Actor, input: UserInput): Promise<{ user: User; token: string }> {
    return this.users.create(actor, input);
  }

  listUsers(actor: Actor, page: PageQuery & { partnerId?: number } = {}): Promise<Page<User>> {
    return this.users.list(actor, page);
  }

  // ---------------------------------------------------------------- partners

  async createPartner(actor: Actor, input: { name: string; timeZone?: string }): Promise<Partner> {
    requirePermission(actor, "partner:create");
    const timeZone = input.timeZone ?? "UTC";
    checkTimeZone(timeZone);
    checkText("name", input.name);
    return this.#k.transaction().execute(async (trx) => {
      const now = this.#now();
      const row = await trx
        .insertInto("partners")
        .values({ name: input.name.trim(), time_zone: timeZone, created_at: now, updated_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .insertInto("partner_integrations")
        .values(defaultIntegrationRow(row.id, now, this.#rules))
        .execute();
      for (const kind of MAPPING_KINDS) {
        await insertMappings(
          trx,
          row.id,
          kind,
          DEFAULT_MAPPINGS[kind].map(([portalId, psaId, psaLabel]) => ({ portalId, psaId, psaLabel })),
        );
      }
      await this.#audit(trx, actor, row.id, "partner.create", `partner:${row.id}`, { name: row.name });
      return toPartner(row);
    });
  }

  async listPartners(actor: Actor, page: PageQuery = {}): Promise<Page<Partner>> {
    let q = this.#k.selectFrom("partners");
    if (actor.partnerId !== null) q = q.where("id", "=", actor.partnerId);
    return this.#page(q.selectAll().orderBy("id"), q, page, toPartner);
  }

  async getPartner(actor: Actor, partnerId: number): Promise<Partner> {
    requirePartner(actor, partnerId);
    return toPartner(await this.#partnerRow(this.#k, partnerId));
  }

  async updatePartner(
    actor: Actor,
    partnerId: number,
    patch: { name?: string; timeZone?: string },
  ): Promise<Partner> {
    requirePartner(actor, partnerId);
    await this.#partnerRow(this.#k, partnerId);
    requirePermission(actor, "partner:update");
    if (patch.timeZone !== undefined) checkTimeZone(patch.timeZone);
    if (patch.name !== undefined) checkText("name", patch.name);
    return this.#k.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable("partners")
        .set({
          ...(patch.name !== undefined ? { name: patch.name.trim() } : {}),
          ...(patch.timeZone !== undefined ? { time_zone: patch.timeZone } : {}),
          updated_at: this.#now(),
        })
        .where("id", "=", partnerId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.#audit(trx, actor, partnerId, "partner.update", `partner:${partnerId}`, patch);
      return toPartner(row);
    });
  }

  async #partnerRow(q: Q, partnerId: number, field?: string) {
    const row = await q.selectFrom("partners").selectAll().where("id", "=", partnerId).executeTakeFirst();
    if (!row) throw field ? invalid(field, `partner ${partnerId} not found`) : notFound("partner");
    return row;
  }

  // ---------------------------------------------------------------- integration settings

  async getIntegration(actor: Actor, partnerId: number): Promise<IntegrationView> {
    requirePartner(actor, partnerId);
    await this.#partnerRow(this.#k, partnerId);
    return integrationView(await this.#integrationRow(this.#k, partnerId), this.#rules);
  }

  async putIntegration(actor: Actor, partnerId: number, input: IntegrationInput): Promise<IntegrationView> {
    requirePartner(actor, partnerId);
    await this.#partnerRow(this.#k, partnerId);
    requirePermission(actor, "integration:write");
    const current = await this.#integrationRow(this.#k, partnerId);
    const { values, secretChange, onboarding } = integrationWrite(current, input, {
      ...this.#rules,
      seal: (secret) => this.#box.encrypt(secret, partnerId),
      now: this.#now(),
    });
    const saved = await this.#k.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable("partner_integrations")
        .set(values)
        .where("partner_id", "=", partnerId)
        .returningAll()
        .executeTakeFirstOrThrow();
      const view = integrationView(row, this.#rules);
      await this.#audit(trx, actor, partnerId, "integration.update", `partner:${partnerId}/integration`, {
        ticketing: { ...view.ticketing },
        devices: view.devices,
        secret: secretChange,
      });
      return view;
    });
    await this.#hooks.integrationSaved?.(partnerId, saved, onboarding);
    return saved;
  }

  /**
   * The integration settings with the secret decrypted, for the sync engine only (never an API
   * answer). Not audited: it is the system using the credential, not a person viewing it.
   */
  async integrationForSync(
    partnerId: number,
  ): Promise<{ view: IntegrationView; secret: string | null; timeZone: string }> {
    const partner = await this.#partnerRow(this.#k, partnerId);
    const row = await this.#integrationRow(this.#k, partnerId);
    const secret = row.secret_sealed === null ? null : this.#box.decrypt(row.secret_sealed, partnerId);
    return { view: integrationView(row, this.#rules), secret, timeZone: partner.time_zone };
  }

  /** The explicit, audited read of the PSA secret (partner admins and NOC admins only). */
  async readSecret(actor: Actor, partnerId: number): Promise<{ secret: string | null }> {
    requirePartner(actor, partnerId);
    await this.#partnerRow(this.#k, partnerId);
    requirePermission(actor, "secret:read");
    const row = await this.#integrationRow(this.#k, partnerId);
    const secret = row.secret_sealed === null ? null : this.#box.decrypt(row.secret_sealed, partnerId);
    await this.#audit(
      this.#k,
      actor,
      partnerId,
      "integration.secret.read",
      `partner:${partnerId}/integration/secret`,
      {},
    );
    return { secret };
  }

  async #integrationRow(q: Q, partnerId: number): Promise<PartnerIntegrationRow> {
    const row = await q
      .selectFrom("partner_integrations")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .executeTakeFirst();
    return row ?? defaultIntegrationRow(partnerId, this.#now(), this.#rules);
  }

  // ---------------------------------------------------------------- mapping tables

  async getMappings(actor: Actor, partnerId: number, kind: MappingKind): Promise<MappingEntry[]> {
    requirePartner(actor, partnerId);
    await this.#partnerRow(this.#k, partnerId);
    return this.#mappings(this.#k, partnerId, kind);
  }

  /** Replaces a whole table. Rows are checked first; a bad row rejects the request and nothing changes. */
  async putMappings(
    actor: Actor,
    partnerId: number,
    kind: MappingKind,
    rows: MappingRowInput[],
  ): Promise<MappingEntry[]> {
    requirePartner(actor, partnerId);
    await this.#partnerRow(this.#k, partnerId);
    requirePermission(actor, "mapping:write");
    checkMappingRows(kind, rows);
    return this.#k.transaction().execute(async (trx) => {
      await trx.deleteFrom("mappings").where("partner_id", "=", partnerId).where("kind", "=", kind).execute();
      await insertMappings(trx, partnerId, kind, rows);
      await this.#audit(trx, actor, partnerId, "mapping.update", `partner:${partnerId}/mappings/${kind}`, {
        rows,
      });
      return this.#mappings(trx, partnerId, kind);
    });
  }

  /** Adds one row at the end of a table ("add mapping"). */
  async addMapping(
    actor: Actor,
    partnerId: number,
    kind: MappingKind,
    row: MappingRowInput,
  ): Promise<MappingEntry[]> {
    const current = await this.getMappings(actor, partnerId, kind);
    const rows = current.map(mappingRowOf);
    return this.putMappings(actor, partnerId, kind, [...rows, row]);
  }

  /** Removes one row ("remove"). */
  async removeMapping(
    actor: Actor,
    partnerId: number,
    kind: MappingKind,
    rowId: number,
  ): Promise<MappingEntry[]> {
    const current = await this.getMappings(actor, partnerId, kind);
    if (!current.some((m) => m.id === rowId)) throw notFound("mapping row");
    const rows = current.filter((m) => m.id !== rowId).map(mappingRowOf);
    return this.putMappings(actor, partnerId, kind, rows);
  }

  async #mappings(q: Q, partnerId: number, kind: MappingKind): Promise<MappingEntry[]> {
    const rows = await q
      .selectFrom("mappings")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .where("kind", "=", kind)
      .orderBy("position")
      .execute();
    return rows.map(toMapping);
  }

  // ---------------------------------------------------------------- clients

  async createClient(
    actor: Actor,
    partnerId: number,
    input: { code: string; name: string; psaCompanyId?: number | null },
  ): Promise<Client> {
    requirePartner(actor, partnerId);
    await this.#partnerRow(this.#k, partnerId);
    requirePermission(actor, "data:write");
    checkText("code", input.code);
    checkText("name", input.name);
    await this.#uniqueClientCode(partnerId, input.code.trim());
    const now = this.#now();
    const row = await this.#k
      .insertInto("clients")
      .values({
        partner_id: partnerId,
        code: input.code.trim(),
        name: input.name.trim(),
        psa_company_id: input.psaCompanyId ?? null,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toClient(row);
  }

  async listClients(actor: Actor, partnerId: number, page: PageQuery = {}): Promise<Page<Client>> {
    requirePartner(actor, partnerId);
    await this.#partnerRow(this.#k, partnerId);
    const q = this.#k.selectFrom("clients").where("partner_id", "=", partnerId);
    return this.#page(q.selectAll().orderBy("id"), q, page, toClient);
  }

  async getClient(actor: Actor, clientId: number): Promise<Client> {
    return toClient(await this.#clientRow(actor, clientId));
  }

  async updateClient(
    actor: Actor,
    clientId: number,
    patch: { code?: string; name?: string; psaCompanyId?: number | null },
  ): Promise<Client> {
    const current = await this.#clientRow(actor, clientId);
    requirePermission(actor, "data:write");
    if (patch.code !== undefined) {
      checkText("code", patch.code);
      if (patch.code.trim() !== current.code)
        await this.#uniqueClientCode(current.partner_id, patch.code.trim());
    }
    if (patch.name !== undefined) checkText("name", patch.name);
    const row = await this.#k
      .updateTable("clients")
      .set({
        ...(patch.code !== undefined ? { code: patch.code.trim() } : {}),
        ...(patch.name !== undefined ? { name: patch.name.trim() } : {}),
        ...(patch.psaCompanyId !== undefined ? { psa_company_id: patch.psaCompanyId } : {}),
        updated_at: this.#now(),
      })
      .where("id", "=", clientId)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toClient(row);
  }

  async #uniqueClientCode(partnerId: number, code: string): Promise<void> {
    const clash = await this.#k
      .selectFrom("clients")
      .select("id")
      .where("partner_id", "=", partnerId)
      .where("code", "=", code)
      .executeTakeFirst();
    if (clash)
      throw new PortalError("CONFLICT", 409, `code: a client with code "${code}" already exists`, "code");
  }

  async #clientRow(actor: Actor, clientId: number, field?: string) {
    const row = await this.#k.selectFrom("clients").selectAll().where("id", "=", clientId).executeTakeFirst();
    if (!row || (actor.partnerId !== null && actor.partnerId !== row.partner_id)) {
      throw field ? invalid(field, `client ${clientId} not found`) : notFound("client");
    }
    return row;
  }

  // ---------------------------------------------------------------- for the sync engine (system use, no actor)

  /** All clients of a partner with their device counts, ordered by code. */
  async clientsForSync(partnerId: number): Promise<Array<Client & { deviceCount: number }>> {
    const rows = await this.#k
      .selectFrom("clients")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .orderBy("code")
      .execute();
    const counts = await this.#k
      .selectFrom("devices")
      .select(["client_id", (eb) => eb.fn.countAll().as("n")])
      .where("partner_id", "=", partnerId)
      .groupBy("client_id")
      .execute();
    const byClient = new Map(counts.map((c) => [c.client_id, Number(c.n)]));
    return rows.map((r) => ({ ...toClient(r), deviceCount: byClient.get(r.id) ?? 0 }));
  }

  /** Every device of a client, in id order (no paging: the sync reads them all). */
  async devicesForSync(clientId: number): Promise<Device[]> {
    const rows = await this.#k
      .selectFrom("devices")
      .selectAll()
      .where("client_id", "=", clientId)
      .orderBy("id")
      .execute();
    return rows.map(toDevice);
  }

  /** The ids of a partner's devices that still exist, out of `ids`. */
  async existingDeviceIds(partnerId: number, ids: number[]): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    const out = new Set<number>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.#k
        .selectFrom("devices")
        .select("id")
        .where("partner_id", "=", partnerId)
        .where("id", "in", ids.slice(i, i + 500))
        .execute();
      for (const r of rows) out.add(r.id);
    }
    return out;
  }

  // ---------------------------------------------------------------- devices

  async createDevice(actor: Actor, clientId: number, input: DeviceInput): Promise<Device> {
    const client = await this.#clientRow(actor, clientId);
    requirePermission(actor, "data:write");
    checkDevice(input, "");
    const now = this.#now();
    const row = await this.#k
      .insertInto("devices")
      .values({
        ...deviceColumns(input),
        partner_id: client.partner_id,
        client_id: clientId,
        state: input.state,
        created_at: now,
        updated_at: now,
      } as Insertable<DeviceRow>)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toDevice(row);
  }

  async listDevices(
    actor: Actor,
    clientId: number,
    filter: PageQuery & { state?: DeviceState; search?: string },
  ): Promise<Page<Device>> {
    await this.#clientRow(actor, clientId);
    let q = this.#k.selectFrom("devices").where("client_id", "=", clientId);
    if (filter.state) q = q.where("state", "=", filter.state);
    if (filter.search) {
      // The search text is matched literally: its % and _ are escaped (ESCAPE works alike on both stores).
      const s = `%${escapeLike(filter.search.toLowerCase())}%`;
      q = q.where((eb) =>
        eb.or([
          sql<SqlBool>`lower(hostname) like ${s} escape '!'`,
          sql<SqlBool>`lower(serial_number) like ${s} escape '!'`,
        ]),
      );
    }
    return this.#page(q.selectAll().orderBy("id"), q, filter, toDevice);
  }

  async getDevice(actor: Actor, deviceId: number): Promise<Device> {
    return toDevice(await this.#deviceRow(actor, deviceId));
  }

  async updateDevice(actor: Actor, deviceId: number, patch: Partial<DeviceInput>): Promise<Device> {
    await this.#deviceRow(actor, deviceId);
    requirePermission(actor, "data:write");
    checkDevice(patch, "");
    const row = await this.#k
      .updateTable("devices")
      .set({ ...deviceColumns(patch), updated_at: this.#now() })
      .where("id", "=", deviceId)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toDevice(row);
  }

  /**
   * Upserts a discovery feed: each device is matched by hostname + serial number within the client.
   * The whole array is checked first and written in one transaction (in batches that let the server
   * breathe): one bad entry rejects the import (naming its index and field) and nothing is written.
   */
  async importDevices(actor: Actor, clientId: number, inputs: DeviceInput[]): Promise<DeviceImportResult> {
    const client = await this.#clientRow(actor, clientId);
    requirePermission(actor, "data:write");
    if (inputs.length > IMPORT_MAX_ROWS) throw importTooLarge(inputs.length);
    inputs.forEach((d, i) => {
      checkDevice(d, `[${i}].`);
    });
    const rows = inputs.map((input) => ({ ...deviceColumns(input), state: input.state }));
    const target = { partnerId: client.partner_id, clientId, now: this.#now() };
    return this.#k.transaction().execute((trx) => writeDeviceBatches(trx, target, rows));
  }

  async #deviceRow(actor: Actor, deviceId: number, field?: string) {
    const row = await this.#k.selectFrom("devices").selectAll().where("id", "=", deviceId).executeTakeFirst();
    if (!row || (actor.partnerId !== null && actor.partnerId !== row.partner_id)) {
      throw field ? invalid(field, `device ${deviceId} not found`) : notFound("device");
    }
    return row;
  }

  // ---------------------------------------------------------------- tickets and notes

  async createTicket(
    actor: Actor,
    partnerId: number,
    input: TicketInput,
    o: ChangeOrigin = {},
  ): Promise<TicketDetail> {
    requirePartner(actor, partnerId);
    await this.#partnerRow(this.#k, partnerId);
    requirePermission(actor, "data:write");
    const client = await this.#clientRow(actor, input.clientId, "clientId");
    if (client.partner_id !== partnerId) throw invalid("clientId", `client ${input.clientId} not found`);
    checkText("title", input.title);
    checkStatus("statusId", input.statusId);
    checkPriority("priorityId", input.priorityId);
    const alerts = input.alerts ?? [];
    for (const [i, a] of alerts.entries()) {
      await this.#clientDevice(actor, client.id, a.deviceId, `alerts[${i}].deviceId`);
      checkText(`alerts[${i}].message`, a.message);
    }
    if (input.deviceId !== undefined && input.deviceId !== null)
      await this.#clientDevice(actor, client.id, input.deviceId, "deviceId");
    // A ticket raised by alerts from several devices maps to one device: the first alert's (seed, Q6).
    const deviceId = input.deviceId ?? alerts[0]?.deviceId ?? null;
    const id = await this.#k.transaction().execute(async (trx) => {
      const now = this.#now();
      const row = await trx
        .insertInto("tickets")
        .values({
          partner_id: partnerId,
          client_id: client.id,
          device_id: deviceId,
          title: input.title.trim(),
          description: input.description ?? "",
          status_id: input.statusId,
          priority_id: input.priorityId,
          created_at: now,
          updated_at: now,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      for (const a of alerts) {
        await trx
          .insertInto("ticket_alerts")
          .values({ ticket_id: row.id, device_id: a.deviceId, message: a.message, created_at: now })
          .execute();
      }
      if (o.origin !== "psa") await this.#announce(trx, partnerId, row.id, "ticket");
      return row.id;
    });
    if (o.origin !== "psa") this.#hooks.ticketChanged?.(partnerId, id);
    return this.getTicket(actor, id);
  }

  async listTickets(
    actor: Actor,
    partnerId: number,
    filter: PageQuery & { statusId?: number; priorityId?: number; clientId?: number; deviceId?: number },
  ): Promise<Page<Ticket>> {
    requirePartner(actor, partnerId);
    await this.#partnerRow(this.#k, partnerId);
    let q = this.#k.selectFrom("tickets").where("partner_id", "=", partnerId);
    if (filter.statusId !== undefined) q = q.where("status_id", "=", filter.statusId);
    if (filter.priorityId !== undefined) q = q.where("priority_id", "=", filter.priorityId);
    if (filter.clientId !== undefined) q = q.where("client_id", "=", filter.clientId);
    if (filter.deviceId !== undefined) q = q.where("device_id", "=", filter.deviceId);
    return this.#page(q.selectAll().orderBy("id", "desc"), q, filter, toTicket);
  }

  async getTicket(actor: Actor, ticketId: number): Promise<TicketDetail> {
    const row = await this.#ticketRow(actor, ticketId);
    const [alerts, notes] = await Promise.all([
      this.#k
        .selectFrom("ticket_alerts")
        .selectAll()
        .where("ticket_id", "=", ticketId)
        .orderBy("id")
        .execute(),
      this.#k
        .selectFrom("ticket_notes")
        .selectAll()
        .where("ticket_id", "=", ticketId)
        .orderBy("id")
        .execute(),
    ]);
    return { ...toTicket(row), alerts: alerts.map(toAlert), notes: notes.map(toNote) };
  }

  async updateTicket(
    actor: Actor,
    ticketId: number,
    patch: TicketPatch,
    o: ChangeOrigin = {},
  ): Promise<TicketDetail> {
    const current = await this.#ticketRow(actor, ticketId);
    requirePermission(actor, "data:write");
    if (patch.title !== undefined) checkText("title", patch.title);
    if (patch.statusId !== undefined) checkStatus("statusId", patch.statusId);
    if (patch.priorityId !== undefined) checkPriority("priorityId", patch.priorityId);
    if (patch.deviceId !== undefined && patch.deviceId !== null) {
      await this.#clientDevice(actor, current.client_id, patch.deviceId, "deviceId");
    }
    await this.#k.transaction().execute(async (trx) => {
      await trx
        .updateTable("tickets")
        .set({
          ...(patch.title !== undefined ? { title: patch.title.trim() } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
          ...(patch.statusId !== undefined ? { status_id: patch.statusId } : {}),
          ...(patch.priorityId !== undefined ? { priority_id: patch.priorityId } : {}),
          ...(patch.deviceId !== undefined ? { device_id: patch.deviceId } : {}),
          updated_at: this.#now(),
        })
        .where("id", "=", ticketId)
        .execute();
      if (o.origin !== "psa") await this.#announce(trx, current.partner_id, ticketId, "ticket");
    });
    if (o.origin !== "psa") this.#hooks.ticketChanged?.(current.partner_id, ticketId);
    return this.getTicket(actor, ticketId);
  }

  async addNote(
    actor: Actor,
    ticketId: number,
    input: { text: string; published: boolean },
    o: ChangeOrigin = {},
  ): Promise<Note> {
    const ticket = await this.#ticketRow(actor, ticketId);
    requirePermission(actor, "data:write");
    checkText("text", input.text);
    const note = await this.#k.transaction().execute(async (trx) => {
      const now = this.#now();
      const row = await trx
        .insertInto("ticket_notes")
        .values({
          ticket_id: ticketId,
          text: input.text,
          published: bool(input.published),
          author: o.author ?? actor.name,
          created_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      // A note is not an edit of the ticket's fields: updated_at (the field-conflict timestamp) stays.
      if (o.origin !== "psa") await this.#announce(trx, ticket.partner_id, ticketId, "note");
      return toNote(row);
    });
    if (o.origin !== "psa") this.#hooks.ticketChanged?.(ticket.partner_id, ticketId);
    return note;
  }

  /** The outbox row that announces a portal ticket change, in the change's own transaction. */
  async #announce(trx: Q, partnerId: number, ticketId: number, kind: "ticket" | "note"): Promise<void> {
    await trx
      .insertInto("ticket_outbox")
      .values({ partner_id: partnerId, ticket_id: ticketId, kind, created_at: this.#now() })
      .execute();
  }

  async listNotes(
    actor: Actor,
    ticketId: number,
    filter: PageQuery & { published?: boolean } = {},
  ): Promise<Page<Note>> {
    await this.#ticketRow(actor, ticketId);
    let q = this.#k.selectFrom("ticket_notes").where("ticket_id", "=", ticketId);
    if (filter.published !== undefined) q = q.where("published", "=", bool(filter.published));
    return this.#page(q.selectAll().orderBy("id"), q, filter, toNote);
  }

  async #ticketRow(actor: Actor, ticketId: number) {
    const row = await this.#k.selectFrom("tickets").selectAll().where("id", "=", ticketId).executeTakeFirst();
    if (!row || (actor.partnerId !== null && actor.partnerId !== row.partner_id)) throw notFound("ticket");
    return row;
  }

  /** A device that must belong to the ticket's client; otherwise a 400 naming the field. */
  async #clientDevice(actor: Actor, clientId: number, deviceId: number, field: string): Promise<void> {
    const row = await this.#deviceRow(actor, deviceId, field);
    if (row.client_id !== clientId)
      throw invalid(field, `device ${deviceId} does not belong to the ticket's client`);
  }

  // ---------------------------------------------------------------- audit

  async listAudit(
    actor: Actor,
    partnerId: number | null,
    page: PageQuery & { action?: string } = {},
  ): Promise<Page<AuditEntry>> {
    if (partnerId !== null) {
      requirePartner(actor, partnerId);
      await this.#partnerRow(this.#k, partnerId);
    } else if (actor.partnerId !== null) {
      throw notFound("audit log");
    }
    requirePermission(actor, "audit:read");
    let q = this.#k.selectFrom("audit_log");
    if (partnerId !== null) q = q.where("partner_id", "=", partnerId);
    if (page.action) q = q.where("action", "=", page.action);
    return this.#page(q.selectAll().orderBy("id", "desc"), q, page, toAudit);
  }

  async #audit(
    q: Q,
    actor: Actor,
    partnerId: number | null,
    action: string,
    target: string,
    detail: object,
  ): Promise<void> {
    await q
      .insertInto("audit_log")
      .values({
        partner_id: partnerId,
        actor_user_id: actor.userId,
        actor_name: actor.name,
        action,
        target,
        detail: JSON.stringify(detail),
        created_at: this.#now(),
      })
      .execute();
  }

  // ---------------------------------------------------------------- helpers

  /** Runs a paged select and its count; `base` is the same query before select and order. */
  async #page<TB extends keyof Database, R, T>(
    select: SelectQueryBuilder<Database, TB, R>,
    base: SelectQueryBuilder<Database, TB, object>,
    page: PageQuery,
    convert: (row: R) => T,
  ): Promise<Page<T>> {
    const limit = Math.min(Math.max(page.limit ?? DEFAULT_LIMIT, 1), MAX_LIMIT);
    const offset = Math.max(page.offset ?? 0, 0);
    const [rows, count] = await Promise.all([
      select.limit(limit).offset(offset).execute(),
      base.select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(convert), total: Number(count.n), limit, offset };
  }
}

export { SYSTEM_ACTOR };

async function insertMappings(
  q: Q,
  partnerId: number,
  kind: MappingKind,
  rows: MappingRowInput[],
): Promise<void> {
  if (rows.length === 0) return;
  await q
    .insertInto("mappings")
    .values(
      rows.map((r, position) => ({
        partner_id: partnerId,
        kind,
        portal_id: r.portalId,
        psa_id: r.psaId,
        psa_label: r.psaLabel ?? "",
        position,
        scope: r.scope ?? null,
      })),
    )
    .execute();
}

const mappingRowOf = (m: MappingEntry): MappingRowInput => ({
  portalId: m.portalId,
  psaId: m.psaId,
  psaLabel: m.psaLabel,
  scope: m.scope,
});

/**
 * The rules of each table: forward maps each portal status once; reverse maps each PSA status once;
 * the priority table maps each PSA priority once (several may share a portal priority — read right to
 * left, the first row wins). Where PSA values belong to a scope (a board), each rule holds per scope.
 */
function checkMappingRows(kind: MappingKind, rows: MappingRowInput[]): void {
  const names = mappingFieldNames(kind);
  const seen = new Set<string>();
  rows.forEach((r, i) => {
    const portalOk =
      kind === "priority" ? PORTAL_PRIORITY_IDS.has(r.portalId) : PORTAL_STATUS_IDS.has(r.portalId);
    if (!portalOk)
      throw invalid(
        `rows[${i}].${names.portal}`,
        `${r.portalId} is not a portal ${kind === "priority" ? "priority" : "status"} id`,
      );
    if (!Number.isInteger(r.psaId) || r.psaId < 0)
      throw invalid(`rows[${i}].${names.psa}`, "must be a non-negative integer");
    if (r.scope !== undefined && r.scope !== null && (!Number.isInteger(r.scope) || r.scope < 0))
      throw invalid(`rows[${i}].scope`, "must be a non-negative integer or null");
    const id = kind === "status-forward" ? r.portalId : r.psaId;
    const key = `${r.scope ?? ""}:${id}`;
    if (seen.has(key)) {
      const field = kind === "status-forward" ? names.portal : names.psa;
      const where = r.scope === undefined || r.scope === null ? "" : ` in scope ${r.scope}`;
      throw invalid(`rows[${i}].${field}`, `${id} is mapped twice${where}; each may appear in one row only`);
    }
    seen.add(key);
  });
}

export function mappingFieldNames(kind: MappingKind): { portal: string; psa: string; psaLabel: string } {
  return kind === "priority"
    ? { portal: "portalPriorityId", psa: "psaPriorityId", psaLabel: "psaPriorityName" }
    : { portal: "portalStatusId", psa: "psaStatusId", psaLabel: "psaStatusName" };
}

function deviceColumns(input: Partial<DeviceInput>): Updateable<DeviceRow> {
  const out: Record<string, string | null> = {};
  for (const [attr, col] of Object.entries(DEVICE_COLUMNS)) {
    const v = input[attr as keyof DeviceInput];
    if (v !== undefined)
      out[col] = typeof v === "string" && attr !== "warrantyEndDate" ? v.trim() : (v as string | null);
  }
  return out as Updateable<DeviceRow>;
}

function checkDevice(d: Partial<DeviceInput>, prefix: string): void {
  if (d.hostname !== undefined) checkText(`${prefix}hostname`, d.hostname);
  if (d.warrantyEndDate !== undefined && d.warrantyEndDate !== null && !isIsoDate(d.warrantyEndDate)) {
    throw invalid(`${prefix}warrantyEndDate`, `"${d.warrantyEndDate}" is not a date (YYYY-MM-DD)`);
  }
}

function checkText(field: string, value: string): void {
  if (value.trim() === "") throw invalid(field, "must not be empty");
}

function checkStatus(field: string, id: number): void {
  if (!PORTAL_STATUS_IDS.has(id)) throw invalid(field, `${id} is not a portal status id`);
}

function checkPriority(field: string, id: number): void {
  if (!PORTAL_PRIORITY_IDS.has(id)) throw invalid(field, `${id} is not a portal priority id`);
}

export function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    throw invalid("timeZone", `"${tz}" is not an IANA time zone (e.g. "Asia/Kolkata", "UTC")`);
  }
}

function isIsoDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
}
