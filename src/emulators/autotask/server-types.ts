/** Options and handles of the emulated Autotask server (server.ts). */
import type { FastifyInstance } from "fastify";
import type { FaultOptions, Faults } from "./faults.js";
import type { ChangeListener, RequestGate, WebhookRegistryView } from "./hooks.js";
import type { Limits, LimitsOptions } from "./limits.js";
import type { QueryLimits } from "./query.js";
import type { SeedName } from "./seed.js";
import type { StatsCounter } from "./stats.js";
import type { EmulatorStore } from "./store.js";
import type { WebhookPolicy } from "./webhook-policy.js";
import type { WebhookEngine, WebhookEngineOptions } from "./webhooks.js";

/** Options of the core: what it serves and how it is wired. */
export interface AutotaskEmulatorOptions {
  /** Seed of the first tenant when there is no state file: "demo" (default) or "empty". */
  seed?: SeedName;
  /** Id of the first tenant (default "default"). */
  tenantId?: string;
  /** Credentials of the first tenant's API user (defaults: DEFAULT_CREDENTIALS). */
  username?: string;
  secret?: string;
  integrationCode?: string;
  /** JSON file: loaded at start when it exists, saved after writes (debounced) and on close. */
  state?: string;
  /** Debounce of state saves, ms (default 250). */
  stateSaveDelayMs?: number;
  /**
   * Origin advertised in the zone `url` and in paging URLs (e.g. "http://127.0.0.1:8787"). Default:
   * the origin the client used (its Host header), so the zone always points back at this server.
   */
  publicUrl?: string;
  /** Wraps every Autotask API request (thresholds, faults). Omitted: requests run at once. */
  gate?: RequestGate;
  /** Told about every committed create/update/delete of Tickets, TicketNotes, ConfigurationItems. */
  listener?: ChangeListener;
  /** The behaviours' objects, for the admin API (/_emulator/limits, /faults, /webhooks). */
  behaviours?: Behaviours;
  /** Use this store instead of building one from `seed`/`state`. */
  store?: EmulatorStore;
  /** Clock for maintained timestamps (createDate, lastActivityDate, ticket numbers). */
  now?: () => Date;
  queryLimits?: Partial<QueryLimits>;
  /** Fastify request logging (default off). */
  logger?: boolean;
  /**
   * Accept webhook URLs that are not https on port 443 (default false: Autotask delivers to port 443
   * only). Tests and the demo, whose receivers listen on http://127.0.0.1:<port>, turn it on.
   */
  allowHttpWebhooks?: boolean;
  /** What an API user's maximum number of webhooks counts (webhook-policy.ts); default "live". */
  webhookLimitCounts?: WebhookPolicy["limitCounts"];
}

export interface Behaviours {
  limits?: Limits;
  faults?: Faults;
  webhooks?: WebhookEngine;
}

/** Options of `startAutotaskEmulator`: the core's plus listening and the behaviours' defaults. */
export interface StartAutotaskEmulatorOptions extends AutotaskEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the admin API has no auth. */
  host?: string;
  /**
   * Multiplies every nominal delay of the behaviours (threshold latency, injected latency and
   * timeouts, webhook timeout/retry/delay); tests use a small value. Default 1.
   */
  timeScale?: number;
  /** Threshold and thread limits (limits.ts); `false` lifts them (no threshold, latency or thread limit). */
  limits?: Partial<LimitsOptions> | false;
  /** Injected faults (faults.ts); none by default. */
  faults?: Partial<FaultOptions>;
  /** Seed of the fault streams (same seed + same traffic → same faults). */
  randomSeed?: number | string;
  /** Webhook delivery tunables (webhooks.ts); `false` disables delivery. */
  webhooks?: Omit<WebhookEngineOptions, "registry" | "faults"> | false;
}

export interface AutotaskEmulator {
  /** The unstarted Fastify app. */
  readonly app: FastifyInstance;
  readonly store: EmulatorStore;
  readonly stats: StatsCounter;
  readonly registry: WebhookRegistryView;
  readonly behaviours: Behaviours;
  /** Id of the first tenant. */
  readonly tenantId: string;
  /** Credentials of the first tenant's API user. */
  readonly credentials: { username: string; secret: string; integrationCode: string };
  /** Saves the state file (when there is one) now. */
  saveState(): Promise<void>;
  /** Drops held connections, closes the app and the webhook engine, saves the state. */
  close(): Promise<void>;
}

export interface RunningAutotaskEmulator extends AutotaskEmulator {
  /** Origin, e.g. "http://127.0.0.1:40123". */
  readonly url: string;
  /**
   * The REST base clients use: `${url}/ATServicesRest/` (docs/autotask.md, The public npm client: with the
   * trailing slash).
   */
  readonly baseUrl: string;
  readonly port: number;
}
