import { type Command, Option } from "commander";
import { textTable } from "../lib/text-table.js";
import type { Services } from "../main.js";
import { SYSTEM_ACTOR } from "../portal/access.js";
import { QUEUE_SYNC_STATES, type QueueFilter, type QueueSyncState } from "../portal/queue.js";

interface QueueOptions {
  partner?: number;
  client?: number;
  status?: number;
  priority?: number;
  syncState?: QueueSyncState;
  search?: string;
  limit: number;
  database?: string;
  json?: boolean;
}

/** What `nocbridge tickets queue` needs of the main command (its options and how it opens the store). */
export interface QueueCommandDeps {
  dbOption(): Option;
  jsonOption(): Option;
  positiveInt(v: string): number;
  withServices(o: { database?: string }, fn: (s: Services) => Promise<void>): Promise<void>;
}

/**
 * `nocbridge tickets queue`: the ticket queue across every partner (the API's GET /api/tickets), as an
 * aligned table naming each ticket by its PSA number, its partner and client, status, priority and
 * sync state, with the count per status under it.
 */
export function registerTicketQueueCommand(tickets: Command, d: QueueCommandDeps): void {
  tickets
    .command("queue")
    .description("the ticket queue across partners, newest change first, with the count per status")
    .addOption(new Option("--partner <id>", "only this partner").argParser(d.positiveInt))
    .addOption(new Option("--client <id>", "only this client").argParser(d.positiveInt))
    .addOption(new Option("--status <id>", "only this portal status id").argParser(d.positiveInt))
    .addOption(new Option("--priority <id>", "only this portal priority id").argParser(d.positiveInt))
    .addOption(new Option("--sync-state <state>", "only this sync state").choices(QUEUE_SYNC_STATES))
    .addOption(new Option("--search <text>", "text in the title, the client, or the PSA ticket number"))
    .addOption(
      new Option("--limit <n>", "at most this many tickets (up to 500)").argParser(d.positiveInt).default(50),
    )
    .addOption(d.dbOption())
    .addOption(d.jsonOption())
    .action(async (o: QueueOptions) =>
      d.withServices(o, async (s) => {
        const filter: QueueFilter = {
          ...(o.partner ? { partnerId: o.partner } : {}),
          ...(o.client ? { clientId: o.client } : {}),
          ...(o.status ? { statusId: o.status } : {}),
          ...(o.priority ? { priorityId: o.priority } : {}),
          ...(o.syncState ? { syncState: o.syncState } : {}),
          ...(o.search ? { search: o.search } : {}),
        };
        const sync = s.sync.queueFilter;
        const [page, counts] = await Promise.all([
          s.portal.queue.list(SYSTEM_ACTOR, { ...filter, limit: Math.min(o.limit, 500) }, sync),
          s.portal.queue.counts(SYSTEM_ACTOR, filter, sync),
        ]);
        const views = await s.sync.ticketViews(page.items.map((t) => t.id));
        const items = page.items.map((t) => ({ ...t, psa: views.get(t.id) }));
        if (o.json) {
          console.log(JSON.stringify({ items, total: page.total, counts }, null, 2));
          return;
        }
        console.log(
          textTable(items, [
            { head: "PSA ticket", value: (t) => t.psa?.ticketNumber },
            { head: "Title", value: (t) => t.title },
            { head: "Partner", value: (t) => t.partnerName },
            { head: "Client", value: (t) => `${t.clientCode} ${t.clientName}` },
            { head: "Status", value: (t) => t.status },
            { head: "Priority", value: (t) => t.priority },
            { head: "Sync", value: (t) => t.psa?.state ?? "not-synced" },
          ]),
        );
        const per = counts.statuses.filter((c) => c.count > 0).map((c) => `${c.status} ${c.count}`);
        const shown = items.length < page.total ? `${items.length} of ${page.total}` : `${page.total}`;
        console.log(`\n${shown} tickets${per.length > 0 ? ` · ${per.join(" · ")}` : ""}`);
      }),
    );
}
