/**
 * The one interface between the sync engine and a PSA. The engine (src/sync) speaks only these
 * PSA-neutral terms; each PSA is a folder under src/psa (autotask/, connectwise/, …) that implements
 * them and keeps its vendor's field names, admin-menu texts, pick-list names and webhook signature
 * scheme to itself. docs/architecture.md shows the picture and how to add a connector.
 *
 * Failures are PsaErrors (./errors.ts): a stable code, a retry class (`retryable`, `ambiguous`) and a
 * message safe to show. The engine decides what a failure means (wait, retry, park); the connector
 * only says what happened.
 */
import type { TObject } from "@sinclair/typebox";
import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import type { AttachmentPort, TimeEntryPort } from "./effort-ports.js";
import type { TicketPort } from "./ticket-port.js";

export type {
  AttachmentPort,
  NewAttachment,
  PsaAttachment,
  PsaResource,
  TimeEntryInput,
  TimeEntryPort,
} from "./effort-ports.js";

export { isPsaError, PsaError, type PsaErrorCode } from "./errors.js";
export type {
  ChangedTicket,
  NewNote,
  NewTicket,
  PsaNote,
  PsaTicket,
  TicketFields,
  TicketPort,
  TicketWritten,
} from "./ticket-port.js";

// ---------------------------------------------------------------- settings and manifest

/**
 * A partner's integration settings as stored and shown: the common switches (enabled, system,
 * schedule …) and, inside the same two objects, the connector's own fields as its manifest
 * describes them.
 */
export interface IntegrationSettings {
  ticketing: Record<string, unknown>;
  devices: Record<string, unknown>;
}

/** One settings field of a connector, for the API schema and the Setup form. */
export interface ManifestField {
  /** The key inside `ticketing` or `devices` (e.g. "queueId"). */
  key: string;
  section: "ticketing" | "devices";
  label: string;
  kind: "text" | "url" | "secret" | "number" | "picklist" | "boolean";
  /** picklist: the key of PsaOptions that offers its values. */
  options?: string;
  /** picklist: fixed values, when the PSA does not list them (then `options` is not read). */
  choices?: ReadonlyArray<{ id: number; label: string }>;
  /**
   * picklist: another field whose chosen value filters this one's options (by `parentId`); a value
   * here needs a value there.
   */
  parent?: string;
  /** picklist: the field that keeps the chosen option's label (e.g. "queueName"). */
  labelKey?: string;
  /** Needed when this section is on. */
  required?: boolean;
  /** Part of the connection (a credential): needed whenever either section is on. */
  credential?: boolean;
  /** How a message names the field ("the NOC queue id"); default: its label. */
  noun?: string;
  /** In a PUT, leaving the field out keeps its stored value; otherwise it is stored empty. */
  keepWhenOmitted?: boolean;
  help?: string;
  /** The heading the Setup form shows this field under (a key of the manifest's `groups`). */
  group?: string;
}

/** What a connector says about itself: its name, its settings and their schema. */
export interface ConnectorManifest {
  system: string;
  /** The vendor's product name as people say it ("Autotask"). */
  label: string;
  fields: ReadonlyArray<ManifestField>;
  /**
   * TypeBox schemas of the connector's own fields inside `ticketing` and `devices`, as a PUT carries
   * them: a property marked Optional may be left out and keeps its stored value. Without `default`
   * keywords (the API fills defaults in, which would overwrite the stored value).
   */
  schema: { ticketing: TObject; devices: TObject };
  /** Headings of field groups in the Setup form, with an optional line under each. */
  groups?: Readonly<Record<string, { label: string; help?: string }>>;
  /** Whether the PSA's statuses belong to a scope (a ConnectWise board): mapping rows then carry it. */
  statusScope?: { label: string; settingKey: string } | undefined;
}

// ---------------------------------------------------------------- pick-lists and validation

export interface PsaOption {
  id: number;
  label: string;
  isActive: boolean;
  /** For dependent lists (a sub-issue type's issue type). */
  parentId?: number | null;
  /** For scoped values (a ConnectWise status's board). */
  scope?: number | null;
}

/** Live pick-lists for the settings form and the mapping tables; `statuses` and `priorities` always. */
export type PsaOptions = Record<string, PsaOption[]> & { statuses: PsaOption[]; priorities: PsaOption[] };

/** One line of the Validate checklist. `fix` says what to create or change, in the PSA's own words. */
export interface Check {
  name: string;
  ok: boolean;
  message: string;
  fix?: string;
  /** Passed, but worth acting on (a status no mapping row covers). */
  warning?: boolean;
}

export interface ValidationResult {
  ok: boolean;
  checks: Check[];
}

export interface ValidateInput {
  /** assets: what an asset sync needs; all: every enabled module (the Validate button). */
  scope: "assets" | "all";
  ticketingEnabled: boolean;
  devicesEnabled: boolean;
  advanced: boolean;
  /**
   * The partner's clients with their counts: those with devices (asset side) or tickets (ticket side)
   * need a company. `ticketCount` left out: 0.
   */
  clients: Array<{
    code: string;
    name: string;
    psaCompanyId: number | null;
    deviceCount: number;
    ticketCount?: number;
  }>;
  mappings: {
    statuses: Array<{ table: string; psaId: number; psaLabel: string }>;
    priorities: Array<{ psaId: number; psaLabel: string }>;
    /** What the tables cover, for the coverage warnings (left out: no coverage checks). */
    coverage?: {
      forwardPortalIds: number[];
      reversePsaIds: number[];
      priorityPsaIds: number[];
      /** The portal's statuses, to name those no forward row covers (left out: not checked). */
      portalStatuses?: Array<{ id: number; name: string }>;
    };
  };
  /** Texts of ticket writes the PSA refused that are still open (a required field named). */
  refusals: string[];
}

// ---------------------------------------------------------------- assets

/** What a connector reads of a portal device. */
export interface AssetSource {
  id: number;
  hostname: string;
  deviceType: string;
  ipAddress: string;
  gateway: string;
  make: string;
  model: string;
  operatingSystem: string;
  ram: string;
  biosName: string;
  biosVersion: string;
  driveInfo: string;
  lastLoggedUser: string;
  serialNumber: string;
  warrantyEndDate: string | null;
  /** managed, discovered or unmanaged. */
  state: string;
}

/** The custom field that carries the portal's device id on an asset (the seed's name for it). */
export const PORTAL_DEVICE_ID_FIELD = "Partner Portal Device Id";

/** A PSA asset (configuration item) as the engine sees it. */
export interface PsaAsset {
  id: number;
  companyId: number;
  name: string;
  serialNumber: string | null;
  active: boolean;
  /** The portal device id its custom field carries, if any. */
  portalDeviceId: number | null;
  /** Standard fields under the PSA's names, for the connector's diff (the engine does not read them). */
  fields: Record<string, unknown>;
  /** Custom (user-defined) fields by name. */
  custom: Record<string, string | null>;
}

/** What an asset should look like, as the connector describes it (JSON; kept with the link). */
export type DesiredAsset = Readonly<Record<string, unknown>>;

/** Changed values keyed as the connector shows them ("serialNumber", "udf:RAM"). */
export type AssetDiff = Record<string, { from: unknown; to: unknown }>;

export interface AssetPort {
  /** Every asset of a company (read page by page). */
  listByCompany(companyId: number): Promise<PsaAsset[]>;
  get(id: number): Promise<PsaAsset | null>;
  /** What the device's asset should be, under the session's settings (pure). */
  desired(device: AssetSource): DesiredAsset;
  /** What differs between the asset and what it should be (pure). */
  diff(asset: PsaAsset, desired: DesiredAsset): AssetDiff;
  /** Whether `key` of a diff is wanted the same in both (so a difference came from the PSA). Pure. */
  sameWanted(key: string, a: DesiredAsset, b: DesiredAsset): boolean;
  /** Whether applying the diff turns an active asset inactive. Pure. */
  deactivates(asset: PsaAsset, diff: AssetDiff): boolean;
  /** The change that sets an asset inactive. Pure. */
  deactivation(asset: PsaAsset): AssetDiff;
  /**
   * Creates the device's asset under a company. After an ambiguous failure it looks the asset up (by
   * the portal id field, serial number or name) before it would send again.
   */
  create(companyId: number, desired: DesiredAsset, device: AssetSource): Promise<number>;
  /** Writes only the diff's fields. */
  update(id: number, diff: AssetDiff): Promise<void>;
}

// ---------------------------------------------------------------- webhooks

/** A subscription the PSA holds for us (one per entity). */
export interface WebhookRef {
  entity: string;
  id: number;
}

export interface RegisterOutcome {
  /** The subscriptions that exist now (also those kept when another failed). */
  hooks: WebhookRef[];
  /** Fields that could not be subscribed ("Ticket.queueID: …"). */
  unsubscribed: string[];
  /** Why a part of the registration failed; empty when it all worked. */
  failures: string[];
}

/** What the engine stores for a verified delivery: "look at this ticket (or note)". */
export interface WebhookEvent {
  dedupKey: string;
  entityType: "Ticket" | "TicketNote";
  psaId: number;
  /** The ticket; null for a note event that did not name it. */
  psaTicketId: number | null;
}

export type ParsedDelivery =
  | { kind: "events"; events: WebhookEvent[] }
  /** Understood, nothing to do (a deactivation notice). */
  | { kind: "ignored"; reason: string }
  | { kind: "invalid"; error: string; field?: string };

/**
 * What a connector does with webhook deliveries and URLs without credentials: a delivery verifies
 * against the stored secrets whether or not the partner's API credentials are complete.
 */
export interface WebhookReceiver {
  /** Checks a delivery's signature over the exact bytes against any of the secrets. */
  verify(
    raw: Buffer,
    headers: Record<string, string | string[] | undefined>,
    secrets: string[],
  ): Promise<{ ok: true } | { ok: false; error: string }>;
  /** A verified delivery's events, or why it is not one. */
  parse(body: Record<string, unknown>): ParsedDelivery;
  /** Why the PSA cannot deliver to this base URL, or null (allowHttp: a local test). */
  urlProblem(base: string | undefined, allowHttp: boolean): string | null;
  /**
   * The PSA reports a note change as an event of its ticket (it has no note events of its own): the
   * engine then reads a ticket's notes on every ticket event, not only on polls.
   */
  readonly notesInTicketEvents?: boolean;
}

export interface WebhookPort extends WebhookReceiver {
  /**
   * Creates or repairs the subscriptions (found by `known` ids, else by URL or name) so that repeating
   * it never leaves copies; our own API user's writes are excluded. A refusal is reported in
   * `failures`, never thrown.
   */
  register(o: {
    partnerId: number;
    url: string;
    secret: string;
    known: WebhookRef[];
  }): Promise<RegisterOutcome>;
  /** Deletes the subscriptions; returns the ones it could not delete, with why. */
  unregister(hooks: WebhookRef[]): Promise<string[]>;
  /** The Validate items about webhooks (permission, the last registration's outcome). */
  checks(state: WebhookStatus, urlProblem: string | null): Promise<Check[]>;
}

/** What the engine knows about a partner's webhooks (Setup, Sync, Validate). */
export interface WebhookStatus {
  mode: "webhooks" | "polling" | "off";
  reason: string | null;
  url: string | null;
  webhooks: Array<{ entity: string; psaWebhookId: number }>;
  unsubscribedFields: string[];
  pollIntervalMinutes: number;
  checkedAt: string | null;
}

// ---------------------------------------------------------------- the connector and its session

export interface SessionContext {
  partnerId: number;
  logger: Logger;
  clock: Clock;
}

/** A partner's connection to its PSA under its current settings. */
// ---------------------------------------------------------------- companies

/** A PSA company (Autotask company, ConnectWise company), for naming and picking. */
export interface PsaCompany {
  id: number;
  name: string;
  /** The PSA's own short identifier where it has one (ConnectWise's company identifier); else null. */
  identifier: string | null;
  active: boolean;
}

/** The partner's companies in the PSA: search for the client ↔ company picker, look-ups for names. */
export interface CompanyPort {
  /**
   * Companies whose name contains `query` (case-insensitive; empty: all), active first, then by name;
   * at most `limit` (the connector may cap it lower).
   */
  search(query: string, limit: number): Promise<PsaCompany[]>;
  /** The companies with these ids that exist (a missing id is left out, never an error). */
  byIds(ids: number[]): Promise<PsaCompany[]>;
}

// ---------------------------------------------------------------- session

export interface PsaSession {
  readonly system: string;
  readonly label: string;
  /** Stable while the credentials stay the same (caches of live reads key on it). */
  readonly key: string;
  /** Requests made so far through this session's client (a run reports its API calls). */
  stats(): { requests: number };
  readonly tickets: TicketPort;
  readonly assets: AssetPort;
  readonly webhooks: WebhookPort;
  /** The partner's PSA companies (names, the Setup picker). */
  readonly companies?: CompanyPort;
  /** Time entries on tickets (effort), where the connector supports them. */
  readonly timeEntries?: TimeEntryPort;
  /** Files on tickets, where the PSA has them (see the attachments section below). */
  readonly attachments?: AttachmentPort;
  /** Live pick-lists for the settings form and mapping tables. */
  options(): Promise<PsaOptions>;
  /**
   * The ticket statuses (of the partner's scope, where statuses have one) and priorities alone, in
   * the PSA's cheapest read of them: the mapping drift check reads them on every poll.
   */
  ticketValues(): Promise<Pick<PsaOptions, "statuses" | "priorities">>;
  /** The Validate checklist for what the settings need (credentials first). */
  validate(input: ValidateInput): Promise<ValidationResult>;
}

export interface Connector {
  readonly system: string;
  readonly label: string;
  readonly manifest: ConnectorManifest;
  /** Verifying and reading webhook deliveries, which needs no session. */
  readonly webhooks: WebhookReceiver;
  /**
   * The failed "credentials" check when the settings cannot open a session (a credential missing),
   * else null.
   */
  missing(settings: IntegrationSettings, hasSecret: boolean): Check | null;
  /**
   * A session for the partner. The connector reuses one client per partner while the credentials stay
   * the same (its rate limiter and budget tracking live there). Call only when `missing` is null.
   */
  open(settings: IntegrationSettings, secret: string, ctx: SessionContext): PsaSession;
}
