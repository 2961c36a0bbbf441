import type { Generated } from "kysely";
import type {
  AttachmentLinkRow,
  AttachmentRow,
  BudgetLedgerRow,
  IntegrationEventRow,
  LinkRow,
  LinkRunOutcomeRow,
  MappingDriftRow,
  NoteLinkRow,
  PsaWebhookRow,
  PsaWebhookStatusRow,
  ReconciliationIgnoreRow,
  ResourceMapRow,
  SyncCursorRow,
  SyncErrorRow,
  SyncRunLineRow,
  SyncRunRow,
  TicketInboxRow,
  TicketLinkRow,
  TicketOutboxRow,
  TimeEntryLinkRow,
  WorkerProcessRow,
} from "./schema-sync.js";

export type {
  AttachmentLinkRow,
  AttachmentRow,
  BudgetLedgerRow,
  IntegrationEventRow,
  LinkRow,
  LinkRunOutcomeRow,
  MappingDriftRow,
  NoteLinkRow,
  PsaWebhookRow,
  PsaWebhookStatusRow,
  ReconciliationIgnoreRow,
  ResourceMapRow,
  SyncCursorRow,
  SyncErrorRow,
  SyncRunLineRow,
  SyncRunRow,
  TicketInboxRow,
  TicketLinkRow,
  TicketOutboxRow,
  TimeEntryLinkRow,
  WorkerProcessRow,
} from "./schema-sync.js";

/**
 * Row types of the nocbridge database (snake_case, as stored). Booleans are stored as 0/1 integers and
 * times as ISO-8601 UTC text on both SQLite and PostgreSQL, so the same code reads both; converters to
 * domain objects live in portal/convert.ts.
 */
export interface Database {
  partners: PartnerRow;
  partner_integrations: PartnerIntegrationRow;
  clients: ClientRow;
  devices: DeviceRow;
  tickets: TicketRow;
  ticket_alerts: TicketAlertRow;
  ticket_notes: TicketNoteRow;
  mappings: MappingRow;
  users: UserRow;
  audit_log: AuditRow;
  links: LinkRow;
  link_run_outcomes: LinkRunOutcomeRow;
  sync_runs: SyncRunRow;
  worker_processes: WorkerProcessRow;
  sync_run_lines: SyncRunLineRow;
  ticket_outbox: TicketOutboxRow;
  ticket_inbox: TicketInboxRow;
  ticket_links: TicketLinkRow;
  note_links: NoteLinkRow;
  sync_errors: SyncErrorRow;
  sync_cursors: SyncCursorRow;
  psa_webhooks: PsaWebhookRow;
  psa_webhook_status: PsaWebhookStatusRow;
  mapping_drift: MappingDriftRow;
  sessions: SessionRow;
  sign_in_failures: SignInFailureRow;
  stream_tickets: StreamTicketRow;
  integration_events: IntegrationEventRow;
  time_entries: TimeEntryRow;
  time_entry_links: TimeEntryLinkRow;
  resource_map: ResourceMapRow;
  // attachments (migrations 0015, 0017)
  attachments: AttachmentRow;
  attachment_links: AttachmentLinkRow;
  // reconciliation (migration 0022)
  reconciliation_ignores: ReconciliationIgnoreRow;
  // the hourly PSA API budget counted across processes (migration 0026)
  budget_ledger: BudgetLedgerRow;
}

export interface PartnerRow {
  id: Generated<number>;
  name: string;
  time_zone: string;
  created_at: string;
  updated_at: string;
}

export interface PartnerIntegrationRow {
  partner_id: number;
  ticketing_enabled: number;
  noc_may_enter_tickets: number;
  /** The connector's key ("autotask"). */
  system: string;
  /** Sealed by SecretBox, never the plain secret. */
  secret_sealed: string | null;
  devices_enabled: number;
  advanced: number;
  /** Cron expression; null = the default (10th and 25th at 02:00 partner time). */
  schedule: string | null;
  updated_at: string;
  /** When device integration was first enabled (the onboarding sync's trigger). */
  devices_onboarded_at: string | null;
  /**
   * JSON `{"ticketing": {…}, "devices": {…}}`: the connector's own fields, as its manifest describes
   * them (migration 0013; portal/integration-store.ts reads and writes it).
   */
  settings: string;
}

export interface ClientRow {
  id: Generated<number>;
  partner_id: number;
  code: string;
  name: string;
  psa_company_id: number | null;
  /** The PSA company's name when the mapping was saved or last checked (migration 0018). */
  psa_company_name: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeviceRow {
  id: Generated<number>;
  partner_id: number;
  client_id: number;
  state: string;
  hostname: string;
  device_type: string;
  ip_address: string;
  gateway: string;
  make: string;
  model: string;
  operating_system: string;
  ram: string;
  bios_name: string;
  bios_version: string;
  drive_info: string;
  last_logged_user: string;
  serial_number: string;
  warranty_end_date: string | null;
  created_at: string;
  updated_at: string;
}

export interface TicketRow {
  id: Generated<number>;
  partner_id: number;
  client_id: number;
  device_id: number | null;
  title: string;
  description: string;
  status_id: number;
  priority_id: number;
  created_at: string;
  updated_at: string;
}

export interface TicketAlertRow {
  id: Generated<number>;
  ticket_id: number;
  device_id: number;
  message: string;
  created_at: string;
}

export interface TicketNoteRow {
  id: Generated<number>;
  ticket_id: number;
  text: string;
  published: number;
  author: string;
  created_at: string;
}

/** Time a user logged on a ticket (migration 0014); a deleted entry keeps its row with deleted_at set. */
export interface TimeEntryRow {
  id: Generated<number>;
  partner_id: number;
  ticket_id: number;
  /** The technician; null once that user is gone. */
  user_id: number | null;
  started_at: string;
  ended_at: string;
  summary: string;
  internal_note: string;
  billable: number;
  /** The PSA work type (billing code); null = the partner's default. */
  work_type_id: number | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface MappingRow {
  id: Generated<number>;
  partner_id: number;
  /** status-forward | status-reverse | priority */
  kind: string;
  portal_id: number;
  psa_id: number;
  /** The PSA value's label as last seen (display and drift checks). */
  psa_label: string;
  /** Row order within the table: "the first row wins" where several rows could apply. */
  position: number;
  /** What the PSA value belongs to (a ConnectWise status's board); null when the PSA has no such scope. */
  scope: Generated<number | null>;
}

export interface UserRow {
  id: Generated<number>;
  name: string;
  role: string;
  partner_id: number | null;
  token_hash: string;
  created_at: string;
  disabled: number;
  /** Sign-in name for the web UI (unique when set). */
  username: string | null;
  /** scrypt hash (lib/crypto.ts passwords.hash), never the password. */
  password_hash: string | null;
  /** 'env-admin' for the NOC admin of NOCBRIDGE_ADMIN_TOKEN (reserved: never edited through the API); else null. */
  system_role: string | null;
  /** When the API token stops working (ISO time); null = never. */
  token_expires_at: string | null;
}

/** Failed sign-ins per username (known or not), for the back-off; the row goes at a successful sign-in. */
export interface SignInFailureRow {
  username: string;
  failures: number;
  last_failure_at: string;
  /** Sign-ins for this username are refused until then (ISO time). */
  locked_until: string | null;
}

export interface SessionRow {
  id: Generated<number>;
  user_id: number;
  token_hash: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

/** A single-use ticket for the live log stream of one run (migration 0010). */
export interface StreamTicketRow {
  /** SHA-256 of the ticket, never the ticket. */
  ticket_hash: string;
  user_id: number;
  run_id: number;
  created_at: string;
  expires_at: string;
}

export interface AuditRow {
  id: Generated<number>;
  partner_id: number | null;
  actor_user_id: number | null;
  actor_name: string;
  action: string;
  target: string;
  detail: string;
  created_at: string;
}
