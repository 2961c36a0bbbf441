import { randomBytes } from "node:crypto";
import type { Clock } from "../../lib/clock.js";
import type { SecretBox } from "../../lib/crypto.js";
import type { Logger } from "../../lib/logger.js";
import type { PsaSession, WebhookStatus } from "../../psa/connector.js";
import type { Db } from "../../store/db.js";

/** How many minutes between polls, shown with "Polling only". */
export const DEFAULT_POLL_MINUTES = 5;

/** What nocbridge knows about a partner's webhooks: shown on the Setup and Sync pages and in Validate. */
export type WebhookState = WebhookStatus;
type WebhookMode = WebhookState["mode"];

/**
 * The engine's record of a partner's webhooks: which the PSA holds for it (with the secret they
 * sign with, sealed) and how the last registration went. The connector registers and repairs them
 * in the PSA; a refusal is recorded as "polling only" with its reason, never thrown.
 */
export class WebhookRegistrations {
  constructor(
    private readonly o: {
      db: Db;
      box: SecretBox;
      clock: Clock;
      logger: Logger;
      /** Base URL the PSA calls (NOCBRIDGE_PUBLIC_URL, else the server's listen address). */
      publicUrl(): string | undefined;
      /** NOCBRIDGE_ALLOW_HTTP_WEBHOOKS: register at a URL the PSA's rule would refuse (a local test). */
      allowHttp: boolean;
      pollIntervalMinutes?: number | undefined;
    },
  ) {}

  get #k() {
    return this.o.db.kysely;
  }

  /** Where the PSA delivers a partner's webhooks, or null without a public URL. */
  urlFor(system: string, partnerId: number): string | null {
    const base = this.o.publicUrl();
    return base ? `${base.replace(/\/+$/, "")}/webhooks/${system}/${partnerId}` : null;
  }

  /** Why the PSA cannot deliver to our public URL, or null. */
  urlProblem(session: PsaSession): string | null {
    return session.webhooks.urlProblem(this.o.publicUrl(), this.o.allowHttp);
  }

  /** Registers or repairs the partner's webhooks; a refusal is recorded as "polling only", never thrown. */
  async register(partnerId: number, session: PsaSession): Promise<WebhookState> {
    const { system } = session;
    const url = this.urlFor(system, partnerId);
    const problem = this.urlProblem(session);
    if (problem || !url) return this.#save(partnerId, system, "polling", problem, url, []);
    const stored = await this.#k
      .selectFrom("psa_webhooks")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .execute();
    // One secret for both webhooks: the one on record, else a new one (43 characters, base64url).
    const secret = stored[0]
      ? this.o.box.decrypt(stored[0].secret_sealed, partnerId, "webhook-secret")
      : randomBytes(32).toString("base64url");
    const out = await session.webhooks.register({
      partnerId,
      url,
      secret,
      known: stored.map((r) => ({ entity: r.entity, id: r.psa_webhook_id })),
    });
    for (const h of out.hooks) await this.#record(partnerId, h.entity, h.id, secret);
    if (out.unsubscribed.length > 0)
      this.o.logger.warn(
        { partnerId, unsubscribed: out.unsubscribed },
        "some webhook fields could not be subscribed",
      );
    if (out.failures.length > 0) {
      const reason = `${session.label} did not accept the webhook registration — ${out.failures.join("; ")}`;
      this.o.logger.warn({ partnerId, reason }, "webhook registration failed; polling only");
      return this.#save(partnerId, system, "polling", reason, url, out.unsubscribed);
    }
    return this.#save(partnerId, system, "webhooks", null, url, out.unsubscribed);
  }

  /** Removes the partner's webhooks from the PSA (when a session can) and forgets them (ticketing turned off). */
  async unregister(partnerId: number, system: string, session: PsaSession | null): Promise<void> {
    const rows = await this.#k
      .selectFrom("psa_webhooks")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .execute();
    if (session && rows.length > 0) {
      const failed = await session.webhooks.unregister(
        rows.map((r) => ({ entity: r.entity, id: r.psa_webhook_id })),
      );
      for (const failure of failed)
        this.o.logger.warn({ partnerId, failure }, `could not delete a webhook in ${session.label}`);
    }
    await this.#k.deleteFrom("psa_webhooks").where("partner_id", "=", partnerId).execute();
    await this.#save(partnerId, system, "off", null, this.urlFor(system, partnerId), []);
  }

  async registered(partnerId: number): Promise<Array<{ entity: string; psaWebhookId: number }>> {
    const rows = await this.#k
      .selectFrom("psa_webhooks")
      .select(["entity", "psa_webhook_id"])
      .where("partner_id", "=", partnerId)
      .execute();
    return rows.map((r) => ({ entity: r.entity, psaWebhookId: r.psa_webhook_id }));
  }

  /** The secrets the partner's deliveries may be signed with. */
  async secrets(partnerId: number): Promise<string[]> {
    const rows = await this.#k
      .selectFrom("psa_webhooks")
      .select("secret_sealed")
      .where("partner_id", "=", partnerId)
      .execute();
    return rows.map((r) => this.o.box.decrypt(r.secret_sealed, partnerId, "webhook-secret"));
  }

  async state(partnerId: number, system: string, ticketingEnabled: boolean): Promise<WebhookState> {
    const row = await this.#k
      .selectFrom("psa_webhook_status")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .executeTakeFirst();
    const hooks = await this.#k
      .selectFrom("psa_webhooks")
      .select(["entity", "psa_webhook_id"])
      .where("partner_id", "=", partnerId)
      .orderBy("entity")
      .execute();
    const minutes = this.o.pollIntervalMinutes ?? DEFAULT_POLL_MINUTES;
    const webhooks = hooks.map((h) => ({ entity: h.entity, psaWebhookId: h.psa_webhook_id }));
    if (!ticketingEnabled || !row)
      return {
        mode: ticketingEnabled ? "polling" : "off",
        reason: ticketingEnabled ? "the webhooks have not been registered yet" : null,
        url: this.urlFor(system, partnerId),
        webhooks,
        unsubscribedFields: [],
        pollIntervalMinutes: minutes,
        checkedAt: row?.checked_at ?? null,
      };
    return {
      mode: row.mode as WebhookMode,
      reason: row.reason,
      url: row.url,
      webhooks,
      unsubscribedFields: JSON.parse(row.unsubscribed_fields) as string[],
      pollIntervalMinutes: minutes,
      checkedAt: row.checked_at,
    };
  }

  async #save(
    partnerId: number,
    system: string,
    mode: WebhookMode,
    reason: string | null,
    url: string | null,
    unsubscribed: string[],
  ): Promise<WebhookState> {
    const at = this.o.clock.now().toISOString();
    const values = { mode, reason, url, unsubscribed_fields: JSON.stringify(unsubscribed), checked_at: at };
    await this.#k
      .insertInto("psa_webhook_status")
      .values({ partner_id: partnerId, ...values })
      .onConflict((oc) => oc.column("partner_id").doUpdateSet(values))
      .execute();
    return this.state(partnerId, system, mode !== "off");
  }

  async #record(partnerId: number, entity: string, id: number, secret: string): Promise<void> {
    const sealed = this.o.box.encrypt(secret, partnerId, "webhook-secret");
    const at = this.o.clock.now().toISOString();
    await this.#k
      .insertInto("psa_webhooks")
      .values({ partner_id: partnerId, entity, psa_webhook_id: id, secret_sealed: sealed, created_at: at })
      .onConflict((oc) =>
        oc.columns(["partner_id", "entity"]).doUpdateSet({ psa_webhook_id: id, secret_sealed: sealed }),
      )
      .execute();
  }
}
