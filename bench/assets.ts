/**
 * Asset sync at scale: 10,000 devices across 20 clients against the Autotask emulator (run as a
 * separate process, so the memory measured is nocbridge's alone).
 *   1. first sync (the onboarding run),
 *   2. re-sync after changing 1 % of the devices,
 *   3. the same re-sync done the naive way (look the CI up, then write it, for every device),
 * API calls counted by the emulator's /_emulator/stats. Prints human lines, then one JSON object.
 *
 *   npm run bench:assets        (BENCH_DEVICES=10000, BENCH_CLIENTS=20)
 *
 * The script runs Node with --max-old-space-size=160: the sync's live heap stays near 60 MB, and
 * without a cap V8 sizes its heap to the machine (24 GB here) and collects lazily, so RSS mostly
 * measures uncollected garbage. Run `npx tsx bench/assets.ts` to see the uncapped figure.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getHeapStatistics } from "node:v8";
import { loadConfig } from "../src/config.js";
import { DEFAULT_CREDENTIALS, DEMO_IDS } from "../src/emulators/autotask/seed.js";
import { createLogger } from "../src/lib/logger.js";
import { openServices } from "../src/main.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import type { DeviceInput } from "../src/portal/service.js";
import { AutotaskClient } from "../src/psa/autotask/client.js";
import { createBody, desiredCi, PORTAL_ID_UDF } from "../src/psa/autotask/mapper.js";
import { pool } from "../src/sync/assets.js";
import { startEmulatorProcess } from "./emulator-process.js";

const DEVICES = Number(process.env["BENCH_DEVICES"] ?? 10_000);
const CLIENTS = Number(process.env["BENCH_CLIENTS"] ?? 20);
const CHANGED = Math.round(DEVICES / 100);

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 25);

// ---- the emulator, in its own process, with the hourly threshold out of the way
const emulator = await startEmulatorProcess(["--threshold", "100000000", "--no-webhooks"]);
const baseUrl = emulator.restBase;
const admin = emulator.admin;
const emuRequests = async () => (await admin<{ requests: number }>("GET", "/stats")).requests;

const dir = mkdtempSync(join(tmpdir(), "nb-bench-"));
// The emulator's origin is an exact entry of the PSA URL allow-list.
const config = loadConfig(
  { LOG_LEVEL: "silent", NOCBRIDGE_PSA_URL_ALLOWLIST: new URL(baseUrl).origin },
  { dataDir: dir, databaseUrl: join(dir, "bench.sqlite") },
);
const services = await openServices(config, { logger: createLogger("silent") });
const { portal, sync } = services;

try {
  // ---- 20 companies in Autotask, 20 clients with 500 devices each in the portal
  const { ids: companyIds } = await admin<{ ids: number[] }>("POST", "/tenants/default/rows/Companies", {
    rows: Array.from({ length: CLIENTS }, (_, i) => ({
      companyName: `Bench Client ${i + 1}`,
      companyNumber: `BC${i + 1}`,
      companyType: 1,
      phone: "555-0100",
      ownerResourceID: DEMO_IDS.apiResource,
      isActive: true,
    })),
  });
  const partner = await portal.createPartner(SYSTEM_ACTOR, { name: "Bench VAR" });
  const clientIds: number[] = [];
  const perClient = Math.ceil(DEVICES / CLIENTS);
  for (let c = 0; c < CLIENTS; c++) {
    const client = await portal.createClient(SYSTEM_ACTOR, partner.id, {
      code: `BC${c + 1}`,
      name: `Bench Client ${c + 1}`,
      psaCompanyId: companyIds[c] as number,
    });
    clientIds.push(client.id);
    const devices: DeviceInput[] = Array.from(
      { length: Math.min(perClient, DEVICES - c * perClient) },
      (_, i) => {
        const n = c * perClient + i;
        return {
          state: n % 20 === 0 ? "unmanaged" : n % 7 === 0 ? "discovered" : "managed",
          hostname: `BC${c + 1}-PC${String(i).padStart(4, "0")}`,
          deviceType: "Workstation",
          ipAddress: `10.${c}.${Math.floor(i / 250)}.${i % 250}`,
          gateway: `10.${c}.0.1`,
          make: "Dell Inc.",
          model: "OptiPlex 7090",
          operatingSystem: "Microsoft Windows 11 Pro 23H2",
          ram: "16 GB",
          biosName: "Dell Inc. BIOS 2.18.0",
          biosVersion: "2.18.0",
          driveInfo: "C: 476 GB",
          lastLoggedUser: `user${n}`,
          serialNumber: `SN${String(n).padStart(7, "0")}`,
          warrantyEndDate: "2028-06-30",
        };
      },
    );
    await portal.importDevices(SYSTEM_ACTOR, client.id, devices);
  }
  const all = (await Promise.all(clientIds.map((id) => portal.devicesForSync(id)))).flat();
  console.log(
    `portal: ${all.length} devices across ${CLIENTS} clients (peak RSS so far ${Math.round(peakRss / 1048576)} MB)`,
  );

  const settings = { productId: DEMO_IDS.product, configurationItemTypeId: DEMO_IDS.ciType, advanced: true };
  const measure = async (label: string, fn: () => Promise<void>) => {
    const before = await emuRequests();
    const t0 = performance.now();
    await fn();
    const seconds = (performance.now() - t0) / 1000;
    const apiCalls = (await emuRequests()) - before;
    console.log(
      `${label}: ${apiCalls} API calls in ${seconds.toFixed(1)} s (peak RSS so far ${Math.round(peakRss / 1048576)} MB, heap ${Math.round(process.memoryUsage().heapUsed / 1048576)} MB)`,
    );
    return { apiCalls, seconds: Number(seconds.toFixed(2)) };
  };

  // ---- 1. first sync: enabling device integration runs the onboarding sync
  let firstRun = 0;
  const first = await measure("first sync", async () => {
    await portal.putIntegration(SYSTEM_ACTOR, partner.id, {
      ticketing: {
        enabled: false,
        nocMayEnterTickets: false,
        apiUrl: baseUrl,
        username: DEFAULT_CREDENTIALS.username,
        secret: DEFAULT_CREDENTIALS.secret,
        integrationCode: DEFAULT_CREDENTIALS.integrationCode,
        queueId: null,
        queueName: "",
        billingCodeId: null,
        billingCodeName: "",
      },
      devices: { enabled: true, ...settings, schedule: null },
    });
    // The save left an integration_events row; the engine starts the onboarding run from it.
    await sync.settingsSaved(partner.id);
    const [run] = (await sync.runs.list(partner.id, "assets")).items;
    if (!run) throw new Error("the onboarding run did not start");
    firstRun = run.id;
    const done = await sync.wait(run.id);
    if (done.status !== "succeeded")
      throw new Error(`first sync ${done.status}: ${done.log.slice(-5).join(" | ")}`);
  });
  const firstCounts = (await sync.runs.get(firstRun))?.counts;

  // ---- 2. change 1 % of the devices (attributes, and some managed → unmanaged), re-sync
  const step = Math.floor(all.length / CHANGED);
  // Devices that have a CI (every 20th device is unmanaged and never got one).
  const changed = all.filter((d, i) => i % step === 1 && d.state !== "unmanaged").slice(0, CHANGED);
  for (const [i, d] of changed.entries()) {
    if (i % 5 === 0 && d.state === "managed")
      await portal.updateDevice(SYSTEM_ACTOR, d.id, { state: "unmanaged" });
    else await portal.updateDevice(SYSTEM_ACTOR, d.id, { ram: "32 GB", lastLoggedUser: `moved${i}` });
  }
  let resyncCounts: unknown;
  const resync = await measure("re-sync (1 % changed)", async () => {
    const run = await sync.startAssetRun(partner.id, "manual", { dryRun: false });
    const done = await sync.wait(run.id);
    resyncCounts = done.counts;
    if (done.status !== "succeeded")
      throw new Error(`re-sync ${done.status}: ${done.log.slice(-5).join(" | ")}`);
  });

  // ---- 3. the naive strategy: for every device, look its CI up, then write all its fields
  const naiveClient = new AutotaskClient({
    credentials: { apiUrl: baseUrl, ...DEFAULT_CREDENTIALS },
    urlPolicy: config.psaUrls,
    budget: false,
  });
  const current = (await Promise.all(clientIds.map((id) => portal.devicesForSync(id)))).flat();
  const clients = await portal.clientsForSync(partner.id);
  const companyOf = new Map(clients.map((c) => [c.id, c.psaCompanyId as number]));
  const naive = await measure("naive re-sync (look up + write per device)", async () => {
    await pool(current, 3, async (d) => {
      const found = await naiveClient.queryAll("ConfigurationItems", {
        filter: [{ op: "eq", field: PORTAL_ID_UDF, value: String(d.id), udf: true }],
        maxRecords: 1,
      });
      const body = createBody(companyOf.get(d.clientId) as number, desiredCi(d, settings));
      if (found[0])
        await naiveClient.update("ConfigurationItems", { ...body, id: found[0].id, companyID: undefined });
      else if (d.state !== "unmanaged") await naiveClient.create("ConfigurationItems", body);
    });
  });

  clearInterval(sampler);
  const pages = CLIENTS * Math.ceil(perClient / 500);
  console.log(`first sync counts: ${JSON.stringify(firstCounts)}`);
  console.log(`re-sync counts: ${JSON.stringify(resyncCounts)}`);
  console.log(
    `targets: re-sync ≤ ${pages + CHANGED + 10} calls, first ≤ ${all.length + pages + 10} calls, peak RSS < 300 MB`,
  );
  console.log(
    JSON.stringify({
      devices: all.length,
      first,
      resync: { changed: changed.length, ...resync },
      naive,
      peakRssMb: Math.round(peakRss / 1024 / 1024),
      heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 1024 / 1024),
    }),
  );
} finally {
  clearInterval(sampler);
  await services.close();
  emulator.stop();
  rmSync(dir, { recursive: true, force: true });
}
