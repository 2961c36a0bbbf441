import { describe, expect, it } from "vitest";
import type { PsaCompany } from "../../src/psa/connector.js";
import { matchCompanies, normaliseName } from "../../src/sync/company-match.js";

const co = (id: number, name: string): PsaCompany => ({ id, name, identifier: null, active: true });

describe("company matching by name", () => {
  it("normalises case, accents, punctuation, & and legal suffixes", () => {
    expect(normaliseName("Acme Dental Group, Inc.")).toBe("acme dental group");
    expect(normaliseName("  ACME   dental-group LLC ")).toBe("acme dental group");
    expect(normaliseName("The Birch & Co. GmbH")).toBe("birch");
    expect(normaliseName("Café Zürich Ltd")).toBe("cafe zurich");
    expect(normaliseName("Smith L.L.C.")).toBe("smith");
    expect(normaliseName("Inc")).toBe("inc");
  });

  it("prefers an exact name, then a normalised one; several fits are ambiguous", () => {
    const companies = [
      co(1, "Acme"),
      co(2, "ACME Inc."),
      co(3, "Birch Ltd"),
      co(4, "Cedar LLC"),
      co(5, "Cedar Inc"),
    ];
    const r = matchCompanies(
      [
        { id: 10, name: "Acme" },
        { id: 11, name: "birch" },
        { id: 12, name: "Cedar" },
        { id: 13, name: "Nobody" },
      ],
      companies,
    );
    expect(r.get(10)).toEqual({ kind: "exact", candidates: [co(1, "Acme")] });
    expect(r.get(11)).toEqual({ kind: "normalised", candidates: [co(3, "Birch Ltd")] });
    expect(r.get(12)?.kind).toBe("ambiguous");
    expect(r.get(12)?.candidates.map((c) => c.id)).toEqual([4, 5]);
    expect(r.get(13)).toEqual({ kind: "none", candidates: [] });
  });

  it("leaves a company that fits two clients to a person", () => {
    const r = matchCompanies(
      [
        { id: 1, name: "Delta GmbH" },
        { id: 2, name: "delta" },
      ],
      [co(7, "Delta")],
    );
    expect([r.get(1)?.kind, r.get(2)?.kind]).toEqual(["ambiguous", "ambiguous"]);
  });
});
