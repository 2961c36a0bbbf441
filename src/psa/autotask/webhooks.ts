import type { SessionContext, WebhookPort } from "../connector.js";
import type { AutotaskApi } from "./api.js";
import type { AutotaskSettings } from "./settings.js";
import { webhookChecks } from "./webhook-checks.js";
import { autotaskWebhookReceiver } from "./webhook-receive.js";
import { AutotaskWebhookRegistrar } from "./webhook-register.js";

/** A partner's Autotask webhooks: registration, deliveries, and their Validate items. */
export function autotaskWebhooks(api: AutotaskApi, s: AutotaskSettings, ctx: SessionContext): WebhookPort {
  const registrar = new AutotaskWebhookRegistrar(api, s, ctx);
  return {
    ...autotaskWebhookReceiver,
    register: (o) => registrar.register(o),
    unregister: (hooks) => registrar.unregister(hooks),
    checks: (state, urlProblem) => webhookChecks(api, state, urlProblem),
  };
}
