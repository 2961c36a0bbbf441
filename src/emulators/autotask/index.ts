/**
 * Public surface of the Autotask PSA emulator: start it in-process (tests, benchmarks, the demo) or
 * from the CLI, reach its store, and the seam types shared with the behaviours (hooks.ts).
 */
export type { AdminContext } from "./admin.js";
export {
  type AutotaskEmulatorCliOptions,
  registerAutotaskEmulatorCommand,
  startOptionsFromCli,
} from "./cli.js";
export { ENTITIES, type EntityDef, entityByName, type FieldDef } from "./entities.js";
export type { FaultOptions, Faults } from "./faults.js";
export type * from "./hooks.js";
export type { Limits, LimitsOptions } from "./limits.js";
export { DEFAULT_QUERY_LIMITS, MAX_PAGE_SIZE, type QueryLimits } from "./query.js";
export { createRegistryView } from "./registry.js";
export {
  DEFAULT_CREDENTIALS,
  DEFAULT_TENANT_ID,
  DEMO_IDS,
  DEMO_PRIORITIES,
  DEMO_STATUSES,
  demoSeed,
  emptySeed,
  NOC_CI_UDFS,
  SEED_NAMES,
  type SeedName,
  type SeedOptions,
  seedTenant,
} from "./seed.js";
export {
  type AutotaskEmulator,
  type AutotaskEmulatorOptions,
  type Behaviours,
  buildAutotaskEmulator,
  createEmulatorStore,
  type EmulatorStats,
  type RunningAutotaskEmulator,
  type StartAutotaskEmulatorOptions,
  startAutotaskEmulator,
} from "./server.js";
export {
  ApiError,
  type ApiUser,
  EmulatorStore,
  type PicklistValue,
  type StateFile,
  type Tenant,
  type TenantData,
  type UdfDefinition,
} from "./store.js";
export { createVirtualClock, type EmulatorClock, type VirtualClock } from "./timing.js";
export { signHookBody, verifyHookSignature, type WebhookEngine, type WebhookPayload } from "./webhooks.js";
