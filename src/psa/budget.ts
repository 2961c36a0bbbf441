/**
 * Shares of a tenant's hourly API threshold and who may use them. Autotask counts every request of
 * every integration against one hourly threshold per database and refuses past it; ticket sync is
 * what the partner notices first, so the other traffic stops earlier and leaves it room:
 *
 * - past `slowdown`, each request is delayed a little more (Autotask itself slows requests past 50 %);
 * - asset syncs, the settings pick-lists and Validate stop at `reads`;
 * - ticket sync may go on up to `tickets`, then waits for the hour's window to move on.
 *
 * Ticket traffic is marked by running it inside `asTicketTraffic`: the client reads the mark from
 * the async context, so the same per-partner client serves every kind of traffic.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export const BUDGET_SHARES = Object.freeze({ slowdown: 0.5, reads: 0.7, tickets: 0.95 });

export type BudgetLane = "tickets" | "other";

const lane = new AsyncLocalStorage<BudgetLane>();

/** Runs `fn` as ticket-sync traffic: its PSA requests may use the budget up to BUDGET_SHARES.tickets. */
export function asTicketTraffic<T>(fn: () => Promise<T>): Promise<T> {
  return lane.run("tickets", fn);
}

export function currentBudgetLane(): BudgetLane {
  return lane.getStore() ?? "other";
}

/** How long ticket sync waits before trying again when the budget is spent and the PSA named no time. */
export const BUDGET_WAIT_MS = 5 * 60_000;

const figure = (n: number) => n.toLocaleString("en-US");

/** "API budget: 8,012 of 10,000 requests used this hour" (the figures a partner can check in Autotask). */
export function budgetFigures(used: number, threshold: number, timeframeMinutes = 60): string {
  const span = timeframeMinutes === 60 ? "this hour" : `in the last ${timeframeMinutes} minutes`;
  return `API budget: ${figure(used)} of ${figure(threshold)} requests used ${span}`;
}
