/**
 * The scale benchmark's fixtures and small helpers (bench/scale.ts): each partner's devices and
 * integration settings, a bounded parallel map, and counting of duplicates.
 */
import { DEMO_IDS } from "../src/emulators/autotask/seed.js";

/** Runs `fn` over `items`, `n` at a time, results in order. */
export async function mapPool<T, R>(
  items: readonly T[],
  n: number,
  fn: (x: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(n, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T, i);
  });
  await Promise.all(lanes);
  return out;
}

/** How many values occur more often than once, beyond their first (nulls ignored). */
export function extra(values: Array<string | null>): number {
  const seen = new Map<string, number>();
  for (const v of values) if (v !== null) seen.set(v, (seen.get(v) ?? 0) + 1);
  return [...seen.values()].reduce((a, n) => a + n - 1, 0);
}

export function diff(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]));
}

export function devices(partner: number, client: number, n: number) {
  return Array.from({ length: n }, (_, j) => ({
    state: "managed",
    hostname: `P${partner + 1}-C${client + 1}-PC${String(j).padStart(4, "0")}`,
    deviceType: "Workstation",
    ipAddress: `10.${client}.${Math.floor(j / 250)}.${j % 250}`,
    make: "Dell Inc.",
    model: "OptiPlex 7090",
    operatingSystem: "Microsoft Windows 11 Pro 23H2",
    ram: "16 GB",
    serialNumber: `SN${partner + 1}-${client + 1}-${j}`,
    warrantyEndDate: "2028-06-30",
  }));
}

export function integration(
  apiUrl: string,
  c: { username: string; secret: string; integrationCode: string },
) {
  return {
    ticketing: {
      enabled: true,
      nocMayEnterTickets: true,
      apiUrl,
      ...c,
      queueId: DEMO_IDS.nocQueue,
      queueName: "NOC",
      billingCodeId: DEMO_IDS.remoteSupport,
      billingCodeName: "Remote Support",
      issueTypeId: DEMO_IDS.issueType,
      subIssueTypeId: DEMO_IDS.subIssueType,
    },
    devices: {
      enabled: true,
      productId: DEMO_IDS.product,
      configurationItemTypeId: DEMO_IDS.ciType,
      // As the demo: every attribute is written, the portal's device id among them.
      advanced: true,
      schedule: null,
    },
  };
}
