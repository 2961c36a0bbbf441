import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { entityDef } from "./entities.js";
import type { Row } from "./hooks.js";
import { compileQuery, countQuery, runPage } from "./query.js";
import { demoSeed } from "./seed.js";
import { ApiError, EmulatorStore, type Tenant } from "./store.js";

const CI = entityDef("ConfigurationItems");
const TICKETS = entityDef("Tickets");

function tenantWithCis(n: number): Tenant {
  const store = new EmulatorStore();
  const tenant = store.addTenant(demoSeed({ tenantId: "q", now: new Date("2026-01-01T00:00:00Z") }), false);
  for (let i = 0; i < n; i++) {
    store.insertFixture(tenant, CI, {
      companyID: [174, 175, 176][i % 3],
      productID: 232486923,
      isActive: i % 2 === 0,
      referenceTitle: `PC-${String(i).padStart(4, "0")}`,
      serialNumber: i % 5 === 0 ? null : `SN${i}`,
      installDate: new Date(Date.UTC(2025, 0, 1 + i)).toISOString(),
      userDefinedFields: [{ name: "IP Address", value: `10.0.${Math.floor(i / 250)}.${i % 250}` }],
    });
  }
  return tenant;
}

const ids = (rows: Row[]) => rows.map((r) => r["id"] as number);

describe("query engine", () => {
  const tenant = tenantWithCis(60);
  const table = tenant.table(CI.name);
  const all = table.ids.map((id) => table.get(id) as Row);
  const run = (filter: unknown[], extra: Record<string, unknown> = {}) =>
    ids(runPage(table, compileQuery(tenant, CI, { filter, ...extra }), null).rows);
  const where = (p: (r: Row) => boolean) => ids(all.filter(p));

  it("supports every comparison operator with field names in any case", () => {
    const mid = all[30]?.["id"] as number;
    expect(run([{ op: "eq", field: "COMPANYID", value: 175 }])).toEqual(where((r) => r["companyID"] === 175));
    expect(run([{ op: "noteq", field: "companyId", value: 175 }])).toEqual(
      where((r) => r["companyID"] !== 175),
    );
    expect(run([{ op: "gt", field: "id", value: mid }])).toEqual(where((r) => (r["id"] as number) > mid));
    expect(run([{ op: "gte", field: "id", value: mid }])).toEqual(where((r) => (r["id"] as number) >= mid));
    expect(run([{ op: "lt", field: "id", value: mid }])).toEqual(where((r) => (r["id"] as number) < mid));
    expect(run([{ op: "lte", field: "id", value: mid }])).toEqual(where((r) => (r["id"] as number) <= mid));
    expect(run([{ op: "beginsWith", field: "referenceTitle", value: "pc-001" }])).toEqual(
      where((r) => String(r["referenceTitle"]).startsWith("PC-001")),
    );
    expect(run([{ op: "endsWith", field: "referenceTitle", value: "7" }])).toEqual(
      where((r) => String(r["referenceTitle"]).endsWith("7")),
    );
    expect(run([{ op: "contains", field: "referenceTitle", value: "-003" }])).toEqual(
      where((r) => String(r["referenceTitle"]).includes("-003")),
    );
    expect(run([{ op: "exist", field: "serialNumber" }])).toEqual(where((r) => r["serialNumber"] !== null));
    expect(run([{ op: "notExist", field: "serialNumber" }])).toEqual(
      where((r) => r["serialNumber"] === null),
    );
    expect(run([{ op: "in", field: "companyID", value: [174, 176] }])).toEqual(
      where((r) => r["companyID"] === 174 || r["companyID"] === 176),
    );
    expect(run([{ op: "notIn", field: "companyID", value: [174, 176] }])).toEqual(
      where((r) => r["companyID"] === 175),
    );
  });

  it("compares datetimes as instants whatever the input format", () => {
    const expected = where((r) => Date.parse(r["installDate"] as string) >= Date.UTC(2025, 1, 1));
    expect(run([{ op: "gte", field: "installDate", value: "2025-02-01" }])).toEqual(expected);
    expect(run([{ op: "gte", field: "installDate", value: "2025-02-01T01:00:00+01:00" }])).toEqual(expected);
  });

  it("nests and/or groups and AND-s top-level items", () => {
    const got = run([
      { op: "eq", field: "isActive", value: true },
      {
        op: "or",
        items: [
          { op: "eq", field: "companyID", value: 174 },
          {
            op: "and",
            items: [
              { op: "eq", field: "companyID", value: 175 },
              { op: "notExist", field: "serialNumber" },
            ],
          },
        ],
      },
    ]);
    expect(got).toEqual(
      where(
        (r) =>
          r["isActive"] === true &&
          (r["companyID"] === 174 || (r["companyID"] === 175 && r["serialNumber"] === null)),
      ),
    );
    expect(got.length).toBeGreaterThan(0);
  });

  it("filters on a UDF by name and allows only one UDF condition per query", () => {
    expect(run([{ op: "eq", field: "ip address", udf: true, value: "10.0.0.7" }])).toEqual([all[7]?.["id"]]);
    expect(() =>
      compileQuery(tenant, CI, {
        filter: [
          { op: "eq", field: "IP Address", udf: true, value: "x" },
          { op: "eq", field: "DNS", udf: true, value: "y" },
        ],
      }),
    ).toThrow(/one user-defined field|1 user-defined/);
  });

  it("rejects more than 500 or conditions, unknown fields and operators, and an empty filter", () => {
    const items = (n: number) => Array.from({ length: n }, (_, i) => ({ op: "eq", field: "id", value: i }));
    expect(() => compileQuery(tenant, CI, { filter: [{ op: "or", items: items(500) }] })).not.toThrow();
    const tooMany = () => compileQuery(tenant, CI, { filter: [{ op: "or", items: items(501) }] });
    expect(tooMany).toThrow(ApiError);
    expect(tooMany).toThrow(/500 or fewer 'OR' conditions/);
    expect(() => compileQuery(tenant, CI, { filter: [{ op: "eq", field: "nope", value: 1 }] })).toThrow(
      /nope/,
    );
    expect(() => compileQuery(tenant, CI, { filter: [{ op: "like", field: "id", value: 1 }] })).toThrow(
      /like/,
    );
    expect(() => compileQuery(tenant, CI, { filter: [] })).toThrow(/at least one condition/);
    // creatorType is not queryable on Tickets (docs/autotask.md, Queries).
    expect(() =>
      compileQuery(tenant, TICKETS, { filter: [{ op: "eq", field: "creatorType", value: 1 }] }),
    ).toThrow(/not queryable/);
  });

  it("pages in id order with cursors, forwards and backwards", () => {
    const q = compileQuery(tenant, CI, {
      filter: [{ op: "eq", field: "companyID", value: 174 }],
      MaxRecords: 7,
    });
    const expected = where((r) => r["companyID"] === 174);
    const seen: number[] = [];
    let page = runPage(table, q, null);
    expect(page.hasPrev).toBe(false);
    const pages = [page];
    while (page.hasNext) {
      page = runPage(table, q, { afterId: ids(page.rows).at(-1) as number });
      pages.push(page);
    }
    for (const p of pages) seen.push(...ids(p.rows));
    expect(seen).toEqual(expected);
    expect(pages.at(-1)?.hasPrev).toBe(true);
    const back = runPage(table, q, { beforeId: ids(pages.at(-1)?.rows ?? [])[0] as number });
    expect(ids(back.rows)).toEqual(ids(pages.at(-2)?.rows ?? []));
    expect(countQuery(table, q)).toBe(expected.length);
  });

  it("gives the same answer with and without an index (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(174, 175, 176, 999),
        fc.integer({ min: 0, max: 70 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 20 }),
        (company, offset, active, size) => {
          const base = (table.ids[0] as number) + offset;
          const indexed = compileQuery(tenant, CI, {
            filter: [
              { op: "eq", field: "companyID", value: company },
              { op: "gt", field: "id", value: base },
              { op: "eq", field: "isActive", value: active },
            ],
            MaxRecords: size,
          });
          // The same conditions inside an `and` group: no index hint, full scan.
          const scanned = compileQuery(tenant, CI, {
            filter: [
              {
                op: "and",
                items: [
                  { op: "eq", field: "companyID", value: company },
                  { op: "gt", field: "id", value: base },
                  { op: "eq", field: "isActive", value: active },
                ],
              },
            ],
            MaxRecords: size,
          });
          const a = runPage(table, indexed, null);
          const b = runPage(table, scanned, null);
          expect(ids(a.rows)).toEqual(ids(b.rows));
          expect(a.hasNext).toBe(b.hasNext);
          expect(countQuery(table, indexed)).toBe(countQuery(table, scanned));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("keeps indexes right when rows change", () => {
    const t = tenantWithCis(10);
    const tb = t.table(CI.name);
    const q = () => compileQuery(t, CI, { filter: [{ op: "eq", field: "companyID", value: 175 }] });
    const before = countQuery(tb, q());
    const id = tb.ids.find((i) => tb.get(i)?.["companyID"] === 174) as number;
    tb.put({ ...(tb.get(id) as Row), companyID: 175 });
    expect(countQuery(tb, q())).toBe(before + 1);
    tb.delete(id);
    expect(countQuery(tb, q())).toBe(before);
  });
});
