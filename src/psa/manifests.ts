import type { Static } from "@sinclair/typebox";
import { AUTOTASK_MANIFEST } from "./autotask/manifest.js";
import type { ConnectorManifest, ManifestField } from "./connector.js";
import { CONNECTWISE_CLOUD_ALLOWLIST } from "./connectwise/client.js";
import { CONNECTWISE_MANIFEST } from "./connectwise/manifest.js";
import { DEFAULT_PSA_URL_ALLOWLIST } from "./url-policy.js";

/**
 * The manifests of the connectors built into nocbridge. The API's integration schemas and the
 * settings types are derived from these; at run time the portal checks settings against the
 * manifests of the registry it is given (main.ts passes them). A new connector adds its manifest here.
 */
export const BUILTIN_MANIFESTS = [
  AUTOTASK_MANIFEST,
  CONNECTWISE_MANIFEST,
] as const satisfies readonly ConnectorManifest[];

/**
 * The PSA URL allow-list when NOCBRIDGE_PSA_URL_ALLOWLIST is not set: the cloud hosts of every
 * built-in connector — Autotask's (url-policy.ts) and ConnectWise's sites and their API hosts
 * (docs/connectwise.md, Site, codebase and credentials).
 */
export const BUILTIN_PSA_URL_ALLOWLIST = `${DEFAULT_PSA_URL_ALLOWLIST},${CONNECTWISE_CLOUD_ALLOWLIST}`;

export type BuiltinManifest = (typeof BUILTIN_MANIFESTS)[number];
/** The `system` key of a built-in connector ("autotask"). */
export type PsaSystem = BuiltinManifest["system"];
export const PSA_SYSTEMS: readonly PsaSystem[] = BUILTIN_MANIFESTS.map((m) => m.system);

/** The built-in manifest of a system. */
export type ManifestOf<S extends PsaSystem> = Extract<BuiltinManifest, { system: S }>;

type Flat<T> = { [K in keyof T]: T[K] } & {};
/** The connector's own fields of one section, as stored and shown: every one present. */
export type ConnectorFields<S extends PsaSystem, Section extends "ticketing" | "devices"> = Flat<
  Required<Static<ManifestOf<S>["schema"][Section]>>
>;
/** The connector's own fields of one section, as a PUT carries them (the Optional ones may be left out). */
export type ConnectorFieldsIn<S extends PsaSystem, Section extends "ticketing" | "devices"> = Static<
  ManifestOf<S>["schema"][Section]
>;

/** What the Setup form reads of a manifest (GET /api/psa/systems): its fields, no schema objects. */
export interface ManifestSummary {
  system: string;
  label: string;
  fields: Array<Omit<ManifestField, "choices"> & { choices?: Array<{ id: number; label: string }> }>;
  groups?: Record<string, { label: string; help?: string }>;
  /** Whether the PSA's statuses belong to a scope chosen in the settings (a ConnectWise board). */
  statusScope?: { label: string; settingKey: string };
}

/** The part of a manifest the Setup form reads (a copy). */
export function manifestSummary(m: ConnectorManifest): ManifestSummary {
  return {
    system: m.system,
    label: m.label,
    fields: m.fields.map(({ choices, ...f }) => ({
      ...f,
      ...(choices ? { choices: choices.map((c) => ({ ...c })) } : {}),
    })),
    ...(m.groups
      ? { groups: Object.fromEntries(Object.entries(m.groups).map(([k, g]) => [k, { ...g }])) }
      : {}),
    ...(m.statusScope ? { statusScope: { ...m.statusScope } } : {}),
  };
}
