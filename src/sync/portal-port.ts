import { type Actor, type Permission, SYSTEM_ACTOR } from "../portal/access.js";
import type { Attachment, NewFile } from "../portal/attachments.js";
import type { MappingKind } from "../portal/catalog.js";
import type { SyncTimeEntry, TicketDevices } from "../portal/for-sync.js";
import type { Portal, TicketInput, TicketPatch } from "../portal/service.js";
import type { Client, Device, IntegrationView, MappingEntry, Note, TicketDetail } from "../portal/types.js";

/**
 * The one narrow way the sync engine reads and writes portal data. The engine owns this interface;
 * `syncPortal` adapts the portal to it. Writes made here are the PSA's changes arriving: they are not
 * announced back to the engine (no outbox row), so they never echo.
 */
export interface SyncPortal {
  /** The integration settings with the secret decrypted (never an API answer), and the time zone. */
  integration(partnerId: number): Promise<{ view: IntegrationView; secret: string | null; timeZone: string }>;
  mappings(partnerId: number, kind: MappingKind): Promise<MappingEntry[]>;
  /** All clients of a partner with their device and ticket counts, ordered by code. */
  clients(partnerId: number): Promise<Array<Client & { deviceCount: number; ticketCount: number }>>;
  /** Every device of a client, in id order. */
  devices(clientId: number): Promise<Device[]>;
  /** Stores the PSA companies' names of clients (kept only while the client's company is still that id). */
  setCompanyNames(
    partnerId: number,
    names: Array<{ clientId: number; companyId: number; name: string }>,
  ): Promise<void>;
  existingDeviceIds(partnerId: number, ids: number[]): Promise<Set<number>>;
  ticket(ticketId: number): Promise<TicketDetail>;
  notes(ticketId: number): Promise<Note[]>;
  createTicket(partnerId: number, input: TicketInput): Promise<TicketDetail>;
  updateTicket(ticketId: number, patch: TicketPatch): Promise<TicketDetail>;
  addNote(ticketId: number, note: { text: string; published: boolean }, author: string): Promise<Note>;
  /** Partners whose ticketing module (or device integration) is on. */
  partnersWith(module: "ticketing" | "devices"): Promise<number[]>;
  /** The client a device belongs to, or null when there is no such device. */
  deviceClient(deviceId: number): Promise<number | null>;
  /** The partner's tickets that are not Closed. */
  openTicketIds(partnerId: number): Promise<number[]>;
  /** Per ticket, its devices and alerts (the ticket-devices report, without the PSA side). */
  ticketDevices(partnerId: number): Promise<TicketDevices[]>;
  /** A ticket's alerts with their devices' hostnames, in the order they were raised. */
  ticketAlerts(
    ticketId: number,
  ): Promise<Array<{ deviceId: number; hostname: string; message: string; createdAt: string }>>;
  /** Per existing ticket: title, client, devices (its own first, then its alerts'). */
  ticketRefs(
    ticketIds: number[],
  ): Promise<Map<number, { title: string; clientId: number; deviceIds: number[] }>>;
  /** The actor of an enabled user (a live-log ticket's owner), or null. */
  activeUser(userId: number): Promise<Actor | null>;
  /**
   * The access check of the engine's API-facing calls: 404 unless the partner exists and the actor
   * sees it, then 403 without the permission.
   */
  authorize(actor: Actor, partnerId: number, permission?: Permission): Promise<void>;
  /** A ticket's time entries, deleted ones too (deletedAt set), with their technician's name, in id order. */
  timeEntries(ticketId: number): Promise<SyncTimeEntry[]>;
  /** A partner's enabled users, for the user ↔ PSA-resource map. */
  partnerUsers(partnerId: number): Promise<Array<{ id: number; name: string; username: string | null }>>;
  // ---------------------------------------------------------------- attachments
  /** A ticket's files, without their bytes. */
  attachments(ticketId: number): Promise<Attachment[]>;
  /** One file's bytes. */
  attachmentData(attachmentId: number): Promise<{ data: Buffer }>;
  /** A file from the PSA (origin "psa", not announced back); the same bytes answer the one there. */
  addAttachment(
    ticketId: number,
    file: NewFile,
    author: string,
  ): Promise<{ attachment: Attachment; created: boolean }>;
  /** The largest file the portal accepts, bytes. */
  attachmentLimit(): number;
}

export function syncPortal(portal: Portal): SyncPortal {
  const psa = { origin: "psa" } as const;
  return {
    integration: (partnerId) => portal.integrationForSync(partnerId),
    mappings: (partnerId, kind) => portal.getMappings(SYSTEM_ACTOR, partnerId, kind),
    clients: (partnerId) => portal.clientsForSync(partnerId),
    devices: (clientId) => portal.devicesForSync(clientId),
    setCompanyNames: (partnerId, names) => portal.clients.setCompanyNames(partnerId, names),
    existingDeviceIds: (partnerId, ids) => portal.existingDeviceIds(partnerId, ids),
    ticket: (ticketId) => portal.getTicket(SYSTEM_ACTOR, ticketId),
    notes: async (ticketId) => (await portal.listNotes(SYSTEM_ACTOR, ticketId, { limit: 500 })).items,
    createTicket: (partnerId, input) => portal.createTicket(SYSTEM_ACTOR, partnerId, input, psa),
    updateTicket: (ticketId, patch) => portal.updateTicket(SYSTEM_ACTOR, ticketId, patch, psa),
    addNote: (ticketId, note, author) =>
      portal.addNote(SYSTEM_ACTOR, ticketId, note, { origin: "psa", author }),
    partnersWith: (module) => portal.forSync.partnersWith(module),
    deviceClient: (deviceId) => portal.forSync.deviceClient(deviceId),
    openTicketIds: (partnerId) => portal.forSync.openTicketIds(partnerId),
    ticketDevices: (partnerId) => portal.forSync.ticketDevices(partnerId),
    ticketAlerts: (ticketId) => portal.forSync.ticketAlerts(ticketId),
    ticketRefs: (ticketIds) => portal.forSync.ticketRefs(ticketIds),
    activeUser: (userId) => portal.forSync.activeUser(userId),
    authorize: (actor, partnerId, permission) => portal.authorize(actor, partnerId, permission),
    timeEntries: (ticketId) => portal.forSync.timeEntries(ticketId),
    partnerUsers: (partnerId) => portal.forSync.partnerUsers(partnerId),
    // attachments
    attachments: (ticketId) => portal.attachments.list(SYSTEM_ACTOR, ticketId),
    attachmentData: (attachmentId) => portal.attachments.get(SYSTEM_ACTOR, attachmentId),
    addAttachment: (ticketId, file, author) =>
      portal.attachments.add(SYSTEM_ACTOR, ticketId, file, { origin: "psa", author }),
    attachmentLimit: () => portal.attachments.maxBytes,
  };
}
