/**
 * The Autotask side of the ticket benchmark (bench/tickets.ts): its emulator in its own process with
 * webhooks on, real timing (time scale 1) and the real limits (10,000 requests/hour, 3 threads per
 * endpoint); nocbridge's Autotask client with `update` observed (the sync's only way to change a
 * ticket); Autotask edits as PATCH Tickets by a partner technician — an API user of its own, with its
 * own integration code: a technician's edits do not share nocbridge's threads, and nocbridge's
 * webhook exclusion does not cover them, so each fires a TicketWebhook.
 */
import { DEFAULT_CREDENTIALS, DEFAULT_TENANT_ID, DEMO_IDS } from "../src/emulators/autotask/seed.js";
import { openServices } from "../src/main.js";
import type { AutotaskApi } from "../src/psa/autotask/api.js";
import { AutotaskClient } from "../src/psa/autotask/client.js";
import type { PsaUrlPolicy } from "../src/psa/url-policy.js";
import { startEmulatorProcess } from "./emulator-process.js";
import type { TicketsPsa } from "./tickets-psa.js";

const TECH_INTEGRATION_CODE = "NOCBRIDGEBENCHTECHNICIAN1";

interface EmuStats {
  requests: number;
  byOperation: Record<string, number>;
  rejected: { threshold: number; thread: number; fault: number };
}

export async function autotaskTickets(o: { latencyMs?: string | undefined }): Promise<TicketsPsa> {
  const emuArgs = ["--time-scale", "1", "--allow-http-webhooks"];
  if (o.latencyMs !== undefined) emuArgs.push("--fault-latency", o.latencyMs);
  const emulator = await startEmulatorProcess(emuArgs);
  const restBase = emulator.restBase;
  const admin = emulator.admin;
  const clients: AutotaskClient[] = [];
  let tech: { username: string; secret: string; integrationCode: string } | null = null;
  let tech429 = 0;
  const techHeaders = () => {
    if (!tech) throw new Error("no technician yet");
    return {
      "content-type": "application/json",
      ApiIntegrationCode: tech.integrationCode,
      UserName: tech.username,
      Secret: tech.secret,
    };
  };
  return {
    label: "Autotask",
    editVia: "technician PATCH Tickets",
    hook: "webhook",
    origin: emulator.url,
    // The default mapping rows: P1 = High, P2 = Medium.
    psaPriority: { 9: 1, 10: 2 },
    portalPriority: { 1: 9, 2: 10 },
    threads: true,
    open(config, opts, observe) {
      /** nocbridge's Autotask client, with `update` observed (the sync's only way to change a ticket). */
      const observedClient = (
        creds: { apiUrl: string; username: string; secret: string; integrationCode: string },
        urlPolicy: PsaUrlPolicy,
      ): AutotaskApi => {
        const client = new AutotaskClient({ credentials: creds, urlPolicy });
        clients.push(client);
        const update = client.update.bind(client);
        client.update = async (entity, body, opts) => {
          const r = await update(entity, body, opts);
          if (entity === "Tickets") observe(body.id, body["title"], body["priority"]);
          return r;
        };
        return client;
      };
      return openServices(config, { ...opts, autotask: observedClient });
    },
    companies: [
      ["AT1", DEMO_IDS.companies.AT1],
      ["AT2", DEMO_IDS.companies.AT2],
    ],
    integration: () => ({
      ticketing: {
        enabled: true,
        nocMayEnterTickets: true,
        apiUrl: restBase,
        username: DEFAULT_CREDENTIALS.username,
        secret: DEFAULT_CREDENTIALS.secret,
        integrationCode: DEFAULT_CREDENTIALS.integrationCode,
        queueId: DEMO_IDS.nocQueue,
        queueName: "NOC",
        billingCodeId: DEMO_IDS.remoteSupport,
        billingCodeName: "Remote Support",
        issueTypeId: DEMO_IDS.issueType,
        subIssueTypeId: DEMO_IDS.subIssueType,
      },
      devices: {
        enabled: false,
        productId: null,
        configurationItemTypeId: null,
        advanced: false,
        schedule: null,
      },
    }),
    configure: async () => {},
    hooks: 2,
    async technician() {
      await admin("POST", `/tenants/${DEFAULT_TENANT_ID}/apiUsers`, {
        resourceId: DEMO_IDS.technicians[0],
        integrationCode: TECH_INTEGRATION_CODE,
      });
      tech = await admin<{ username: string; secret: string; integrationCode: string }>(
        "POST",
        `/tenants/${DEFAULT_TENANT_ID}/actAs`,
        { resourceId: DEMO_IDS.technicians[0] },
      );
    },
    async techEdit(psaTicketId, title, priority) {
      const res = await fetch(`${restBase}V1.0/Tickets`, {
        method: "PATCH",
        headers: techHeaders(),
        body: JSON.stringify({ id: psaTicketId, title, ...(priority !== null ? { priority } : {}) }),
      });
      const text = await res.text();
      if (res.status === 429) tech429++;
      if (!res.ok) throw new Error(`technician PATCH Tickets → ${res.status} ${text}`);
    },
    tech429: () => tech429,
    flush: async () => {
      await admin("POST", "/webhooks/flush");
    },
    async setupNote() {
      const usage = await admin<{ counts?: Record<string, unknown> }>("GET", "/limits");
      return `emulator usage so far ${JSON.stringify(usage.counts ?? {})} (usage latency starts at 5,001)`;
    },
    resetStats: async () => {
      await admin("DELETE", "/stats");
    },
    async stats() {
      const s = await admin<EmuStats>("GET", "/stats");
      return { requests: s.requests, byOperation: s.byOperation, rejected: s.rejected };
    },
    hookStats: () => admin("GET", "/webhooks"),
    writes(byOperation) {
      const op = (name: string) => byOperation[name] ?? 0;
      return {
        total:
          op("create Tickets") + op("update Tickets") + op("create TicketNotes") + op("update TicketNotes"),
        shown: Object.fromEntries(Object.entries(byOperation).filter(([k]) => /^(create|update) /.test(k))),
      };
    },
    clientCounters: () =>
      clients
        .map((c) => c.stats())
        .reduce(
          (a, x) => ({
            requests: a.requests + x.requests,
            rateLimited: a.rateLimited + x.rateLimited,
            threadLimited: a.threadLimited + x.threadLimited,
            retries: a.retries + x.retries,
            throttledMs: a.throttledMs + x.throttledMs,
          }),
          { requests: 0, rateLimited: 0, threadLimited: 0, retries: 0, throttledMs: 0 },
        ),
    async read(psaIds) {
      const rows: Array<{ id: number; title: string; priority: number }> = [];
      for (let i = 0; i < psaIds.length; i += 500) {
        const res = await fetch(`${restBase}V1.0/Tickets/query`, {
          method: "POST",
          headers: techHeaders(),
          body: JSON.stringify({
            filter: [{ op: "in", field: "id", value: psaIds.slice(i, i + 500) }],
            IncludeFields: ["id", "title", "priority"],
          }),
        });
        rows.push(...((await res.json()) as { items: typeof rows }).items);
      }
      return rows;
    },
    stop: () => emulator.stop(),
  };
}
