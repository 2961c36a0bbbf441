import type { SecretBox } from "../lib/crypto.js";
import { PsaUrlPolicy } from "../psa/url-policy.js";
import type { PartnerIntegrationRow } from "../store/schema.js";
import { type Actor, requirePartnerRow, SYSTEM_ACTOR } from "./access.js";
import { DEFAULT_ASSET_SCHEDULE } from "./catalog.js";
import { checkCron, isHttpUrl } from "./checks.js";
import type { PortalContext, Q } from "./context.js";
import { bool } from "./convert.js";
import { invalid } from "./errors.js";
import { ticketDefaults, ticketDefaultsView } from "./ticket-defaults.js";
import type { IntegrationInput, IntegrationView } from "./types.js";

const MASK = "********";

export interface IntegrationOptions {
  /**
   * Why a PSA base URL may not be stored (the operator's allow-list), or null when it may. Without
   * it, only Autotask's own hosts are accepted.
   */
  psaUrlRefusal?(url: string): string | null;
}

/**
 * A partner's integration settings: credentials (the secret sealed), the ticketing and device
 * modules' settings. A save writes an integration_events row in its own transaction: that row is how
 * the sync engine learns of it (to reschedule, onboard and set up webhooks).
 */
export class Integration {
  readonly #ctx: PortalContext;
  readonly #box: SecretBox;
  readonly #refusal: (url: string) => string | null;

  constructor(ctx: PortalContext, box: SecretBox, o: IntegrationOptions = {}) {
    this.#ctx = ctx;
    this.#box = box;
    this.#refusal = o.psaUrlRefusal ?? defaultPsaUrlRefusal;
  }

  async get(actor: Actor, partnerId: number): Promise<IntegrationView> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId);
    return toIntegrationView(await this.#row(this.#ctx.k, partnerId));
  }

  async put(actor: Actor, partnerId: number, input: IntegrationInput): Promise<IntegrationView> {
    await requirePartnerRow(this.#ctx.k, actor, partnerId, "integration:write");
    const current = await this.#row(this.#ctx.k, partnerId);
    const t = input.ticketing;
    const d = input.devices;

    let sealed = current.secret_sealed;
    let secretChange: "kept" | "set" | "cleared" = "kept";
    if (t.secret === null || t.secret === "") {
      sealed = null;
      secretChange = "cleared";
    } else if (t.secret !== undefined && t.secret !== MASK) {
      sealed = this.#box.encrypt(t.secret, partnerId);
      secretChange = "set";
    }

    if (t.apiUrl !== "" && !isHttpUrl(t.apiUrl))
      throw invalid("ticketing.apiUrl", "must be an http(s) URL, or empty for Autotask zone discovery");
    if (t.apiUrl.trim() !== "") {
      const why = this.#refusal(t.apiUrl.trim());
      if (why !== null) throw invalid("ticketing.apiUrl", why);
    }
    if (t.enabled || d.enabled) {
      // Both modules talk to Autotask with the same API user, so either one needs the credentials.
      if (t.username.trim() === "")
        throw invalid(
          "ticketing.username",
          "the Autotask API username is required when an integration is enabled",
        );
      if (sealed === null)
        throw invalid(
          "ticketing.secret",
          "the Autotask API secret is required when an integration is enabled",
        );
      if (t.integrationCode.trim() === "")
        throw invalid(
          "ticketing.integrationCode",
          "the Autotask API integration code is required when an integration is enabled",
        );
    }
    if (t.enabled) {
      if (t.queueId === null)
        throw invalid(
          "ticketing.queueId",
          "the NOC queue id is required when the ticketing module is enabled",
        );
      if (t.billingCodeId === null)
        throw invalid(
          "ticketing.billingCodeId",
          "the allocation (billing code) id is required when the ticketing module is enabled",
        );
    }
    if (d.enabled) {
      if (d.productId === null)
        throw invalid("devices.productId", "the product id is required when device integration is enabled");
      if (d.configurationItemTypeId === null)
        throw invalid(
          "devices.configurationItemTypeId",
          "the configuration item type id is required when device integration is enabled",
        );
    }
    const defaults = ticketDefaults(current, t);
    const schedule =
      d.schedule === undefined || d.schedule === null || d.schedule.trim() === "" ? null : d.schedule.trim();
    if (schedule !== null) checkCron("devices.schedule", schedule);

    const onboarding = d.enabled && current.devices_onboarded_at === null;
    const saved = await this.#ctx.k.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable("partner_integrations")
        .set({
          ticketing_enabled: bool(t.enabled),
          noc_may_enter_tickets: bool(t.nocMayEnterTickets),
          system: "autotask",
          api_url: t.apiUrl.trim(),
          username: t.username.trim(),
          secret_sealed: sealed,
          integration_code: t.integrationCode.trim(),
          queue_id: t.queueId,
          queue_name: t.queueName,
          billing_code_id: t.billingCodeId,
          billing_code_name: t.billingCodeName,
          ...defaults,
          devices_enabled: bool(d.enabled),
          product_id: d.productId,
          configuration_item_type_id: d.configurationItemTypeId,
          advanced: bool(d.advanced),
          schedule,
          updated_at: this.#ctx.now(),
          ...(onboarding ? { devices_onboarded_at: this.#ctx.now() } : {}),
        })
        .where("partner_id", "=", partnerId)
        .returningAll()
        .executeTakeFirstOrThrow();
      const view = toIntegrationView(row);
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
    return { view: toIntegrationView(row), secret, timeZone: partner.time_zone };
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
    await q.insertInto("partner_integrations").values(defaultIntegration(partnerId, now)).execute();
  }

  async #row(q: Q, partnerId: number): Promise<PartnerIntegrationRow> {
    const row = await q
      .selectFrom("partner_integrations")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .executeTakeFirst();
    return row ?? defaultIntegration(partnerId, this.#ctx.now());
  }
}

// ---------------------------------------------------------------- row ↔ view

function defaultIntegration(partnerId: number, now: string): PartnerIntegrationRow {
  return {
    partner_id: partnerId,
    ticketing_enabled: 0,
    noc_may_enter_tickets: 0,
    system: "autotask",
    api_url: "",
    username: "",
    secret_sealed: null,
    integration_code: "",
    queue_id: null,
    queue_name: "",
    billing_code_id: null,
    billing_code_name: "",
    devices_enabled: 0,
    product_id: null,
    configuration_item_type_id: null,
    advanced: 0,
    schedule: null,
    updated_at: now,
    devices_onboarded_at: null,
    ticket_category_id: null,
    ticket_type_id: null,
    issue_type_id: null,
    sub_issue_type_id: null,
    source_id: null,
    due_date_offset_hours: null,
    internal_note_publish: 2,
  };
}

function toIntegrationView(r: PartnerIntegrationRow): IntegrationView {
  return {
    ticketing: {
      enabled: r.ticketing_enabled === 1,
      nocMayEnterTickets: r.noc_may_enter_tickets === 1,
      system: "autotask",
      apiUrl: r.api_url,
      username: r.username,
      secret: r.secret_sealed === null ? "" : MASK,
      integrationCode: r.integration_code,
      queueId: r.queue_id,
      queueName: r.queue_name,
      billingCodeId: r.billing_code_id,
      billingCodeName: r.billing_code_name,
      ...ticketDefaultsView(r),
    },
    devices: {
      enabled: r.devices_enabled === 1,
      productId: r.product_id,
      configurationItemTypeId: r.configuration_item_type_id,
      advanced: r.advanced === 1,
      schedule: r.schedule ?? DEFAULT_ASSET_SCHEDULE,
    },
    updatedAt: r.updated_at,
  };
}

const defaultPsaUrlRefusal = (url: string) => PsaUrlPolicy.default.refusal(url);
