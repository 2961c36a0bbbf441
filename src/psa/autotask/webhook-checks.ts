import type { Check, WebhookStatus } from "../connector.js";
import { isPsaError } from "../errors.js";
import type { AutotaskApi } from "./api.js";

/** How a partner admin lets the API user create webhooks (the path public set-up guides give). */
export const GRANT_WEBHOOKS =
  'In Autotask: Admin > Account Settings & Users > Resources/Users (HR) > Security > Security Levels > the API user\'s security level > Other > check "Can create WebHooks" and set its maximum number of webhooks to at least 2 (one for tickets, one for ticket notes); then save the settings here again.';

/**
 * The Validate checklist's webhook items: can Autotask reach us (https on port 443), may the API user
 * create webhooks, and what the last registration did. The permission is read from
 * TicketWebhooks/entityInformation (userAccessForCreate); whether the real API reflects the security
 * level there is unconfirmed, so a missing or unknown value falls back to the last registration.
 */
export async function webhookChecks(
  api: AutotaskApi,
  state: WebhookStatus,
  urlProblem: string | null,
): Promise<Check[]> {
  const checks: Check[] = [];
  const polling = `Polling only, every ${state.pollIntervalMinutes} minutes`;
  if (urlProblem)
    checks.push({
      name: "webhooks:url",
      ok: false,
      message: `${polling}, because ${urlProblem}.`,
      fix: "Serve nocbridge at an https URL on port 443 (NOCBRIDGE_TLS_CERT/NOCBRIDGE_TLS_KEY, or a TLS reverse proxy) and set NOCBRIDGE_PUBLIC_URL to it.",
    });
  try {
    const info = await api.entityInformation("TicketWebhooks");
    const access = String(info.userAccessForCreate ?? "");
    if (/^(none|false|no)$/i.test(access))
      checks.push({
        name: "webhooks:permission",
        ok: false,
        message: `The API user may not create webhooks: ${polling.toLowerCase()}.`,
        fix: GRANT_WEBHOOKS,
      });
    else if (access !== "")
      checks.push({ name: "webhooks:permission", ok: true, message: "The API user may create webhooks." });
  } catch (e) {
    const why = isPsaError(e) ? `Autotask answered ${e.status ?? e.code}` : "no answer";
    checks.push({
      name: "webhooks:permission",
      ok: false,
      message: `Could not read whether the API user may create webhooks (${why}).`,
      fix: GRANT_WEBHOOKS,
    });
  }
  if (state.mode === "polling" && !urlProblem && state.reason)
    checks.push({
      name: "webhooks:registration",
      ok: false,
      message: `${polling}, because ${state.reason}.`,
      fix: GRANT_WEBHOOKS,
    });
  else if (state.mode === "webhooks")
    checks.push({
      name: "webhooks:registration",
      ok: true,
      message: `Webhooks registered (${state.webhooks.map((w) => `${w.entity} ${w.psaWebhookId}`).join(", ")}).`,
    });
  if (state.unsubscribedFields.length > 0)
    checks.push({
      name: "webhooks:fields",
      ok: false,
      message: `Autotask would not subscribe these webhook fields (polling covers them): ${state.unsubscribedFields.join("; ")}.`,
    });
  return checks;
}
