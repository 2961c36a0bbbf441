import { Cron } from "croner";
import type { Insertable, Kysely, SelectQueryBuilder, Transaction, Updateable } from "kysely";
import type { Clock } from "../lib/clock.js";
import { hashPassword, hashToken, newToken, type SecretBox, verifyPassword } from "../lib/crypto.js";
import { PsaUrlPolicy } from "../psa/url-policy.js";
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
  toUser,
} from "../store/convert.js";
import type { Db } from "../store/db.js";
import type { Database, DeviceRow, PartnerIntegrationRow } from "../store/schema.js";
import { type Actor, requirePartner, requirePermission, SYSTEM_ACTOR } from "./access.js";
import {
  DEFAULT_ASSET_SCHEDULE,
  DEFAULT_MAPPINGS,
  type DeviceState,
  MAPPING_KINDS,
  type MappingKind,
  PORTAL_PRIORITY_IDS,
  PORTAL_STATUS_IDS,
  type Role,
} from "./catalog.js";
import { conflict, invalid, notFound, PortalError } from "./errors.js";
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
}

export interface DeviceImportResult {
  created: number;
  updated: number;
  unchanged: number;
  items: Array<{ index: number; id: number; action: "created" | "updated" | "unchanged" }>;
}

const MASK = "********";
/** Compared against when a username does not exist, so a sign-in costs the same either way (made on first use). */
let dummyPasswordHash: string | undefined;
const dummyHash = () => (dummyPasswordHash ??= hashPassword("nocbridge-no-such-user"));
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

  constructor(db: Db, box: SecretBox, clock: Clock, hooks: PortalHooks = {}) {
    this.#db = db;
    this.#box = box;
    this.#clock = clock;
    this.#hooks = hooks;
  }

  /** Registers what happens after integration settings change (the sync engine's onboarding trigger). */
  setHooks(hooks: PortalHooks): void {
    Object.assign(this.#hooks, hooks);
  }

  get #k(): Kysely<Database> {
    return this.#db.kysely;
  }

  #now(): string {
    return this.#clock.now().toISOString();
  }

  // ---------------------------------------------------------------- users and auth

  /** The actor a bearer token belongs to, or null. */
  async authenticate(token: string): Promise<Actor | null> {
    const hash = hashToken(token);
    let row = await this.#k
      .selectFrom("users")
      .selectAll()
      .where("token_hash", "=", hash)
      .where("disabled", "=", 0)
      .executeTakeFirst();
    if (!row) {
      // A web UI session token (from signIn), valid until it expires or is revoked.
      row = await this.#k
        .selectFrom("sessions")
        .innerJoin("users", "users.id", "sessions.user_id")
        .selectAll("users")
        .where("sessions.token_hash", "=", hash)
        .where("sessions.revoked_at", "is", null)
        .where("sessions.expires_at", ">", this.#now())
        .where("users.disabled", "=", 0)
        .executeTakeFirst();
    }
    if (!row) return null;
    return { userId: row.id, name: row.name, role: row.role as Role, partnerId: row.partner_id };
  }

  /** Username + password sign-in (the web UI): a new session token, valid for 12 hours. */
  async signIn(username: string, password: string): Promise<{ token: string; user: User } | null> {
    const row = await this.#k
      .selectFrom("users")
      .selectAll()
      .where("username", "=", username)
      .where("disabled", "=", 0)
      .executeTakeFirst();
    // The hash is computed even for an unknown user, so timing does not tell which usernames exist.
    const ok = verifyPassword(password, row?.password_hash ?? dummyHash());
    if (!row?.password_hash || !ok) return null;
    const token = newToken();
    const now = this.#clock.now();
    await this.#k
      .insertInto("sessions")
      .values({
        user_id: row.id,
        token_hash: hashToken(token),
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + 12 * 3600_000).toISOString(),
      })
      .execute();
    return { token, user: toUser(row) };
  }

  /** Ends a session (sign-out). API tokens are not sessions and stay valid. */
  async signOut(token: string): Promise<boolean> {
    const r = await this.#k
      .updateTable("sessions")
      .set({ revoked_at: this.#now() })
      .where("token_hash", "=", hashToken(token))
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Makes `token` the NOC admin's token (NOCBRIDGE_ADMIN_TOKEN), replacing the token set at the last start. */
  async ensureAdminToken(token: string): Promise<void> {
    const hash = hashToken(token);
    const existing = await this.#k
      .selectFrom("users")
      .select("id")
      .where("name", "=", "noc-admin (env)")
      .executeTakeFirst();
    if (existing) {
      await this.#k
        .updateTable("users")
        .set({ token_hash: hash, disabled: 0 })
        .where("id", "=", existing.id)
        .execute();
    } else {
      await this.#k
        .insertInto("users")
        .values({
          name: "noc-admin (env)",
          role: "noc-admin",
          partner_id: null,
          token_hash: hash,
          created_at: this.#now(),
          disabled: 0,
        })
        .execute();
    }
  }

  async createUser(
    actor: Actor,
    input: { name: string; role: Role; partnerId?: number | null; username?: string; password?: string },
  ): Promise<{ user: User; token: string }> {
    requirePermission(actor, "user:create");
    if (input.password !== undefined && input.username === undefined)
      throw invalid("username", "a password needs a username to sign in with");
    if (input.password !== undefined && input.password.length < 8)
      throw invalid("password", "must be at least 8 characters");
    if (input.username !== undefined) {
      if (!/^[A-Za-z0-9._@-]{2,100}$/.test(input.username))
        throw invalid("username", "2–100 letters, digits or . _ @ -");
      const taken = await this.#k
        .selectFrom("users")
        .select("id")
        .where("username", "=", input.username)
        .executeTakeFirst();
      if (taken) throw conflict(`username: "${input.username}" is taken`, "username");
    }
    let partnerId = input.partnerId ?? null;
    if (actor.partnerId !== null) {
      // A partner admin creates users of its own partner only, never NOC-wide ones.
      if (input.role === "noc-admin") throw invalid("role", "a partner admin may not create NOC admins");
      if (partnerId !== null && partnerId !== actor.partnerId) throw notFound("partner");
      partnerId = actor.partnerId;
    }
    if (input.role === "noc-admin" && partnerId !== null) {
      throw invalid("partnerId", "a NOC admin is not tied to a partner; omit partnerId");
    }
    if (input.role === "partner-admin" && partnerId === null) {
      throw invalid("partnerId", "a partner admin needs the partner it administers");
    }
    if (partnerId !== null) await this.#partnerRow(this.#k, partnerId, "partnerId");
    const token = newToken();
    return this.#k.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto("users")
        .values({
          name: input.name,
          role: input.role,
          partner_id: partnerId,
          token_hash: hashToken(token),
          created_at: this.#now(),
          disabled: 0,
          username: input.username ?? null,
          password_hash: input.password === undefined ? null : hashPassword(input.password),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.#audit(trx, actor, partnerId, "user.create", `user:${row.id}`, {
        role: input.role,
        name: input.name,
      });
      return { user: toUser(row), token };
    });
  }

  async listUsers(actor: Actor, page: PageQuery = {}): Promise<Page<User>> {
    requirePermission(actor, "user:create");
    let q = this.#k.selectFrom("users");
    if (actor.partnerId !== null) q = q.where("partner_id", "=", actor.partnerId);
    return this.#page(q.selectAll().orderBy("id"), q, page, toUser);
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
      await trx.insertInto("partner_integrations").values(defaultIntegration(row.id, now)).execute();
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
    return toIntegrationView(await this.#integrationRow(this.#k, partnerId));
  }

  async putIntegration(actor: Actor, partnerId: number, input: IntegrationInput): Promise<IntegrationView> {
    requirePartner(actor, partnerId);
    await this.#partnerRow(this.#k, partnerId);
    requirePermission(actor, "integration:write");
    const current = await this.#integrationRow(this.#k, partnerId);
    const t = input.ticketing;
    const d = input.devices;

    let sealed = current.secret_sealed;
    let secretChange: "kept" | "set" | "cleared" = "kept";
    if (t.secret === null || t.secret === "") {
      sealed = null;
      secretChange = "cleared";
    } else if (t.secret !== undefined && t.secret !== MASK) {
      sealed = this.#box.encrypt(t.secret, partnerId);
      secretChange = "set";
    }

    if (t.apiUrl !== "" && !isHttpUrl(t.apiUrl))
      throw invalid("ticketing.apiUrl", "must be an http(s) URL, or empty for Autotask zone discovery");
    if (t.apiUrl.trim() !== "") {
      const why = (this.#hooks.psaUrlRefusal ?? defaultPsaUrlRefusal)(t.apiUrl.trim());
      if (why !== null) throw invalid("ticketing.apiUrl", why);
    }
    if (t.enabled || d.enabled) {
      // Both modules talk to Autotask with the same API user, so either one needs the credentials.
      if (t.username.trim() === "")
        throw invalid(
          "ticketing.username",
          "the Autotask API username is required when an integration is enabled",
        );
      if (sealed === null)
        throw invalid(
          "ticketing.secret",
          "the Autotask API secret is required when an integration is enabled",
        );
      if (t.integrationCode.trim() === "")
        throw invalid(
          "ticketing.integrationCode",
          "the Autotask API integration code is required when an integration is enabled",
        );
    }
    if (t.enabled) {
      if (t.queueId === null)
        throw invalid(
          "ticketing.queueId",
          "the NOC queue id is required when the ticketing module is enabled",
        );
      if (t.billingCodeId === null)
        throw invalid(
          "ticketing.billingCodeId",
          "the allocation (billing code) id is required when the ticketing module is enabled",
        );
    }
    if (d.enabled) {
      if (d.productId === null)
        throw invalid("devices.productId", "the product id is required when device integration is enabled");
      if (d.configurationItemTypeId === null)
        throw invalid(
          "devices.configurationItemTypeId",
          "the configuration item type id is required when device integration is enabled",
        );
    }
    const schedule =
      d.schedule === undefined || d.schedule === null || d.schedule.trim() === "" ? null : d.schedule.trim();
    if (schedule !== null) checkCron("devices.schedule", schedule);

    const onboarding = d.enabled && current.devices_onboarded_at === null;
    const saved = await this.#k.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable("partner_integrations")
        .set({
          ticketing_enabled: bool(t.enabled),
          noc_may_enter_tickets: bool(t.nocMayEnterTickets),
          system: "autotask",
          api_url: t.apiUrl.trim(),
          username: t.username.trim(),
          secret_sealed: sealed,
          integration_code: t.integrationCode.trim(),
          queue_id: t.queueId,
          queue_name: t.queueName,
          billing_code_id: t.billingCodeId,
          billing_code_name: t.billingCodeName,
          devices_enabled: bool(d.enabled),
          product_id: d.productId,
          configuration_item_type_id: d.configurationItemTypeId,
          advanced: bool(d.advanced),
          schedule,
          updated_at: this.#now(),
          ...(onboarding ? { devices_onboarded_at: this.#now() } : {}),
        })
        .where("partner_id", "=", partnerId)
        .returningAll()
        .executeTakeFirstOrThrow();
      const view = toIntegrationView(row);
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
    return { view: toIntegrationView(row), secret, timeZone: partner.time_zone };
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
    return row ?? defaultIntegration(partnerId, this.#now());
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
    const rows = current.map((m) => ({ portalId: m.portalId, psaId: m.psaId, psaLabel: m.psaLabel }));
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
    const rows = current
      .filter((m) => m.id !== rowId)
      .map((m) => ({ portalId: m.portalId, psaId: m.psaId, psaLabel: m.psaLabel }));
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
      const s = `%${filter.search.toLowerCase()}%`;
      q = q.where((eb) =>
        eb.or([
          eb(eb.fn("lower", ["hostname"]), "like", s),
          eb(eb.fn("lower", ["serial_number"]), "like", s),
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
   * The whole array is checked first and written in one transaction: one bad entry rejects the import
   * (naming its index and field) and nothing is written.
   */
  async importDevices(actor: Actor, clientId: number, inputs: DeviceInput[]): Promise<DeviceImportResult> {
    const client = await this.#clientRow(actor, clientId);
    requirePermission(actor, "data:write");
    inputs.forEach((d, i) => {
      checkDevice(d, `[${i}].`);
    });
    return this.#k.transaction().execute(async (trx) => {
      const result: DeviceImportResult = { created: 0, updated: 0, unchanged: 0, items: [] };
      const now = this.#now();
      for (const [index, input] of inputs.entries()) {
        const serial = input.serialNumber ?? "";
        const existing = await trx
          .selectFrom("devices")
          .selectAll()
          .where("client_id", "=", clientId)
          .where("hostname", "=", input.hostname)
          .where("serial_number", "=", serial)
          .orderBy("id")
          .executeTakeFirst();
        const cols = { ...deviceColumns(input), state: input.state };
        if (!existing) {
          const row = await trx
            .insertInto("devices")
            .values({
              ...cols,
              partner_id: client.partner_id,
              client_id: clientId,
              created_at: now,
              updated_at: now,
            } as Insertable<DeviceRow>)
            .returning("id")
            .executeTakeFirstOrThrow();
          result.created++;
          result.items.push({ index, id: row.id, action: "created" });
          continue;
        }
        const changed = Object.entries(cols).some(([k, v]) => existing[k as keyof typeof existing] !== v);
        if (!changed) {
          result.unchanged++;
          result.items.push({ index, id: existing.id, action: "unchanged" });
          continue;
        }
        await trx
          .updateTable("devices")
          .set({ ...cols, updated_at: now })
          .where("id", "=", existing.id)
          .execute();
        result.updated++;
        result.items.push({ index, id: existing.id, action: "updated" });
      }
      return result;
    });
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

function defaultIntegration(partnerId: number, now: string): PartnerIntegrationRow {
  return {
    partner_id: partnerId,
    ticketing_enabled: 0,
    noc_may_enter_tickets: 0,
    system: "autotask",
    api_url: "",
    username: "",
    secret_sealed: null,
    integration_code: "",
    queue_id: null,
    queue_name: "",
    billing_code_id: null,
    billing_code_name: "",
    devices_enabled: 0,
    product_id: null,
    configuration_item_type_id: null,
    advanced: 0,
    schedule: null,
    updated_at: now,
    devices_onboarded_at: null,
  };
}

function toIntegrationView(r: PartnerIntegrationRow): IntegrationView {
  return {
    ticketing: {
      enabled: r.ticketing_enabled === 1,
      nocMayEnterTickets: r.noc_may_enter_tickets === 1,
      system: "autotask",
      apiUrl: r.api_url,
      username: r.username,
      secret: r.secret_sealed === null ? "" : MASK,
      integrationCode: r.integration_code,
      queueId: r.queue_id,
      queueName: r.queue_name,
      billingCodeId: r.billing_code_id,
      billingCodeName: r.billing_code_name,
    },
    devices: {
      enabled: r.devices_enabled === 1,
      productId: r.product_id,
      configurationItemTypeId: r.configuration_item_type_id,
      advanced: r.advanced === 1,
      schedule: r.schedule ?? DEFAULT_ASSET_SCHEDULE,
    },
    updatedAt: r.updated_at,
  };
}

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
      })),
    )
    .execute();
}

/**
 * The rules of each table: forward maps each portal status once; reverse maps each Autotask status
 * once; the priority table maps each Autotask priority once (several may share a portal priority —
 * read right to left, the first row wins).
 */
function checkMappingRows(kind: MappingKind, rows: MappingRowInput[]): void {
  const names = mappingFieldNames(kind);
  const seen = new Set<number>();
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
    const key = kind === "status-forward" ? r.portalId : r.psaId;
    if (seen.has(key)) {
      const field = kind === "status-forward" ? names.portal : names.psa;
      throw invalid(`rows[${i}].${field}`, `${key} is mapped twice; each may appear in one row only`);
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

function checkCron(field: string, expr: string): void {
  try {
    new Cron(expr, { paused: true });
  } catch (e) {
    throw invalid(field, `"${expr}" is not a cron expression (${(e as Error).message})`);
  }
}

const defaultPsaUrlRefusal = (url: string) => PsaUrlPolicy.default.refusal(url);

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

function isIsoDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
}
