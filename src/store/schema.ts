import type { Generated } from "kysely";

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

/** A portal record linked to its PSA record, with what was last written to the PSA. */
export interface LinkRow {
  id: Generated<number>;
  partner_id: number;
  /** device | ticket | note */
  entity: string;
  portal_id: number;
  psa_id: number;
  /** Hash of the fields last written; equal hash = nothing to write. */
  fingerprint: string;
  /** JSON of the fields last written, to tell a PSA-side edit from our own value. */
  written: string;
  synced_at: string;
}

/**
 * What an asset run did to a device's configuration item, recorded before the write is sent and
 * removed if the PSA refused it (migration 0027): a run taken over counts the device by it.
 */
export interface LinkRunOutcomeRow {
  run_id: number;
  /** The device (links.portal_id). */
  portal_id: number;
  /** created | updated | deactivated */
  outcome: string;
}

export interface SyncRunRow {
  id: Generated<number>;
  partner_id: number;
  /** assets (tickets later) */
  kind: string;
  /** onboarding | schedule | manual */
  trigger: string;
  dry_run: number;
  /** running | succeeded | partial | failed | awaiting-approval */
  status: string;
  counts: string;
  api_calls: number;
  /** JSON plan: the dry run's result, or what waits for approval. */
  plan: string | null;
  error: string | null;
  approved_by: string | null;
  started_at: string;
  finished_at: string | null;
  // progress and approval waits (migration 0020)
  /** planning | writing; null before the first phase or after the run. */
  progress_phase: string | null;
  progress_done: Generated<number>;
  /** Devices the run considers (portal devices plus links of devices gone); null until known. */
  progress_total: number | null;
  phase_started_at: string | null;
  /** Since when the run waits for approval; null when it does not. */
  held_at: string | null;
  /** Milliseconds spent waiting for approval (left out of the run's duration). */
  waited_ms: Generated<number>;
  // owners (migration 0024)
  /** The worker process executing the run (worker_processes.id); null when no one is. */
  owner: string | null;
  /** When the owner last said it is alive; a run whose owner stopped beating is taken over. */
  heartbeat_at: string | null;
  // pauses at the hourly API budget (migration 0025)
  /** When a run paused at the PSA's hourly API budget goes on; null while it executes or after it ended. */
  paused_until: string | null;
}

/**
 * A partner's hourly PSA API usage as every process serving it counts it (migration 0026): the last
 * reading the PSA gave and the requests sent since by all processes.
 */
export interface BudgetLedgerRow {
  partner_id: number;
  /** Requests the PSA counted in its window when read. */
  reported_count: number;
  threshold: number;
  timeframe_minutes: number;
  /** When the reading was taken; a reading only replaces one not newer than itself. */
  read_at: string;
  /** Requests sent by all processes since the reading. */
  sent_since: number;
}

/** A worker process, alive while it beats (migration 0024). */
export interface WorkerProcessRow {
  id: string;
  host: string;
  pid: number;
  /** JSON array of the job engine's worker ids in the process. */
  job_workers: string;
  started_at: string;
  beat_at: string;
}

export interface SyncRunLineRow {
  id: Generated<number>;
  run_id: number;
  at: string;
  level: string;
  text: string;
}

export interface TicketOutboxRow {
  id: Generated<number>;
  partner_id: number;
  ticket_id: number;
  /** ticket | note | time-entry */
  kind: string;
  created_at: string;
  processed_at: string | null;
}

/** An integration settings save, for the sync engine to act on (written with the settings). */
export interface IntegrationEventRow {
  id: Generated<number>;
  partner_id: number;
  /** 1 when the save switched device integration on for the first time. */
  onboarding: number;
  created_at: string;
  processed_at: string | null;
}

export interface TicketInboxRow {
  id: Generated<number>;
  partner_id: number;
  dedup_key: string;
  /** webhook | poll | manual */
  source: string;
  /** Ticket | TicketNote */
  entity_type: string;
  psa_id: number;
  psa_ticket_id: number | null;
  received_at: string;
  processed_at: string | null;
}

export interface TicketLinkRow {
  id: Generated<number>;
  partner_id: number;
  ticket_id: number;
  psa_ticket_id: number;
  ticket_number: string;
  /** linked | out-of-queue */
  state: string;
  /** JSON: the last synced state of both sides (see sync/tickets.ts Shadow). */
  shadow: string;
  synced_at: string;
  last_error: string | null;
  /** A condition that does not stop the sync (a portal status with no forward row). */
  warning: Generated<string | null>;
  /** When the PSA ticket's files were last listed (the periodic file check, migration 0019); null: never. */
  files_checked_at: Generated<string | null>;
  /**
   * The PSA's last-activity stamp as the last sync read it, when that read saw everything behind it
   * (migration 0023); null: not known, the next poll reads the ticket again.
   */
  psa_seen_at: Generated<string | null>;
}

export interface NoteLinkRow {
  id: Generated<number>;
  partner_id: number;
  note_id: number;
  psa_note_id: number;
  psa_ticket_id: number;
}

export interface SyncErrorRow {
  id: Generated<number>;
  partner_id: number;
  /** The ordered lane: "ticket:<portal id>" or "psa:<Autotask ticket id>". */
  lane: string;
  ticket_id: number | null;
  psa_ticket_id: number | null;
  error: string;
  code: string;
  attempts: number;
  /** 1 = parked (waits for a retry); 0 = will be retried at next_attempt_at. */
  parked: number;
  next_attempt_at: string | null;
  first_at: string;
  last_at: string;
  resolved_at: string | null;
}

export interface SyncCursorRow {
  partner_id: number;
  stream: string;
  value: string;
  version: number;
  updated_at: string;
}

export interface PsaWebhookRow {
  id: Generated<number>;
  partner_id: number;
  /** Ticket | TicketNote */
  entity: string;
  psa_webhook_id: number;
  secret_sealed: string;
  created_at: string;
}

/** A partner's webhook state (migration 0009). */
export interface PsaWebhookStatusRow {
  partner_id: number;
  /** webhooks | polling | off */
  mode: string;
  /** Why polling only; null otherwise. */
  reason: string | null;
  url: string | null;
  /** JSON array of "Entity.field: why" for fields that could not be subscribed. */
  unsubscribed_fields: string;
  checked_at: string;
}

export interface MappingDriftRow {
  id: Generated<number>;
  partner_id: number;
  kind: string;
  psa_id: number;
  message: string;
  detected_at: string;
}

/** A portal time entry's PSA entry; state creating | synced | deleted | corrected. */
export interface TimeEntryLinkRow {
  id: Generated<number>;
  partner_id: number;
  time_entry_id: number;
  psa_time_entry_id: number | null;
  state: string;
  /** The entry's updated_at the PSA entry reflects. */
  synced_at: string | null;
  last_error: string | null;
}

/** A portal user's PSA resource (and role; null = the resource's default). */
export interface ResourceMapRow {
  id: Generated<number>;
  partner_id: number;
  user_id: number;
  psa_resource_id: number;
  psa_role_id: number | null;
  psa_label: string;
}

// ---------------------------------------------------------------- attachments (migrations 0015, 0017)

/** A file on a portal ticket; the bytes in `data` (storage "db") or under the attachment directory ("dir"). */
export interface AttachmentRow {
  id: Generated<number>;
  partner_id: number;
  ticket_id: number;
  file_name: string;
  content_type: string;
  size: number;
  /** hex */
  sha256: string;
  /** db | dir */
  storage: string;
  data: Buffer | null;
  storage_key: string | null;
  /** portal | psa */
  origin: string;
  created_by: string;
  created_at: string;
}

/** A file that crossed: the portal attachment and the PSA attachment it is (migration 0017). */
export interface AttachmentLinkRow {
  id: Generated<number>;
  partner_id: number;
  /** Null for a PSA file the portal refused (`skipped` says why). */
  attachment_id: number | null;
  psa_attachment_id: number;
  psa_ticket_id: number;
  sha256: string | null;
  skipped: string | null;
  created_at: string;
}

// ---------------------------------------------------------------- reconciliation (migration 0022)

/** A reconciliation item a partner ignores, by its key ("orphan-ci:ci:812"). */
export interface ReconciliationIgnoreRow {
  id: Generated<number>;
  partner_id: number;
  item_key: string;
  kind: string;
  /** The item's sentence when it was ignored (the list of ignored items shows it). */
  summary: string;
  created_by: string;
  created_at: string;
}
