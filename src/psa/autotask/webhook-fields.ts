/**
 * Ticket fields the TicketWebhook subscribes to, each with the names its webhook field may carry.
 * The `fieldID` picklist of TicketWebhookFields labels fields by a display name that is not always
 * the REST field name (docs/emulator.md, "Webhook permissions, limits, field labels and HTTPS"); no
 * public source documents the numeric ids, so they are matched by these names, case, spaces and
 * punctuation ignored.
 */
export const TICKET_WEBHOOK_FIELDS: Record<string, string[]> = {
  status: ["status", "ticket status"],
  priority: ["priority", "ticket priority"],
  queueID: ["queueID", "queue", "queue id", "ticket queue"],
  title: ["title", "ticket title"],
  description: ["description", "ticket description"],
  configurationItemID: [
    "configurationItemID",
    "configuration item",
    "configuration item id",
    "installedProductID",
    "installed product",
    "asset",
  ],
};
/** TicketNote fields; ticketID is sent always, so a note event names its ticket. */
export const NOTE_WEBHOOK_FIELDS: Record<string, string[]> = {
  title: ["title", "note title"],
  description: ["description", "note description"],
  publish: ["publish", "publish to", "visibility"],
};
export const NOTE_ALWAYS_FIELDS: Record<string, string[]> = { ticketID: ["ticketID", "ticket", "ticket id"] };

/** A field label as it is compared: lower case, letters and digits only. */
export const normLabel = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");

/** The webhook field id for a wanted field: by any of its known names, case/space-insensitively. */
export function matchWebhookField(labels: Map<string, number>, names: string[]): number | undefined {
  for (const n of names) {
    const id = labels.get(normLabel(n));
    if (id !== undefined) return id;
  }
  return undefined;
}
