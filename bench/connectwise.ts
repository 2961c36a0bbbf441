/**
 * What the benchmarks need to run nocbridge against the ConnectWise emulator: its certificate trusted
 * by the PSA transport, the ConnectWise connector registered (with the operator's allow-list), and a
 * partner's integration settings for the emulator's demo tenant.
 */
import { globalAgent } from "node:https";
import type { Config } from "../src/config.js";
import { DEMO_IDS } from "../src/emulators/connectwise/seed.js";
import { openServices, type ServiceOptions, type Services } from "../src/main.js";
import type { IntegrationInput } from "../src/portal/types.js";
import { ConnectWiseClient } from "../src/psa/connectwise/client.js";
import { connectwiseConnector } from "../src/psa/connectwise/connector.js";
import { CW_CREDENTIALS } from "./emulator-process.js";

/**
 * The PSA transport calls through node:https's global agent: trusting the emulator's certificate
 * there is what NODE_EXTRA_CA_CERTS would do for a server started against it.
 */
export function trustConnectWiseCa(caPem: string): void {
  globalAgent.options.ca = caPem;
}

/**
 * nocbridge's services with the ConnectWise connector. Until main.ts registers it, the bench passes
 * it as an extra connector, its clients calling only where the configured allow-list lets them; once
 * main.ts has it (two connectors would claim "connectwise"), the built-in one is used.
 */
export async function openServicesWithConnectWise(config: Config, opts: ServiceOptions): Promise<Services> {
  const connector = connectwiseConnector({
    client: (credentials) => new ConnectWiseClient({ credentials, urlPolicy: config.psaUrls }),
  });
  try {
    return await openServices(config, { ...opts, connectors: [...(opts.connectors ?? []), connector] });
  } catch (e) {
    if (!(e instanceof Error && /two connectors claim the system "connectwise"/.test(e.message))) throw e;
    return openServices(config, opts);
  }
}

/** The demo tenant's mapping rows: portal ↔ ConnectWise statuses (board NOC) and priorities. */
export const CW_MAPPINGS = {
  "status-forward": [
    [1, DEMO_IDS.statuses.new, "New"],
    [18, DEMO_IDS.statuses.inProgress, "In Progress"],
    [7, DEMO_IDS.statuses.inProgress, "In Progress"],
    [2, DEMO_IDS.statuses.waitingCustomer, "Waiting Customer"],
    [3, DEMO_IDS.statuses.closed, "Closed"],
  ],
  "status-reverse": [
    [1, DEMO_IDS.statuses.new, "New"],
    [7, DEMO_IDS.statuses.inProgress, "In Progress"],
    [2, DEMO_IDS.statuses.waitingCustomer, "Waiting Customer"],
    [3, DEMO_IDS.statuses.resolved, "Resolved"],
    [3, DEMO_IDS.statuses.closed, "Closed"],
  ],
  priority: [
    [8, DEMO_IDS.priorities.critical, "Priority 1 - Critical"],
    [9, DEMO_IDS.priorities.high, "Priority 2 - High"],
    [10, DEMO_IDS.priorities.medium, "Priority 3 - Medium"],
    [11, DEMO_IDS.priorities.low, "Priority 4 - Low"],
  ],
} as const;

/** A partner on the emulator's demo tenant: board NOC, its statuses, the device configuration type. */
export function connectwiseIntegration(
  siteUrl: string,
  o: { tickets: boolean; devices: boolean },
): IntegrationInput {
  const c = CW_CREDENTIALS;
  return {
    ticketing: {
      system: "connectwise",
      enabled: o.tickets,
      nocMayEnterTickets: o.tickets,
      siteUrl,
      companyId: c.companyId,
      publicKey: c.publicKey,
      secret: c.privateKey,
      clientId: c.clientId,
      boardId: DEMO_IDS.nocBoard,
      boardName: "NOC",
      defaultStatusId: DEMO_IDS.statuses.new,
      typeId: 1,
      subTypeId: 1,
      itemId: null,
      sourceId: 1,
      serviceLocationId: null,
    },
    devices: {
      enabled: o.devices,
      advanced: true,
      configurationTypeId: DEMO_IDS.configurationTypes.device,
      activeStatusId: DEMO_IDS.configurationStatuses.active,
      inactiveStatusId: DEMO_IDS.configurationStatuses.inactive,
      schedule: null,
    },
  } as unknown as IntegrationInput;
}
