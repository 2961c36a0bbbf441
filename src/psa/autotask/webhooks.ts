import type { SessionContext, WebhookPort } from "../connector.js";
import type { AutotaskApi } from "./api.js";
import type { AutotaskSettings } from "./settings.js";

// PLACEHOLDER: replaced by the tickets work.
export function autotaskWebhooks(_api: AutotaskApi, _s: AutotaskSettings, _ctx: SessionContext): WebhookPort {
  throw new Error("autotaskWebhooks: not built yet");
}
