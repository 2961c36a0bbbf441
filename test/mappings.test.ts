import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../src/api/app.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { openTestServices, STORES, snapshot, type TestEnv, testApp } from "./helpers/services.js";

type Method = "GET" | "PUT" | "POST" | "DELETE";
interface StatusRow {
  id: number;
  portalStatusId: number;
  psaStatusId: number;
  psaStatusName: string;
  scope: number | null;
}

/**
 * The mapping tables' one save model: the UI sends a whole table with rows added, changed and removed
 * in one PUT; a table that breaks a rule writes nothing and the answer names the value and the row.
 */
describe.each(STORES)("mapping tables saved whole, on %s", (kind) => {
  let env: TestEnv;
  let app: App;
  let admin = "";
  let partnerId = 0;
  let cwPartnerId = 0;

  async function call(method: Method, url: string, body?: unknown) {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${admin}` },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read loosely-typed JSON answers
    return { status: res.statusCode, body: res.body ? (res.json() as any) : undefined };
  }
  const url = (table: string, p = partnerId) => `/api/partners/${p}/mappings/${table}`;

  beforeAll(async () => {
    env = await openTestServices(kind);
    app = await testApp(env);
    const portal = env.services.portal;
    admin = (await portal.createUser(SYSTEM_ACTOR, { name: "Nora", role: "noc-admin" })).token;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Alpha IT" })).id;
    cwPartnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Beta IT" })).id;
    // The second partner's PSA is ConnectWise (its statuses belong to a service board).
    await env.services.db.kysely
      .updateTable("partner_integrations")
      .set({ system: "connectwise" })
      .where("partner_id", "=", cwPartnerId)
      .execute();
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  it("adds, changes and removes rows in one request, in the order sent, audited once", async () => {
    const start = (await call("GET", url("status-reverse"))).body.rows as StatusRow[];
    expect(start.map((r) => r.psaStatusId)).toEqual([30, 5, 28, 29]);
    const auditBefore = (await call("GET", `/api/partners/${partnerId}/audit?action=mapping.update`)).body
      .total;
    const body = start
      .filter((r) => r.psaStatusId !== 28) // removed
      .map(({ psaStatusId, portalStatusId, psaStatusName }) => ({
        psaStatusId,
        // changed: Complete now brings tickets back as portal status 19
        portalStatusId: psaStatusId === 5 ? 19 : portalStatusId,
        psaStatusName,
      }));
    body.push({ psaStatusId: 7, portalStatusId: 9, psaStatusName: "Waiting Customer" }); // added
    const put = await call("PUT", url("status-reverse"), { rows: body });
    expect(put.status).toBe(200);
    const rows = put.body.rows as StatusRow[];
    expect(rows.map((r) => [r.psaStatusId, r.portalStatusId, r.psaStatusName])).toEqual([
      [30, 19, "Assigned to NOC"],
      [5, 19, "Complete"],
      [29, 19, "Information"],
      [7, 9, "Waiting Customer"],
    ]);
    expect((await call("GET", url("status-reverse"))).body.rows).toEqual(rows);
    const audit = (await call("GET", `/api/partners/${partnerId}/audit?action=mapping.update`)).body;
    expect(audit.total).toBe(auditBefore + 1);
  });

  it("a table that breaks a rule writes nothing; the message names the value and the rows", async () => {
    const before = await snapshot(env);
    const cases: Array<[string, unknown[], string, string]> = [
      [
        "status-reverse",
        [
          { psaStatusId: 5, portalStatusId: 3, psaStatusName: "Complete" },
          { psaStatusId: 30, portalStatusId: 19, psaStatusName: "Assigned to NOC" },
          { psaStatusId: 5, portalStatusId: 19 },
        ],
        "rows[2].psaStatusId",
        "rows[2].psaStatusId: Autotask status Complete (5) is mapped twice (rows 1 and 3); each may appear in one row only",
      ],
      [
        "status-forward",
        [
          { portalStatusId: 1, psaStatusId: 29 },
          { portalStatusId: 1, psaStatusId: 28 },
        ],
        "rows[1].portalStatusId",
        "rows[1].portalStatusId: portal status New is mapped twice (rows 1 and 2); each may appear in one row only",
      ],
      [
        "priority",
        [
          { psaPriorityId: 4, portalPriorityId: 8 },
          { psaPriorityId: 1, portalPriorityId: 9, psaPriorityName: "High" },
          { psaPriorityId: 4, portalPriorityId: 9 },
        ],
        "rows[2].psaPriorityId",
        "rows[2].psaPriorityId: Autotask priority 4 is mapped twice (rows 1 and 3); each may appear in one row only",
      ],
      [
        "status-forward",
        [
          { portalStatusId: 1, psaStatusId: 29 },
          { portalStatusId: 42, psaStatusId: 29 },
        ],
        "rows[1].portalStatusId",
        "rows[1].portalStatusId: there is no portal status 42 (row 2)",
      ],
      [
        "priority",
        [{ psaPriorityId: 4, portalPriorityId: 3 }],
        "rows[0].portalPriorityId",
        "rows[0].portalPriorityId: there is no portal priority 3 (row 1)",
      ],
    ];
    for (const [table, rows, field, message] of cases) {
      const r = await call("PUT", url(table), { rows });
      expect(r.status, message).toBe(400);
      expect(r.body).toMatchObject({ code: "INVALID", field, message });
    }
    expect(await snapshot(env)).toBe(before);
  });

  it("names the partner's PSA and its status scope: a ConnectWise status on a service board", async () => {
    const before = await snapshot(env);
    const r = await call("PUT", url("status-reverse", cwPartnerId), [
      { psaStatusId: 3, portalStatusId: 19, psaStatusName: "Waiting Customer", scope: 7 },
      { psaStatusId: 3, portalStatusId: 9, scope: 8 },
      { psaStatusId: 3, portalStatusId: 9, scope: 7 },
    ]);
    expect(r.status).toBe(400);
    expect(r.body.field).toBe("rows[2].psaStatusId");
    expect(r.body.message).toBe(
      "rows[2].psaStatusId: ConnectWise status Waiting Customer (3) is mapped twice in service board 7 (rows 1 and 3); each may appear in one row only",
    );
    expect(await snapshot(env)).toBe(before);
  });

  it("removing a row that is not there names it", async () => {
    const r = await call("DELETE", `${url("priority")}/999999`);
    expect(r.status).toBe(404);
    expect(r.body.message).toBe("row 999999 of the priority mapping table not found");
  });
});
