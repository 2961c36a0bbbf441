/**
 * Injected faults and the request-rate throttle of the ConnectWise emulator. Request faults (429 with
 * Retry-After, 500, latency, applied-then-timeout, applied-then-500) and callback delivery faults
 * (drop, duplicate, delay, reorder) each draw from their own seeded stream, so the same seed and the
 * same traffic give the same faults.
 */
import { randomInt } from "node:crypto";
import { mulberry32 } from "../../lib/random.js";

export interface CwFaultOptions {
  /** PRNG seed (number or string); omitted → random, reported by snapshot(). */
  seed: number | string;
  share429: number;
  /** Retry-After of an injected 429, seconds. */
  retryAfterSeconds: number;
  share500: number;
  /** Share of writes applied, then never answered (the connection is dropped after `timeoutAfterMs`). */
  shareTimeoutAfterApply: number;
  timeoutAfterMs: number;
  /** Share of writes applied, then answered 500. */
  share500AfterApply: number;
  latencyMs: number;
  /** Only POST/PUT/PATCH/DELETE are faulted. */
  onlyWrites: boolean;
  callbackDrop: number;
  callbackDuplicate: number;
  callbackDelay: number;
  callbackDelayMs: number;
  callbackReorder: number;
  /** Requests per rolling minute per tenant and clientId before 429s (0 = no throttle). */
  requestsPerMinute: number;
}

export const DEFAULT_CW_FAULTS: Omit<CwFaultOptions, "seed"> = {
  share429: 0,
  retryAfterSeconds: 1,
  share500: 0,
  shareTimeoutAfterApply: 0,
  timeoutAfterMs: 10_000,
  share500AfterApply: 0,
  latencyMs: 0,
  onlyWrites: false,
  callbackDrop: 0,
  callbackDuplicate: 0,
  callbackDelay: 0,
  callbackDelayMs: 3_000,
  callbackReorder: 0,
  requestsPerMinute: 1000,
};

export interface RequestDecision {
  reject?: { status: 429 | 500; retryAfter?: number };
  afterApply?: "timeout" | "error500";
  latencyMs: number;
}

export interface DeliveryDecision {
  drop: boolean;
  duplicate: boolean;
  delayMs: number;
  reorder: boolean;
}

const SHARES = [
  "share429",
  "share500",
  "shareTimeoutAfterApply",
  "share500AfterApply",
  "callbackDrop",
  "callbackDuplicate",
  "callbackDelay",
  "callbackReorder",
] as const;

function seedNumber(seed: number | string): number {
  if (typeof seed === "number") return seed >>> 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export class CwFaults {
  private o: CwFaultOptions;
  private requests!: () => number;
  private deliveries!: () => number;
  private readonly windows = new Map<string, number[]>();

  constructor(
    opts: Partial<CwFaultOptions> = {},
    private readonly timeScale = 1,
  ) {
    this.o = { ...DEFAULT_CW_FAULTS, seed: randomInt(2 ** 31), ...opts };
    this.validate(this.o);
    this.reset();
  }

  private validate(o: CwFaultOptions): void {
    for (const k of SHARES)
      if (!(typeof o[k] === "number" && o[k] >= 0 && o[k] <= 1))
        throw new RangeError(`${k} must be a share from 0 to 1.`);
    for (const k of [
      "retryAfterSeconds",
      "timeoutAfterMs",
      "latencyMs",
      "callbackDelayMs",
      "requestsPerMinute",
    ] as const)
      if (!(typeof o[k] === "number" && o[k] >= 0 && Number.isFinite(o[k])))
        throw new RangeError(`${k} must be a number ≥ 0.`);
    if (typeof o.onlyWrites !== "boolean") throw new RangeError("onlyWrites must be true or false.");
  }

  configure(partial: Partial<CwFaultOptions>): CwFaultOptions {
    const unknown = Object.keys(partial).filter((k) => !(k in DEFAULT_CW_FAULTS) && k !== "seed");
    if (unknown.length > 0) throw new RangeError(`Unknown fault option(s): ${unknown.join(", ")}.`);
    const next = { ...this.o, ...partial };
    this.validate(next);
    this.o = next;
    if (partial.seed !== undefined) this.reset();
    return this.snapshot();
  }

  snapshot(): CwFaultOptions {
    return { ...this.o };
  }

  reset(): void {
    const s = seedNumber(this.o.seed);
    this.requests = mulberry32(s);
    this.deliveries = mulberry32(s ^ 0x9e3779b9);
    this.windows.clear();
  }

  /** The throttle: more than `requestsPerMinute` in the last minute → 429 with the wait in seconds. */
  throttle(key: string, nowMs: number): number | undefined {
    const limit = this.o.requestsPerMinute;
    if (limit <= 0) return undefined;
    const w = (this.windows.get(key) ?? []).filter((t) => t > nowMs - 60_000);
    this.windows.set(key, w);
    if (w.length >= limit) return Math.max(1, Math.ceil(((w[0] as number) + 60_000 - nowMs) / 1000));
    w.push(nowMs);
    return undefined;
  }

  decide(method: string): RequestDecision {
    const o = this.o;
    const latencyMs = o.latencyMs * this.timeScale;
    const write = method !== "GET";
    if (o.onlyWrites && !write) return { latencyMs };
    const u = this.requests();
    let edge = o.share429;
    if (u < edge) return { reject: { status: 429, retryAfter: o.retryAfterSeconds }, latencyMs };
    edge += o.share500;
    if (u < edge) return { reject: { status: 500 }, latencyMs };
    if (write) {
      edge += o.shareTimeoutAfterApply;
      if (u < edge) return { afterApply: "timeout", latencyMs };
      edge += o.share500AfterApply;
      if (u < edge) return { afterApply: "error500", latencyMs };
    }
    return { latencyMs };
  }

  timeoutHoldMs(): number {
    return this.o.timeoutAfterMs * this.timeScale;
  }

  delivery(): DeliveryDecision {
    const o = this.o;
    const draw = () => this.deliveries();
    return {
      drop: draw() < o.callbackDrop,
      duplicate: draw() < o.callbackDuplicate,
      delayMs: draw() < o.callbackDelay ? o.callbackDelayMs * this.timeScale : 0,
      reorder: draw() < o.callbackReorder,
    };
  }
}
