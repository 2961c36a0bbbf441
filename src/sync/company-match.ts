/**
 * Matching portal clients to PSA companies by name (auto-match): an exact name first, then the same
 * name normalised — case, accents, punctuation, "&"/"and", whitespace and legal suffixes (Inc, LLC,
 * Ltd, GmbH …) set aside. A name that fits several companies, or a company that fits several
 * clients, is left for a person to pick.
 */
import type { PsaCompany } from "../psa/connector.js";

export type MatchKind = "exact" | "normalised";

export interface MatchResult {
  kind: MatchKind | "ambiguous" | "none";
  /** The company (exact, normalised) or the companies that fit equally (ambiguous). */
  candidates: PsaCompany[];
}

/** Legal forms dropped from the end (and "the" from the start) of a normalised name. */
const LEGAL_SUFFIXES = new Set([
  "inc",
  "incorporated",
  "llc",
  "llp",
  "lp",
  "ltd",
  "limited",
  "plc",
  "corp",
  "corporation",
  "co",
  "company",
  "gmbh",
  "ag",
  "kg",
  "ug",
  "sa",
  "sas",
  "sarl",
  "srl",
  "spa",
  "bv",
  "nv",
  "oy",
  "ab",
  "as",
  "aps",
  "pty",
  "pvt",
  "pte",
  "kk",
]);

/** "Acme Dental Group, Inc." → "acme dental group"; "The Birch & Co. GmbH" → "birch". */
export function normaliseName(name: string): string {
  const words = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/&/g, " and ")
    // "L.L.C." and "S.A.": dots inside an abbreviation join its letters.
    .replace(/\b((?:[a-z]\.){2,})/g, (m) => m.replace(/\./g, ""))
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim()
    .split(" ")
    .filter((w) => w !== "");
  if (words[0] === "the" && words.length > 1) words.shift();
  while (words.length > 1 && LEGAL_SUFFIXES.has(words[words.length - 1] as string)) words.pop();
  // "and co" left behind by "& Co." at the end.
  if (words.length > 1 && words[words.length - 1] === "and") words.pop();
  return words.join(" ");
}

/**
 * For each client, its match among the companies. A company that is the (only) match of more than one
 * client is ambiguous for all of them.
 */
export function matchCompanies(
  clients: Array<{ id: number; name: string }>,
  companies: PsaCompany[],
): Map<number, MatchResult> {
  const exact = new Map<string, PsaCompany[]>();
  const normal = new Map<string, PsaCompany[]>();
  for (const c of companies) {
    const e = c.name.trim();
    exact.set(e, [...(exact.get(e) ?? []), c]);
    const n = normaliseName(c.name);
    if (n !== "") normal.set(n, [...(normal.get(n) ?? []), c]);
  }
  const out = new Map<number, MatchResult>();
  for (const client of clients) {
    const byExact = exact.get(client.name.trim()) ?? [];
    const n = normaliseName(client.name);
    const byNormal = n === "" ? [] : (normal.get(n) ?? []);
    const [list, kind] = byExact.length > 0 ? [byExact, "exact" as const] : [byNormal, "normalised" as const];
    out.set(
      client.id,
      list.length === 0
        ? { kind: "none", candidates: [] }
        : list.length === 1
          ? { kind, candidates: list }
          : { kind: "ambiguous", candidates: list },
    );
  }
  // One company proposed for several clients: none of them gets it.
  const claims = new Map<number, number[]>();
  for (const [clientId, r] of out)
    if (r.kind === "exact" || r.kind === "normalised") {
      const id = (r.candidates[0] as PsaCompany).id;
      claims.set(id, [...(claims.get(id) ?? []), clientId]);
    }
  for (const clientIds of claims.values())
    if (clientIds.length > 1)
      for (const clientId of clientIds) {
        const r = out.get(clientId) as MatchResult;
        out.set(clientId, { kind: "ambiguous", candidates: r.candidates });
      }
  return out;
}
