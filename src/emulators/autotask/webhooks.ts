/**
 * Webhook delivery (docs/autotask.md, Webhooks): turns each committed EntityChange into signed
 * callouts to the tenant's registered webhooks, with Autotask's retry, error-log, ordering and
 * deactivation rules, plus injected delivery faults (faults.ts). Registrations are read through the
 * core's WebhookRegistryView; nothing here touches the store directly.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { DeliveryFaultDecision, DeliveryFaultSource } from "./faults.js";
import type {
  ChangeListener,
  EntityChange,
  Row,
  WebhookEntityType,
  WebhookRegistration,
  WebhookRegistryView,
} from "./hooks.js";
import { type EmulatorClock, scaled, systemClock } from "./timing.js";

// ---------------------------------------------------------------------------------------------
// Serialisation and signature (docs/autotask.md, Signature)
// ---------------------------------------------------------------------------------------------

/** How the delivery body is serialised. */
export type JsonEscaping = "aspnet" | "none";

const ASPNET_ESCAPES: Record<string, string> = {
  "&": "\\u0026",
  "<": "\\u003C",
  ">": "\\u003E",
  "'": "\\u0027",
  "`": "\\u0060",
  "+": "\\u002B",
};

function hex4(code: number): string {
  return code.toString(16).toUpperCase().padStart(4, "0");
}

/**
 * Re-escapes the string literals of a JSON text the way Autotask's (ASP.NET) serialiser does,
 * docs/autotask.md, Signature: `& < > ' \` +` and `"` as `\uXXXX` (upper-case hex), every
 * non-ASCII UTF-16 unit as `\uXXXX` (astral characters become a surrogate pair of escapes). Other
 * escapes JSON.stringify produced (`\\`, `\n`, `\u001F`, …) are kept. Only string literals are
 * touched — a `+` in a number such as `1e+21` is structural. The result parses to the same value.
 */
export function aspNetEscapeJson(json: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const ch = json[i] as string;
    if (!inString) {
      if (ch === '"') inString = true;
      out += ch;
      continue;
    }
    if (ch === "\\") {
      const next = json[i + 1];
      if (next === '"') out += "\\u0022";
      else if (next === "u") {
        out += json.slice(i, i + 6);
        i += 4;
      } else out += `\\${next}`;
      i++;
      continue;
    }
    if (ch === '"') {
      inString = false;
      out += ch;
      continue;
    }
    const code = ch.charCodeAt(0);
    const esc = ASPNET_ESCAPES[ch];
    if (esc) out += esc;
    else if (code > 0x7f) out += `\\u${hex4(code)}`;
    else out += ch;
  }
  return out;
}

/** The exact bytes of a delivery body. */
export function serializeWebhookBody(payload: unknown, escaping: JsonEscaping = "aspnet"): Buffer {
  const json = JSON.stringify(payload);
  return Buffer.from(escaping === "aspnet" ? aspNetEscapeJson(json) : json, "utf8");
}

/**
 * `sha1=<base64 HMAC-SHA1(secretKey, body bytes)>`, the X-Hook-Signature value (docs/autotask.md, Signature).
 */
export function signHookBody(secretKey: string, body: Uint8Array | string): string {
  return `sha1=${createHmac("sha1", Buffer.from(secretKey, "utf8")).update(body).digest("base64")}`;
}

/**
 * Checks an X-Hook-Signature header against the raw body bytes as received, in constant time
 * (docs/reliability.md, Signature verification). Accepts the header with or without the `sha1=` prefix.
 */
export function verifyHookSignature(
  secretKey: string,
  rawBody: Uint8Array | string,
  header: string | string[] | null | undefined,
): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== "string" || value.length === 0) return false;
  const b64 = value.replace(/^sha1=/i, "").trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return false;
  const got = Buffer.from(b64, "base64");
  const want = createHmac("sha1", Buffer.from(secretKey, "utf8")).update(rawBody).digest();
  return got.length === want.length && timingSafeEqual(got, want);
}

// ---------------------------------------------------------------------------------------------
// Payload
// ---------------------------------------------------------------------------------------------

/** A delivery body (docs/autotask.md, Delivery payload); key order as in the payload example. */
export interface WebhookPayload {
  Action: "Create" | "Update" | "Delete" | "Deactivated";
  Guid: string;
  EntityType: WebhookEntityType;
  Id: number;
  Fields: Record<string, unknown>;
  EventTime: string;
  SequenceNumber: number;
  PersonID: number;
}

/**
 * Where subscribed UDFs go in `Fields` — docs/autotask.md, Delivery payload leaves it open (unconfirmed):
 * - "array" (default): `Fields.userDefinedFields = [{name, value}]`, the shape of the entity row, so
 *   a UDF named like a standard field cannot collide with it;
 * - "flat": one key per UDF name next to the standard fields.
 */
export type UdfStyle = "array" | "flat";

const truthy = (v: unknown): boolean => v === true || v === 1 || v === "true" || v === "True";
const num = (v: unknown): number | undefined => {
  const n = typeof v === "string" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
};
const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

function rowValue(row: Row | null, name: string): { key: string; value: unknown } {
  if (row) {
    if (name in row) return { key: name, value: row[name] };
    for (const k of Object.keys(row)) if (sameName(k, name)) return { key: k, value: row[k] };
  }
  return { key: name, value: null };
}

function udfValue(row: Row | null, name: string): unknown {
  const udfs = row?.["userDefinedFields"];
  if (!Array.isArray(udfs)) return null;
  for (const u of udfs) {
    if (
      u &&
      typeof u === "object" &&
      typeof (u as Row)["name"] === "string" &&
      sameName((u as Row)["name"] as string, name)
    )
      return (u as Row)["value"] ?? null;
  }
  return null;
}

function subscribedTo(webhook: Row, action: EntityChange["action"]): boolean {
  return truthy(webhook[`isSubscribedTo${action}Events`]);
}

/**
 * Fields of the delivery: subscribed fields that changed, plus display-always fields (docs/autotask.md,
 * Delivery payload). On Create `changedFields` holds every non-null field, on Delete none, so a Delete
 * carries the display-always fields only, read from the row as it was before the delete. Returns null when an
 * Update touched no subscribed field or UDF (no callout).
 */
export function buildFields(
  registry: WebhookRegistryView,
  reg: WebhookRegistration,
  change: EntityChange,
  udfStyle: UdfStyle,
): Record<string, unknown> | null {
  const row = change.after ?? change.before;
  const fields: Record<string, unknown> = {};
  let subscribedChanged = false;

  for (const f of reg.fields) {
    const id = num(f["fieldID"]);
    const name = id === undefined ? undefined : registry.fieldName(reg.entityType, id);
    if (!name) continue;
    const changed = change.changedFields.some((c) => sameName(c, name));
    const subscribed = truthy(f["isSubscribedField"]);
    if (subscribed && changed) subscribedChanged = true;
    if ((subscribed && changed) || truthy(f["isDisplayAlwaysField"])) {
      const { key, value } = rowValue(row, name);
      fields[key] = value ?? null;
    }
  }

  const udfs: { name: string; value: unknown }[] = [];
  for (const u of reg.udfFields) {
    const id = num(u["udfFieldID"]);
    const name = id === undefined ? undefined : registry.udfName(change.tenantId, reg.entityType, id);
    if (!name) continue;
    const changed = change.changedUdfs.some((c) => sameName(c, name));
    const subscribed = truthy(u["isSubscribedField"]);
    if (subscribed && changed) subscribedChanged = true;
    if ((subscribed && changed) || truthy(u["isDisplayAlwaysField"]))
      udfs.push({ name, value: udfValue(row, name) });
  }
  if (udfs.length > 0) {
    if (udfStyle === "array") fields["userDefinedFields"] = udfs;
    else for (const u of udfs) fields[u.name] = u.value;
  }

  if (change.action === "Update" && !subscribedChanged) return null;
  return fields;
}

/** A webhook is ready once it has at least one subscribed field or UDF (docs/autotask.md, Registration). */
export function isReady(reg: WebhookRegistration): boolean {
  return (
    reg.fields.some((f) => truthy(f["isSubscribedField"])) ||
    reg.udfFields.some((u) => truthy(u["isSubscribedField"]))
  );
}

// ---------------------------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------------------------

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

type Tunables = Required<
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

interface Job {
  body: Buffer;
  signature: string | null;
  url: string;
  sequenceNumber: number;
  fault: DeliveryFaultDecision;
  reorderDone: boolean;
}

interface WebhookState {
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

type AttemptResult = { ok: true } | { ok: false; error: string };
type EventResult = { ok: true } | { ok: false; error: string; attempts: number } | "discarded";

const ERROR_LOG_WEBHOOK_KEY: Record<WebhookEntityType, string> = {
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

function mergeTunables(base: Tunables, partial: Partial<Tunables>): Tunables {
  const next: Tunables = { ...base };
  for (const [k, v] of Object.entries(partial)) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_WEBHOOK_TUNABLES)) throw new RangeError(`unknown webhook option "${k}"`);
    (next as unknown as Record<string, unknown>)[k] = v;
  }
  validateTunables(next);
  return next;
}

export function createWebhookEngine(opts: WebhookEngineOptions): WebhookEngine {
  const { registry, faults } = opts;
  const clock = opts.clock ?? systemClock;
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init));
  const onError = opts.onError ?? (() => {});
  const initial: Partial<Tunables> = {};
  for (const k of Object.keys(DEFAULT_WEBHOOK_TUNABLES) as (keyof Tunables)[])
    if (opts[k] !== undefined) (initial as Record<string, unknown>)[k] = opts[k];
  let t = mergeTunables({ ...DEFAULT_WEBHOOK_TUNABLES }, initial);

  let states = new Map<string, WebhookState>();
  const deactivating = new Set<string>();
  const closer = new AbortController();
  let closed = false;
  let busy = 0; // running queue loops + deactivation calls
  let flushing = 0;
  let idleWaiters: (() => void)[] = [];
  const stats: Omit<WebhookStats, "pending"> = {
    events: 0,
    delivered: 0,
    attempts: 0,
    failedAttempts: 0,
    failedEvents: 0,
    dropped: 0,
    duplicated: 0,
    delayed: 0,
    reordered: 0,
    discarded: 0,
    deactivations: 0,
    deactivationCalls: 0,
    deactivationCallFailures: 0,
  };

  const ms = (nominal: number): number => scaled(nominal, t.timeScale);
  const now = (): number => clock.now().getTime();
  const stateKey = (tenantId: string, entityType: string, id: number): string =>
    `${tenantId}|${entityType}|${id}`;

  const stateFor = (tenantId: string, entityType: WebhookEntityType, webhookId: number): WebhookState => {
    const key = stateKey(tenantId, entityType, webhookId);
    let s = states.get(key);
    if (!s) {
      s = {
        key,
        tenantId,
        entityType,
        webhookId,
        sequence: 0,
        consecutiveFailures: 0,
        items: [],
        running: false,
        wake: null,
      };
      states.set(key, s);
    }
    return s;
  };

  const checkIdle = (): void => {
    if (busy > 0) return;
    for (const s of states.values()) if (s.items.length > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  /** The registration as it is now (null when deleted), to stop delivering once it is inactive. */
  const currentRegistration = (s: WebhookState): WebhookRegistration | null => {
    for (const r of registry.list(s.tenantId, s.entityType))
      if (num(r.webhook["id"]) === s.webhookId) return r;
    return null;
  };
  const isActive = (s: WebhookState): boolean => {
    const r = currentRegistration(s);
    return r !== null && truthy(r.webhook["isActive"]);
  };

  /**
   * One POST with the per-attempt timeout (docs/autotask.md, Retries and deactivation: 10 s). A 2xx is
   * success.
   */
  const attempt = async (url: string, body: Buffer, signature: string | null): Promise<AttemptResult> => {
    stats.attempts++;
    const timeout = Math.max(ms(t.attemptTimeoutMs), t.minAttemptTimeoutMs);
    const signal = AbortSignal.any([AbortSignal.timeout(Math.max(1, timeout)), closer.signal]);
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (signature) headers["X-Hook-Signature"] = signature;
    try {
      const res = await doFetch(url, { method: "POST", headers, body, signal, redirect: "manual" });
      // Read the answer fully so the connection can be reused; its content does not matter.
      await res.arrayBuffer();
      if (res.status >= 200 && res.status < 300) return { ok: true };
      stats.failedAttempts++;
      return { ok: false, error: `HTTP ${res.status} from ${url}` };
    } catch (err) {
      stats.failedAttempts++;
      if (closer.signal.aborted) return { ok: false, error: "engine closed" };
      const name = err instanceof Error ? err.name : "";
      if (name === "TimeoutError")
        return { ok: false, error: `No response from ${url} within ${timeout} ms` };
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
      return { ok: false, error: `${err instanceof Error ? err.message : String(err)}${cause} (${url})` };
    }
  };

  const sleep = (delay: number): Promise<void> => clock.sleep(delay, closer.signal);

  /**
   * Delivers one event with Autotask's retry rule (docs/autotask.md, Retries and deactivation): attempts
   * start 30 s apart (counted from the previous attempt's start, so a 10 s timeout does not stretch the
   * schedule), at most 5 of them, none later than 2 minutes after the first: 0, 30, 60, 90, 120 s.
   */
  const deliverWithRetries = async (s: WebhookState, job: Job): Promise<EventResult> => {
    const first = now();
    for (let n = 1; ; n++) {
      if (!isActive(s)) return "discarded";
      const r = await attempt(job.url, job.body, job.signature);
      if (r.ok) return r;
      if (closed) return "discarded";
      const nextAt = first + n * ms(t.retryDelayMs);
      if (n >= t.maxAttempts || nextAt - first > ms(t.retryWindowMs)) return { ...r, attempts: n };
      await sleep(Math.max(0, nextAt - now()));
    }
  };

  const deactivationPayload = (s: WebhookState, webhook: Row): WebhookPayload => ({
    Action: "Deactivated",
    Guid: String(webhook["webhookGUID"] ?? ""),
    EntityType: s.entityType,
    Id: s.webhookId,
    Fields: {},
    EventTime: clock.now().toISOString(),
    SequenceNumber: ++s.sequence,
    // No resource causes a deactivation; the webhook's owner is the closest meaningful id. [U]
    PersonID: num(webhook["ownerResourceID"]) ?? 0,
  });

  /**
   * Calls deactivationUrl once (docs/autotask.md, Retries and deactivation: "deactivationUrl is called"; body
   * unconfirmed: the delivery envelope with Action "Deactivated", Id = the webhook id, Fields {}). No
   * retries.
   */
  const callDeactivationUrl = (s: WebhookState, webhook: Row): void => {
    const url = webhook["deactivationUrl"];
    if (typeof url !== "string" || url.length === 0 || closed) return;
    const body = serializeWebhookBody(deactivationPayload(s, webhook), t.escaping);
    const secret = webhook["secretKey"];
    const signature =
      t.signDeactivation && typeof secret === "string" && secret ? signHookBody(secret, body) : null;
    busy++;
    attempt(url, body, signature)
      .then((r) => {
        if (r.ok) stats.deactivationCalls++;
        else stats.deactivationCallFailures++;
      })
      .catch(onError)
      .finally(() => {
        busy--;
        checkIdle();
      });
  };

  const discardQueued = (s: WebhookState): void => {
    stats.discarded += s.items.length;
    s.items.length = 0;
    s.wake?.();
  };

  const failEvent = (s: WebhookState, job: Job, error: string, attempts: number): void => {
    stats.failedEvents++;
    // docs/autotask.md, Retries and deactivation: after the last attempt the payload is dropped and an
    // error-log entry written.
    try {
      registry.addErrorLog(s.tenantId, {
        errorMessage: `Webhook callout failed after ${attempts} attempt(s): ${error}`,
        payload: job.body.toString("utf8"),
        sequenceNumber: job.sequenceNumber,
        [ERROR_LOG_WEBHOOK_KEY[s.entityType]]: s.webhookId,
      });
    } catch (err) {
      onError(err);
    }
    s.consecutiveFailures++;
    // docs/autotask.md, Retries and deactivation: 25 consecutive failed events disable the callout and call
    // deactivationUrl.
    if (s.consecutiveFailures >= t.deactivateAfterFailedEvents) {
      const reg = currentRegistration(s);
      // If the core reacts to this by calling webhookDeactivated, ignore that echo (one call only).
      deactivating.add(s.key);
      try {
        registry.deactivate(s.tenantId, s.entityType, s.webhookId);
      } catch (err) {
        onError(err);
      } finally {
        deactivating.delete(s.key);
      }
      stats.deactivations++;
      s.consecutiveFailures = 0;
      discardQueued(s);
      if (reg) callDeactivationUrl(s, reg.webhook);
    }
  };

  const process = async (s: WebhookState, job: Job): Promise<void> => {
    if (job.fault.drop) {
      stats.dropped++;
      return;
    }
    if (job.fault.delayMs > 0) {
      stats.delayed++;
      await sleep(job.fault.delayMs);
    }
    const result = await deliverWithRetries(s, job);
    if (closed) return;
    if (result === "discarded") {
      stats.discarded++;
      return;
    }
    if (result.ok) {
      stats.delivered++;
      s.consecutiveFailures = 0;
      if (job.fault.duplicate) {
        stats.duplicated++;
        await attempt(job.url, job.body, job.signature);
      }
      return;
    }
    failEvent(s, job, result.error, result.attempts);
  };

  /** Waits (at most reorderHoldMs) for a second event in the queue; a flush or close cuts it short. */
  const waitForFollower = async (s: WebhookState): Promise<void> => {
    if (s.items.length >= 2 || flushing > 0 || closed) return;
    const hold = new AbortController();
    const done = new Promise<void>((resolve) => {
      s.wake = resolve;
    });
    const timer = clock
      .sleep(ms(t.reorderHoldMs), AbortSignal.any([hold.signal, closer.signal]))
      .catch(() => undefined);
    await Promise.race([done, timer]);
    s.wake = null;
    hold.abort();
  };

  /**
   * One loop per webhook: events go out one at a time, in order (docs/autotask.md, Retries and deactivation).
   */
  const run = async (s: WebhookState): Promise<void> => {
    s.running = true;
    busy++;
    try {
      while (s.items.length > 0 && !closed) {
        const head = s.items[0] as Job;
        if (head.fault.reorder && !head.reorderDone) {
          await waitForFollower(s);
          head.reorderDone = true;
          const follower = s.items[1];
          if (s.items[0] === head && follower) {
            // Swap with the next event; the promoted one is not reordered again.
            follower.reorderDone = true;
            s.items[0] = follower;
            s.items[1] = head;
            stats.reordered++;
          }
          continue;
        }
        s.items.shift();
        try {
          await process(s, head);
        } catch (err) {
          // An internal error loses this event only; the queue goes on (close() ends it quietly).
          if (!closed) onError(err);
        }
      }
    } catch (err) {
      if (!closed) onError(err);
    } finally {
      s.running = false;
      busy--;
      checkIdle();
    }
  };

  const enqueue = (s: WebhookState, job: Job): void => {
    s.items.push(job);
    stats.events++;
    s.wake?.();
    // Fire and forget: the loop catches every delivery failure itself and never rejects.
    if (!s.running) void run(s);
  };

  const handle = (change: EntityChange): void => {
    for (const reg of registry.list(change.tenantId, change.entityType)) {
      const w = reg.webhook;
      const webhookId = num(w["id"]);
      if (webhookId === undefined || !truthy(w["isActive"])) continue;
      if (!subscribedTo(w, change.action) || !isReady(reg)) continue;
      // Excluded resources: no callout for changes made by them (docs/autotask.md, Registration).
      if (reg.excludedResources.some((r) => num(r["resourceID"]) === change.personId)) continue;
      const url = w["webhookUrl"];
      if (typeof url !== "string" || url.length === 0) continue;
      const fields = buildFields(registry, reg, change, t.udfStyle);
      if (fields === null) continue;

      const s = stateFor(change.tenantId, change.entityType, webhookId);
      // SequenceNumber counts per webhook, including events a fault drops (receivers see the gap).
      const payload: WebhookPayload = {
        Action: change.action,
        Guid: String(w["webhookGUID"] ?? ""),
        EntityType: change.entityType,
        Id: change.id,
        Fields: fields,
        EventTime: change.at.toISOString(),
        SequenceNumber: ++s.sequence,
        PersonID: change.personId,
      };
      const body = serializeWebhookBody(payload, t.escaping);
      const secret = w["secretKey"];
      // No secret, no signature (the field is optional in the webhook model).
      const signature = typeof secret === "string" && secret.length > 0 ? signHookBody(secret, body) : null;
      const fault: DeliveryFaultDecision = faults
        ? faults.deliveryDecision()
        : { drop: false, duplicate: false, delayMs: 0, reorder: false };
      enqueue(s, { body, signature, url, sequenceNumber: payload.SequenceNumber, fault, reorderDone: false });
    }
  };

  return {
    onChange(change) {
      if (closed) return;
      try {
        handle(change);
      } catch (err) {
        onError(err);
      }
    },

    async flush() {
      flushing++;
      try {
        for (const s of states.values()) s.wake?.();
        await new Promise<void>((resolve) => {
          idleWaiters.push(resolve);
          checkIdle();
        });
      } finally {
        flushing--;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const s of states.values()) discardQueued(s);
      closer.abort();
      await new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      });
    },

    stats() {
      let pending = 0;
      for (const s of states.values()) pending += s.items.length + (s.running ? 1 : 0);
      return { ...stats, pending };
    },

    configure(partial) {
      t = mergeTunables(t, partial);
      return { ...t };
    },

    webhookDeactivated(tenantId, entityType, webhook) {
      const id = num(webhook["id"]);
      if (id === undefined || closed) return;
      const s = stateFor(tenantId, entityType, id);
      if (deactivating.has(s.key)) return;
      discardQueued(s);
      s.consecutiveFailures = 0;
      callDeactivationUrl(s, webhook);
    },

    reset() {
      for (const s of states.values()) discardQueued(s);
      states = new Map();
    },
  };
}
