import { clientsToCheck, unmappedMessage } from "../../../src/psa/companies.js";
import type { Check, PsaOptions, ValidateInput, ValidationResult } from "../../../src/psa/connector.js";
import { isPsaError } from "../../../src/psa/errors.js";
import type { FakeClient } from "./client.js";
import type { FakeSettings } from "./manifest.js";
import { ASSET_CUSTOM_FIELDS } from "./psa.js";

const ADMIN = "FakePSA → Settings";

/** The tenant's pick-lists for the settings form and mapping tables. */
export async function fakeOptions(client: FakeClient): Promise<PsaOptions> {
  return client.call("options.read", () => ({
    statuses: client.tenant.statuses,
    priorities: client.tenant.priorities,
    queues: client.tenant.queues,
  }));
}

/** The Validate checklist: credentials first, then what the enabled modules need. */
export async function validateFake(
  client: FakeClient,
  s: FakeSettings,
  input: ValidateInput,
): Promise<ValidationResult> {
  const checks: Check[] = [];
  const tenant = client.tenant;
  try {
    await client.call("validate.credentials", () => true);
    checks.push({ name: "credentials", ok: true, message: `Connected to FakePSA as ${s.account}.` });
  } catch (e) {
    if (!isPsaError(e)) throw e;
    checks.push({
      name: "credentials",
      ok: false,
      message: `FakePSA did not accept the account: ${e.message}`,
      fix: `Check the account and secret under ${ADMIN} → API access.`,
    });
    return { ok: false, checks };
  }
  if (input.scope === "all" && input.ticketingEnabled) {
    const q = tenant.queues.find((v) => v.id === s.queueId);
    checks.push(
      q?.isActive
        ? { name: "queue", ok: true, message: `Queue "${q.label}" exists.` }
        : {
            name: "queue",
            ok: false,
            message: `Queue ${String(s.queueId)} does not exist or is inactive.`,
            fix: `Create the queue "NOC" under ${ADMIN} → Queues.`,
          },
    );
    for (const row of input.mappings.statuses) checks.push(valueCheck("status", tenant.statuses, row));
    for (const row of input.mappings.priorities) checks.push(valueCheck("priority", tenant.priorities, row));
  }
  if (input.scope === "assets" || input.devicesEnabled) {
    if (input.advanced || s.advanced)
      for (const f of ASSET_CUSTOM_FIELDS) {
        const ok = tenant.customFields.has(f);
        checks.push({
          name: `custom:${f}`,
          ok,
          message: ok ? `Custom field "${f}" exists on assets.` : `Custom field "${f}" is missing on assets.`,
          ...(ok ? {} : { fix: `Create the custom field "${f}" under ${ADMIN} → Assets.` }),
        });
      }
  }
  const clients = clientsToCheck(input, {
    assets: input.scope === "assets" || input.devicesEnabled,
    tickets: input.scope === "all" && input.ticketingEnabled,
  });
  const unmapped = clients.filter((c) => c.psaCompanyId === null);
  if (unmapped.length > 0)
    checks.push({
      name: "companies:unmapped",
      ok: false,
      message: unmappedMessage(unmapped),
      fix: `Map ${unmapped.map((c) => c.code).join(", ")} to FakePSA companies.`,
    });
  for (const c of clients) {
    if (c.psaCompanyId === null) continue;
    const co = tenant.companies.get(c.psaCompanyId);
    checks.push(
      co?.active
        ? { name: `company:${c.code}`, ok: true, message: `Client ${c.code} is mapped to "${co.name}".` }
        : {
            name: `company:${c.code}`,
            ok: false,
            message: `Client ${c.code} is mapped to company ${c.psaCompanyId}, which does not exist or is inactive.`,
            fix: `Map client ${c.code} to an active FakePSA company.`,
          },
    );
  }
  return { ok: checks.every((c) => c.ok), checks };
}

function valueCheck(
  what: "status" | "priority",
  values: Array<{ id: number; label: string; isActive: boolean }>,
  row: { psaId: number; psaLabel: string },
): Check {
  const v = values.find((x) => x.id === row.psaId);
  if (v?.isActive) return { name: `${what}:${row.psaId}`, ok: true, message: `${what} "${v.label}" exists.` };
  return {
    name: `${what}:${row.psaId}`,
    ok: false,
    message: `${what} ${row.psaId} ("${row.psaLabel}") used by the mapping tables does not exist or is inactive.`,
    fix: `Create the ${what} under ${ADMIN}, or change the mapping row.`,
  };
}
