import type { Config } from "../src/config.js";
import type { ServiceOptions, Services } from "../src/main.js";
import type { Portal } from "../src/portal/service.js";
import type { IntegrationInput } from "../src/portal/types.js";

/** nocbridge's PSA client counters, summed over its clients (a partner may have several). */
export interface ClientCounters {
  requests: number;
  rateLimited: number;
  threadLimited: number;
  retries: number;
  throttledMs: number;
}

/** The emulator's counters over the window. */
export interface EmulatorWindow {
  requests: number;
  byOperation: Record<string, number>;
  /** Requests the emulator refused (limits and injected faults), by kind. */
  rejected: Record<string, number>;
}

/**
 * What the ticket benchmark (bench/tickets.ts) needs of one PSA and its emulator. `observe` is called
 * by the PSA's side whenever nocbridge's client has had a ticket update answered: the PSA ticket id,
 * the title it carried (if any) and its priority (if any).
 */
export interface TicketsPsa {
  /** "Autotask", "ConnectWise". */
  label: string;
  /** How the PSA-side edits are made: "technician PATCH Tickets". */
  editVia: string;
  /** "webhook", "callback". */
  hook: string;
  /** The emulator's origin: an exact entry of the PSA URL allow-list. */
  origin: string;
  /** Portal priority → PSA priority (P1, P2), and back. */
  psaPriority: Record<number, number>;
  portalPriority: Record<number, number>;
  /** Thread limits exist (Autotask): their rejections are printed. */
  threads: boolean;
  /** nocbridge's services, `observe` wired to its PSA client's ticket updates. */
  open(
    config: Config,
    opts: ServiceOptions,
    observe: (psaTicketId: number, title: unknown, priority: unknown) => void,
  ): Promise<Services>;
  /** The two clients' company codes and ids. */
  companies: ReadonlyArray<readonly [string, number]>;
  /** The partner's settings: ticketing on, NOC may enter tickets, devices off. */
  integration(): IntegrationInput;
  /** After the settings: anything else the partner needs (mapping rows). */
  configure(portal: Portal, partnerId: number): Promise<void>;
  /** How many webhooks (callback entries) ticketing registers. */
  hooks: number;
  /** Sets up the technician who edits in the PSA. */
  technician(): Promise<void>;
  /** The technician's edit of one PSA ticket (title, and the PSA priority when given). */
  techEdit(psaTicketId: number, title: string, priority: number | null): Promise<void>;
  /** 429s the technician received. */
  tech429(): number;
  /** Waits until every webhook the emulator holds has been delivered. */
  flush(): Promise<void>;
  /** The end of the set-up line ("emulator usage so far …"). */
  setupNote(): Promise<string>;
  /** Before the window opens (ConnectWise, throttled: the set-up's requests leave the rolling minute). */
  beforeWindow?(): Promise<void>;
  resetStats(): Promise<void>;
  stats(): Promise<EmulatorWindow>;
  /** The webhook (callback) delivery statistics. */
  hookStats(): Promise<unknown>;
  /** Ticket and note writes in the emulator's counts (nocbridge's and the technician's), and which. */
  writes(byOperation: Record<string, number>): { total: number; shown: Record<string, number> };
  /** nocbridge's client counters so far. */
  clientCounters(): ClientCounters;
  /** The PSA tickets' titles and priorities, read after the window (not counted). */
  read(psaTicketIds: number[]): Promise<Array<{ id: number; title: string; priority: number }>>;
  stop(): void;
}
