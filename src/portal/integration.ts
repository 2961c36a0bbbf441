import type { SecretBox } from "../lib/crypto.js";
import type { ConnectorManifest } from "../psa/connector.js";
import { BUILTIN_MANIFESTS, type ManifestSummary, manifestSummary } from "../psa/manifests.js";
import type { PartnerIntegrationRow } from "../store/schema.js";
import { type Actor, requirePartnerRow, SYSTEM_ACTOR } from "./access.js";
import type { PortalContext, Q } from "./context.js";
import { bool } from "./convert.js";
import {
  defaultIntegrationRow,
  type IntegrationRules,
  integrationView,
  integrationWrite,
} from "./integration-store.js";
import type { IntegrationInput, IntegrationView } from "./types.js";

export interface IntegrationOptions {
  /**
   * Why a PSA base URL may not be stored (the operator's allow-list), or null when it may. Without
   * it, the default policy's hosts are accepted.
   */
  psaUrlRefusal?(url: string): string | null;
  /** The manifests of the PSA connectors this nocbridge runs (default: the built-in ones). */
  manifests?: readonly ConnectorManifest[];
}

/**
 * A partner's integration settings: credentials (the secret sealed), the ticketing and device
 * modules' settings. A save writes an integration_events row in its own transaction: that row is how
 * the sync engine learns of it (to reschedule, onboard and set up webhooks).
 */
export class Integration {
  readonly #ctx: PortalContext;
  readonly #box: SecretBox;
  readonly #rules: IntegrationRules;

  constructor(ctx: PortalContext, box: SecretBox, o: IntegrationOptions = {}) {
    this.#ctx = ctx;
    this.#box = box;
    this.#rules = { manifests: o.manifests ?? BUILTIN_MANIFESTS, psaUrlRefusal: o.psaUrlRefusal };
  }

  /** The PSA systems a partner may choose, with their settings fields (the Setup form). */
  systems(): ManifestSummary[] {
    return this.#rules.manifests.map(manifestSummary);
  }

  async get(actor: Actor, partnerId: number): Promise<IntegrationView> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId);
    return integrationView(await this.#row(this.#ctx.k, partnerId), this.#rules);
  }

  async put(actor: Actor, partnerId: number, input: IntegrationInput): Promise<IntegrationView> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId, "integration:write");
    const current = await this.#row(this.#ctx.k, partnerId);
    const { values, secretChange, onboarding } = integrationWrite(current, input, {
      ...this.#rules,
      seal: (secret) => this.#box.encrypt(secret, partnerId),
      now: this.#ctx.now(),
    });
    const saved = await this.#ctx.k.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable("partner_integrations")
        .set(values)
        .where("partner_id", "=", partnerId)
        .returningAll()
        .executeTakeFirstOrThrow();
      const view = integrationView(row, this.#rules);
      await this.#ctx.audit(trx, actor, partnerId, "integration.update", `partner:${partnerId}/integration`, {
        ticketing: { ...view.ticketing },
        devices: view.devices,
        secret: secretChange,
      });
      await trx
        .insertInto("integration_events")
        .values({ partner_id: partnerId, onboarding: bool(onboarding), created_at: this.#ctx.now() })
        .execute();
      return view;
    });
    this.#ctx.wake("integration", partnerId);
    return saved;
  }

  /**
   * The integration settings with the secret decrypted, for the sync engine only (never an API
   * answer). Not audited: it is the system using the credential, not a person viewing it.
   */
  async forSync(
    partnerId: number,
  ): Promise<{ view: IntegrationView; secret: string | null; timeZone: string }> {
    const partner = await requirePartnerRow(this.#ctx.k, SYSTEM_ACTOR, partnerId);
    const row = await this.#row(this.#ctx.k, partnerId);
    const secret = row.secret_sealed === null ? null : this.#box.decrypt(row.secret_sealed, partnerId);
    return { view: integrationView(row, this.#rules), secret, timeZone: partner.time_zone };
  }

  /**
   * How messages name the partner's PSA ("Autotask") and what its statuses belong to ("service
   * board"; null where they belong to nothing). No access check: the caller has made it.
   */
  async psaNames(partnerId: number): Promise<{ label: string; scope: string | null }> {
    const row = await this.#row(this.#ctx.k, partnerId);
    const m = this.#rules.manifests.find((x) => x.system === row.system);
    return { label: m?.label ?? row.system, scope: m?.statusScope?.label.toLowerCase() ?? null };
  }

  /** The explicit, audited read of the PSA secret (partner admins and NOC admins only). */
  async readSecret(actor: Actor, partnerId: number): Promise<{ secret: string | null }> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId, "secret:read");
    const row = await this.#row(this.#ctx.k, partnerId);
    const secret = row.secret_sealed === null ? null : this.#box.decrypt(row.secret_sealed, partnerId);
    await this.#ctx.audit(
      this.#ctx.k,
      actor,
      partnerId,
      "integration.secret.read",
      `partner:${partnerId}/integration/secret`,
      {},
    );
    return { secret };
  }

  /** A new partner's settings (every module off), in the caller's transaction. */
  async createDefault(q: Q, partnerId: number, now: string): Promise<void> {
    await q
      .insertInto("partner_integrations")
      .values(defaultIntegrationRow(partnerId, now, this.#rules))
      .execute();
  }

  async #row(q: Q, partnerId: number): Promise<PartnerIntegrationRow> {
    const row = await q
      .selectFrom("partner_integrations")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .executeTakeFirst();
    return row ?? defaultIntegrationRow(partnerId, this.#ctx.now(), this.#rules);
  }
}
