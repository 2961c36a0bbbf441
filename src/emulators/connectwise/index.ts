/**
 * Public surface of the ConnectWise PSA (Manage) emulator: start it in-process (tests, the demo) or
 * from the CLI, reach its store, and verify its callbacks.
 */
export type { AdminContext } from "./admin.js";
export type { ApiOptions } from "./api.js";
export {
  type CallbackOptions,
  type CallbackStats,
  DEFAULT_CALLBACK_OPTIONS,
  type DeliveryRecord,
  signCallback,
} from "./callbacks.js";
export {
  type ConnectWiseEmulatorCliOptions,
  connectWiseStartOptions,
  registerConnectWiseEmulatorCommand,
} from "./cli.js";
export { CwError } from "./errors.js";
export { type CwFaultOptions, DEFAULT_CW_FAULTS } from "./faults.js";
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./listing.js";
export { RESOURCES } from "./schema.js";
export {
  DEFAULT_CLIENT_ID,
  DEFAULT_COMPANY_ID,
  DEFAULT_KEYS,
  DEMO_IDS,
  DEVICE_CUSTOM_FIELDS,
  demoSeed,
  emptySeed,
  SEED_NAMES,
  type SeedName,
  seedTenant,
} from "./seed.js";
export {
  API_VERSION,
  type CwStats,
  type RunningConnectWiseEmulator,
  type StartConnectWiseEmulatorOptions,
  startConnectWiseEmulator,
} from "./server.js";
export { type CustomFieldDef, CwStore, type Rec, Tenant, type TenantData } from "./store.js";
