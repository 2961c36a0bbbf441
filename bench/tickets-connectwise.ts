/**
 * The ConnectWise side of the ticket benchmark (bench/tickets.ts): its emulator in its own process
 * over HTTPS (`nocbridge emulator connectwise … --ca-out FILE`, the certificate trusted by this
 * process) with callbacks on and time scale 1; the ConnectWise connector, its clients' ticket PATCHes
 * observed; ConnectWise edits as PATCH service/tickets/{id} (JSON-Patch) by the technician asmith with
 * API keys of their own and a clientId of their own (a technician works in ConnectWise's own screens,
 * which do not count against an integration's request rate; their writes are not the callback
 * creator's, so self-suppression does not hide them and each fires a ticket callback).
 *
 * Request limit. The emulator throttles each tenant and clientId to a rolling minute of requests
 * (default 1,000, the figure of ConnectWise's guide). BENCH_CW_REQUESTS_PER_MINUTE sets it (0 = off);
 * the default here is off, as the asset bench lifts Autotask's hourly threshold: at 20 edits per second
 * the load itself is 600 portal edits a minute, each needing at least its PATCH, and 600 ConnectWise
 * edits whose callbacks each need at least a read of the ticket — more than 1,000 requests a minute
 * whatever the connector does. The API calls printed, over a window of about a minute, show the rate.
 * With the throttle on, the window opens a minute after the set-up (whose burst would count against it).
 */

import { DEMO_IDS } from "../src/emulators/connectwise/seed.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { ConnectWiseClient } from "../src/psa/connectwise/client.js";
import {
  CW_MAPPINGS,
  connectwiseIntegration,
  openServicesWithConnectWise,
  trustConnectWiseCa,
} from "./connectwise.js";
import { CW_CREDENTIALS, httpsJson, startConnectWiseEmulatorProcess } from "./emulator-process.js";
import type { ClientCounters, TicketsPsa } from "./tickets-psa.js";

/** The technician's own integration id (a clientId of its own: its own request bucket). */
const TECH_CLIENT_ID = "00000000-0000-4000-8000-0000000bec11";
const TICKET_PATH = /^service\/tickets\/(\d+)$/;

interface CwStats {
  requests: number;
  byOperation: Record<string, number>;
  rejected: { auth: number; throttle: number; fault429: number; fault500: number };
}

/**
 * nocbridge's ConnectWise clients, whoever builds them (the bench's connector or one main.ts
 * registers): the prototype's ticket PATCH is observed, and every client that calls is remembered
 * for its counters.
 */
function observeClients(observe: (psaTicketId: number, title: unknown, priority: unknown) => void) {
  const seen = new Set<ConnectWiseClient>();
  const proto = ConnectWiseClient.prototype;
  const patch = proto.patch;
  proto.patch = async function <T>(this: ConnectWiseClient, path: string, ops: Parameters<typeof patch>[1]) {
    seen.add(this);
    const r = await patch.call<ConnectWiseClient, [string, typeof ops], Promise<T>>(this, path, ops);
    const m = TICKET_PATH.exec(path);
    if (m) {
      const value = (p: string) => ops.find((o) => o.path === p)?.value;
      const priority = value("priority") as { id?: unknown } | undefined;
      observe(Number(m[1]), value("summary"), priority?.id);
    }
    return r;
  };
  for (const name of ["get", "pages", "count", "create", "delete", "signingKey"] as const) {
    const original = proto[name] as (...a: unknown[]) => unknown;
    (proto as unknown as Record<string, unknown>)[name] = function (
      this: ConnectWiseClient,
      ...a: unknown[]
    ) {
      seen.add(this);
      return original.apply(this, a);
    };
  }
  return (): ClientCounters =>
    [...seen]
      .map((c) => c.stats())
      .reduce(
        (a, x) => ({
          requests: a.requests + x.requests,
          rateLimited: a.rateLimited + x.rateLimited,
          threadLimited: 0,
          retries: a.retries + x.retries,
          throttledMs: a.throttledMs + x.throttledMs,
        }),
        { requests: 0, rateLimited: 0, threadLimited: 0, retries: 0, throttledMs: 0 },
      );
}

export async function connectwiseTickets(o: { latencyMs?: string | undefined }): Promise<TicketsPsa> {
  const rpm = process.env["BENCH_CW_REQUESTS_PER_MINUTE"] ?? "0";
  const args = ["--time-scale", "1", "--requests-per-minute", rpm];
  if (o.latencyMs !== undefined) args.push("--fault-latency", o.latencyMs);
  const emulator = await startConnectWiseEmulatorProcess(args);
  trustConnectWiseCa(emulator.caPem);
  const apiBase = `${emulator.url}/v4_6_release/apis/3.0`;
  const admin = emulator.admin;
  let counters: () => ClientCounters = () => ({
    requests: 0,
    rateLimited: 0,
    threadLimited: 0,
    retries: 0,
    throttledMs: 0,
  });
  let techHeaders: Record<string, string> | null = null;
  let tech429 = 0;
  const tech = async (method: string, path: string, body?: unknown) => {
    if (!techHeaders) throw new Error("no technician yet");
    return httpsJson(emulator.agent, method, `${apiBase}/${path}`, body, techHeaders);
  };
  return {
    label: "ConnectWise",
    editVia: "technician PATCH service/tickets",
    hook: "callback",
    origin: emulator.url,
    // The bench's mapping rows (CW_MAPPINGS): P1 = Priority 2 - High, P2 = Priority 3 - Medium.
    psaPriority: { 9: DEMO_IDS.priorities.high, 10: DEMO_IDS.priorities.medium },
    portalPriority: { [DEMO_IDS.priorities.high]: 9, [DEMO_IDS.priorities.medium]: 10 },
    threads: false,
    open(config, opts, observe) {
      counters = observeClients(observe);
      return openServicesWithConnectWise(config, opts);
    },
    companies: [
      ["ACME", DEMO_IDS.companies.acme],
      ["BIRCH", DEMO_IDS.companies.birch],
    ],
    integration: () => connectwiseIntegration(emulator.url, { tickets: true, devices: false }),
    async configure(portal, partnerId) {
      for (const [kind, rows] of Object.entries(CW_MAPPINGS) as Array<
        [keyof typeof CW_MAPPINGS, ReadonlyArray<readonly [number, number, string]>]
      >)
        await portal.putMappings(
          SYSTEM_ACTOR,
          partnerId,
          kind,
          rows.map(([portalId, psaId, psaLabel]) => ({
            portalId,
            psaId,
            psaLabel,
            ...(kind === "priority" ? {} : { scope: DEMO_IDS.nocBoard }),
          })),
        );
    },
    hooks: 1,
    async technician() {
      await admin("POST", "/clientIds", { clientId: TECH_CLIENT_ID });
      const t = await admin<{ authorization: string }>("POST", `/tenants/${CW_CREDENTIALS.companyId}/actAs`, {
        member: "asmith",
      });
      techHeaders = { authorization: t.authorization, clientId: TECH_CLIENT_ID };
    },
    async techEdit(psaTicketId, title, priority) {
      const ops: Array<{ op: string; path: string; value: unknown }> = [
        { op: "replace", path: "summary", value: title },
      ];
      if (priority !== null) ops.push({ op: "replace", path: "priority", value: { id: priority } });
      const res = await tech("PATCH", `service/tickets/${psaTicketId}`, ops);
      if (res.status === 429) tech429++;
      if (res.status !== 200) throw new Error(`technician PATCH service/tickets → ${res.status} ${res.text}`);
    },
    tech429: () => tech429,
    flush: async () => {
      await admin("POST", "/callbacks/flush");
    },
    async setupNote() {
      const s = await admin<CwStats>("GET", "/stats");
      return `emulator requests so far ${s.requests} (request limit ${rpm === "0" ? "off" : `${rpm} a minute per clientId`})`;
    },
    async beforeWindow() {
      if (rpm === "0") return;
      console.log("waiting 61 s: the set-up's requests leave the throttle's rolling minute");
      await new Promise((r) => setTimeout(r, 61_000));
    },
    resetStats: async () => {
      await admin("POST", "/stats/reset");
    },
    async stats() {
      const s = await admin<CwStats>("GET", "/stats");
      return {
        requests: s.requests,
        byOperation: s.byOperation,
        rejected: { throttle: s.rejected.throttle, fault429: s.rejected.fault429 },
      };
    },
    hookStats: async () => (await admin<{ stats: unknown }>("GET", "/callbacks")).stats,
    writes(byOperation) {
      const shown = Object.fromEntries(
        Object.entries(byOperation).filter(([k]) =>
          /^(create|update|replace|delete) service\/tickets(\/notes|\/configurations)?$/.test(k),
        ),
      );
      return { total: Object.values(shown).reduce((a, n) => a + n, 0), shown };
    },
    clientCounters: () => counters(),
    async read(psaIds) {
      const rows: Array<{ id: number; title: string; priority: number }> = [];
      for (let i = 0; i < psaIds.length; i += 200) {
        const q = new URLSearchParams({
          conditions: `id in (${psaIds.slice(i, i + 200).join(", ")})`,
          fields: "id,summary,priority/id",
          pageSize: "1000",
        });
        const res = await tech("GET", `service/tickets?${q}`);
        for (const t of res.body as Array<{ id: number; summary: string; priority: { id: number } }>)
          rows.push({ id: t.id, title: t.summary, priority: t.priority.id });
      }
      return rows;
    },
    stop: () => emulator.stop(),
  };
}
