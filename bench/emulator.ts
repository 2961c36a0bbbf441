/**
 * Throughput of the Autotask emulator, so later benchmarks know it is not their bottleneck:
 * GET by id and 500-row query pages (followed through nextPageUrl) on a tenant of 10,000 CIs across
 * 20 companies, with a few concurrent clients over real HTTP. Thresholds and thread limits are
 * raised out of the way. Prints human lines, then one JSON object on the last line.
 *
 *   npm run bench:emulator            (BENCH_SECONDS=3 per measure, BENCH_CLIENTS=4 concurrent clients)
 */
import { Worker } from "node:worker_threads";
import {
  DEMO_IDS,
  type EntityDef,
  entityByName,
  startAutotaskEmulator,
} from "../src/emulators/autotask/index.js";

const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 3);
const CLIENTS = Number(process.env["BENCH_CLIENTS"] ?? 4);
const CIS = 10_000;
const COMPANIES = 20;

const emu = await startAutotaskEmulator({
  limits: { requestThreshold: 1_000_000_000, maxThreads: 1_000 },
  webhooks: false,
});
const tenant = emu.store.tenant(emu.tenantId);
if (!tenant) throw new Error("no tenant");
const companies = entityByName("Companies") as EntityDef;
const cis = entityByName("ConfigurationItems") as EntityDef;

const companyIds: number[] = [];
for (let c = 0; c < COMPANIES; c++) {
  const row = emu.store.insertFixture(tenant, companies, {
    companyName: `Bench Client ${c + 1}`,
    companyNumber: `B${c + 1}`,
    companyType: 1,
    phone: "555-0100",
    ownerResourceID: DEMO_IDS.apiResource,
  });
  companyIds.push(row["id"] as number);
}
const ciIds: number[] = [];
const started = performance.now();
for (let i = 0; i < CIS; i++) {
  const row = emu.store.insertFixture(tenant, cis, {
    companyID: companyIds[i % COMPANIES],
    productID: DEMO_IDS.product,
    configurationItemType: DEMO_IDS.ciType,
    isActive: true,
    referenceTitle: `DEV-${i}`,
    serialNumber: `SN-${i}`,
    userDefinedFields: [
      { name: "IP Address", value: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` },
      { name: "Operating System", value: "Microsoft Windows 11 Pro" },
      { name: "Partner Portal Device Id", value: `bench-${i}` },
    ],
  });
  ciIds.push(row["id"] as number);
}
console.log(
  `seeded ${CIS} CIs across ${COMPANIES} companies in ${(performance.now() - started).toFixed(0)} ms`,
);

const c = emu.credentials;
const headers = {
  "Content-Type": "application/json",
  ApiIntegrationCode: c.integrationCode,
  UserName: c.username,
  Secret: c.secret,
};

type Kind = "getById" | "queryPage" | "companyPage";
interface Job {
  kind: Kind;
  baseUrl: string;
  headers: Record<string, string>;
  ciIds: number[];
  companyIds: number[];
  seconds: number;
  concurrency: number;
  worker: number;
}

/**
 * The clients run in worker threads (plain JavaScript, no loader needed), so that parsing the
 * responses does not compete with the emulator for the main thread: the figures are the emulator's.
 * Each client checks what it gets (the right item, full pages), so a broken answer fails the bench.
 */
const CLIENT_SOURCE = `
const { parentPort, workerData: job } = require("node:worker_threads");
async function call(method, url, body) {
  const init = { method, headers: job.headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(url, init);
  if (res.status !== 200) throw new Error(method + " " + url + " -> " + res.status + " " + (await res.text()));
  return res.json();
}
async function work(client, n, state) {
  if (job.kind === "getById") {
    const id = job.ciIds[(client * 7919 + n * 104729) % job.ciIds.length];
    const body = await call("GET", job.baseUrl + "V1.0/ConfigurationItems/" + id);
    if (!body.item || body.item.id !== id) throw new Error("wrong item for " + id);
    return 1;
  }
  if (job.kind === "queryPage") {
    // Walks all CIs in 500-row pages: a POST query, then nextPageUrl followed by POST without a body.
    const body = state.next
      ? await call("POST", state.next)
      : await call("POST", job.baseUrl + "V1.0/ConfigurationItems/query", {
          filter: [{ op: "gte", field: "id", value: 0 }],
          MaxRecords: 500,
        });
    if (body.items.length !== 500) throw new Error("page of " + body.items.length + " rows");
    state.next = body.pageDetails.nextPageUrl;
    return body.items.length;
  }
  // One company's CIs (the indexed companyID eq path a CI sync uses): 500 rows each.
  const companyID = job.companyIds[(client + n) % job.companyIds.length];
  const body = await call("POST", job.baseUrl + "V1.0/ConfigurationItems/query", {
    filter: [{ op: "eq", field: "companyID", value: companyID }],
  });
  if (body.items.length !== 500) throw new Error("company page of " + body.items.length + " rows");
  return body.items.length;
}
(async () => {
  const until = Date.now() + job.seconds * 1000;
  let requests = 0;
  let rows = 0;
  await Promise.all(
    Array.from({ length: job.concurrency }, async (_, i) => {
      const client = job.worker * job.concurrency + i;
      const state = { next: null };
      for (let n = 0; Date.now() < until; n++) {
        const got = await work(client, n, state);
        rows += got;
        requests++;
      }
    }),
  );
  parentPort.postMessage({ requests, rows });
})().catch((err) => {
  throw err;
});
`;

const WORKERS = Math.min(2, CLIENTS);

async function measure(name: string, kind: Kind) {
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: WORKERS }, (_, worker) => {
      const job: Job = {
        kind,
        baseUrl: emu.baseUrl,
        headers,
        ciIds,
        companyIds,
        seconds: SECONDS,
        concurrency: Math.ceil(CLIENTS / WORKERS),
        worker,
      };
      return new Promise<{ requests: number; rows: number }>((resolve, reject) => {
        const w = new Worker(CLIENT_SOURCE, { eval: true, workerData: job });
        w.once("message", resolve);
        w.once("error", reject);
      });
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const requests = results.reduce((a, r) => a + r.requests, 0);
  const rows = results.reduce((a, r) => a + r.rows, 0);
  const rps = requests / secs;
  const clients = WORKERS * Math.ceil(CLIENTS / WORKERS);
  console.log(
    `${name.padEnd(13)} ${requests} requests in ${secs.toFixed(2)} s with ${clients} clients: ${rps.toFixed(0)} req/s, ${(rows / secs).toFixed(0)} rows/s`,
  );
  return { requests, rps: Math.round(rps), rowsPerSecond: Math.round(rows / secs) };
}

await fetch(`${emu.url}/_emulator/stats`, { method: "DELETE" });
const getById = await measure("GET by id", "getById");
const queryPage500 = await measure("query page", "queryPage");
const byCompany = await measure("company page", "companyPage");

const stats = (await (await fetch(`${emu.url}/_emulator/stats`)).json()) as { requests: number };
const counted = getById.requests + queryPage500.requests + byCompany.requests;
console.log(`emulator counted ${stats.requests} requests (bench counted ${counted})`);
await emu.close();

console.log(
  JSON.stringify({
    cis: CIS,
    clients: CLIENTS,
    seconds: SECONDS,
    getById: { requests: getById.requests, rps: getById.rps },
    queryPage500: {
      requests: queryPage500.requests,
      rps: queryPage500.rps,
      rowsPerSecond: queryPage500.rowsPerSecond,
    },
    companyPage500: {
      requests: byCompany.requests,
      rps: byCompany.rps,
      rowsPerSecond: byCompany.rowsPerSecond,
    },
    emulatorCountedRequests: stats.requests,
  }),
);
