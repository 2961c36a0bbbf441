import { describe, expect, it } from "vitest";
import { seenKey, seenMatches, stampFinal } from "../../src/sync/tickets/stamps.js";

describe("PSA last-change stamps", () => {
  const at = (iso: string) => new Date(iso);

  it("a stamp with a fraction of a second is final at once", () => {
    expect(stampFinal("2026-06-04T17:54:53.120Z", at("2026-06-04T17:54:53.121Z"))).toBe(true);
  });

  it("a stamp to the second is final only once its second and the settle window are over", () => {
    const stamp = "2026-06-04T17:54:53Z";
    expect(stampFinal(stamp, at("2026-06-04T17:54:53.500Z"))).toBe(false);
    expect(stampFinal(stamp, at("2026-06-04T17:54:58.999Z"))).toBe(false);
    expect(stampFinal(stamp, at("2026-06-04T17:54:59.000Z"))).toBe(true);
    expect(stampFinal("2026-06-04T19:54:53+02:00", at("2026-06-04T17:54:59.000Z"))).toBe(true);
  });

  it("an unreadable or empty stamp is never final", () => {
    expect(stampFinal("", at("2026-06-04T17:54:59Z"))).toBe(false);
    expect(stampFinal("yesterday", at("2026-06-04T17:54:59Z"))).toBe(false);
  });

  it("a final stamp recorded as seen matches whoever made the last change", () => {
    const stamp = "2026-06-04T17:54:53Z";
    expect(seenKey(stamp, false)).toBe(stamp);
    expect(seenMatches(stamp, stamp, false)).toBe(true);
    expect(seenMatches(stamp, stamp, true)).toBe(true);
    expect(seenMatches(stamp, stamp, undefined)).toBe(true);
    expect(seenMatches(stamp, "2026-06-04T17:54:54Z", true)).toBe(false);
  });

  it("a stamp recorded because the last change was ours matches only while the listing still says so", () => {
    const stamp = "2026-06-04T17:54:53Z";
    const seen = seenKey(stamp, true);
    expect(seen).not.toBe(stamp);
    expect(seenMatches(seen, stamp, true)).toBe(true);
    expect(seenMatches(seen, stamp, false)).toBe(false); // someone else wrote later in that second
    expect(seenMatches(seen, stamp, undefined)).toBe(false);
    expect(seenMatches(seen, "2026-06-04T17:54:54Z", true)).toBe(false);
    expect(seenMatches(null, stamp, true)).toBe(false);
    expect(seenMatches(seenKey("", true), "", true)).toBe(false);
  });
});
