/**
 * The partner's PSA companies as the portal needs them (issue 15, "companies matched by name"): the
 * Setup picker's search, the check that a client's company exists before it is saved (and its name,
 * kept on the client), auto-match proposals by name, and the names Validate refreshes. PSA-neutral:
 * it speaks the seam's CompanyPort only.
 */
import type { Actor } from "../portal/access.js";
import { conflict, notFound, PortalError, unavailable } from "../portal/errors.js";
import { COMPANY_SEARCH_MAX } from "../psa/companies.js";
import { isPsaError, type PsaCompany, type PsaSession } from "../psa/connector.js";
import { type MatchKind, matchCompanies } from "./company-match.js";
import type { SyncPortal } from "./portal-port.js";
import type { PartnerPsa, PsaSessions } from "./sessions.js";

export type { MatchKind } from "./company-match.js";

export interface CompanySearch {
  psaLabel: string;
  items: PsaCompany[];
}

export interface MatchProposal {
  clientId: number;
  clientCode: string;
  clientName: string;
  companyId: number;
  companyName: string;
  kind: MatchKind;
}

export interface Unmatched {
  clientId: number;
  clientCode: string;
  clientName: string;
  /** none: no company has the name; ambiguous: several do (or one matches several clients). */
  reason: "none" | "ambiguous";
  candidates: PsaCompany[];
}

export interface AutoMatch {
  psaLabel: string;
  proposals: MatchProposal[];
  unmatched: Unmatched[];
}

/** Failures that mean "not now" (no answer, a limit, a spent budget): 503 with a wait. */
const TRANSIENT = new Set([
  "RATE_LIMITED",
  "THREAD_LIMIT",
  "BUDGET_EXHAUSTED",
  "SERVER",
  "NETWORK",
  "TIMEOUT",
]);
const DEFAULT_WAIT_S = 30;

export class CompanyDirectory {
  constructor(private readonly o: { portal: SyncPortal; sessions: PsaSessions }) {}

  /** Companies whose name contains `query`, for who may change the integration. */
  async search(actor: Actor, partnerId: number, query: string, limit: number): Promise<CompanySearch> {
    await this.o.portal.authorize(actor, partnerId, "integration:write");
    const psa = await this.#open(partnerId);
    const items = await this.#call(psa, "search its companies", (port) => port.search(query, limit));
    return { psaLabel: psa.connector.label, items };
  }

  /** The companies with these ids that exist (names for ids stored without one). */
  async byIds(actor: Actor, partnerId: number, ids: number[]): Promise<CompanySearch> {
    await this.o.portal.authorize(actor, partnerId, "integration:write");
    const psa = await this.#open(partnerId);
    const items = await this.#call(psa, "read its companies", (port) => port.byIds(ids));
    return { psaLabel: psa.connector.label, items };
  }

  /**
   * Before a client's company is saved: the company's name when the partner's PSA has it; a 400
   * naming the client and the id when it does not; 503 (or 409 for a settings problem) when the PSA
   * cannot answer, so that no unchecked id is saved. Null (saved unchecked) only when the
   * integration is not configured (no credentials) or its connector offers no company look-up.
   */
  async check(
    actor: Actor,
    partnerId: number,
    clientCode: string,
    companyId: number,
  ): Promise<string | null> {
    await this.o.portal.authorize(actor, partnerId, "data:write");
    const psa = await this.o.sessions.forPartner(partnerId);
    const port = psa.session?.companies;
    if (!port) return null;
    const label = psa.connector.label;
    const found = await this.#call(
      psa,
      `check company ${companyId} for client ${clientCode}`,
      () => port.byIds([companyId]),
      "; nothing was saved",
    );
    const company = found.find((c) => c.id === companyId);
    if (!company)
      throw new PortalError(
        "INVALID",
        400,
        `Client ${clientCode}: ${label} has no company ${companyId}`,
        "psaCompanyId",
      );
    return company.name;
  }

  /** Proposals by name for every client without a company; nothing is saved. */
  async autoMatch(actor: Actor, partnerId: number): Promise<AutoMatch> {
    await this.o.portal.authorize(actor, partnerId, "integration:write");
    const psa = await this.#open(partnerId);
    const companies = await this.#call(psa, "read its companies", (port) =>
      port.search("", COMPANY_SEARCH_MAX),
    );
    const clients = await this.o.portal.clients(partnerId);
    const taken = new Set(clients.flatMap((c) => (c.psaCompanyId === null ? [] : [c.psaCompanyId])));
    const open = clients.filter((c) => c.psaCompanyId === null);
    const result = matchCompanies(
      open.map((c) => ({ id: c.id, name: c.name })),
      companies.filter((c) => c.active && !taken.has(c.id)),
    );
    const proposals: MatchProposal[] = [];
    const unmatched: Unmatched[] = [];
    for (const c of open) {
      const r = result.get(c.id);
      if (r?.kind === "exact" || r?.kind === "normalised") {
        const co = r.candidates[0] as PsaCompany;
        proposals.push({
          clientId: c.id,
          clientCode: c.code,
          clientName: c.name,
          companyId: co.id,
          companyName: co.name,
          kind: r.kind,
        });
      } else
        unmatched.push({
          clientId: c.id,
          clientCode: c.code,
          clientName: c.name,
          reason: r?.kind === "ambiguous" ? "ambiguous" : "none",
          candidates: r?.candidates ?? [],
        });
    }
    return { psaLabel: psa.connector.label, proposals, unmatched };
  }

  /**
   * Validate's side job: the stored company names of the partner's clients, as the PSA has them now.
   * A client whose company is gone keeps the name it had (Validate reports the company).
   */
  async refreshNames(partnerId: number, session: PsaSession): Promise<void> {
    const port = session.companies;
    if (!port) return;
    const clients = (await this.o.portal.clients(partnerId)).filter((c) => c.psaCompanyId !== null);
    if (clients.length === 0) return;
    const names = new Map(
      (await port.byIds(clients.map((c) => c.psaCompanyId as number))).map((c) => [c.id, c.name]),
    );
    const changed = clients.flatMap((c) => {
      const name = names.get(c.psaCompanyId as number);
      return name !== undefined && name !== c.psaCompanyName
        ? [{ clientId: c.id, companyId: c.psaCompanyId as number, name }]
        : [];
    });
    if (changed.length > 0) await this.o.portal.setCompanyNames(partnerId, changed);
  }

  async #open(partnerId: number): Promise<PartnerPsa & { session: PsaSession }> {
    const psa = await this.o.sessions.forPartner(partnerId);
    if (!psa.session) {
      const why = psa.missing?.message ?? `The ${psa.connector.label} credentials are not all set.`;
      throw conflict(`${psa.connector.label} companies cannot be read: ${why}`);
    }
    if (!psa.session.companies) throw notFound(`${psa.connector.label} company look-up`);
    return psa as PartnerPsa & { session: PsaSession };
  }

  /** A PSA call whose failure is answered in the portal's words: 503 when it may pass, else 409. */
  async #call<T>(
    psa: PartnerPsa,
    what: string,
    fn: (port: NonNullable<PsaSession["companies"]>) => Promise<T>,
    tail = "",
  ): Promise<T> {
    const label = psa.connector.label;
    try {
      return await fn(psa.session?.companies as NonNullable<PsaSession["companies"]>);
    } catch (e) {
      if (!isPsaError(e)) throw e;
      const text = `${label} could not be asked to ${what}: ${e.message}${tail}`;
      if (TRANSIENT.has(e.code))
        throw unavailable(`${text}. Try again shortly.`, (e.retryAfterMs ?? DEFAULT_WAIT_S * 1000) / 1000);
      throw conflict(`${text}. Check the ${label} settings (Setup, Validate).`);
    }
  }
}
