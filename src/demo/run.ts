import { join } from "node:path";
import type { Config } from "../config.js";
import {
  DEFAULT_CREDENTIALS,
  DEMO_IDS,
  type RunningAutotaskEmulator,
  startAutotaskEmulator,
} from "../emulators/autotask/index.js";
import { type RunningConnectWiseEmulator, startConnectWiseEmulator } from "../emulators/connectwise/index.js";
import type { ConsoleSummary } from "../lib/console-summary.js";
import type { Logger } from "../lib/logger.js";
import { openServices, type Server, type Services, startServer } from "../main.js";
import { SYSTEM_ACTOR } from "../portal/access.js";
import { seedConnectWiseDemo, wireConnectWiseDemo } from "./connectwise.js";
import { keepConnectWiseState } from "./connectwise-state.js";
import { type DemoSummary, seedDemo } from "./seed.js";

/** Password of the demo's web UI users `noc`, `noc-tech`, `var-admin` and `cw-admin`. */
export const DEMO_PASSWORD = "nocbridge-demo";
/** The demo's NOC technician (web UI sign-in): NOC-wide, so the queue shows both demo partners' tickets. */
export const NOC_TECH = "noc-tech";
/** The ConnectWise demo partner's admin (web UI sign-in). */
export const CW_ADMIN = "cw-admin";

export interface Demo {
  services: Services;
  server: Server;
  emulator: RunningAutotaskEmulator;
  summary: DemoSummary;
  /** The second demo partner, on ConnectWise, and the emulator it is wired to. */
  connectwise: { emulator: RunningConnectWiseEmulator; summary: DemoSummary };
  adminToken: string;
  close(): Promise<void>;
}

/** The demo clients' Autotask companies (the emulator's demo seed). */
const COMPANIES: Record<string, number> = { AT1: DEMO_IDS.companies.AT1, AT2: DEMO_IDS.companies.AT2 };

/**
 * The whole product on one machine: the Autotask emulator with its demo tenant, and nocbridge with the
 * demo partner wired to it (credentials, NOC queue, allocation, product, CI type, advanced mode, clients
 * mapped to their companies), ready to sync; beside it the ConnectWise emulator (HTTPS with a
 * self-signed certificate) and a second partner wired to it (connectwise.ts). The emulators keep their
 * state beside the database.
 */
export async function startDemo(
  config: Config,
  o: {
    emulatorPort: number;
    connectwisePort?: number;
    logger: Logger;
    consoleSummary?: ConsoleSummary;
    /** The built web UI to serve (tests pass a fresh build); default: dist/web. */
    webRoot?: string;
  },
): Promise<Demo> {
  const persistent = config.databaseUrl !== ":memory:";
  const cw = await startConnectWiseEmulator({
    port: o.connectwisePort ?? 0,
    host: "127.0.0.1",
    seed: "demo",
  });
  const cwState = persistent
    ? keepConnectWiseState(cw, join(config.dataDir, "connectwise-emulator.json"), o.logger)
    : undefined;
  const emulator = await startAutotaskEmulator({
    port: o.emulatorPort,
    host: "127.0.0.1",
    seed: "demo",
    // The demo receives webhooks on http://127.0.0.1:<port>; a real tenant delivers to https:443 only.
    allowHttpWebhooks: true,
    ...(persistent ? { state: join(config.dataDir, "autotask-emulator.json") } : {}),
  }).catch(async (e: unknown) => {
    await cwState?.close();
    await cw.close();
    throw e;
  });
  // The demo's API user may create webhooks (a state file from an older demo may lack the permission).
  const apiUser = emulator.store.findUser(DEFAULT_CREDENTIALS.username)?.user;
  if (apiUser && apiUser.canCreateWebhooks !== true) {
    apiUser.canCreateWebhooks = true;
    apiUser.maxWebhooks = Math.max(apiUser.maxWebhooks ?? 0, 10);
    emulator.store.commit();
  }
  let services: Services | undefined;
  try {
    // The demo's own emulators are allowed in addition to the operator's list (exact origins). Only
    // the ConnectWise clients trust the ConnectWise emulator's self-signed certificate.
    const demoConfig = {
      ...config,
      allowHttpWebhooks: true,
      psaUrls: config.psaUrls.withOrigins(emulator.url, cw.url),
    };
    services = await openServices(demoConfig, {
      logger: o.logger,
      ...(o.consoleSummary ? { consoleSummary: o.consoleSummary } : {}),
      background: true,
      connectwiseCa: cw.caPem,
    });
    const summary = await seedDemo(services.portal, SYSTEM_ACTOR);
    const partnerId = summary.partner.id;
    const cwSummary = await seedConnectWiseDemo(services.portal, SYSTEM_ACTOR);
    const cwPartnerId = cwSummary.partner.id;
    // Web UI sign-ins (printed at start): a NOC admin, a NOC technician and each demo partner's admin.
    for (const u of [
      { username: "noc", name: "NOC admin", role: "noc-admin" as const },
      { username: NOC_TECH, name: "Nina NOC technician", role: "technician" as const },
      { username: "var-admin", name: "Demo VAR admin", role: "partner-admin" as const, partnerId },
      {
        username: CW_ADMIN,
        name: "Demo VAR on ConnectWise admin",
        role: "partner-admin" as const,
        partnerId: cwPartnerId,
      },
    ]) {
      const exists = await services.db.kysely
        .selectFrom("users")
        .select("id")
        .where("username", "=", u.username)
        .executeTakeFirst();
      if (!exists) await services.portal.createUser(SYSTEM_ACTOR, { ...u, password: DEMO_PASSWORD });
    }
    for (const c of (await services.portal.listClients(SYSTEM_ACTOR, partnerId, { limit: 500 })).items) {
      const company = COMPANIES[c.code];
      if (company !== undefined && c.psaCompanyId === null)
        // The demo tenant names each company as the client is named.
        await services.portal.updateClient(SYSTEM_ACTOR, c.id, {
          psaCompanyId: company,
          psaCompanyName: c.name,
        });
    }
    // The server listens first, so the webhooks registered when ticketing is switched on call it back.
    const server = await startServer(services, o.webRoot ? { webRoot: o.webRoot } : {});
    // The emulator's port may differ from the last start: point the integration at it every time.
    await services.portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: {
        enabled: true,
        nocMayEnterTickets: true,
        apiUrl: emulator.baseUrl,
        username: DEFAULT_CREDENTIALS.username,
        secret: DEFAULT_CREDENTIALS.secret,
        integrationCode: DEFAULT_CREDENTIALS.integrationCode,
        queueId: DEMO_IDS.nocQueue,
        queueName: "NOC",
        billingCodeId: DEMO_IDS.remoteSupport,
        billingCodeName: "Remote Support",
        // What the demo tenant's default category ("NOC Monitoring") requires, and a due date.
        ticketCategoryId: DEMO_IDS.categories.nocMonitoring,
        issueTypeId: DEMO_IDS.issueType,
        subIssueTypeId: DEMO_IDS.subIssueType,
        sourceId: 6, // Monitoring Alert
        dueDateOffsetHours: 24,
      },
      devices: {
        enabled: true,
        productId: DEMO_IDS.product,
        configurationItemTypeId: DEMO_IDS.ciType,
        advanced: true,
        schedule: null,
      },
    });
    await wireConnectWiseDemo(services.portal, SYSTEM_ACTOR, cwPartnerId, cw);
    // The engine takes the saves in (schedule, onboarding sync, webhooks) before the demo is ready.
    await services.sync.settingsSaved(partnerId);
    await services.sync.settingsSaved(cwPartnerId);
    const adminToken = config.adminToken ?? (server.generatedAdminToken as string);
    const s = services;
    return {
      services: s,
      server,
      emulator,
      summary,
      connectwise: { emulator: cw, summary: cwSummary },
      adminToken,
      async close() {
        await server.close();
        await s.close();
        await emulator.close();
        await cwState?.close();
        await cw.close();
      },
    };
  } catch (e) {
    await services?.close();
    await emulator.close();
    await cwState?.close();
    await cw.close();
    throw e;
  }
}
