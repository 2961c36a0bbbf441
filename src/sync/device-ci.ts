import type { PsaSessions } from "./sessions.js";

/** The PSA asset a device is linked to, as the device page shows it (read live from the PSA). */
export interface DeviceCiView {
  psaId: number;
  /** When the asset sync last wrote or checked it. */
  syncedAt: string | null;
  /**
   * found: read just now; gone: the PSA has no asset of that id any more; unavailable: the PSA could
   * not be read (no credentials, an error, no answer in time): `problem` says why.
   */
  live: "found" | "gone" | "unavailable";
  name: string | null;
  active: boolean | null;
  serialNumber: string | null;
  companyId: number | null;
  /** The company's name in the PSA; null when not known. */
  companyName: string | null;
  problem: string | null;
  /** The asset's custom (user-defined) fields as the PSA holds them, by name (advanced mode writes 13). */
  customFields: Array<{ name: string; value: string | null }>;
}

/** How long the device page waits for the PSA before it shows the link without the live values. */
const LIVE_WAIT_MS = 8000;

/**
 * Reads a device's linked asset from the partner's PSA: its name, state and company (named through the
 * connector's company look-up, or the client's stored company name when it is the client's company).
 * Never throws: a PSA that cannot be read makes the answer `unavailable` with the reason.
 */
export async function readDeviceCi(
  sessions: PsaSessions,
  partnerId: number,
  link: { psaId: number; syncedAt: string | null },
  clientCompany: { id: number | null; name: string | null },
): Promise<DeviceCiView> {
  const base: DeviceCiView = {
    psaId: link.psaId,
    syncedAt: link.syncedAt,
    live: "unavailable",
    name: null,
    active: null,
    serialNumber: null,
    companyId: null,
    companyName: null,
    problem: null,
    customFields: [],
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const read = async (): Promise<DeviceCiView> => {
      const { session, missing, connector } = await sessions.forPartner(partnerId);
      if (!session)
        return {
          ...base,
          problem: missing?.message ?? `The ${connector.label} credentials are not all set.`,
        };
      const asset = await session.assets.get(link.psaId);
      if (!asset) return { ...base, live: "gone", problem: `${session.label} has no such record any more.` };
      let companyName = asset.companyId === clientCompany.id ? clientCompany.name : null;
      if (companyName === null && session.companies) {
        const [c] = await session.companies.byIds([asset.companyId]).catch(() => []);
        companyName = c?.name ?? null;
      }
      return {
        ...base,
        live: "found",
        name: asset.name,
        active: asset.active,
        serialNumber: asset.serialNumber,
        companyId: asset.companyId,
        companyName,
        customFields: Object.entries(asset.custom)
          .map(([name, value]) => ({ name, value }))
          .sort((a, b) => a.name.localeCompare(b.name)),
      };
    };
    const late = new Promise<DeviceCiView>((resolve) => {
      timer = setTimeout(
        () => resolve({ ...base, problem: `No answer from the PSA within ${LIVE_WAIT_MS / 1000} s.` }),
        LIVE_WAIT_MS,
      );
    });
    return await Promise.race([read(), late]);
  } catch (e) {
    return { ...base, problem: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
