/**
 * Injected faults: the failures a real Autotask tenant produces now and then, on
 * demand and reproducibly. Request faults are drawn by the gate for each admitted request; webhook
 * delivery faults are drawn by the webhook engine for each event. Each kind draws from its own seeded
 * stream, so the same seed and the same sequence of requests (or of events) give the same faults, and
 * webhook traffic never shifts which requests fail.
 */
import { randomInt } from "node:crypto";
import { mulberry32 } from "../../lib/random.js";
import type { AfterApplyFault, Rejection, RequestInfo } from "./hooks.js";
import { scaled } from "./timing.js";

/** A fixed value or a uniform range, in nominal ms (multiplied by timeScale). */
export type Millis = number | { min: number; max: number };

export interface FaultOptions {
  /** PRNG seed; a number or any string. Omitted → a random one, reported by snapshot() to replay a run. */
  seed: number | string;
  /** Multiplies every delay below (latency, timeout-after-apply hold, delivery delay). */
  timeScale: number;

  /** Share (0..1) of requests answered 429 with Retry-After (nothing applied). */
  share429: number;
  /** Retry-After seconds on an injected 429 (an integer header, not scaled). */
  retryAfterSeconds: number;
  /** Share of requests answered 500 (nothing applied). */
  share500: number;
  /** Share of requests applied, then left without an answer (the ambiguous create). */
  shareTimeoutAfterApply: number;
  /** How long the core holds the response before it drops the connection, nominal ms. */
  timeoutAfterMs: number;
  /** Share of requests applied, then answered 500. */
  share500AfterApply: number;
  /** Latency added to every matching request. */
  latencyMs: Millis;

  /** Only requests with these methods (upper case) are faulted; null = all. */
  onlyMethods: string[] | null;
  /** Only requests to these entities (canonical names, e.g. "Tickets") are faulted; null = all. */
  onlyEntities: string[] | null;
  /** Only creates/updates/deletes are faulted. */
  onlyWrites: boolean;

  /** Share of webhook events never sent (their SequenceNumber is still used, leaving a gap). */
  deliveryDrop: number;
  /** Share of webhook events delivered twice (identical bytes). */
  deliveryDuplicate: number;
  /** Share of webhook events delayed before their first attempt (the webhook's queue waits). */
  deliveryDelay: number;
  /** The delay of a delayed event. */
  deliveryDelayMs: Millis;
  /** Share of webhook events swapped with the next event of the same webhook. */
  deliveryReorder: number;
}

export const DEFAULT_FAULTS: Readonly<Omit<FaultOptions, "seed">> = Object.freeze({
  timeScale: 1,
  share429: 0,
  retryAfterSeconds: 1,
  share500: 0,
  shareTimeoutAfterApply: 0,
  timeoutAfterMs: 10_000,
  share500AfterApply: 0,
  latencyMs: 0,
  onlyMethods: null,
  onlyEntities: null,
  onlyWrites: false,
  deliveryDrop: 0,
  deliveryDuplicate: 0,
  deliveryDelay: 0,
  deliveryDelayMs: 5_000,
  deliveryReorder: 0,
});

/** What the gate does with one request. */
export interface RequestFaultDecision {
  reject?: Rejection;
  afterApply?: AfterApplyFault;
  /** Added latency, already scaled. */
  latencyMs: number;
}

/** What the webhook engine does with one event. */
export interface DeliveryFaultDecision {
  drop: boolean;
  duplicate: boolean;
  /** Delay before the first attempt, already scaled; 0 = none. */
  delayMs: number;
  reorder: boolean;
}

/** The part of the faults module the webhook engine needs. */
export interface DeliveryFaultSource {
  deliveryDecision(): DeliveryFaultDecision;
}

export interface Faults extends DeliveryFaultSource {
  decide(req: RequestInfo): RequestFaultDecision;
  /** Changes options at run time; giving `seed` restarts both streams. Throws RangeError when invalid. */
  configure(partial: Partial<FaultOptions>): FaultOptions;
  snapshot(): { options: FaultOptions; drawn: { requests: number; deliveries: number } };
  /** Restarts both streams from the current seed (admin reset). */
  reset(): void;
}

export const INJECTED_429_MESSAGE =
  "Too many requests. Please retry after the interval in Retry-After. (emulator: injected fault)";
export const INJECTED_500_MESSAGE = "An unexpected error has occurred. (emulator: injected fault)";

/** 32-bit FNV-1a, to turn any seed into a PRNG state. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export { mulberry32 };

const SHARE_KEYS = [
  "share429",
  "share500",
  "shareTimeoutAfterApply",
  "share500AfterApply",
  "deliveryDrop",
  "deliveryDuplicate",
  "deliveryDelay",
  "deliveryReorder",
] as const;

function validMillis(name: string, m: Millis): void {
  if (typeof m === "number") {
    if (!(m >= 0 && Number.isFinite(m))) throw new RangeError(`${name} must be ≥ 0 ms`);
    return;
  }
  if (typeof m !== "object" || m === null || !(m.min >= 0 && m.max >= m.min && Number.isFinite(m.max)))
    throw new RangeError(`${name} must be a number or {min, max} with 0 ≤ min ≤ max`);
}

function validate(o: FaultOptions): void {
  for (const k of SHARE_KEYS) {
    const v = o[k];
    if (!(typeof v === "number" && v >= 0 && v <= 1))
      throw new RangeError(`${k} must be a share 0..1, got ${v}`);
  }
  // The request faults partition one draw, so together they cannot exceed 1.
  const sum = o.share429 + o.share500 + o.shareTimeoutAfterApply + o.share500AfterApply;
  if (sum > 1 + 1e-9) throw new RangeError(`the request fault shares add up to ${sum}, more than 1`);
  if (!Number.isInteger(o.retryAfterSeconds) || o.retryAfterSeconds < 0)
    throw new RangeError("retryAfterSeconds must be an integer ≥ 0");
  if (!(o.timeoutAfterMs >= 0 && Number.isFinite(o.timeoutAfterMs)))
    throw new RangeError("timeoutAfterMs must be ≥ 0");
  if (!(o.timeScale >= 0 && Number.isFinite(o.timeScale))) throw new RangeError("timeScale must be ≥ 0");
  validMillis("latencyMs", o.latencyMs);
  validMillis("deliveryDelayMs", o.deliveryDelayMs);
  if (typeof o.seed !== "number" && typeof o.seed !== "string")
    throw new RangeError("seed must be a number or string");
  for (const k of ["onlyMethods", "onlyEntities"] as const) {
    const v = o[k];
    if (v !== null && !(Array.isArray(v) && v.every((s) => typeof s === "string")))
      throw new RangeError(`${k} must be null or an array of strings`);
  }
}

function merge(base: FaultOptions, partial: Partial<FaultOptions>): FaultOptions {
  const next: FaultOptions = { ...base };
  for (const [k, v] of Object.entries(partial)) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_FAULTS) && k !== "seed") throw new RangeError(`unknown fault option "${k}"`);
    (next as unknown as Record<string, unknown>)[k] = v;
  }
  validate(next);
  return next;
}

/** Draws a Millis with one uniform u (always consumed, so the stream does not depend on the shape). */
function pick(m: Millis, u: number): number {
  return typeof m === "number" ? m : m.min + u * (m.max - m.min);
}

export function createFaults(opts: Partial<FaultOptions> = {}): Faults {
  let options = merge({ ...DEFAULT_FAULTS, seed: opts.seed ?? randomInt(0, 2 ** 31) }, opts);
  let requestRng = mulberry32(0);
  let deliveryRng = mulberry32(0);
  let drawn = { requests: 0, deliveries: 0 };
  const restart = (): void => {
    const s = String(options.seed);
    requestRng = mulberry32(hash32(`${s}:requests`));
    deliveryRng = mulberry32(hash32(`${s}:deliveries`));
    drawn = { requests: 0, deliveries: 0 };
  };
  restart();

  const matches = (req: RequestInfo): boolean => {
    if (options.onlyWrites && !req.isWrite) return false;
    if (options.onlyMethods && !options.onlyMethods.some((m) => m.toUpperCase() === req.method)) return false;
    if (
      options.onlyEntities &&
      !options.onlyEntities.some((e) => e.toLowerCase() === req.entity.toLowerCase())
    )
      return false;
    return true;
  };

  return {
    decide(req) {
      if (!matches(req)) return { latencyMs: 0 };
      drawn.requests++;
      const u = requestRng();
      const latencyMs = scaled(pick(options.latencyMs, requestRng()), options.timeScale);
      let edge = options.share429;
      if (u < edge)
        return {
          latencyMs,
          reject: {
            reason: "fault",
            status: 429,
            body: { errors: [INJECTED_429_MESSAGE] },
            headers: { "Retry-After": String(options.retryAfterSeconds) },
          },
        };
      edge += options.share500;
      if (u < edge)
        return {
          latencyMs,
          reject: { reason: "fault", status: 500, body: { errors: [INJECTED_500_MESSAGE] } },
        };
      edge += options.shareTimeoutAfterApply;
      if (u < edge)
        return {
          latencyMs,
          afterApply: { kind: "timeout", afterMs: scaled(options.timeoutAfterMs, options.timeScale) },
        };
      edge += options.share500AfterApply;
      if (u < edge) return { latencyMs, afterApply: { kind: "error500" } };
      return { latencyMs };
    },

    deliveryDecision() {
      drawn.deliveries++;
      // Always five draws per event, whatever is enabled, so the stream stays aligned with events.
      const drop = deliveryRng() < options.deliveryDrop;
      const duplicate = deliveryRng() < options.deliveryDuplicate;
      const delayed = deliveryRng() < options.deliveryDelay;
      const delayMs = scaled(pick(options.deliveryDelayMs, deliveryRng()), options.timeScale);
      const reorder = deliveryRng() < options.deliveryReorder;
      return { drop, duplicate, delayMs: delayed ? delayMs : 0, reorder };
    },

    configure(partial) {
      options = merge(options, partial);
      // Setting a seed (even the same one) restarts the streams, so a run can be replayed.
      if (partial.seed !== undefined) restart();
      return structuredClone(options);
    },

    snapshot() {
      return { options: structuredClone(options), drawn: { ...drawn } };
    },

    reset() {
      restart();
    },
  };
}
