/**
 * PSA last-change stamps. Autotask stamps a change to the millisecond; ConnectWise to the second, so
 * a later edit in the same second carries the stamp an earlier read already saw. Such a stamp is
 * final only once its second is over, with room for clock skew between the PSA and us — or, where
 * the PSA says who made a ticket's last change, while that stays us (`seenKey`).
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

/**
 * How a sync records the stamp it saw everything behind (`ticket_links.psa_seen_at`): a final stamp as
 * it is; a stamp not yet final, seen at a read (or in the answer to a write) that named us as the last
 * writer, marked so. A poll leaves the ticket alone at a marked stamp only while its listing still
 * names us (`seenMatches`): a person's edit later in that second makes them the last writer.
 */
export function seenKey(stamp: string, ours: boolean): string {
  return ours ? `${stamp} ours` : stamp;
}

/** Whether a listed stamp (and whether its last change is ours) is the one recorded as seen. */
export function seenMatches(seenAt: string | null, stamp: string, ours: boolean | undefined): boolean {
  if (seenAt === null || stamp === "") return false;
  return seenAt === stamp || (ours === true && seenAt === seenKey(stamp, true));
}
