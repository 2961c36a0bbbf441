import type { Config } from "../src/config.js";
import type { ServiceOptions, Services } from "../src/main.js";
import type { Device, IntegrationInput } from "../src/portal/types.js";

/** What the asset benchmark (bench/assets.ts) needs of one PSA and its emulator. */
export interface AssetsPsa {
  /** "Autotask", "ConnectWise". */
  label: string;
  /** The emulator's origin: an exact entry of the PSA URL allow-list. */
  origin: string;
  /** Rows per page of the connector's asset reads (the target's "pages"). */
  pageSize: number;
  /** API calls the emulator has counted so far. */
  requests(): Promise<number>;
  /** The same, by operation (printed for the re-sync when the PSA's side offers it). */
  operations?(): Promise<Record<string, number>>;
  /** Makes `n` companies in the PSA; their ids. */
  createCompanies(n: number): Promise<number[]>;
  /** nocbridge's services, with this PSA's connector. */
  open(config: Config, opts: ServiceOptions): Promise<Services>;
  /** The partner's settings: ticketing off, advanced device integration on. */
  integration(): IntegrationInput;
  /** The naive strategy for one device: look its asset up, then write all its fields (or create it). */
  naive(config: Config, companyOf: Map<number, number>): (d: Device) => Promise<void>;
  stop(): void;
}
