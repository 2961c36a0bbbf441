/**
 * PSA last-change stamps. Autotask stamps a change to the millisecond; ConnectWise to the second, so
 * a later edit in the same second carries the stamp an earlier read already saw. Such a stamp is
 * final only once its second is over, with room for clock skew between the PSA and us.
 */

/** How long after its second a stamp given to the second is taken as final (with room for clock skew). */
export const SECOND_STAMP_SETTLE_MS = 5_000;

/** Whether the stamp is given to the second only (no fraction). */
export function toTheSecond(stamp: string): boolean {
  return /T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:?\d{2})$/.test(stamp);
}

/**
 * Whether no further change can still get this stamp, as of `at`: a finer stamp always; a stamp to
 * the second once its second and the settle window are over. An unreadable stamp never is.
 */
export function stampFinal(stamp: string, at: Date): boolean {
  const t = Date.parse(stamp);
  if (Number.isNaN(t)) return false;
  return !toTheSecond(stamp) || at.getTime() - t >= 1_000 + SECOND_STAMP_SETTLE_MS;
}
