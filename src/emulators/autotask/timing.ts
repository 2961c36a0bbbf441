/**
 * Time for the emulator's behaviours (limits.ts, faults.ts, webhooks.ts, gate.ts): a clock that can
 * also wait. Production uses real time; tests use a virtual clock so that "retry after 30 s" or
 * "+0.5 s past 50 % usage" can be asserted exactly without waiting and without reading the wall clock.
 * `now()` returns a Date so the type is structurally compatible with the service's lib Clock.
 */
export interface EmulatorClock {
  now(): Date;
  /** Resolves after `ms` (rejects with an AbortError if `signal` aborts first). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted.", "AbortError");
}

/** Real time: Date.now() and setTimeout. */
export const systemClock: EmulatorClock = {
  now: () => new Date(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortError(signal as AbortSignal));
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  },
};

export interface VirtualClock extends EmulatorClock {
  /** Moves virtual time forward by `ms` (sleepers whose time has come wake on the next turns). */
  advance(ms: number): void;
  /** Sets virtual time (epoch ms); never moves backwards for sleepers already queued. */
  set(epochMs: number): void;
  /** Number of sleepers not yet woken. */
  pending(): number;
}

interface Sleeper {
  at: number;
  seq: number;
  resolve: () => void;
}

/**
 * A virtual clock that advances itself: whenever someone sleeps, on a later event-loop turn the
 * clock jumps to the earliest wake-up time and wakes that sleeper, one sleeper per turn, in time
 * order. Real I/O (sockets, fetch) still takes real time, but no code path ever waits for real
 * delays, so a 5-attempt retry schedule over 2 virtual minutes runs in milliseconds and its virtual
 * timestamps are exact. For tests and benchmarks only.
 */
export function createVirtualClock(startEpochMs = Date.UTC(2026, 0, 1)): VirtualClock {
  let now = startEpochMs;
  let seq = 0;
  let pumpScheduled = false;
  const sleepers: Sleeper[] = [];

  const pump = (): void => {
    pumpScheduled = false;
    if (sleepers.length === 0) return;
    sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const next = sleepers.shift() as Sleeper;
    if (next.at > now) now = next.at;
    next.resolve();
    schedule();
  };
  const schedule = (): void => {
    if (pumpScheduled || sleepers.length === 0) return;
    pumpScheduled = true;
    setImmediate(pump);
  };

  return {
    now: () => new Date(now),
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(abortError(signal));
          return;
        }
        const sleeper: Sleeper = {
          at: now + Math.max(0, ms),
          seq: seq++,
          resolve: () => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
        };
        const onAbort = (): void => {
          const i = sleepers.indexOf(sleeper);
          if (i >= 0) sleepers.splice(i, 1);
          reject(abortError(signal as AbortSignal));
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        sleepers.push(sleeper);
        schedule();
      });
    },
    advance(ms) {
      now += ms;
    },
    set(epochMs) {
      now = epochMs;
    },
    pending: () => sleepers.length,
  };
}

/** Scales a nominal delay (ms, as docs/autotask.md states it) by a time scale; never negative. */
export function scaled(ms: number, timeScale: number): number {
  return Math.max(0, ms * timeScale);
}
