import { fingerprint } from "../../lib/fingerprint.js";
import type { Client, Device } from "../../portal/types.js";
import type { AssetPort, DesiredAsset, PsaAsset } from "../../psa/connector.js";
import type { Link } from "../links.js";

/**
 * The reconciliation analysis: a partner's portal devices against its PSA's configuration items
 * (CIs), PSA-neutral and pure (the reads are done by ./service.ts). Four kinds of finding:
 *
 * - orphan-ci: an active CI in one of the partner's companies that no device's link claims;
 * - wrong-company: a device whose linked CI is in another company than its client's;
 * - duplicate-serial: one serial number on more than one device, or on more than one active CI;
 * - changed-in-psa: a linked CI that was deactivated, edited or deleted in the PSA since the sync last
 *   wrote it (the CI compared with the values the link keeps of that write).
 */

export const RECONCILIATION_KINDS = [
  "orphan-ci",
  "wrong-company",
  "duplicate-serial",
  "changed-in-psa",
] as const;
export type ReconciliationKind = (typeof RECONCILIATION_KINDS)[number];

export const RECONCILIATION_ACTIONS = ["link", "move", "deactivate", "resync", "ignore", "unignore"] as const;
export type ReconciliationAction = (typeof RECONCILIATION_ACTIONS)[number];

/** A portal device as an item names it. */
export interface DeviceRef {
  id: number;
  hostname: string;
  serialNumber: string;
  clientId: number;
  clientCode: string;
  clientName: string;
}

/** A configuration item as an item names it. */
export interface CiRef {
  id: number;
  name: string;
  serialNumber: string | null;
  companyId: number;
  /** The company's name; "company <id>" when the PSA did not say. */
  companyName: string;
  active: boolean;
  /** The device whose link claims this CI, if any, and its hostname (null: not one of the mapped clients'). */
  linkedDeviceId: number | null;
  linkedHostname: string | null;
}

/** One value the PSA holds now that differs from what the sync last wrote. */
export interface PsaChange {
  field: string;
  written: unknown;
  now: unknown;
}

export interface ReconciliationItem {
  kind: ReconciliationKind;
  /** Stable while the finding stays the same: what ignore and un-ignore name. */
  key: string;
  /** One sentence with names, for lists and the audit log. */
  summary: string;
  device: DeviceRef | null;
  ci: CiRef | null;
  /** duplicate-serial: the devices, or the CIs, that share the serial number. */
  serialNumber?: string;
  devices?: DeviceRef[];
  cis?: CiRef[];
  /** wrong-company: the company the device's client is mapped to. */
  expectedCompany?: { id: number; name: string };
  /** changed-in-psa: what differs; `gone` when the CI no longer exists. */
  changes?: PsaChange[];
  gone?: boolean;
  /** orphan-ci: unlinked devices of the CI's company's clients, likely matches (serial, hostname) first. */
  candidates?: DeviceRef[];
  /** What the item offers (ignore is always possible; un-ignore on ignored items). */
  actions: ReconciliationAction[];
}

export interface AnalysisInput {
  /** The partner's clients mapped to a PSA company, with their devices. */
  clients: Array<{ client: Client; devices: Device[] }>;
  links: Map<number, Link>;
  /** Every CI of each company read, by company id. */
  cisByCompany: Map<number, PsaAsset[]>;
  /** Linked CIs that are in none of the companies read (null: the PSA has no such CI). */
  strays: Map<number, PsaAsset | null>;
  /** Company names by id (the clients' stored names, and what the PSA said of other companies). */
  companyNames: Map<number, string>;
  assets: Pick<AssetPort, "diff">;
}

/** How many candidate devices an orphan CI lists at most. */
const MAX_CANDIDATES = 25;

/** Serial numbers that are placeholders, not serials (BIOS defaults): never reported as duplicates. */
const PLACEHOLDER_SERIAL =
  /^(0+|n\/?a|none|null|unknown|default string|to be filled by o\.e\.m\.?|system serial number|chassis serial number|not specified|123456789)$/;

export const normSerial = (s: string | null | undefined): string | null => {
  const v = (s ?? "").trim().toLowerCase();
  return v === "" || PLACEHOLDER_SERIAL.test(v) ? null : v;
};

export function analyse(input: AnalysisInput): ReconciliationItem[] {
  const { clients, links, cisByCompany, strays, companyNames, assets } = input;
  const companyName = (id: number) => companyNames.get(id) ?? `company ${id}`;
  const hostnames = new Map(clients.flatMap((c) => c.devices.map((d) => [d.id, d.hostname] as const)));
  const claimedBy = new Map<number, number>(); // ciId → deviceId
  for (const l of links.values()) claimedBy.set(l.psaId, l.portalId);
  const ciRef = (c: PsaAsset): CiRef => ({
    id: c.id,
    name: c.name,
    serialNumber: c.serialNumber,
    companyId: c.companyId,
    companyName: companyName(c.companyId),
    active: c.active,
    linkedDeviceId: claimedBy.get(c.id) ?? null,
    linkedHostname: hostnames.get(claimedBy.get(c.id) ?? 0) ?? null,
  });
  const allCis = new Map<number, PsaAsset>();
  for (const list of cisByCompany.values()) for (const c of list) allCis.set(c.id, c);
  const deviceRefs: Array<{ ref: DeviceRef; client: Client; device: Device }> = [];
  for (const { client, devices } of clients)
    for (const d of devices)
      deviceRefs.push({
        client,
        device: d,
        ref: {
          id: d.id,
          hostname: d.hostname,
          serialNumber: d.serialNumber,
          clientId: client.id,
          clientCode: client.code,
          clientName: client.name,
        },
      });

  const items: ReconciliationItem[] = [];

  // Devices with a link: the CI in another company, or changed in the PSA.
  for (const { ref, client, device } of deviceRefs) {
    const link = links.get(device.id);
    if (!link) continue;
    const expected = client.psaCompanyId as number;
    const ci = allCis.get(link.psaId) ?? strays.get(link.psaId) ?? null;
    const who = `${ref.hostname} (${client.name})`;
    if (!ci) {
      if (!strays.has(link.psaId)) continue; // not read (the per-request bound); never guessed
      items.push({
        kind: "changed-in-psa",
        key: `changed-in-psa:ci:${link.psaId}:gone`,
        summary: `The CI of ${who} (id ${link.psaId}) no longer exists in the PSA`,
        device: ref,
        ci: null,
        gone: true,
        changes: [],
        actions: ["resync", "ignore"],
      });
      continue;
    }
    if (ci.companyId !== expected) {
      items.push({
        kind: "wrong-company",
        key: `wrong-company:device:${device.id}:ci:${ci.id}:${ci.companyId}`,
        summary: `${who} is linked to CI ${ci.name} in ${companyName(ci.companyId)}, but ${client.name} is mapped to ${companyName(expected)}`,
        device: ref,
        ci: ciRef(ci),
        expectedCompany: { id: expected, name: companyName(expected) },
        actions: ["move", "ignore"],
      });
      continue;
    }
    const written = link.written as DesiredAsset;
    if (Object.keys(written).length === 0) continue; // linked by hand: nothing written yet
    const diff = assets.diff(ci, written);
    const changes = Object.entries(diff).map(([field, d]) => ({ field, written: d.to, now: d.from }));
    if (changes.length === 0) continue;
    const deactivated = !ci.active && changes.some((c) => c.written === true);
    items.push({
      kind: "changed-in-psa",
      key: `changed-in-psa:ci:${ci.id}:${fingerprint(changes)}`,
      summary: deactivated
        ? `CI ${ci.name} of ${who} was deactivated in the PSA since the last sync`
        : `CI ${ci.name} of ${who} was edited in the PSA since the last sync (${changes.map((c) => c.field).join(", ")})`,
      device: ref,
      ci: ciRef(ci),
      changes,
      actions: ["resync", "ignore"],
    });
  }

  // Orphans: active CIs in the partner's companies that no link claims.
  const unlinked = deviceRefs.filter((d) => !links.has(d.device.id));
  for (const [companyId, cis] of cisByCompany) {
    for (const ci of cis) {
      if (!ci.active || claimedBy.has(ci.id)) continue;
      const serial = normSerial(ci.serialNumber);
      const name = ci.name.trim().toLowerCase();
      const score = (d: DeviceRef) =>
        (serial !== null && normSerial(d.serialNumber) === serial ? 2 : 0) +
        (name !== "" && d.hostname.trim().toLowerCase() === name ? 1 : 0);
      const candidates = unlinked
        .filter((d) => d.client.psaCompanyId === companyId)
        .map((d) => d.ref)
        .sort((a, b) => score(b) - score(a) || a.hostname.localeCompare(b.hostname))
        .slice(0, MAX_CANDIDATES);
      items.push({
        kind: "orphan-ci",
        key: `orphan-ci:ci:${ci.id}`,
        summary: `CI ${ci.name}${ci.serialNumber ? ` (serial ${ci.serialNumber})` : ""} in ${companyName(companyId)} is claimed by no portal device`,
        device: null,
        ci: ciRef(ci),
        candidates,
        actions: ["link", "deactivate", "ignore"],
      });
    }
  }

  // Duplicate serial numbers, on either side.
  for (const [serial, group] of groupBy(deviceRefs, (d) => normSerial(d.device.serialNumber))) {
    if (group.length < 2) continue;
    const refs = group.map((g) => g.ref).sort((a, b) => a.id - b.id);
    items.push({
      kind: "duplicate-serial",
      key: `duplicate-serial:devices:${serial}:${refs.map((r) => r.id).join(",")}`,
      summary: `Serial number ${group[0]?.device.serialNumber.trim()} is on ${refs.length} portal devices: ${refs.map((r) => `${r.hostname} (${r.clientName})`).join(", ")}`,
      device: null,
      ci: null,
      serialNumber: group[0]?.device.serialNumber.trim() ?? serial,
      devices: refs,
      cis: [],
      actions: ["ignore"],
    });
  }
  const activeCis = [...allCis.values()].filter((c) => c.active);
  for (const [serial, group] of groupBy(activeCis, (c) => normSerial(c.serialNumber))) {
    if (group.length < 2) continue;
    const refs = group.map(ciRef).sort((a, b) => a.id - b.id);
    items.push({
      kind: "duplicate-serial",
      key: `duplicate-serial:cis:${serial}:${refs.map((r) => r.id).join(",")}`,
      summary: `Serial number ${group[0]?.serialNumber?.trim()} is on ${refs.length} active CIs: ${refs.map((r) => `${r.name} (${r.companyName})`).join(", ")}`,
      device: null,
      ci: null,
      serialNumber: group[0]?.serialNumber?.trim() ?? serial,
      devices: [],
      cis: refs,
      actions: ["deactivate", "ignore"],
    });
  }
  const order = new Map(RECONCILIATION_KINDS.map((k, i) => [k, i]));
  return items.sort(
    (a, b) => (order.get(a.kind) ?? 0) - (order.get(b.kind) ?? 0) || a.key.localeCompare(b.key),
  );
}

function groupBy<T>(xs: T[], key: (x: T) => string | null): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    if (k === null) continue;
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
}
