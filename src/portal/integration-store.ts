/**
 * A partner's integration settings as stored (store/schema.ts PartnerIntegrationRow: `system`, the
 * common switches, the sealed secret and the connector's own fields as JSON) and as the API shows
 * and takes them (types.ts IntegrationView, IntegrationInput). The connector fields follow the
 * manifest of the partner's system (connector-fields.ts).
 */
import type { ConnectorManifest } from "../psa/connector.js";
import { PsaUrlPolicy } from "../psa/url-policy.js";
import type { PartnerIntegrationRow } from "../store/schema.js";
import { DEFAULT_ASSET_SCHEDULE } from "./catalog.js";
import { checkFields, type Fields, mergeFields, type Section, storedFields } from "./connector-fields.js";
import { invalid } from "./errors.js";
import { scheduleProblem } from "./schedule.js";
import type { IntegrationInput, IntegrationView } from "./types.js";

/** What the API shows for a stored secret. */
export const SECRET_MASK = "********";

export interface IntegrationRules {
  /** The manifests of the connectors this nocbridge runs; the first is a new partner's system. */
  manifests: readonly ConnectorManifest[];
  /**
   * Why a PSA base URL may not be stored (the operator's allow-list), or null when it may. Default:
   * psa/url-policy.ts's default policy.
   */
  psaUrlRefusal?: ((url: string) => string | null) | undefined;
}

/** What saving a PUT writes, and what the audit and the engine are told. */
export interface IntegrationWrite {
  values: Omit<PartnerIntegrationRow, "partner_id" | "devices_onboarded_at"> & {
    devices_onboarded_at?: string;
  };
  secretChange: "kept" | "set" | "cleared";
  /** Device integration is on for the first time (the onboarding sync starts). */
  onboarding: boolean;
}

/** A new partner's settings: every module off, the first connector's fields empty. */
export function defaultIntegrationRow(
  partnerId: number,
  now: string,
  rules: IntegrationRules,
): PartnerIntegrationRow {
  const m = rules.manifests[0];
  if (!m) throw new Error("no PSA connector manifest: the portal needs at least one");
  return {
    partner_id: partnerId,
    ticketing_enabled: 0,
    noc_may_enter_tickets: 0,
    system: m.system,
    secret_sealed: null,
    devices_enabled: 0,
    advanced: 0,
    schedule: null,
    updated_at: now,
    devices_onboarded_at: null,
    settings: JSON.stringify({
      ticketing: storedFields(m, "ticketing", {}),
      devices: storedFields(m, "devices", {}),
    }),
  };
}

/** The stored row as the API shows it (the secret masked). */
export function integrationView(r: PartnerIntegrationRow, rules: IntegrationRules): IntegrationView {
  const m = manifestOf(rules, r.system);
  const stored = parseSettings(r.settings);
  // A system no connector runs any more shows what is stored, unchecked.
  const fields = (s: Section): Fields => (m ? storedFields(m, s, stored[s]) : { ...stored[s] });
  const view = {
    ticketing: {
      enabled: r.ticketing_enabled === 1,
      nocMayEnterTickets: r.noc_may_enter_tickets === 1,
      system: r.system,
      ...fields("ticketing"),
      secret: r.secret_sealed === null ? "" : SECRET_MASK,
    },
    devices: {
      enabled: r.devices_enabled === 1,
      ...fields("devices"),
      advanced: r.advanced === 1,
      schedule: r.schedule ?? DEFAULT_ASSET_SCHEDULE,
    },
    updatedAt: r.updated_at,
  };
  // The fields are the manifest's; the types of the built-in manifests describe them (types.ts).
  return view as unknown as IntegrationView;
}

/**
 * A PUT checked and turned into the row to store; a 400 naming the field for anything wrong, before
 * anything is written. `seal` encrypts a new secret.
 */
export function integrationWrite(
  current: PartnerIntegrationRow,
  input: IntegrationInput,
  o: IntegrationRules & { seal: (secret: string) => string; now: string },
): IntegrationWrite {
  const t = input.ticketing as Fields & IntegrationInput["ticketing"];
  const d = input.devices as Fields & IntegrationInput["devices"];
  const system = t.system ?? current.system;
  const m = manifestOf(o, system);
  if (!m)
    throw invalid(
      "ticketing.system",
      `"${system}" is not a PSA system this nocbridge runs (${o.manifests.map((x) => x.system).join(", ")})`,
    );
  const sameSystem = system === current.system;

  // The secret: omitted or the mask keeps it, null or "" clears it; a secret of another system goes.
  let sealed = sameSystem ? current.secret_sealed : null;
  let secretChange: IntegrationWrite["secretChange"] =
    sameSystem || current.secret_sealed === null ? "kept" : "cleared";
  if (t.secret === null || t.secret === "") {
    sealed = null;
    secretChange = "cleared";
  } else if (t.secret !== undefined && t.secret !== SECRET_MASK) {
    sealed = o.seal(t.secret);
    secretChange = "set";
  }

  const stored = sameSystem ? parseSettings(current.settings) : { ticketing: {}, devices: {} };
  const settings = {
    ticketing: mergeFields(m, "ticketing", t, storedFields(m, "ticketing", stored.ticketing)),
    devices: mergeFields(m, "devices", d, storedFields(m, "devices", stored.devices)),
  };
  checkFields(m, settings, {
    ticketingOn: t.enabled,
    devicesOn: d.enabled,
    hasSecret: sealed !== null,
    urlRefusal: o.psaUrlRefusal ?? defaultPsaUrlRefusal,
  });
  const schedule =
    d.schedule === undefined || d.schedule === null || d.schedule.trim() === "" ? null : d.schedule.trim();
  if (schedule !== null) {
    const problem = scheduleProblem(schedule);
    if (problem) throw invalid("devices.schedule", problem);
  }

  const onboarding = d.enabled && current.devices_onboarded_at === null;
  return {
    values: {
      ticketing_enabled: t.enabled ? 1 : 0,
      noc_may_enter_tickets: t.nocMayEnterTickets ? 1 : 0,
      system,
      secret_sealed: sealed,
      devices_enabled: d.enabled ? 1 : 0,
      advanced: d.advanced ? 1 : 0,
      schedule,
      settings: JSON.stringify(settings),
      updated_at: o.now,
      ...(onboarding ? { devices_onboarded_at: o.now } : {}),
    },
    secretChange,
    onboarding,
  };
}

function manifestOf(rules: IntegrationRules, system: string): ConnectorManifest | undefined {
  return rules.manifests.find((m) => m.system === system);
}

/** The stored JSON; anything unreadable reads as nothing stored. */
function parseSettings(text: string): Record<Section, Fields> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const obj = (v: unknown): Fields =>
    typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Fields) : {};
  const p = obj(parsed);
  return { ticketing: obj(p.ticketing), devices: obj(p.devices) };
}

const defaultPsaUrlRefusal = (url: string) => PsaUrlPolicy.default.refusal(url);
