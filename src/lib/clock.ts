/** Injectable time source: production uses the system clock, tests pass a fixed or stepping one. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
