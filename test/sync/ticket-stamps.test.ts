import { describe, expect, it } from "vitest";
import { stampFinal } from "../../src/sync/tickets/stamps.js";

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
});
