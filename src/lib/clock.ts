/** Injectable time source: production uses the system clock, tests pass a fixed or stepping one. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** ISO-8601 UTC timestamp of the clock's now. */
export function isoNow(clock: Clock): string {
  return clock.now().toISOString();
}
