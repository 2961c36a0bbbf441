import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { migrate } from "../src/store/db.js";
import { openTestServices, PORTAL_TABLES, STORES, type TestEnv } from "./helpers/services.js";

describe.each(STORES)("store on %s", (kind) => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await openTestServices(kind);
  });
  afterAll(async () => env?.close());

  it("migrates an empty database to the latest schema, and a second run applies nothing", async () => {
    // openTestServices ran the migrations on a fresh database; running them again is a no-op.
    expect(await migrate(env.services.db)).toEqual([]);
    const k = env.services.db.kysely;
    const names =
      kind === "postgres"
        ? (
            await sql<{
              name: string;
            }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(
              k,
            )
          ).rows
        : (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(k)).rows;
    const tables = names.map((r) => r.name);
    for (const t of [...PORTAL_TABLES, "links", "sync_runs", "sync_run_lines"]) expect(tables).toContain(t);
  });

  it("creates a partner with the seed's default mapping tables (Figures 10–12)", async () => {
    const p = await env.services.portal.createPartner(SYSTEM_ACTOR, { name: "Mapping Co" });
    const fwd = await env.services.portal.getMappings(SYSTEM_ACTOR, p.id, "status-forward");
    expect(fwd.map((m) => [m.portalId, m.psaId])).toEqual([
      [1, 29],
      [18, 29],
      [11, 29],
      [7, 29],
      [2, 29],
      [12, 29],
      [16, 29],
      [9, 28],
      [3, 5], // Closed → Complete, not in the figure (a closed ticket completes in Autotask)
    ]);
    const rev = await env.services.portal.getMappings(SYSTEM_ACTOR, p.id, "status-reverse");
    expect(rev.map((m) => [m.psaLabel, m.psaId, m.portalName, m.portalId])).toEqual([
      ["Assigned to NOC", 30, "Response due", 19],
      ["Complete", 5, "Closed", 3],
      ["Action Required", 28, "Handed Over to MSP", 9],
      ["Information", 29, "Response due", 19],
    ]);
    const pri = await env.services.portal.getMappings(SYSTEM_ACTOR, p.id, "priority");
    expect(pri.map((m) => [m.psaLabel, m.psaId, m.portalName, m.portalId])).toEqual([
      ["Critical", 4, "P0", 8],
      ["High", 1, "P1", 9],
      ["Medium", 2, "P2", 10],
      ["Low", 7, "P3", 11],
      ["Project", 8, "P3", 11],
    ]);
  });
});
