/**
 * Asset sync at scale: 10,000 devices across 20 clients against a PSA emulator (run as a separate
 * process, so the memory measured is nocbridge's alone).
 *   1. first sync (the onboarding run),
 *   2. re-sync after changing 1 % of the devices,
 *   3. the same re-sync done the naive way (look the asset up, then write it, for every device),
 * API calls counted by the emulator's stats. Prints human lines, then one JSON object.
 *
 *   npm run bench:assets                          (Autotask; BENCH_DEVICES=10000, BENCH_CLIENTS=20)
 *   npm run bench:assets -- --system connectwise  (ConnectWise, its emulator over HTTPS)
 *
 * The PSA's side (emulator, companies, settings, the naive strategy) is in assets-autotask.ts and
 * assets-connectwise.ts; the scenario and the figures are the same for both.
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
import { createLogger } from "../src/lib/logger.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import type { DeviceInput } from "../src/portal/service.js";
import { pool } from "../src/sync/assets.js";
import { benchSystem } from "./system.js";

const DEVICES = Number(process.env["BENCH_DEVICES"] ?? 10_000);
const CLIENTS = Number(process.env["BENCH_CLIENTS"] ?? 20);
const CHANGED = Math.round(DEVICES / 100);

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 25);

// ---- the emulator, in its own process, with its request limits out of the way
const psa =
  benchSystem() === "connectwise"
    ? await (await import("./assets-connectwise.js")).connectwiseAssets()
    : await (await import("./assets-autotask.js")).autotaskAssets();
const emuRequests = () => psa.requests();

const dir = mkdtempSync(join(tmpdir(), "nb-bench-"));
// The emulator's origin is an exact entry of the PSA URL allow-list.
const config = loadConfig(
  { LOG_LEVEL: "silent", NOCBRIDGE_PSA_URL_ALLOWLIST: psa.origin },
  { dataDir: dir, databaseUrl: join(dir, "bench.sqlite") },
);
// As the server runs it (background): saved settings start the onboarding sync.
const services = await psa.open(config, { logger: createLogger("silent"), background: true, jobs: "memory" });
const { portal, sync } = services;

try {
  // ---- 20 companies in the PSA, 20 clients with 500 devices each in the portal
  const companyIds = await psa.createCompanies(CLIENTS);
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
    await portal.putIntegration(SYSTEM_ACTOR, partner.id, psa.integration());
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
  const opsBefore = await psa.operations?.();
  const resync = await measure("re-sync (1 % changed)", async () => {
    const run = await sync.startAssetRun(partner.id, "manual", { dryRun: false });
    const done = await sync.wait(run.id);
    resyncCounts = done.counts;
    if (done.status !== "succeeded")
      throw new Error(`re-sync ${done.status}: ${done.log.slice(-5).join(" | ")}`);
  });

  const opsAfter = await psa.operations?.();
  if (opsBefore && opsAfter)
    console.log(
      `re-sync by operation: ${JSON.stringify(
        Object.fromEntries(
          Object.entries(opsAfter)
            .map(([k, n]) => [k, n - (opsBefore[k] ?? 0)] as const)
            .filter(([, n]) => n > 0),
        ),
      )}`,
    );

  // ---- 3. the naive strategy: for every device, look its asset up, then write all its fields
  const current = (await Promise.all(clientIds.map((id) => portal.devicesForSync(id)))).flat();
  const clients = await portal.clientsForSync(partner.id);
  const companyOf = new Map(clients.map((c) => [c.id, c.psaCompanyId as number]));
  const naive = await measure("naive re-sync (look up + write per device)", async () => {
    await pool(current, 3, psa.naive(config, companyOf));
  });

  clearInterval(sampler);
  const pages = CLIENTS * Math.ceil(perClient / psa.pageSize);
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
  psa.stop();
  rmSync(dir, { recursive: true, force: true });
}
