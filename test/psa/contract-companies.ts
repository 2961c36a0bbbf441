import { describe, expect, it } from "vitest";
import { type ContractKit, rejectsWith } from "./contract.js";

/**
 * The connector contract's company port (Setup's client ↔ company picker, the check before a
 * client's company is saved): look-ups by id, search by part of the name, the order and the limit.
 */
export function contractCompanies(kit: ContractKit): void {
  describe("companies", () => {
    const port = () => {
      const p = kit.session().companies;
      if (!p) throw new Error("the connector offers no company port");
      return p;
    };

    it("looks companies up by id, leaving out ids that do not exist", async () => {
      const { ids } = kit.env();
      const found = await port().byIds([ids.companyWithoutAssets, ids.missingCompany, ids.companyWithAssets]);
      expect(found.map((c) => c.id)).toEqual(
        [ids.companyWithAssets, ids.companyWithoutAssets].sort((a, b) => a - b),
      );
      for (const c of found) {
        expect(c.name).not.toBe("");
        expect(typeof c.active).toBe("boolean");
        expect(c.identifier === null || typeof c.identifier === "string").toBe(true);
      }
      expect(await port().byIds([])).toEqual([]);
    });

    it("searches by part of the name, case-insensitively, active first and by name, within the limit", async () => {
      const { ids } = kit.env();
      const [company] = await port().byIds([ids.companyWithAssets]);
      if (!company) throw new Error("the company with assets was not found");
      const part = company.name.slice(1, Math.max(3, company.name.length - 1)).toUpperCase();
      const hits = await port().search(part, 50);
      expect(hits.map((c) => c.id)).toContain(company.id);
      for (const c of hits) expect(c.name.toLowerCase()).toContain(part.toLowerCase());
      const all = await port().search("", 500);
      expect(all.map((c) => c.id)).toEqual(
        expect.arrayContaining([ids.companyWithAssets, ids.companyWithoutAssets]),
      );
      const firstInactive = all.findIndex((c) => !c.active);
      if (firstInactive >= 0) expect(all.slice(firstInactive).every((c) => !c.active)).toBe(true);
      const active = all.filter((c) => c.active).map((c) => c.name.toLowerCase());
      expect(active).toEqual([...active].sort((a, b) => a.localeCompare(b, "en", { sensitivity: "base" })));
      expect((await port().search("", 1)).length).toBe(1);
      expect(
        await port().search(`no such company ${Math.floor(Math.random() * 90_000) + 10_000}`, 10),
      ).toEqual([]);
    });

    it("answers a wrong secret with a PsaError AUTH", async () => {
      const { connector, settings, secret, ctx } = kit.env();
      const wrong = connector.open(settings, `${secret}-wrong`, ctx).companies;
      await rejectsWith(wrong?.search("a", 5) ?? Promise.resolve(), ["AUTH"]);
    });
  });
}
