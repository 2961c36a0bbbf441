/**
 * Options, tunables and statistics of the webhook delivery engine, and the shapes of its queue
 * (webhooks.ts).
 */
import type { DeliveryFaultDecision, DeliveryFaultSource } from "./faults.js";
import type { ChangeListener, Row, WebhookEntityType, WebhookRegistryView } from "./hooks.js";
import type { EmulatorClock } from "./timing.js";
import type { UdfStyle } from "./webhook-payload.js";
import type { JsonEscaping } from "./webhook-signature.js";

export interface WebhookEngineOptions {
  registry: WebhookRegistryView;
  /** Delivery faults (drop / duplicate / delay / reorder); omitted → none. */
  faults?: DeliveryFaultSource;
  /** Multiplies every delay below (tests: a small value, or 1 with a virtual clock). Default 1. */
  timeScale?: number;
  /** Defaults to global fetch (undici). */
  fetch?: typeof fetch;
  /** Retry waits and delivery delays use it; the per-attempt timeout is always real time. */
  clock?: EmulatorClock;
  /** Per-attempt timeout, nominal ms. docs/autotask.md, Retries and deactivation: 10 s. */
  attemptTimeoutMs?: number;
  /**
   * Floor of the scaled per-attempt timeout, real ms (default 1000). With timeScale 0.001 the 10 s
   * timeout would be 10 ms, and a healthy local receiver on a busy test machine would time out and
   * get a spurious retry; the floor keeps compressed runs deterministic. Set 0 to scale freely.
   */
  minAttemptTimeoutMs?: number;
  /** Retry interval, nominal ms, counted from the start of the previous attempt. [C]: 30 s. */
  retryDelayMs?: number;
  /** Attempts per event. [C]: 5. */
  maxAttempts?: number;
  /** No attempt starts later than this after the first one, nominal ms. [C]: 2 minutes. */
  retryWindowMs?: number;
  /** Consecutive failed events before the webhook is deactivated. [C]: 25. */
  deactivateAfterFailedEvents?: number;
  /** How long a reorder-faulted event waits for a follower before it goes out anyway, nominal ms. */
  reorderHoldMs?: number;
  /** Body serialisation; "aspnet" (default) reproduces Autotask's escaping (docs/autotask.md, Signature). */
  escaping?: JsonEscaping;
  /** Where UDFs go in Fields; see UdfStyle. Default "array". */
  udfStyle?: UdfStyle;
  /**
   * Sign the Deactivated call like a delivery (docs/autotask.md, Retries and deactivation: unconfirmed);
   * default true.
   */
  signDeactivation?: boolean;
  /** Told about unexpected internal errors (never about receiver failures). */
  onError?: (err: unknown) => void;
}

export type Tunables = Required<
  Pick<
    WebhookEngineOptions,
    | "timeScale"
    | "attemptTimeoutMs"
    | "minAttemptTimeoutMs"
    | "retryDelayMs"
    | "maxAttempts"
    | "retryWindowMs"
    | "deactivateAfterFailedEvents"
    | "reorderHoldMs"
    | "escaping"
    | "udfStyle"
    | "signDeactivation"
  >
>;

export const DEFAULT_WEBHOOK_TUNABLES: Readonly<Tunables> = Object.freeze({
  timeScale: 1,
  attemptTimeoutMs: 10_000,
  minAttemptTimeoutMs: 1_000,
  retryDelayMs: 30_000,
  maxAttempts: 5,
  retryWindowMs: 120_000,
  deactivateAfterFailedEvents: 25,
  reorderHoldMs: 1_000,
  escaping: "aspnet",
  udfStyle: "array",
  signDeactivation: true,
});

export interface WebhookStats {
  /** Events queued (one per change × matching webhook). */
  events: number;
  /** Events whose delivery got a 2xx. */
  delivered: number;
  /** HTTP attempts made (including duplicates and deactivation calls). */
  attempts: number;
  failedAttempts: number;
  /** Events that failed every attempt (each wrote an error log entry). */
  failedEvents: number;
  dropped: number;
  duplicated: number;
  delayed: number;
  reordered: number;
  /** Events discarded because their webhook was deactivated, deleted or reset before delivery. */
  discarded: number;
  deactivations: number;
  /** Deactivated calls that got a 2xx / that failed. */
  deactivationCalls: number;
  deactivationCallFailures: number;
  /** Events waiting or in flight. */
  pending: number;
}

export interface WebhookEngine extends ChangeListener {
  /** Resolves when every queued event has been delivered, failed or discarded. */
  flush(): Promise<void>;
  /** Stops: aborts attempts in flight and pending waits, discards queued events. */
  close(): Promise<void>;
  stats(): WebhookStats;
  /** Changes tunables at run time (the admin API). */
  configure(partial: Partial<Tunables>): Tunables;
  /**
   * The core should call this when a webhook is deactivated or deleted through the API, so that
   * its deactivationUrl is called (docs/autotask.md, Retries and deactivation) and its queued events are
   * discarded.
   */
  webhookDeactivated(tenantId: string, entityType: WebhookEntityType, webhook: Row): void;
  /** Forgets sequence numbers, failure counts and queued events (admin reset). */
  reset(): void;
}

export interface Job {
  body: Buffer;
  signature: string | null;
  url: string;
  sequenceNumber: number;
  fault: DeliveryFaultDecision;
  reorderDone: boolean;
}

export interface WebhookState {
  key: string;
  tenantId: string;
  entityType: WebhookEntityType;
  webhookId: number;
  sequence: number;
  consecutiveFailures: number;
  items: Job[];
  running: boolean;
  /** Wakes a reorder hold when a follower arrives or a flush starts. */
  wake: (() => void) | null;
}

export type AttemptResult = { ok: true } | { ok: false; error: string };
export type EventResult = { ok: true } | { ok: false; error: string; attempts: number } | "discarded";

export const ERROR_LOG_WEBHOOK_KEY: Record<WebhookEntityType, string> = {
  Ticket: "ticketWebhookID",
  TicketNote: "ticketNoteWebhookID",
  ConfigurationItem: "configurationItemWebhookID",
};

function validateTunables(t: Tunables): void {
  for (const k of [
    "attemptTimeoutMs",
    "minAttemptTimeoutMs",
    "retryDelayMs",
    "retryWindowMs",
    "reorderHoldMs",
    "timeScale",
  ] as const)
    if (!(Number.isFinite(t[k]) && t[k] >= 0)) throw new RangeError(`${k} must be ≥ 0`);
  for (const k of ["maxAttempts", "deactivateAfterFailedEvents"] as const)
    if (!(Number.isInteger(t[k]) && t[k] >= 1)) throw new RangeError(`${k} must be an integer ≥ 1`);
  if (t.escaping !== "aspnet" && t.escaping !== "none")
    throw new RangeError(`escaping must be "aspnet" or "none"`);
  if (t.udfStyle !== "array" && t.udfStyle !== "flat")
    throw new RangeError(`udfStyle must be "array" or "flat"`);
}

export function mergeTunables(base: Tunables, partial: Partial<Tunables>): Tunables {
  const next: Tunables = { ...base };
  for (const [k, v] of Object.entries(partial)) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_WEBHOOK_TUNABLES)) throw new RangeError(`unknown webhook option "${k}"`);
    (next as unknown as Record<string, unknown>)[k] = v;
  }
  validateTunables(next);
  return next;
}
