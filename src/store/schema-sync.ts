import type { Generated } from "kysely";

/**
 * Row types of the sync engine's own state (./schema.ts re-exports them): links, runs and their
 * lines, the ticket outbox and inbox, webhooks, errors, cursors, the budget ledger, worker processes,
 * attachments and reconciliation. Stored as ./schema.ts says: 0/1 booleans, ISO-8601 UTC text times.
 */

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
