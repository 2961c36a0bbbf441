/**
 * Webhook delivery (docs/autotask.md, Webhooks): turns each committed EntityChange into signed
 * callouts to the tenant's registered webhooks, with Autotask's retry, error-log, ordering and
 * deactivation rules, plus injected delivery faults (faults.ts). Registrations are read through the
 * core's WebhookRegistryView; nothing here touches the store directly.
 */
import { setMaxListeners } from "node:events";
import type { DeliveryFaultDecision } from "./faults.js";
import type { EntityChange, Row, WebhookEntityType, WebhookRegistration } from "./hooks.js";
import { scaled, systemClock } from "./timing.js";
import {
  type AttemptResult,
  DEFAULT_WEBHOOK_TUNABLES,
  ERROR_LOG_WEBHOOK_KEY,
  type EventResult,
  type Job,
  mergeTunables,
  type Tunables,
  type WebhookEngine,
  type WebhookEngineOptions,
  type WebhookState,
  type WebhookStats,
} from "./webhook-config.js";
import { buildFields, isReady, num, subscribedTo, truthy, type WebhookPayload } from "./webhook-payload.js";
import { serializeWebhookBody, signHookBody } from "./webhook-signature.js";

// The modules webhook delivery is made of; importers use this module path.
export {
  DEFAULT_WEBHOOK_TUNABLES,
  type WebhookEngine,
  type WebhookEngineOptions,
  type WebhookStats,
} from "./webhook-config.js";
export { buildFields, isReady, type UdfStyle, type WebhookPayload } from "./webhook-payload.js";
export {
  aspNetEscapeJson,
  type JsonEscaping,
  serializeWebhookBody,
  signHookBody,
  verifyHookSignature,
} from "./webhook-signature.js";

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
  // Every delivery and hold in flight combines this signal with its own: many listeners by design.
  setMaxListeners(0, closer.signal);
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
