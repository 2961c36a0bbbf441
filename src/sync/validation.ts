import { fingerprint } from "../lib/fingerprint.js";
import type { Actor } from "../portal/access.js";
import { PORTAL_STATUSES } from "../portal/catalog.js";
import type { Check, PsaSession, ValidateInput, ValidationResult } from "../psa/connector.js";
import type { Db } from "../store/db.js";
import { type LiveReadCache, VALIDATE_TTL_MS } from "./live-cache.js";
import type { SyncPortal } from "./portal-port.js";
import type { PartnerPsa, PsaSessions } from "./sessions.js";
import { statusRowsInScope } from "./status-scope.js";

/**
 * The ticket sync's own items of the Validate checklist (mapping drift, then webhooks), asked for only
 * when the credentials passed, no budget stop cut the checklist short, and ticketing is on.
 */
export type TicketChecks = (partnerId: number, session: PsaSession) => Promise<Check[]>;

export interface ValidationDeps {
  db: Db;
  portal: SyncPortal;
  sessions: PsaSessions;
  live: LiveReadCache;
  ticketChecks: TicketChecks;
  /** After a checklist whose credentials passed: the clients' stored company names are refreshed. */
  refreshNames?: (partnerId: number, session: PsaSession) => Promise<void>;
}

const MAPPING_TABLES = ["status-forward", "status-reverse", "priority"] as const;

/**
 * The Validate checklist: what the connector checks of the partner's settings against the live PSA,
 * then the ticket sync's items. The Validate button's answer is reused for a short while as long as
 * the credentials and every input of the checklist stay the same (repeated clicks).
 */
export class Validation {
  constructor(private readonly o: ValidationDeps) {}

  /** The Validate button: every enabled module. */
  async validate(actor: Actor, partnerId: number): Promise<ValidationResult> {
    const { portal, live } = this.o;
    await portal.authorize(actor, partnerId, "integration:write");
    const psa = await this.o.sessions.forPartner(partnerId);
    if (!psa.session) return this.#all(partnerId, psa);
    const inputs = fingerprint({
      view: psa.view,
      clients: await portal.clients(partnerId),
      mappings: await Promise.all(MAPPING_TABLES.map((t) => portal.mappings(partnerId, t))),
    });
    return live.get(
      `validate:${partnerId}`,
      `${psa.session.key}:${inputs}`,
      () => this.#all(partnerId, psa),
      VALIDATE_TTL_MS,
    );
  }

  /** The connector's checklist for `scope` (an asset run checks "assets" before it writes). */
  async check(partnerId: number, scope: ValidateInput["scope"], psa: PartnerPsa): Promise<ValidationResult> {
    const { session, view } = psa;
    if (!session)
      return {
        ok: false,
        checks: [
          psa.missing ?? {
            name: "credentials",
            ok: false,
            message: `The ${psa.connector.label} credentials are not all set.`,
          },
        ],
      };
    const { portal } = this.o;
    const clients = await portal.clients(partnerId);
    const [allFwd = [], allRev = [], pri = []] = await Promise.all(
      MAPPING_TABLES.map((t) => portal.mappings(partnerId, t)),
    );
    // Rows of another board (scoped statuses) are not this partner's to check.
    const fwd = statusRowsInScope(allFwd, psa.connector.manifest, view);
    const rev = statusRowsInScope(allRev, psa.connector.manifest, view);
    return session.validate({
      scope,
      ticketingEnabled: view.ticketing.enabled,
      devicesEnabled: view.devices.enabled,
      advanced: view.devices.advanced,
      clients: clients.map((c) => ({
        code: c.code,
        name: c.name,
        psaCompanyId: c.psaCompanyId,
        deviceCount: c.deviceCount,
        ticketCount: c.ticketCount,
      })),
      mappings: {
        statuses: [
          ...fwd.map((m) => ({ table: "forward", psaId: m.psaId, psaLabel: m.psaLabel })),
          ...rev.map((m) => ({ table: "reverse", psaId: m.psaId, psaLabel: m.psaLabel })),
        ],
        priorities: pri.map((m) => ({ psaId: m.psaId, psaLabel: m.psaLabel })),
        coverage: {
          forwardPortalIds: fwd.map((m) => m.portalId),
          reversePsaIds: rev.map((m) => m.psaId),
          priorityPsaIds: pri.map((m) => m.psaId),
          portalStatuses: PORTAL_STATUSES.map((s) => ({ id: s.id, name: s.name })),
        },
      },
      refusals: await this.#openTicketErrors(partnerId),
    });
  }

  async #all(partnerId: number, psa: PartnerPsa): Promise<ValidationResult> {
    const result = await this.check(partnerId, "all", psa);
    // A spent budget stops the checklist: the ticket sync's checks would spend more of it.
    const budgetSpent = result.checks.some((c) => c.name === "budget");
    if (result.checks[0]?.ok && !budgetSpent && psa.view.ticketing.enabled && psa.session) {
      const failed = new Set(result.checks.filter((c) => !c.ok).map((c) => c.name));
      for (const c of await this.o.ticketChecks(partnerId, psa.session))
        if (!repeatsFailed(c.name, failed)) result.checks.push(c);
      result.ok = result.checks.every((c) => c.ok);
    }
    if (result.checks[0]?.ok && !budgetSpent && psa.session && this.o.refreshNames) {
      // A side job: a failure to read the names leaves them as they were and the checklist as it is.
      await this.o.refreshNames(partnerId, psa.session).catch(() => undefined);
    }
    return result;
  }

  /** Errors of tickets still parked or waiting (a create the PSA refused names the field it wants). */
  async #openTicketErrors(partnerId: number): Promise<string[]> {
    const rows = await this.o.db.kysely
      .selectFrom("sync_errors")
      .select("error")
      .where("partner_id", "=", partnerId)
      .where("resolved_at", "is", null)
      .execute();
    return rows.map((r) => r.error);
  }
}

/**
 * Whether a drift item ("drift:status:5", "drift:priority:3") is about a value whose own check
 * ("status:5", "priority:3") already failed: the failed check says it once.
 */
function repeatsFailed(name: string, failed: ReadonlySet<string>): boolean {
  const m = /^drift:([^:]+):(-?\d+)$/.exec(name);
  return m !== null && failed.has(`${m[1] === "priority" ? "priority" : "status"}:${m[2]}`);
}
