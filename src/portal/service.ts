import { sql } from "kysely";
import type { Clock } from "../lib/clock.js";
import type { SecretBox } from "../lib/crypto.js";
import type { ManifestSummary } from "../psa/manifests.js";
import type { Db } from "../store/db.js";
import { type Actor, type Permission, requirePartnerRow, SYSTEM_ACTOR } from "./access.js";
import { type AttachmentOptions, Attachments } from "./attachments.js";
import { Audit } from "./audit.js";
import type { DeviceState, MappingKind } from "./catalog.js";
import { Clients } from "./clients.js";
import { type PageQuery, PortalContext } from "./context.js";
import { DeviceViews } from "./device-views.js";
import { type DeviceImportResult, type DeviceInput, Devices } from "./devices.js";
import { ForSync } from "./for-sync.js";
import { Integration, type IntegrationOptions } from "./integration.js";
import { type MappingRowInput, Mappings } from "./mappings.js";
import { Notes } from "./notes.js";
import { Partners } from "./partners.js";
import { TicketQueue } from "./queue.js";
import { type ChangeOrigin, type TicketInput, type TicketPatch, Tickets } from "./tickets.js";
import { type EffortLine, TimeEntries, type TimeEntryInput, type TimeEntryPatch } from "./time-entries.js";
import type {
  AuditEntry,
  Client,
  Device,
  Effort,
  IntegrationInput,
  IntegrationView,
  MappingEntry,
  Note,
  Page,
  Partner,
  Ticket,
  TicketDetail,
  TimeEntry,
  User,
} from "./types.js";
import { type UserInput, Users } from "./users.js";

export { checkTimeZone } from "./checks.js";
export type { PageQuery } from "./context.js";
export type { DeviceImportResult, DeviceInput } from "./devices.js";
export { type MappingRowInput, mappingFieldNames } from "./mappings.js";
export type { ChangeOrigin, TicketInput, TicketPatch } from "./tickets.js";
export type { EffortLine, TimeEntryInput, TimeEntryPatch } from "./time-entries.js";
export { SYSTEM_ACTOR };

/** How the portal is set up: which PSA URLs the operator allows. */
export type PortalOptions = IntegrationOptions & {
  /** Files on tickets: size limit, allowed types, where the bytes live. */
  attachments?: AttachmentOptions;
};

/**
 * The portal: partners, clients, devices, tickets, notes, users, integration settings and mapping
 * tables, one role module each; this class only composes them. Every method takes the acting user and
 * enforces what that user may see and do (access.ts): a record of another partner is "not found", a
 * write the role does not allow is "forbidden". Writes that touch several rows happen in one
 * transaction, so a rejected request writes nothing. The sync engine hears of changes only through
 * the rows they write (ticket_outbox, integration_events).
 */
export class Portal {
  readonly #db: Db;
  /** Users, tokens, sessions and sign-in. */
  readonly users: Users;
  readonly partners: Partners;
  readonly integration: Integration;
  readonly mappings: Mappings;
  readonly clients: Clients;
  readonly devices: Devices;
  /** The partner-wide device list and the device page (device-views.ts). */
  readonly deviceViews: DeviceViews;
  readonly tickets: Tickets;
  /** The ticket queue across the partners an actor sees (queue.ts). */
  readonly queue: TicketQueue;
  readonly notes: Notes;
  readonly timeEntries: TimeEntries;
  readonly audit: Audit;
  /** Files on tickets (attachments.ts). */
  readonly attachments: Attachments;
  /** Reads the sync engine makes for its own work (through its port, sync/portal-port.ts). */
  readonly forSync: ForSync;

  constructor(db: Db, box: SecretBox, clock: Clock, options: PortalOptions = {}) {
    this.#db = db;
    const ctx = new PortalContext(db, clock);
    this.users = new Users(db, clock);
    this.integration = new Integration(ctx, box, options);
    this.mappings = new Mappings(ctx, (partnerId) => this.integration.psaNames(partnerId));
    this.partners = new Partners(ctx, this.integration, this.mappings);
    this.clients = new Clients(ctx);
    this.devices = new Devices(ctx, this.clients);
    this.deviceViews = new DeviceViews(ctx, this.clients, this.devices);
    this.tickets = new Tickets(ctx, this.clients, this.devices);
    this.queue = new TicketQueue(ctx, this.clients);
    this.notes = new Notes(ctx, this.tickets);
    this.timeEntries = new TimeEntries(ctx, this.tickets);
    this.audit = new Audit(ctx);
    this.attachments = new Attachments(ctx, this.tickets, options.attachments);
    this.forSync = new ForSync(ctx);
  }

  /** The PSA systems a partner may choose, with their settings fields (the Setup form). */
  psaSystems(): ManifestSummary[] {
    return this.integration.systems();
  }

  /** Resolves when the store answers a trivial query (readiness). */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.#db.kysely);
  }

  /**
   * The access check of a call about one partner made outside the portal (the sync engine's
   * API-facing calls): 404 unless the partner exists and the actor sees it, then 403 without the
   * permission.
   */
  async authorize(actor: Actor, partnerId: number, permission?: Permission): Promise<void> {
    await requirePartnerRow(this.#db.kysely, actor, partnerId, permission);
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

  // ---------------------------------------------------------------- partners (partners.ts)

  createPartner(actor: Actor, input: { name: string; timeZone?: string }): Promise<Partner> {
    return this.partners.create(actor, input);
  }

  listPartners(actor: Actor, page: PageQuery = {}): Promise<Page<Partner>> {
    return this.partners.list(actor, page);
  }

  getPartner(actor: Actor, partnerId: number): Promise<Partner> {
    return this.partners.get(actor, partnerId);
  }

  updatePartner(
    actor: Actor,
    partnerId: number,
    patch: { name?: string; timeZone?: string },
  ): Promise<Partner> {
    return this.partners.update(actor, partnerId, patch);
  }

  // ---------------------------------------------------------------- integration settings (integration.ts)

  getIntegration(actor: Actor, partnerId: number): Promise<IntegrationView> {
    return this.integration.get(actor, partnerId);
  }

  /** Saves the settings and leaves the sync engine an integration_events row (no call into it). */
  putIntegration(actor: Actor, partnerId: number, input: IntegrationInput): Promise<IntegrationView> {
    return this.integration.put(actor, partnerId, input);
  }

  /** The settings with the secret decrypted, for the sync engine only (never an API answer). */
  integrationForSync(
    partnerId: number,
  ): Promise<{ view: IntegrationView; secret: string | null; timeZone: string }> {
    return this.integration.forSync(partnerId);
  }

  /** The explicit, audited read of the PSA secret (partner admins and NOC admins only). */
  readSecret(actor: Actor, partnerId: number): Promise<{ secret: string | null }> {
    return this.integration.readSecret(actor, partnerId);
  }

  // ---------------------------------------------------------------- mapping tables (mappings.ts)

  getMappings(actor: Actor, partnerId: number, kind: MappingKind): Promise<MappingEntry[]> {
    return this.mappings.get(actor, partnerId, kind);
  }

  /** Replaces a whole table. Rows are checked first; a bad row rejects the request and nothing changes. */
  putMappings(
    actor: Actor,
    partnerId: number,
    kind: MappingKind,
    rows: MappingRowInput[],
  ): Promise<MappingEntry[]> {
    return this.mappings.put(actor, partnerId, kind, rows);
  }

  /** Adds one row at the end of a table ("add mapping"). */
  addMapping(
    actor: Actor,
    partnerId: number,
    kind: MappingKind,
    row: MappingRowInput,
  ): Promise<MappingEntry[]> {
    return this.mappings.add(actor, partnerId, kind, row);
  }

  /** Removes one row ("remove"). */
  removeMapping(actor: Actor, partnerId: number, kind: MappingKind, rowId: number): Promise<MappingEntry[]> {
    return this.mappings.remove(actor, partnerId, kind, rowId);
  }

  // ---------------------------------------------------------------- clients (clients.ts)

  createClient(
    actor: Actor,
    partnerId: number,
    input: { code: string; name: string; psaCompanyId?: number | null; psaCompanyName?: string | null },
  ): Promise<Client> {
    return this.clients.create(actor, partnerId, input);
  }

  listClients(actor: Actor, partnerId: number, page: PageQuery = {}): Promise<Page<Client>> {
    return this.clients.list(actor, partnerId, page);
  }

  getClient(actor: Actor, clientId: number): Promise<Client> {
    return this.clients.get(actor, clientId);
  }

  updateClient(
    actor: Actor,
    clientId: number,
    patch: { code?: string; name?: string; psaCompanyId?: number | null; psaCompanyName?: string | null },
  ): Promise<Client> {
    return this.clients.update(actor, clientId, patch);
  }

  // ---------------------------------------------------------------- for the sync engine (system use, no actor)

  /** All clients of a partner with their device and ticket counts, ordered by code. */
  clientsForSync(partnerId: number): Promise<Array<Client & { deviceCount: number; ticketCount: number }>> {
    return this.clients.forSync(partnerId);
  }

  /** Every device of a client, in id order (no paging: the sync reads them all). */
  devicesForSync(clientId: number): Promise<Device[]> {
    return this.devices.forSync(clientId);
  }

  /** The ids of a partner's devices that still exist, out of `ids`. */
  existingDeviceIds(partnerId: number, ids: number[]): Promise<Set<number>> {
    return this.devices.existingIds(partnerId, ids);
  }

  // ---------------------------------------------------------------- devices (devices.ts)

  createDevice(actor: Actor, clientId: number, input: DeviceInput): Promise<Device> {
    return this.devices.create(actor, clientId, input);
  }

  listDevices(
    actor: Actor,
    clientId: number,
    filter: PageQuery & { state?: DeviceState; search?: string },
  ): Promise<Page<Device>> {
    return this.devices.list(actor, clientId, filter);
  }

  getDevice(actor: Actor, deviceId: number): Promise<Device> {
    return this.devices.get(actor, deviceId);
  }

  updateDevice(actor: Actor, deviceId: number, patch: Partial<DeviceInput>): Promise<Device> {
    return this.devices.update(actor, deviceId, patch);
  }

  /** Upserts a discovery feed by hostname + serial number; all or nothing. */
  importDevices(actor: Actor, clientId: number, inputs: DeviceInput[]): Promise<DeviceImportResult> {
    return this.devices.import(actor, clientId, inputs);
  }

  // ---------------------------------------------------------------- tickets and notes (tickets.ts, notes.ts)

  createTicket(
    actor: Actor,
    partnerId: number,
    input: TicketInput,
    o: ChangeOrigin = {},
  ): Promise<TicketDetail> {
    return this.tickets.create(actor, partnerId, input, o);
  }

  listTickets(
    actor: Actor,
    partnerId: number,
    filter: PageQuery & { statusId?: number; priorityId?: number; clientId?: number; deviceId?: number },
  ): Promise<Page<Ticket>> {
    return this.tickets.list(actor, partnerId, filter);
  }

  getTicket(actor: Actor, ticketId: number): Promise<TicketDetail> {
    return this.tickets.get(actor, ticketId);
  }

  updateTicket(
    actor: Actor,
    ticketId: number,
    patch: TicketPatch,
    o: ChangeOrigin = {},
  ): Promise<TicketDetail> {
    return this.tickets.update(actor, ticketId, patch, o);
  }

  addNote(
    actor: Actor,
    ticketId: number,
    input: { text: string; published: boolean },
    o: ChangeOrigin = {},
  ): Promise<Note> {
    return this.notes.add(actor, ticketId, input, o);
  }

  listNotes(
    actor: Actor,
    ticketId: number,
    filter: PageQuery & { published?: boolean } = {},
  ): Promise<Page<Note>> {
    return this.notes.list(actor, ticketId, filter);
  }

  // ---------------------------------------------------------------- time entries (time-entries.ts)

  addTimeEntry(actor: Actor, ticketId: number, input: TimeEntryInput): Promise<TimeEntry> {
    return this.timeEntries.create(actor, ticketId, input);
  }

  listTimeEntries(actor: Actor, ticketId: number, page: PageQuery = {}): Promise<Page<TimeEntry>> {
    return this.timeEntries.list(actor, ticketId, page);
  }

  updateTimeEntry(actor: Actor, timeEntryId: number, patch: TimeEntryPatch): Promise<TimeEntry> {
    return this.timeEntries.update(actor, timeEntryId, patch);
  }

  /** Marks the entry deleted (its row stays, so the deletion can reach the PSA). */
  deleteTimeEntry(actor: Actor, timeEntryId: number): Promise<void> {
    return this.timeEntries.delete(actor, timeEntryId);
  }

  /** A ticket's effort: total and billable minutes and the number of entries. */
  ticketEffort(actor: Actor, ticketId: number): Promise<Effort> {
    return this.timeEntries.effort(actor, ticketId);
  }

  /** Effort per client and month of entries started in [from, to). */
  effortReport(
    actor: Actor,
    partnerId: number,
    range: { from?: string; to?: string },
  ): Promise<EffortLine[]> {
    return this.timeEntries.report(actor, partnerId, range);
  }

  // ---------------------------------------------------------------- audit (audit.ts)

  listAudit(
    actor: Actor,
    partnerId: number | null,
    page: PageQuery & { action?: string } = {},
  ): Promise<Page<AuditEntry>> {
    return this.audit.list(actor, partnerId, page);
  }
}
