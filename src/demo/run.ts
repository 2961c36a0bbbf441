import { join } from "node:path";
import type { Config } from "../config.js";
import {
  DEFAULT_CREDENTIALS,
  DEMO_IDS,
  type RunningAutotaskEmulator,
  startAutotaskEmulator,
} from "../emulators/autotask/index.js";
import type { Logger } from "../lib/logger.js";
import { openServices, type Server, type Services, startServer } from "../main.js";
import { SYSTEM_ACTOR } from "../portal/access.js";
import { type DemoSummary, seedDemo } from "./seed.js";

/** Password of the demo's web UI users `noc` and `var-admin`. */
export const DEMO_PASSWORD = "nocbridge-demo";

export interface Demo {
  services: Services;
  server: Server;
  emulator: RunningAutotaskEmulator;
  summary: DemoSummary;
  adminToken: string;
  close(): Promise<void>;
}

/** The demo clients' Autotask companies (the emulator's demo seed). */
const COMPANIES: Record<string, number> = { AT1: DEMO_IDS.companies.AT1, AT2: DEMO_IDS.companies.AT2 };

/**
 * The whole product on one machine: the Autotask emulator with its demo tenant, and nocbridge with the
 * demo partner wired to it (credentials, NOC queue, allocation, product, CI type, advanced mode, clients
 * mapped to their companies), ready to sync. The emulator keeps its state beside the database.
 */
export async function startDemo(config: Config, o: { emulatorPort: number; logger: Logger }): Promise<Demo> {
  const emulator = await startAutotaskEmulator({
    port: o.emulatorPort,
    host: "127.0.0.1",
    seed: "demo",
    // The demo receives webhooks on http://127.0.0.1:<port>; a real tenant delivers to https:443 only.
    allowHttpWebhooks: true,
    ...(config.databaseUrl === ":memory:" ? {} : { state: join(config.dataDir, "autotask-emulator.json") }),
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
    // The demo's own emulator is allowed in addition to the operator's list (an exact origin).
    const demoConfig = {
      ...config,
      allowHttpWebhooks: true,
      psaUrls: config.psaUrls.withOrigins(emulator.url),
    };
    services = await openServices(demoConfig, { logger: o.logger, background: true });
    const summary = await seedDemo(services.portal, SYSTEM_ACTOR);
    const partnerId = summary.partner.id;
    // Web UI sign-ins (printed at start): a NOC admin and the demo partner's admin.
    for (const u of [
      { username: "noc", name: "NOC admin", role: "noc-admin" as const },
      { username: "var-admin", name: "Demo VAR admin", role: "partner-admin" as const, partnerId },
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
        await services.portal.updateClient(SYSTEM_ACTOR, c.id, { psaCompanyId: company });
    }
    // The server listens first, so the webhooks registered when ticketing is switched on call it back.
    const server = await startServer(services);
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
    // The engine takes the save in (schedule, onboarding sync, webhooks) before the demo is ready.
    await services.sync.settingsSaved(partnerId);
    const adminToken = config.adminToken ?? (server.generatedAdminToken as string);
    const s = services;
    return {
      services: s,
      server,
      emulator,
      summary,
      adminToken,
      async close() {
        await server.close();
        await s.close();
        await emulator.close();
      },
    };
  } catch (e) {
    await services?.close();
    await emulator.close();
    throw e;
  }
}
