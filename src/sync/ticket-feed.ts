import { createHmac, timingSafeEqual } from "node:crypto";
import type { Clock } from "../lib/clock.js";
import type { SecretBox } from "../lib/crypto.js";
import type { Logger } from "../lib/logger.js";
import { nulField } from "../lib/nul.js";
import { SYSTEM_ACTOR } from "../portal/access.js";
import type { Portal } from "../portal/service.js";
import type { IntegrationView } from "../portal/types.js";
import { type AutotaskApi, queryAll } from "../psa/autotask/api.js";
import type { Ticket as AtTicket, QueryCondition } from "../psa/autotask/types.js";
import type { Db } from "../store/db.js";
import type { TicketSync } from "./tickets.js";
import { WebhookRegistrar, type WebhookState } from "./webhook-registration.js";

export interface FeedDeps {
  db: Db;
  portal: Portal;
  box: SecretBox;
  clock: Clock;
  logger: Logger;
  tickets: TicketSync;
  /** Base URL Autotask calls (NOCBRIDGE_PUBLIC_URL, else the server's listen address). */
  publicUrl(): string | undefined;
  /** Look-back added to the poll cursor, ms (default 2 minutes): rows with an equal timestamp are not missed. */
  pollOverlapMs?: number;
  /** NOCBRIDGE_ALLOW_HTTP_WEBHOOKS: register webhooks at a URL that is not https on port 443. */
  allowHttpWebhooks?: boolean;
  /** The poll interval, minutes (shown with "Polling only"). */
  pollIntervalMinutes?: number;
}

export type ReceiveResult =
  | { status: 200; duplicate: boolean }
  | { status: 400 | 401; error: string; field?: string };

/** Largest id the inbox stores (a 32-bit integer column). */
const MAX_ID = 2_147_483_647;
const ID_RULE = `must be a whole number from 1 to ${MAX_ID}`;

/** An Autotask id from a webhook payload (a JSON number or a numeric string), or null when it is not one. */
function webhookId(value: unknown): number | null {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^\d+$/.test(value)
        ? Number(value)
        : NaN;
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_ID ? n : null;
}

/**
 * How Autotask changes reach the inbox: webhooks (the fast path, registered per partner with a
 * per-partner secret and our API user excluded) and polling (the safety net that catches what a
 * webhook lost). Both only enqueue "look at ticket X"; processing re-reads the ticket from Autotask.
 */
export class TicketFeed {
  readonly #d: FeedDeps;
  readonly registrar: WebhookRegistrar;

  constructor(deps: FeedDeps) {
    this.#d = deps;
    this.registrar = new WebhookRegistrar({
      db: deps.db,
      box: deps.box,
      clock: deps.clock,
      logger: deps.logger,
      publicUrl: deps.publicUrl,
      allowHttp: deps.allowHttpWebhooks === true,
      ...(deps.pollIntervalMinutes !== undefined ? { pollIntervalMinutes: deps.pollIntervalMinutes } : {}),
    });
  }

  get #k() {
    return this.#d.db.kysely;
  }

  // ---------------------------------------------------------------- webhooks: registration

  /** Registers or repairs the partner's webhooks; a refusal is recorded as "polling only", never thrown. */
  async register(partnerId: number, api: AutotaskApi, view: IntegrationView): Promise<WebhookState> {
    return this.registrar.register(partnerId, api, view);
  }

  /** Removes the partner's webhooks from Autotask and forgets them (ticketing turned off). */
  async unregister(partnerId: number, api: AutotaskApi | null): Promise<void> {
    await this.registrar.unregister(partnerId, api);
  }

  async registered(partnerId: number): Promise<Array<{ entity: string; psaWebhookId: number }>> {
    const rows = await this.#k
      .selectFrom("psa_webhooks")
      .select(["entity", "psa_webhook_id"])
      .where("partner_id", "=", partnerId)
      .execute();
    return rows.map((r) => ({ entity: r.entity, psaWebhookId: r.psa_webhook_id }));
  }

  // ---------------------------------------------------------------- webhooks: receiving

  /**
   * A delivery to POST /webhooks/autotask/:partnerId: the signature is checked over the exact bytes
   * before anything is parsed (docs/autotask.md, Signature: `X-Hook-Signature: sha1=<base64 HMAC-SHA1>`),
   * then the event is stored in the inbox, deduplicated by Guid + Id + SequenceNumber. Nothing is stored for
   * a bad signature or bad JSON.
   */
  async receive(partnerId: number, raw: Buffer, signature: string | undefined): Promise<ReceiveResult> {
    if (!signature) return { status: 401, error: "missing X-Hook-Signature" };
    const rows = await this.#k
      .selectFrom("psa_webhooks")
      .select("secret_sealed")
      .where("partner_id", "=", partnerId)
      .execute();
    const given = Buffer.from(signature.replace(/^sha1=/i, "").trim(), "base64");
    const ok = rows.some((r) => {
      const expected = createHmac("sha1", this.#d.box.decrypt(r.secret_sealed, partnerId, "webhook-secret"))
        .update(raw)
        .digest();
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
    if (!ok) return { status: 401, error: "invalid X-Hook-Signature" };
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
      if (body === null || typeof body !== "object" || Array.isArray(body)) throw new Error("not an object");
    } catch {
      return { status: 400, error: "the body is not a JSON object" };
    }
    // PostgreSQL cannot store U+0000 in text, and SQLite would keep it: refuse it in any field.
    const nul = nulField(body, "");
    if (nul !== null) return { status: 400, error: `${nul}: must not contain a NUL character`, field: nul };
    const entity = String(body.EntityType ?? "");
    if (body.Action === "Deactivated") {
      this.#d.logger.warn(
        { partnerId, guid: body.Guid },
        "Autotask deactivated a webhook; polling continues",
      );
      return { status: 200, duplicate: false };
    }
    if (entity !== "Ticket" && entity !== "TicketNote")
      return { status: 400, error: "EntityType: expected Ticket or TicketNote", field: "EntityType" };
    const id = webhookId(body.Id);
    if (id === null) return { status: 400, error: `Id: ${ID_RULE}`, field: "Id" };
    const fields = (body.Fields ?? {}) as Record<string, unknown>;
    const ticketKey = "ticketID" in fields ? "ticketID" : "TicketID";
    const rawTicket = fields[ticketKey];
    const noteTicket = rawTicket === undefined || rawTicket === null ? null : webhookId(rawTicket);
    if (entity === "TicketNote" && rawTicket !== undefined && rawTicket !== null && noteTicket === null)
      return { status: 400, error: `Fields.${ticketKey}: ${ID_RULE}`, field: `Fields.${ticketKey}` };
    const inserted = await this.#d.tickets.enqueue(partnerId, {
      source: "webhook",
      dedupKey: `wh:${String(body.Guid)}:${id}:${String(body.SequenceNumber)}`,
      entityType: entity,
      psaId: id,
      psaTicketId: entity === "Ticket" ? id : noteTicket,
    });
    return { status: 200, duplicate: !inserted };
  }

  // ---------------------------------------------------------------- polling

  /**
   * The safety net: NOC-queue tickets (and linked tickets, to see them leave the queue) with
   * lastActivityDate at or after the cursor minus an overlap go to the inbox. The cursor is saved
   * after the inbox rows it covers.
   */
  async poll(partnerId: number, api: AutotaskApi, view: IntegrationView): Promise<number> {
    const now = this.#d.clock.now();
    const cursor = await this.#k
      .selectFrom("sync_cursors")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .where("stream", "=", "tickets")
      .executeTakeFirst();
    const from = cursor
      ? new Date(Date.parse(cursor.value) - (this.#d.pollOverlapMs ?? 120_000))
      : new Date(now.getTime() - 7 * 86_400_000);
    const linked = await this.#k
      .selectFrom("ticket_links")
      .select("psa_ticket_id")
      .where("partner_id", "=", partnerId)
      .where("state", "!=", "creating")
      .orderBy("synced_at", "desc")
      .limit(400)
      .execute();
    const scope: QueryCondition =
      linked.length > 0
        ? {
            op: "or",
            items: [
              { op: "eq", field: "queueID", value: view.ticketing.queueId },
              { op: "in", field: "id", value: linked.map((l) => l.psa_ticket_id) },
            ],
          }
        : { op: "eq", field: "queueID", value: view.ticketing.queueId };
    const rows = await queryAll<AtTicket>(api, "Tickets", {
      filter: [{ op: "gte", field: "lastActivityDate", value: from.toISOString() }, scope],
      includeFields: ["id", "lastActivityDate"],
    });
    let newest = cursor?.value ?? from.toISOString();
    for (const r of rows) {
      const at = String(r.lastActivityDate ?? "");
      await this.#d.tickets.enqueue(partnerId, {
        source: "poll",
        dedupKey: `poll:${r.id}:${at}`,
        entityType: "Ticket",
        psaId: r.id,
        psaTicketId: r.id,
      });
      if (at > newest) newest = at;
    }
    const stamp = now.toISOString();
    if (cursor) {
      await this.#k
        .updateTable("sync_cursors")
        .set({ value: newest, version: cursor.version + 1, updated_at: stamp })
        .where("partner_id", "=", partnerId)
        .where("stream", "=", "tickets")
        .where("version", "=", cursor.version)
        .execute();
    } else {
      await this.#k
        .insertInto("sync_cursors")
        .values({ partner_id: partnerId, stream: "tickets", value: newest, version: 1, updated_at: stamp })
        .execute();
    }
    return rows.length;
  }

  // ---------------------------------------------------------------- mapping drift

  /**
   * Compares the mapping tables with the live picklists: a mapped status or priority that Autotask
   * renamed, deactivated or removed is recorded (and shown to the partner). Returns the findings.
   */
  async checkDrift(
    partnerId: number,
    api: AutotaskApi,
  ): Promise<Array<{ kind: string; psaId: number; message: string }>> {
    const fields = await api.fieldInfo("Tickets");
    const pick = (n: string) => fields.find((f) => f.name.toLowerCase() === n)?.picklistValues ?? [];
    const findings: Array<{ kind: string; psaId: number; message: string }> = [];
    for (const [kind, picklist] of [
      ["status-forward", pick("status")],
      ["status-reverse", pick("status")],
      ["priority", pick("priority")],
    ] as const) {
      for (const m of await this.#d.portal.getMappings(SYSTEM_ACTOR, partnerId, kind)) {
        const v = picklist.find((p) => Number(p.value) === m.psaId);
        const what = kind === "priority" ? "priority" : "status";
        const label = m.psaLabel ? `"${m.psaLabel}" (${m.psaId})` : `${m.psaId}`;
        if (!v)
          findings.push({
            kind,
            psaId: m.psaId,
            message: `Autotask ${what} ${label} used by the ${kind} table no longer exists`,
          });
        else if (!v.isActive)
          findings.push({
            kind,
            psaId: m.psaId,
            message: `Autotask ${what} ${label} used by the ${kind} table is inactive`,
          });
        else if (m.psaLabel && v.label !== m.psaLabel)
          findings.push({
            kind,
            psaId: m.psaId,
            message: `Autotask ${what} ${m.psaId} was renamed from "${m.psaLabel}" to "${v.label}" (${kind} table)`,
          });
      }
    }
    const at = this.#d.clock.now().toISOString();
    await this.#k.transaction().execute(async (trx) => {
      await trx.deleteFrom("mapping_drift").where("partner_id", "=", partnerId).execute();
      if (findings.length > 0)
        await trx
          .insertInto("mapping_drift")
          .values(
            findings.map((f) => ({
              partner_id: partnerId,
              kind: f.kind,
              psa_id: f.psaId,
              message: f.message,
              detected_at: at,
            })),
          )
          .execute();
    });
    return findings;
  }

  async drift(
    partnerId: number,
  ): Promise<Array<{ kind: string; psaId: number; message: string; detectedAt: string }>> {
    const rows = await this.#k
      .selectFrom("mapping_drift")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .orderBy("id")
      .execute();
    return rows.map((r) => ({
      kind: r.kind,
      psaId: r.psa_id,
      message: r.message,
      detectedAt: r.detected_at,
    }));
  }
}
