import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { DEMO_IDS } from "../src/emulators/autotask/seed.js";
import { createLogger } from "../src/lib/logger.js";
import { openServices } from "../src/main.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { demoTicketing, fastClient, startTestEmulator, type TestEmulator } from "./helpers/autotask.js";
import { device } from "./helpers/devices.js";
import { dropSchema, PG_URL, STORES, TEST_MASTER_KEY } from "./helpers/services.js";

const run = promisify(execFile);
const CLI = ["--import", "tsx", join(import.meta.dirname, "..", "src", "cli.ts")];

/**
 * `nocbridge sync assets`: the summary line agrees with the log (a dry run's counts are what it plans,
 * not zeros), and the JSON run carries the same counts.
 */
describe.each(STORES)("nocbridge sync assets on %s", (kind) => {
  const schema = `clisync_${randomBytes(5).toString("hex")}`;
  const dataDir = mkdtempSync(join(tmpdir(), "nb-cli-sync-"));
  const databaseUrl =
    kind === "postgres" ? `${PG_URL}?options=-c%20search_path%3D${schema}` : join(dataDir, "cli.sqlite");
  let at: TestEmulator;
  let partnerId = 0;
  let env: NodeJS.ProcessEnv;
  const cli = async (...args: string[]) => (await run("node", [...CLI, ...args], { env })).stdout;

  beforeAll(async () => {
    at = await startTestEmulator();
    env = {
      ...process.env,
      NOCBRIDGE_DATA_DIR: dataDir,
      NOCBRIDGE_MASTER_KEY: TEST_MASTER_KEY,
      DATABASE_URL: databaseUrl,
      NOCBRIDGE_PSA_URL_ALLOWLIST: at.emu.url,
      LOG_LEVEL: "warn",
    };
    if (kind === "postgres") {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`CREATE SCHEMA ${schema}`);
      await c.end();
    }
    // A partner wired to the emulator, onboarded with 4 devices; a fifth arrives afterwards.
    const config = loadConfig(
      { NOCBRIDGE_MASTER_KEY: TEST_MASTER_KEY, LOG_LEVEL: "silent", NOCBRIDGE_PSA_URL_ALLOWLIST: at.emu.url },
      { databaseUrl, dataDir },
    );
    const services = await openServices(config, {
      logger: createLogger("silent"),
      autotask: fastClient,
      background: true,
      jobs: "memory",
    });
    try {
      const portal = services.portal;
      partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "CLI VAR" })).id;
      const client = await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT1",
        name: "Acme Dental Group",
        psaCompanyId: DEMO_IDS.companies.AT1,
      });
      await portal.importDevices(
        SYSTEM_ACTOR,
        client.id,
        Array.from({ length: 4 }, (_, i) => device(i + 1, "managed")),
      );
      await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
        ticketing: demoTicketing(at.emu.baseUrl, { enabled: false, nocMayEnterTickets: false }),
        devices: {
          enabled: true,
          productId: DEMO_IDS.product,
          configurationItemTypeId: DEMO_IDS.ciType,
          advanced: true,
          schedule: null,
        },
      });
      await services.sync.settingsSaved(partnerId);
      const [onboarding] = (await services.sync.runs.list(partnerId, "assets")).items;
      expect((await services.sync.wait(onboarding!.id)).counts.created).toBe(4);
      await portal.importDevices(SYSTEM_ACTOR, client.id, [device(5, "managed")]);
    } finally {
      await services.close();
    }
  }, 60_000);
  afterAll(async () => {
    await at?.close();
    if (kind === "postgres") await dropSchema(schema);
  });

  it("a dry run's summary shows the counts of its plan; the real run's what it did", async () => {
    const dry = await cli("sync", "assets", "--partner", String(partnerId), "--dry-run");
    expect(dry).toContain("Dry run: would create 1, update 0, deactivate 0; 4 unchanged, 0 conflicts.");
    expect(dry).toMatch(
      /^run \d+ \(dry run\): succeeded — would create 1, update 0, deactivate 0; 4 unchanged, 0 conflicts; \d+ API calls; took [\d.]+ m?s$/m,
    );
    expect(dry).toContain("client:AT1 Acme Dental Group → company 174");
    expect(dry).toMatch(/^ {2}create +HOST-005$/m);

    const json = JSON.parse(
      await cli("sync", "assets", "--partner", String(partnerId), "--dry-run", "--json"),
    );
    expect(json.counts).toEqual({ created: 1, updated: 0, deactivated: 0, unchanged: 4, failed: 0 });
    expect(json.progress).toMatchObject({ phase: "planning", done: 5, total: 5 });

    const real = await cli("sync", "assets", "--partner", String(partnerId));
    expect(real).toMatch(
      /^run \d+: succeeded — created 1, updated 0, deactivated 0, unchanged 4, failed 0; \d+ API calls; took [\d.]+ m?s$/m,
    );
  }, 120_000);
});
