/**
 * The in-memory PSA behind the fake connector: one tenant per partner, with companies, a NOC queue
 * and another queue, statuses, priorities, tickets, notes, assets and webhook subscriptions. It is as
 * strict as a real PSA where the engine depends on it: it assigns the ids, refuses what a real one
 * refuses (docs/autotask.md, Writes and Errors), counts every request, keeps `lastActivity` on every
 * write, and fails on demand (`failNext`), including a write that is applied and then answers with an
 * error (docs/reliability.md, Idempotent creates).
 *
 * Test code changes a tenant "from the PSA side" (a technician's edit) through `FakeTenant`'s own
 * methods; those are not requests and are never faulted.
 */
import { PORTAL_DEVICE_ID_FIELD } from "../../../src/psa/connector.js";
import { PsaError, type PsaErrorCode } from "../../../src/psa/errors.js";

export const NOC_QUEUE = 10;
export const OTHER_QUEUE = 11;
export const COMPANY_WITH_ASSETS = 1;
export const COMPANY_WITHOUT_ASSETS = 2;
export const INACTIVE_COMPANY = 3;
export const STATUS_NEW = 1;
export const STATUS_IN_PROGRESS = 8;
export const STATUS_COMPLETE = 5;
export const PRIORITY_HIGH = 1;
export const PRIORITY_MEDIUM = 2;
/** The custom asset fields a tenant has unless told otherwise (advanced mode writes them). */
export const ASSET_CUSTOM_FIELDS: readonly string[] = [
  PORTAL_DEVICE_ID_FIELD,
  "IP Address",
  "Operating System",
  "RAM",
];

export interface FakeTicket {
  id: number;
  number: string;
  title: string;
  description: string;
  status: number;
  priority: number;
  assetId: number | null;
  companyId: number;
  queueId: number;
  externalRef: string | null;
  lastActivity: string;
}

export interface FakeNote {
  id: number;
  ticketId: number;
  text: string;
  published: boolean;
  author: string;
  createdAt: string;
}

export interface FakeAsset {
  id: number;
  companyId: number;
  name: string;
  serialNumber: string | null;
  warrantyEnd: string | null;
  active: boolean;
  custom: Record<string, string | null>;
  lastActivity: string;
}

export interface FakeWebhook {
  id: number;
  entity: "Ticket" | "TicketNote";
  name: string;
  url: string;
  secret: string;
  active: boolean;
}

export interface FakeValue {
  id: number;
  label: string;
  isActive: boolean;
}

/** A failure the next matching request answers with. */
export interface Fault {
  code: PsaErrorCode;
  /** The operation it hits ("tickets.create", "notes.create", "assets.update" …, or a prefix "tickets."); any when left out. */
  on?: string;
  /** The write is carried out before the error is answered: its outcome is unknown to the caller. */
  applied?: boolean;
  /** The outcome is unknown to the caller although nothing was carried out (a request lost on its way). */
  ambiguous?: boolean;
  /** How many matching requests fail (default 1). */
  times?: number;
}

const RETRYABLE: ReadonlySet<PsaErrorCode> = new Set([
  "RATE_LIMITED",
  "THREAD_LIMIT",
  "SERVER",
  "NETWORK",
  "TIMEOUT",
]);

/** What the fake PSA answers: a PsaError as the HTTP boundary of a real connector would classify it. */
export function fakeError(code: PsaErrorCode, message: string, op: string, ambiguous = false): PsaError {
  return new PsaError({
    code,
    message: `${op}: ${message}`,
    retryable: RETRYABLE.has(code),
    ambiguous,
    errors: [message],
    operation: op,
  });
}

const clone = <T>(v: T): T => structuredClone(v);

export class FakeTenant {
  readonly username: string;
  secret = "fake-secret";
  /** Requests answered (or refused) so far, faults and auth failures included. */
  requests = 0;
  /** False: the API user may not manage webhooks (registration reports it, never throws). */
  webhooksAllowed = true;
  readonly companies = new Map<number, { id: number; name: string; active: boolean }>();
  readonly queues: FakeValue[] = [
    { id: NOC_QUEUE, label: "NOC", isActive: true },
    { id: OTHER_QUEUE, label: "Service Desk", isActive: true },
  ];
  readonly statuses: FakeValue[] = [
    { id: STATUS_NEW, label: "New", isActive: true },
    { id: STATUS_COMPLETE, label: "Complete", isActive: true },
    { id: STATUS_IN_PROGRESS, label: "In Progress", isActive: true },
    { id: 9, label: "Retired", isActive: false },
  ];
  readonly priorities: FakeValue[] = [
    { id: PRIORITY_HIGH, label: "High", isActive: true },
    { id: PRIORITY_MEDIUM, label: "Medium", isActive: true },
    { id: 3, label: "Low", isActive: true },
  ];
  /** The custom fields assets carry (a write naming another is refused). */
  readonly customFields = new Set<string>();
  readonly #tickets = new Map<number, FakeTicket>();
  readonly #notes = new Map<number, FakeNote>();
  readonly #assets = new Map<number, FakeAsset>();
  readonly #webhooks = new Map<number, FakeWebhook>();
  readonly #faults: Fault[] = [];
  readonly #next = { ticket: 1000, note: 5000, asset: 700, webhook: 90 };
  readonly #now: () => Date;

  constructor(
    readonly partnerId: number,
    now: () => Date,
    customFields: readonly string[],
  ) {
    this.username = `noc@partner-${partnerId}.fake`;
    this.#now = now;
    for (const f of customFields) this.customFields.add(f);
    for (const [id, name, active] of [
      [COMPANY_WITH_ASSETS, "Acme", true],
      [COMPANY_WITHOUT_ASSETS, "Globex", true],
      [INACTIVE_COMPANY, "Initech", false],
    ] as const)
      this.companies.set(id, { id, name, active });
    this.addAsset({ companyId: COMPANY_WITH_ASSETS, name: "acme-fw01", serialNumber: "SN-FW01" });
    this.addAsset({ companyId: COMPANY_WITH_ASSETS, name: "acme-sw01", serialNumber: "SN-SW01" });
  }

  /** The PSA's clock, as an ISO string. */
  stamp(): string {
    return this.#now().toISOString();
  }

  // ---------------------------------------------------------------- faults and requests

  /** The next matching request fails with `fault.code` (after carrying out the write when `applied`). */
  failNext(fault: Fault): void {
    this.#faults.push({ ...fault, times: fault.times ?? 1 });
  }

  /** Faults still waiting for their request. */
  pendingFaults(): number {
    return this.#faults.length;
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  /**
   * One request: checks the credentials, counts it, and applies a matching fault. `fn` is the
   * request's effect; an applied fault runs it, then throws an ambiguous error.
   */
  request<T>(creds: { username: string; secret: string }, op: string, fn: () => T): T {
    this.requests++;
    if (creds.username !== this.username || creds.secret !== this.secret)
      throw fakeError("AUTH", "the API user's username or secret was not accepted", op);
    const i = this.#faults.findIndex((f) => f.on === undefined || op === f.on || op.startsWith(f.on));
    if (i < 0) return clone(fn());
    const fault = this.#faults[i] as Fault;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) this.#faults.splice(i, 1);
    if (fault.applied) {
      fn();
      throw fakeError(fault.code, "the answer was lost after the write was carried out", op, true);
    }
    throw fakeError(fault.code, "injected failure", op, fault.ambiguous === true);
  }

  // ---------------------------------------------------------------- tickets and notes

  ticket(id: number): FakeTicket | undefined {
    const t = this.#tickets.get(id);
    return t && clone(t);
  }

  tickets(): FakeTicket[] {
    return [...this.#tickets.values()].map(clone);
  }

  /** A ticket created in the PSA (by a technician or another integration). */
  addTicket(
    t: Partial<Omit<FakeTicket, "id" | "number" | "lastActivity">> & { title: string; companyId: number },
  ): FakeTicket {
    const id = this.#next.ticket++;
    const row: FakeTicket = {
      number: `T${this.stamp().slice(0, 10).replaceAll("-", "")}.${String(id).padStart(4, "0")}`,
      description: "",
      status: STATUS_NEW,
      priority: PRIORITY_MEDIUM,
      assetId: null,
      queueId: NOC_QUEUE,
      externalRef: null,
      ...t,
      id,
      lastActivity: this.stamp(),
    };
    this.#tickets.set(id, row);
    return clone(row);
  }

  /** A change made in the PSA; moves lastActivity like any write. */
  editTicket(id: number, patch: Partial<Omit<FakeTicket, "id" | "number" | "lastActivity">>): FakeTicket {
    const row = this.#tickets.get(id);
    if (!row) throw new Error(`fake PSA: no ticket ${id}`);
    Object.assign(row, patch, { lastActivity: this.stamp() });
    return clone(row);
  }

  notes(ticketId?: number): FakeNote[] {
    return [...this.#notes.values()]
      .filter((n) => ticketId === undefined || n.ticketId === ticketId)
      .map(clone);
  }

  note(id: number): FakeNote | undefined {
    const n = this.#notes.get(id);
    return n && clone(n);
  }

  /** A note written in the PSA; the ticket's lastActivity moves with it. */
  addNote(ticketId: number, n: { text: string; published: boolean; author?: string }): FakeNote {
    const ticket = this.#tickets.get(ticketId);
    if (!ticket) throw new Error(`fake PSA: no ticket ${ticketId}`);
    const row: FakeNote = {
      id: this.#next.note++,
      ticketId,
      text: n.text,
      published: n.published,
      author: n.author ?? "Jane Technician",
      createdAt: this.stamp(),
    };
    this.#notes.set(row.id, row);
    ticket.lastActivity = row.createdAt;
    return clone(row);
  }

  // ---------------------------------------------------------------- assets

  asset(id: number): FakeAsset | undefined {
    const a = this.#assets.get(id);
    return a && clone(a);
  }

  assets(companyId?: number): FakeAsset[] {
    return [...this.#assets.values()]
      .filter((a) => companyId === undefined || a.companyId === companyId)
      .map(clone);
  }

  addAsset(
    a: Partial<Omit<FakeAsset, "id" | "lastActivity">> & { companyId: number; name: string },
  ): FakeAsset {
    const row: FakeAsset = {
      serialNumber: null,
      warrantyEnd: null,
      active: true,
      custom: {},
      ...a,
      id: this.#next.asset++,
      lastActivity: this.stamp(),
    };
    this.#assets.set(row.id, row);
    return clone(row);
  }

  editAsset(id: number, patch: Partial<Omit<FakeAsset, "id" | "companyId" | "lastActivity">>): FakeAsset {
    const row = this.#assets.get(id);
    if (!row) throw new Error(`fake PSA: no asset ${id}`);
    Object.assign(row, patch, { lastActivity: this.stamp() });
    return clone(row);
  }

  // ---------------------------------------------------------------- webhooks

  webhooks(): FakeWebhook[] {
    return [...this.#webhooks.values()].map(clone);
  }

  // ---------------------------------------------------------------- the stores the ports write through

  /** Raw rows for the ports (inside `request`): they validate and write through these. */
  readonly rows = {
    tickets: this.#tickets,
    notes: this.#notes,
    assets: this.#assets,
    webhooks: this.#webhooks,
    nextId: (kind: "ticket" | "note" | "asset" | "webhook"): number => this.#next[kind]++,
  };
}

/** The fake PSA: tenants by partner id, one clock. */
export class FakePsa {
  readonly #tenants = new Map<number, FakeTenant>();
  now: () => Date;
  readonly customFields: readonly string[];

  constructor(o: { now?: () => Date; customFields?: readonly string[] } = {}) {
    this.now = o.now ?? (() => new Date());
    this.customFields = o.customFields ?? ASSET_CUSTOM_FIELDS;
  }

  /** The partner's tenant, made (and seeded) on first use. */
  tenant(partnerId: number): FakeTenant {
    let t = this.#tenants.get(partnerId);
    if (!t) {
      t = new FakeTenant(partnerId, () => this.now(), this.customFields);
      this.#tenants.set(partnerId, t);
    }
    return t;
  }
}
