/**
 * Callback delivery: on each committed write, every active callback entry of the tenant whose type
 * and level match gets a POST of the callback payload (the record as a JSON string in `Entity`,
 * `Metadata.key_url` pointing at this emulator's signing-key endpoint), signed in the
 * `x-content-signature` header with base64(HMAC-SHA256(key = SHA-256(signing_key), raw body)).
 * A 404/409/419/429 answer is retried 2 s after the first attempt and 4 s after the first retry; each
 * POST times out after 5 s. Entries created with `isSelfSuppressedFlag` skip writes made by the
 * member that created them. Delivery faults (faults.ts) drop, duplicate, delay and reorder messages.
 */
import { createHash, createHmac, randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { CwFaults } from "./faults.js";
import type { Rec, Tenant } from "./store.js";

export type CallbackAction = "added" | "updated" | "deleted";

export interface ChangeEvent {
  tenant: Tenant;
  type: string;
  action: CallbackAction;
  record: Rec;
  /** The record as the API shows it (what goes into `Entity`). */
  entity: Record<string, unknown>;
  member: Rec;
}

export interface CallbackOptions {
  /** Multiplies retry delays and the disable window (tests use a small value); not the POST timeout. */
  timeScale: number;
  retryDelaysMs: number[];
  timeoutMs: number;
  /** Receiver statuses that are retried. */
  retryOn: number[];
  /** An entry that keeps failing this long is set inactive (the product says three days). */
  disableAfterMs: number;
  /** Deliver at all (false: nothing is sent, events are counted as dropped). */
  enabled: boolean;
}

export const DEFAULT_CALLBACK_OPTIONS: CallbackOptions = {
  timeScale: 1,
  retryDelaysMs: [2000, 4000],
  timeoutMs: 5000,
  retryOn: [404, 409, 419, 429],
  disableAfterMs: 3 * 24 * 3600 * 1000,
  enabled: true,
};

export interface DeliveryRecord {
  messageId: string;
  callbackId: number;
  companyId: string;
  url: string;
  type: string;
  action: CallbackAction;
  recordId: number;
  attempts: number[];
  outcome: "delivered" | "failed" | "pending";
}

export interface CallbackStats {
  events: number;
  messages: number;
  delivered: number;
  failed: number;
  retries: number;
  dropped: number;
  duplicated: number;
  delayed: number;
  reordered: number;
  suppressed: number;
}

/** x-content-signature of a body under a tenant's signing key. */
export function signCallback(body: string, signingKey: string): string {
  const k = createHash("sha256").update(signingKey, "utf8").digest();
  return createHmac("sha256", k).update(body, "utf8").digest("base64");
}

function matches(entry: Rec, ev: ChangeEvent): boolean {
  if (entry["inactiveFlag"] === true) return false;
  if (String(entry["type"]).toLowerCase() !== ev.type) return false;
  const oid = entry["objectId"];
  const refId = (f: string) => (ev.record[f] as { id?: number } | null | undefined)?.id;
  switch (String(entry["level"]).toLowerCase()) {
    case "owner":
      return true;
    case "board":
      return refId("board") === oid;
    case "status":
      return refId("status") === oid;
    case "type":
      return refId("type") === oid;
    case "company":
      return ev.type === "company" ? ev.record.id === oid : refId("company") === oid;
    case "ticket":
    case "configuration":
    case "time":
      return ev.record.id === oid;
    case "integratortag":
      return (
        Array.isArray(ev.record["integratorTags"]) &&
        ev.record["integratorTags"].includes(entry["description"])
      );
    default:
      return false;
  }
}

export class CallbackEngine {
  private o: CallbackOptions;
  private readonly pending = new Set<Promise<void>>();
  private readonly held = new Map<string, () => Promise<void>>();
  private readonly log: DeliveryRecord[] = [];
  private readonly failingSince = new Map<string, number>();
  private stats_: CallbackStats = CallbackEngine.zero();
  private readonly abort = new AbortController();

  constructor(
    opts: Partial<CallbackOptions>,
    private readonly faults: CwFaults,
    private readonly origin: () => string,
    private readonly now: () => Date,
  ) {
    this.o = { ...DEFAULT_CALLBACK_OPTIONS, ...opts };
    // Every delivery in flight combines this signal with its own timeout: many listeners by design.
    setMaxListeners(0, this.abort.signal);
  }

  private static zero(): CallbackStats {
    return {
      events: 0,
      messages: 0,
      delivered: 0,
      failed: 0,
      retries: 0,
      dropped: 0,
      duplicated: 0,
      delayed: 0,
      reordered: 0,
      suppressed: 0,
    };
  }

  configure(partial: Partial<CallbackOptions>): CallbackOptions {
    const unknown = Object.keys(partial).filter((k) => !(k in DEFAULT_CALLBACK_OPTIONS));
    if (unknown.length > 0) throw new RangeError(`Unknown callback option(s): ${unknown.join(", ")}.`);
    this.o = { ...this.o, ...partial };
    return { ...this.o };
  }

  snapshot(): { options: CallbackOptions; stats: CallbackStats; deliveries: DeliveryRecord[] } {
    return { options: { ...this.o }, stats: { ...this.stats_ }, deliveries: structuredClone(this.log) };
  }

  reset(): void {
    this.stats_ = CallbackEngine.zero();
    this.log.length = 0;
    this.failingSince.clear();
  }

  keyUrl(tenant: Tenant): string {
    return `${this.origin()}/${tenant.codebase}//system/callbackkey/index.rails?companyName=${encodeURIComponent(tenant.companyId)}&id=${tenant.signingKeyId}`;
  }

  /** Called after each committed write. */
  notify(ev: ChangeEvent): void {
    this.stats_.events++;
    for (const entry of ev.tenant.rows("callbacks")) {
      if (!matches(entry, ev)) continue;
      if (entry["isSelfSuppressedFlag"] === true && entry["memberId"] === ev.member.id) {
        this.stats_.suppressed++;
        continue;
      }
      this.message(ev, entry);
    }
  }

  private message(ev: ChangeEvent, entry: Rec): void {
    const payload = {
      MessageId: randomUUID(),
      FromUrl: new URL(this.origin()).host,
      CompanyId: ev.tenant.companyId,
      MemberId: String(ev.member["identifier"]),
      Action: ev.action,
      Type: ev.type,
      ID: ev.record.id,
      ProductInstanceId: null,
      PartnerId: null,
      Entity: ev.action === "deleted" ? null : JSON.stringify(ev.entity),
      Metadata: { key_url: this.keyUrl(ev.tenant) },
      CallbackObjectRecId: entry.id,
    };
    const body = JSON.stringify(payload);
    const signature = signCallback(body, ev.tenant.signingKey);
    const base = String(entry["url"]);
    const url = base.endsWith("=") ? `${base}${ev.record.id}` : base;
    const rec: DeliveryRecord = {
      messageId: payload.MessageId,
      callbackId: entry.id,
      companyId: ev.tenant.companyId,
      url,
      type: ev.type,
      action: ev.action,
      recordId: ev.record.id,
      attempts: [],
      outcome: "pending",
    };
    this.stats_.messages++;
    const d = this.faults.delivery();
    if (!this.o.enabled || d.drop) {
      this.stats_.dropped++;
      return;
    }
    this.log.push(rec);
    if (this.log.length > 500) this.log.shift();
    const entryKey = `${ev.tenant.companyId}/${entry.id}`;
    const send = (): Promise<void> => {
      const first = this.deliver(rec, body, signature, entryKey, entry, ev.tenant);
      this.track(first);
      if (d.duplicate) {
        this.stats_.duplicated++;
        this.track(this.deliver({ ...rec, attempts: [] }, body, signature, entryKey, entry, ev.tenant));
      }
      return first;
    };
    const start = () => {
      const prior = this.held.get(entryKey);
      if (d.reorder && !prior) {
        this.stats_.reordered++;
        this.held.set(entryKey, send);
        return;
      }
      const sent = send();
      if (prior) {
        this.held.delete(entryKey);
        // The held message goes out after this one has been answered: a deterministic swap.
        this.track(sent.then(() => prior()));
      }
    };
    if (d.delayMs > 0) {
      this.stats_.delayed++;
      this.track(this.sleep(d.delayMs).then(start));
    } else start();
  }

  private track(p: Promise<void>): void {
    const q = p.catch(() => undefined).finally(() => this.pending.delete(q));
    this.pending.add(q);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.abort.signal.aborted) return resolve();
      const t = setTimeout(resolve, ms);
      this.abort.signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private async post(url: string, body: string, signature: string): Promise<number> {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-content-signature": signature },
        body,
        signal: AbortSignal.any([AbortSignal.timeout(this.o.timeoutMs), this.abort.signal]),
        redirect: "manual",
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status;
    } catch {
      return 0;
    }
  }

  private async deliver(
    rec: DeliveryRecord,
    body: string,
    sig: string,
    key: string,
    entry: Rec,
    tenant: Tenant,
  ): Promise<void> {
    const delays = this.o.retryDelaysMs;
    for (let attempt = 0; ; attempt++) {
      const status = await this.post(rec.url, body, sig);
      rec.attempts.push(status);
      if (status >= 200 && status < 300) {
        rec.outcome = "delivered";
        this.stats_.delivered++;
        this.failingSince.delete(key);
        return;
      }
      if (attempt < delays.length && this.o.retryOn.includes(status) && !this.abort.signal.aborted) {
        this.stats_.retries++;
        await this.sleep((delays[attempt] as number) * this.o.timeScale);
        continue;
      }
      rec.outcome = "failed";
      this.stats_.failed++;
      const nowMs = this.now().getTime();
      const since = this.failingSince.get(key) ?? nowMs;
      this.failingSince.set(key, since);
      const current = tenant.get("callbacks", entry.id);
      if (current && nowMs - since >= this.o.disableAfterMs * this.o.timeScale)
        tenant.put("callbacks", { ...current, inactiveFlag: true });
      return;
    }
  }

  /** Releases held (reordered) messages and waits until every delivery has finished. */
  async flush(): Promise<void> {
    for (;;) {
      for (const [k, send] of this.held) {
        this.held.delete(k);
        this.track(send());
      }
      if (this.pending.size === 0) return;
      await Promise.all([...this.pending]);
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    this.held.clear();
    await Promise.all([...this.pending]);
  }
}
