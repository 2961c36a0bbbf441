import type { SessionContext, TicketPort } from "../connector.js";
import type { AutotaskApi } from "./api.js";
import type { AutotaskSettings } from "./settings.js";

// PLACEHOLDER: replaced by the tickets work.
export function autotaskTickets(_api: AutotaskApi, _s: AutotaskSettings, _ctx: SessionContext): TicketPort {
  throw new Error("autotaskTickets: not built yet");
}
