import { mulberry32 } from "../lib/random.js";
import type { Actor } from "../portal/access.js";
import type { DeviceInput, Portal } from "../portal/service.js";
import type { Partner } from "../portal/types.js";

export const DEMO_PARTNER_NAME = "Demo VAR";

export interface DemoSummary {
  partner: Partner;
  created: boolean;
  clients: number;
  devices: number;
  tickets: number;
}

const HARDWARE = [
  { make: "Dell Inc.", model: "OptiPlex 7090", type: "Workstation", bios: "Dell Inc. BIOS", ver: "2.18.0" },
  { make: "Dell Inc.", model: "Latitude 5440", type: "Laptop", bios: "Dell Inc. BIOS", ver: "1.14.1" },
  { make: "HP", model: "EliteBook 840 G9", type: "Laptop", bios: "HP BIOS", ver: "U70 Ver. 01.12.00" },
  { make: "HP", model: "ProLiant DL380 Gen10", type: "Server", bios: "HPE System ROM", ver: "U30 v2.76" },
  { make: "Lenovo", model: "ThinkCentre M70q", type: "Workstation", bios: "Lenovo BIOS", ver: "M3JKT4AA" },
  { make: "Cisco", model: "Catalyst 9200L", type: "Network Device", bios: "Cisco ROMMON", ver: "17.9.1r" },
  { make: "Fortinet", model: "FortiGate 60F", type: "Firewall", bios: "FortiOS Bootloader", ver: "6.2.0" },
] as const;

const OS_BY_TYPE: Record<string, string[]> = {
  Workstation: ["Microsoft Windows 11 Pro 23H2", "Microsoft Windows 10 Pro 22H2"],
  Laptop: ["Microsoft Windows 11 Pro 23H2", "Microsoft Windows 11 Enterprise 23H2"],
  Server: ["Microsoft Windows Server 2022 Standard", "Ubuntu 22.04.4 LTS"],
  "Network Device": ["Cisco IOS XE 17.9"],
  Firewall: ["FortiOS 7.4.3"],
};

const USERS = ["jsmith", "akumar", "mgarcia", "lchen", "rpatel", "swilliams", "dnguyen", "kbrown"];

/** `count` devices of a client, hostnames `<code>-PC001` …, on the subnet 10.<subnet>.1.0/24. */
export function demoDevices(
  clientCode: string,
  count: number,
  subnet: number,
  rand: () => number,
): DeviceInput[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const out: DeviceInput[] = [];
  for (let i = 1; i <= count; i++) {
    const hw = pick(HARDWARE);
    const r = rand();
    // Roughly 60 % managed, 25 % discovered, 15 % unmanaged, as a NOC's inventory typically looks.
    const state = r < 0.6 ? "managed" : r < 0.85 ? "discovered" : "unmanaged";
    const prefix =
      hw.type === "Server" ? "SRV" : hw.type === "Laptop" ? "LPT" : hw.type === "Workstation" ? "PC" : "NET";
    const isPc = hw.type === "Workstation" || hw.type === "Laptop";
    const year = 2026 + Math.floor(rand() * 4);
    const month = String(1 + Math.floor(rand() * 12)).padStart(2, "0");
    out.push({
      state,
      hostname: `${clientCode}-${prefix}${String(i).padStart(3, "0")}`,
      deviceType: hw.type,
      ipAddress: `10.${subnet}.1.${10 + i}`,
      gateway: `10.${subnet}.1.1`,
      make: hw.make,
      model: hw.model,
      operatingSystem: pick(OS_BY_TYPE[hw.type] ?? ["Unknown"]),
      ram: isPc
        ? pick(["8 GB", "16 GB", "32 GB"])
        : hw.type === "Server"
          ? pick(["64 GB", "128 GB"])
          : "2 GB",
      biosName: `${hw.bios} ${hw.ver}`,
      biosVersion: hw.ver,
      driveInfo: isPc
        ? pick(["C: 237 GB", "C: 476 GB", "C: 476 GB; D: 931 GB"])
        : hw.type === "Server"
          ? "C: 558 GB; D: 3.6 TB"
          : "",
      lastLoggedUser: isPc ? pick(USERS) : "",
      serialNumber: `${hw.make.slice(0, 2).toUpperCase()}${Math.floor(rand() * 1e8)
        .toString(36)
        .toUpperCase()
        .padStart(6, "0")}`,
      // Only managed hardware has a known warranty (seed FAQ Q5: "where available").
      warrantyEndDate: state === "managed" ? `${year}-${month}-28` : null,
    });
  }
  return out;
}

/**
 * Creates the demo partner (clients AT1 and AT2, about 50 devices across the three states, a few
 * tickets with alerts and notes) unless it already exists. Idempotent: a second call changes nothing.
 */
export async function seedDemo(portal: Portal, actor: Actor): Promise<DemoSummary> {
  const existing = (await portal.listPartners(actor, { limit: 500 })).items.find(
    (p) => p.name === DEMO_PARTNER_NAME,
  );
  if (existing) {
    const clients = await portal.listClients(actor, existing.id, { limit: 500 });
    let devices = 0;
    for (const c of clients.items) devices += (await portal.listDevices(actor, c.id, { limit: 1 })).total;
    const tickets = (await portal.listTickets(actor, existing.id, { limit: 1 })).total;
    return { partner: existing, created: false, clients: clients.total, devices, tickets };
  }
  // Seeded, so the demo is the same on every machine.
  const rand = mulberry32(20120229);
  const partner = await portal.createPartner(actor, { name: DEMO_PARTNER_NAME, timeZone: "Asia/Kolkata" });
  const at1 = await portal.createClient(actor, partner.id, { code: "AT1", name: "Acme Dental Group" });
  const at2 = await portal.createClient(actor, partner.id, { code: "AT2", name: "Birch Logistics" });
  const in1 = demoDevices("AT1", 28, 10, rand);
  const in2 = demoDevices("AT2", 22, 20, rand);
  const d1 = (await portal.importDevices(actor, at1.id, in1)).items.map((i) => i.id);
  const d2 = (await portal.importDevices(actor, at2.id, in2)).items.map((i) => i.id);
  /** The id and hostname of the first device of a type (falls back to the first device). */
  const first = (inputs: DeviceInput[], ids: number[], type: string) => {
    const i = Math.max(
      0,
      inputs.findIndex((d) => d.deviceType === type),
    );
    const d = inputs[i]!;
    return { id: ids[i]!, hostname: d.hostname };
  };
  const srv1 = first(in1, d1, "Server");
  const srv2 = first(in2, d2, "Server");

  const t1 = await portal.createTicket(actor, partner.id, {
    clientId: at1.id,
    title: `Disk C: above 90 % on ${srv1.hostname}`,
    description: "Free space on C: dropped below 10 %. Cleanup of temp folders started.",
    statusId: 7,
    priorityId: 9,
    alerts: [{ deviceId: srv1.id, message: "Disk C: 92 % used (threshold 90 %)" }],
  });
  await portal.addNote(actor, t1.id, {
    text: "Cleared 12 GB of Windows Update cache; monitoring.",
    published: true,
  });
  await portal.addNote(actor, t1.id, {
    text: "Consider asking the partner for a larger volume.",
    published: false,
  });

  const t2 = await portal.createTicket(actor, partner.id, {
    clientId: at1.id,
    title: "Multiple hosts unreachable behind gateway 10.10.1.1",
    description: "Ping loss from three hosts on the same subnet; switch suspected.",
    statusId: 9,
    priorityId: 8,
    alerts: [
      { deviceId: d1[5]!, message: "Host down: no ICMP reply for 5 minutes" },
      { deviceId: d1[6]!, message: "Host down: no ICMP reply for 5 minutes" },
      { deviceId: d1[7]!, message: "Host down: no ICMP reply for 5 minutes" },
    ],
  });
  await portal.addNote(actor, t2.id, {
    text: "Needs an on-site check of the access switch; handed over to the MSP.",
    published: true,
  });

  const t3 = await portal.createTicket(actor, partner.id, {
    clientId: at2.id,
    title: `Backup job failed on ${srv2.hostname}`,
    description: "Nightly backup reported 'VSS writer timed out'.",
    statusId: 1,
    priorityId: 10,
    alerts: [{ deviceId: srv2.id, message: "Backup job 'Nightly-Full' failed: VSS writer timed out" }],
  });
  await portal.addNote(actor, t3.id, {
    text: "Re-running the job after restarting the VSS service.",
    published: true,
  });

  await portal.createTicket(actor, partner.id, {
    clientId: at2.id,
    deviceId: d2[0]!,
    title: "Windows updates pending reboot for 14 days",
    statusId: 16,
    priorityId: 11,
  });

  return { partner, created: true, clients: 2, devices: d1.length + d2.length, tickets: 4 };
}
