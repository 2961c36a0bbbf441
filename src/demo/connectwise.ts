/**
 * The demo's second partner, on ConnectWise PSA: clients CW1 and CW2 with devices and tickets, and
 * what wires it to the ConnectWise emulator's demo tenant (src/emulators/connectwise/seed.ts) — the
 * API member's keys, the NOC service board with its default status, ticket type and source, the
 * configuration type and statuses, the status and priority mapping tables scoped to the board, and
 * the clients mapped to the tenant's companies.
 */
import { DEMO_IDS, type RunningConnectWiseEmulator } from "../emulators/connectwise/index.js";
import { mulberry32 } from "../lib/random.js";
import type { Actor } from "../portal/access.js";
import type { MappingKind } from "../portal/catalog.js";
import type { MappingRowInput } from "../portal/mappings.js";
import type { DeviceInput, Portal } from "../portal/service.js";
import type { IntegrationInput } from "../portal/types.js";
import { type DemoSummary, demoDevices } from "./seed.js";

export const CW_DEMO_PARTNER_NAME = "Demo VAR on ConnectWise";

/** The demo clients' ConnectWise companies (the emulator's demo seed). */
export const CW_DEMO_COMPANIES: Record<string, number> = {
  CW1: DEMO_IDS.companies.acme,
  CW2: DEMO_IDS.companies.birch,
};

const S = DEMO_IDS.statuses;
const P = DEMO_IDS.priorities;

/**
 * The mapping tables of the demo board's statuses (New, In Progress, Waiting Customer, Resolved,
 * Closed) and the tenant's priorities, every status row scoped to the NOC board. Portal "Response
 * due" has no forward row, as in the Autotask defaults: a ticket in it keeps its ConnectWise status.
 */
export const CW_DEMO_MAPPINGS: Record<MappingKind, MappingRowInput[]> = {
  "status-forward": (
    [
      [1, S.new, "New"],
      [18, S.new, "New"],
      [11, S.inProgress, "In Progress"],
      [7, S.inProgress, "In Progress"],
      [2, S.waitingCustomer, "Waiting Customer"],
      [12, S.inProgress, "In Progress"],
      [16, S.waitingCustomer, "Waiting Customer"],
      [9, S.waitingCustomer, "Waiting Customer"],
      [3, S.closed, "Closed"],
    ] as const
  ).map(([portalId, psaId, psaLabel]) => ({ portalId, psaId, psaLabel, scope: DEMO_IDS.nocBoard })),
  "status-reverse": (
    [
      [19, S.new, "New"],
      [7, S.inProgress, "In Progress"],
      [9, S.waitingCustomer, "Waiting Customer"],
      [3, S.resolved, "Resolved"],
      [3, S.closed, "Closed"],
    ] as const
  ).map(([portalId, psaId, psaLabel]) => ({ portalId, psaId, psaLabel, scope: DEMO_IDS.nocBoard })),
  priority: (
    [
      [8, P.critical, "Priority 1 - Critical"],
      [9, P.high, "Priority 2 - High"],
      [10, P.medium, "Priority 3 - Medium"],
      [11, P.low, "Priority 4 - Low"],
    ] as const
  ).map(([portalId, psaId, psaLabel]) => ({ portalId, psaId, psaLabel })),
};

/** The board's ticket type "Alert" and the source "Monitoring" of the emulator's demo seed. */
const ALERT_TYPE = 1;
const MONITORING_SOURCE = 4;

/** The demo partner's ConnectWise settings against the emulator (every module on, advanced mode). */
export function connectWiseDemoIntegration(emu: RunningConnectWiseEmulator): IntegrationInput {
  const c = emu.credentials;
  return {
    ticketing: {
      enabled: true,
      nocMayEnterTickets: true,
      system: "connectwise",
      siteUrl: emu.url,
      companyId: c.companyId,
      publicKey: c.publicKey,
      secret: c.privateKey,
      clientId: c.clientId,
      boardId: DEMO_IDS.nocBoard,
      boardName: "NOC",
      defaultStatusId: S.new,
      typeId: ALERT_TYPE,
      subTypeId: null,
      itemId: null,
      sourceId: MONITORING_SOURCE,
      serviceLocationId: null,
    },
    devices: {
      enabled: true,
      configurationTypeId: DEMO_IDS.configurationTypes.device,
      activeStatusId: DEMO_IDS.configurationStatuses.active,
      inactiveStatusId: DEMO_IDS.configurationStatuses.inactive,
      advanced: true,
      schedule: null,
    },
  };
}

/**
 * Creates the ConnectWise demo partner (its mapping tables for the emulator's board, clients CW1 and
 * CW2, 22 devices across the three states, three tickets with alerts and notes) unless it exists.
 * Idempotent.
 */
export async function seedConnectWiseDemo(portal: Portal, actor: Actor): Promise<DemoSummary> {
  const existing = (await portal.listPartners(actor, { limit: 500 })).items.find(
    (p) => p.name === CW_DEMO_PARTNER_NAME,
  );
  if (existing) {
    const clients = await portal.listClients(actor, existing.id, { limit: 500 });
    let devices = 0;
    for (const c of clients.items) devices += (await portal.listDevices(actor, c.id, { limit: 1 })).total;
    const tickets = (await portal.listTickets(actor, existing.id, { limit: 1 })).total;
    return { partner: existing, created: false, clients: clients.total, devices, tickets };
  }
  const rand = mulberry32(20260105);
  const partner = await portal.createPartner(actor, {
    name: CW_DEMO_PARTNER_NAME,
    timeZone: "America/New_York",
  });
  for (const [kind, rows] of Object.entries(CW_DEMO_MAPPINGS) as Array<[MappingKind, MappingRowInput[]]>)
    await portal.putMappings(actor, partner.id, kind, rows);
  const cw1 = await portal.createClient(actor, partner.id, { code: "CW1", name: "Acme Dental Group" });
  const cw2 = await portal.createClient(actor, partner.id, { code: "CW2", name: "Birch Logistics" });
  const in1 = demoDevices("CW1", 12, 30, rand);
  const in2 = demoDevices("CW2", 10, 40, rand);
  const d1 = (await portal.importDevices(actor, cw1.id, in1)).items.map((i) => i.id);
  const d2 = (await portal.importDevices(actor, cw2.id, in2)).items.map((i) => i.id);
  const first = (inputs: DeviceInput[], ids: number[]) => {
    const i = Math.max(
      0,
      inputs.findIndex((d) => d.state === "managed"),
    );
    return { id: ids[i] as number, hostname: (inputs[i] as DeviceInput).hostname };
  };
  const a = first(in1, d1);
  const b = first(in2, d2);

  const t1 = await portal.createTicket(actor, partner.id, {
    clientId: cw1.id,
    title: `CPU above 95 % for 15 minutes on ${a.hostname}`,
    description: "Sustained CPU load; a runaway antivirus scan is suspected.",
    statusId: 7,
    priorityId: 9,
    alerts: [{ deviceId: a.id, message: "CPU 97 % average over 15 minutes (threshold 95 %)" }],
  });
  await portal.addNote(actor, t1.id, {
    text: "Rescheduled the full scan to 01:00; load back to normal.",
    published: true,
  });
  await portal.addNote(actor, t1.id, { text: "Watch it for another day before closing.", published: false });

  const t2 = await portal.createTicket(actor, partner.id, {
    clientId: cw2.id,
    title: `Backup job failed on ${b.hostname}`,
    description: "Nightly image backup ended with 'target disk full'.",
    statusId: 9,
    priorityId: 10,
    alerts: [{ deviceId: b.id, message: "Backup job 'Nightly-Image' failed: target disk full" }],
  });
  await portal.addNote(actor, t2.id, {
    text: "The backup target needs more space; handed over to the MSP.",
    published: true,
  });

  await portal.createTicket(actor, partner.id, {
    clientId: cw2.id,
    deviceId: d2[1] as number,
    title: "Antivirus definitions older than 7 days",
    statusId: 1,
    priorityId: 11,
  });

  return { partner, created: true, clients: 2, devices: d1.length + d2.length, tickets: 3 };
}

/**
 * Points the ConnectWise demo partner at the emulator (its port and certificate may differ from the
 * last start): clients mapped to their companies where unmapped, and the settings.
 */
export async function wireConnectWiseDemo(
  portal: Portal,
  actor: Actor,
  partnerId: number,
  emu: RunningConnectWiseEmulator,
): Promise<void> {
  for (const c of (await portal.listClients(actor, partnerId, { limit: 500 })).items) {
    const company = CW_DEMO_COMPANIES[c.code];
    if (company !== undefined && c.psaCompanyId === null)
      // The demo tenant names each company as the client is named.
      await portal.updateClient(actor, c.id, { psaCompanyId: company, psaCompanyName: c.name });
  }
  await portal.putIntegration(actor, partnerId, connectWiseDemoIntegration(emu));
}
