import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_IDS as CW_IDS } from "../../src/emulators/connectwise/index.js";
import { PsaError } from "../../src/psa/errors.js";
import { startTestEmulator, type TestEmulator } from "../helpers/autotask.js";
import { type CwFixture, startCwFixture } from "../psa/connectwise-helpers.js";

/**
 * The emulators answer the company searches of the Setup picker as the APIs do, and refuse what the
 * APIs refuse: Autotask's `contains` (case-insensitive) on companyName, an unknown field or operator
 * refused; ConnectWise's `name like "%…%"` (case-insensitive, `%` the wildcard), an unknown field or a
 * `like` on a number refused with a 400.
 */
describe("company searches in the emulators", () => {
  let at: TestEmulator;
  let cw: CwFixture;
  beforeAll(async () => {
    at = await startTestEmulator({ webhooks: false });
    cw = await startCwFixture();
  });
  afterAll(async () => {
    await at?.close();
    await cw?.close();
  });

  it("Autotask: contains on companyName, case-insensitive; unknown fields and operators refused", async () => {
    const q = (filter: unknown) =>
      at.api<{ items: Array<{ id: number; companyName: string }> }>("POST", "Companies/query", {
        filter,
        IncludeFields: ["id", "companyName", "isActive"],
      });
    const hits = await q([{ op: "contains", field: "companyName", value: "LOGIST" }]);
    expect(hits.items.map((c) => c.companyName)).toEqual(["Birch Logistics"]);
    expect(Object.keys(hits.items[0] ?? {}).sort()).toEqual(["companyName", "id", "isActive"]);
    await expect(q([{ op: "contains", field: "companyNam", value: "x" }])).rejects.toThrow(
      /→ 500 .*Unable to find companyNam/,
    );
    await expect(q([{ op: "like", field: "companyName", value: "%x%" }])).rejects.toThrow(
      /→ 400 .*Unknown filter operator/,
    );
    await expect(q([{ op: "contains", field: "companyName" }])).rejects.toThrow(/→ 400/);
  });

  it("ConnectWise: name like with % wildcards, case-insensitive; unknown fields and a like on a number refused", async () => {
    const client = cw.client();
    const rows = await client.all<{ id: number; name: string }>("company/companies", {
      conditions: 'name like "%LOGIST%"',
      fields: ["name", "identifier"],
    });
    expect(rows.map((r) => [r.id, r.name])).toEqual([[CW_IDS.companies.birch, "Birch Logistics"]]);
    for (const conditions of ['nme like "%a%"', "id like 5"]) {
      const e = await client.all("company/companies", { conditions }).catch((x: unknown) => x);
      expect(e, conditions).toBeInstanceOf(PsaError);
      expect((e as PsaError).status, conditions).toBe(400);
    }
  });
});
