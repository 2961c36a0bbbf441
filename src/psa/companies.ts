/**
 * What every connector's company port and Validate share, PSA-neutrally: the order a search answers
 * in, and which clients the Validate checklist looks at (those with devices when assets are checked,
 * those with tickets when ticketing is), named with their counts.
 */
import type { PsaCompany, ValidateInput } from "./connector.js";

/** The most companies one search answers (the Setup picker shows a page of them). */
export const COMPANY_SEARCH_MAX = 10_000;

/** Active first, then by name (case-insensitive), then by id; at most `limit`. */
export function rankCompanies(companies: PsaCompany[], query: string, limit: number): PsaCompany[] {
  const q = query.trim().toLowerCase();
  return companies
    .filter((c) => q === "" || c.name.toLowerCase().includes(q))
    .sort(
      (a, b) =>
        Number(b.active) - Number(a.active) ||
        a.name.localeCompare(b.name, "en", { sensitivity: "base" }) ||
        a.id - b.id,
    )
    .slice(0, Math.max(0, Math.min(limit, COMPANY_SEARCH_MAX)));
}

type ValidateClient = ValidateInput["clients"][number];

/**
 * The clients whose company the checklist checks: with devices when the asset side is checked, with
 * tickets when the ticket side is.
 */
export function clientsToCheck(
  input: ValidateInput,
  o: { assets: boolean; tickets: boolean },
): ValidateClient[] {
  return input.clients.filter(
    (c) => (o.assets && c.deviceCount > 0) || (o.tickets && (c.ticketCount ?? 0) > 0),
  );
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** "AT3 Acme (12 devices, 2 tickets)". */
export function clientLine(c: ValidateClient): string {
  const counts = [plural(c.deviceCount, "device"), plural(c.ticketCount ?? 0, "ticket")];
  return `${c.code} ${c.name} (${counts.join(", ")})`;
}

/** "Clients without a company: AT3 Acme (12 devices, 2 tickets); AT4 Birch (0 devices, 1 ticket)." */
export function unmappedMessage(clients: ValidateClient[]): string {
  return `Clients without a company: ${clients.map(clientLine).join("; ")}.`;
}
