import type { Clock } from "../../lib/clock.js";
import { fingerprint } from "../../lib/fingerprint.js";
import type { Actor } from "../../portal/access.js";
import { PortalContext } from "../../portal/context.js";
import { conflict, invalid, notFound } from "../../portal/errors.js";
import type { Client, Device } from "../../portal/types.js";
import type { PsaAsset, PsaSession } from "../../psa/connector.js";
import type { Db } from "../../store/db.js";
import { AssetSync, type PlanItem } from "../assets.js";
import type { LinkStore } from "../links.js";
import type { SyncPortal } from "../portal-port.js";
import type { RunStore } from "../runs.js";
import type { PsaSessions } from "../sessions.js";
import type { Validation } from "../validation.js";
import {
  RECONCILIATION_KINDS,
  type ReconciliationAction,
  type ReconciliationItem,
  type ReconciliationKind,
} from "./analysis.js";
import { IgnoreStore } from "./ignores.js";
import { ReconciliationReader } from "./reader.js";

export interface ReconciliationView {
  items: ReconciliationItem[];
  ignored: Array<ReconciliationItem & { ignoredBy: string; ignoredAt: string }>;
  counts: Record<ReconciliationKind, number>;
  ignoredCount: number;
  /** Companies read, and those left out by the per-view bound. */
  companies: { read: number; skipped: Array<{ id: number; name: string }> };
  /** PSA requests this view made (0 when every read came from the short-lived cache). */
  apiCalls: number;
  checkedAt: string;
}

export interface ReconciliationActionInput {
  action: ReconciliationAction;
  ciId?: number | undefined;
  deviceId?: number | undefined;
  key?: string | undefined;
}

export interface ReconciliationActionResult {
  action: ReconciliationAction;
  /** What was done, with names. */
  message: string;
  /** The asset sync's log lines of a move or re-sync. */
  lines: string[];
}

export interface ReconciliationDeps {
  db: Db;
  clock: Clock;
  portal: SyncPortal;
  links: LinkStore;
  runs: RunStore;
  sessions: PsaSessions;
  validation: Validation;
  /** How long CI lists read from the PSA are reused, ms (0: every view reads afresh). */
  ttlMs: number;
}

/**
 * The reconciliation view of a partner (./analysis.ts) and its actions: link a CI to a device, move a
 * device's CI to its client's company, deactivate a CI, re-sync a device, ignore and un-ignore. Writes
 * to CIs go through the asset port and the asset sync itself (one device's plan and execution); every
 * action is written to the audit log.
 */
export class Reconciliation {
  readonly #reader: ReconciliationReader;
  readonly #ctx: PortalContext;
  readonly #ignores: IgnoreStore;
  /** The last action of each partner (the next one waits for it). */
  readonly #queue = new Map<number, Promise<unknown>>();

  constructor(private readonly o: ReconciliationDeps) {
    this.#reader = new ReconciliationReader(o);
    this.#ctx = new PortalContext(o.db, o.clock);
    this.#ignores = new IgnoreStore(o.db, o.clock);
  }

  async view(actor: Actor, partnerId: number, o: { refresh?: boolean } = {}): Promise<ReconciliationView> {
    await this.o.portal.authorize(actor, partnerId, "integration:write");
    const session = await this.#session(partnerId);
    if (o.refresh) this.#reader.forget(partnerId);
    const loaded = await this.#reader.load(partnerId, session);
    const ignored = await this.#ignores.all(partnerId);
    const counts = Object.fromEntries(RECONCILIATION_KINDS.map((k) => [k, 0])) as Record<
      ReconciliationKind,
      number
    >;
    const items: ReconciliationItem[] = [];
    const ignoredItems: ReconciliationView["ignored"] = [];
    for (const item of loaded.items) {
      const row = ignored.get(item.key);
      if (row) ignoredItems.push({ ...item, actions: ["unignore"], ignoredBy: row.by, ignoredAt: row.at });
      else {
        items.push(item);
        counts[item.kind]++;
      }
    }
    return {
      items,
      ignored: ignoredItems,
      counts,
      ignoredCount: ignoredItems.length,
      companies: loaded.companies,
      apiCalls: loaded.apiCalls,
      checkedAt: this.o.clock.now().toISOString(),
    };
  }

  /**
   * One action. A partner's actions run one at a time (two links of one CI must not both pass their
   * checks); an action that writes is refused while an asset sync of the partner is running.
   */
  async act(
    actor: Actor,
    partnerId: number,
    input: ReconciliationActionInput,
  ): Promise<ReconciliationActionResult> {
    await this.o.portal.authorize(actor, partnerId, "integration:write");
    const before = this.#queue.get(partnerId) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(() => this.#act(actor, partnerId, input));
    const tail = run.catch(() => undefined);
    this.#queue.set(partnerId, tail);
    void tail.then(() => {
      if (this.#queue.get(partnerId) === tail) this.#queue.delete(partnerId);
    });
    return run;
  }

  async #act(
    actor: Actor,
    partnerId: number,
    input: ReconciliationActionInput,
  ): Promise<ReconciliationActionResult> {
    if (input.action === "unignore") return this.#unignore(actor, partnerId, need(input, "key"));
    const session = await this.#session(partnerId);
    if (input.action !== "ignore" && (await this.o.runs.active(partnerId, "assets")))
      throw conflict("an asset sync is running for this partner; try again when it has finished");
    try {
      switch (input.action) {
        case "ignore":
          return await this.#ignore(actor, partnerId, session, need(input, "key"));
        case "link":
          return await this.#link(actor, partnerId, session, need(input, "ciId"), need(input, "deviceId"));
        case "deactivate":
          return await this.#deactivate(actor, partnerId, session, need(input, "ciId"));
        case "move":
        case "resync":
          return await this.#resync(actor, partnerId, session, input.action, need(input, "deviceId"));
      }
    } finally {
      if (input.action !== "ignore") this.#reader.forget(partnerId);
    }
    throw invalid("action", `unknown action ${String(input.action)}`);
  }

  // ---------------------------------------------------------------- reading

  async #session(partnerId: number): Promise<PsaSession> {
    const psa = await this.o.sessions.forPartner(partnerId);
    if (!psa.session)
      throw conflict(
        `the ${psa.connector.label} connection is not complete: ${psa.missing?.message ?? "credentials missing"}`,
      );
    return psa.session;
  }

  /** A device of the partner whose client is mapped to a company, or 404. */
  async #device(partnerId: number, deviceId: number): Promise<{ client: Client; device: Device }> {
    const clientId = await this.o.portal.deviceClient(deviceId);
    const mapped = clientId === null ? [] : await this.#reader.mapped(partnerId);
    const m = mapped.find((x) => x.client.id === clientId);
    const device = m?.devices.find((d) => d.id === deviceId);
    if (!m || !device) {
      const own =
        clientId !== null && (await this.o.portal.clients(partnerId)).some((c) => c.id === clientId);
      if (own) throw conflict(`deviceId: the device's client is not mapped to a PSA company`, "deviceId");
      throw notFound("device");
    }
    return { client: m.client, device };
  }

  /** A CI in one of the partner's mapped companies, or 404 (another company's CI is not this partner's). */
  async #ci(partnerId: number, session: PsaSession, ciId: number): Promise<PsaAsset> {
    const [ci, clients] = await Promise.all([session.assets.get(ciId), this.o.portal.clients(partnerId)]);
    if (!ci || !clients.some((c) => c.psaCompanyId === ci.companyId)) throw notFound("configuration item");
    return ci;
  }

  // ---------------------------------------------------------------- actions

  async #link(
    actor: Actor,
    partnerId: number,
    session: PsaSession,
    ciId: number,
    deviceId: number,
  ): Promise<ReconciliationActionResult> {
    const { client, device } = await this.#device(partnerId, deviceId);
    const ci = await this.#ci(partnerId, session, ciId);
    if (ci.companyId !== client.psaCompanyId)
      throw conflict(
        `ciId: CI ${ci.name} is in another company than ${client.name}'s; link it to a device of that company`,
        "ciId",
      );
    const links = await this.o.links.all(partnerId, "device");
    const owner = [...links.values()].find((l) => l.psaId === ciId);
    if (owner)
      throw conflict(
        owner.portalId === deviceId
          ? `CI ${ci.name} is already linked to ${device.hostname}`
          : `ciId: CI ${ci.name} is already linked to another device (id ${owner.portalId}); refresh the view`,
        "ciId",
      );
    const current = links.get(deviceId);
    if (current)
      throw conflict(
        `deviceId: ${device.hostname} is already linked to CI id ${current.psaId}; refresh the view`,
        "deviceId",
      );
    // Nothing written yet: the device's next sync finds the CI by this link and updates it.
    await this.o.links.upsert(partnerId, "device", deviceId, ciId, "", {});
    const message = `Linked CI ${ci.name} to ${device.hostname} (${client.name}); the next asset sync updates the CI.`;
    await this.#audit(actor, partnerId, "link", `ci:${ciId}`, {
      ci: ci.name,
      ciId,
      device: device.hostname,
      deviceId,
      client: client.name,
    });
    return { action: "link", message, lines: [] };
  }

  async #deactivate(
    actor: Actor,
    partnerId: number,
    session: PsaSession,
    ciId: number,
  ): Promise<ReconciliationActionResult> {
    const ci = await this.#ci(partnerId, session, ciId);
    if (!ci.active) throw conflict(`ciId: CI ${ci.name} is already inactive; refresh the view`, "ciId");
    const links = await this.o.links.all(partnerId, "device");
    const owner = [...links.values()].find((l) => l.psaId === ciId);
    if (owner && (await this.o.portal.existingDeviceIds(partnerId, [owner.portalId])).has(owner.portalId))
      throw conflict(
        `ciId: CI ${ci.name} is the CI of a portal device (id ${owner.portalId}); the asset sync keeps it active`,
        "ciId",
      );
    await session.assets.update(ci.id, session.assets.deactivation(ci));
    await this.#audit(actor, partnerId, "deactivate", `ci:${ciId}`, {
      ci: ci.name,
      ciId,
      serialNumber: ci.serialNumber,
    });
    return { action: "deactivate", message: `Deactivated CI ${ci.name} (never deleted).`, lines: [] };
  }

  /**
   * move: the device's CI is in another company (Autotask cannot change a CI's company): the device
   * is synchronised into its client's company (an existing CI there is found by the portal id field
   * or serial number, else one is created), then the old CI is deactivated. resync: the device's CI
   * gets the portal's values again (PSA-side edits overwritten, a deactivated CI active again).
   */
  async #resync(
    actor: Actor,
    partnerId: number,
    session: PsaSession,
    action: "move" | "resync",
    deviceId: number,
  ): Promise<ReconciliationActionResult> {
    const { client, device } = await this.#device(partnerId, deviceId);
    const links = await this.o.links.all(partnerId, "device");
    const link = links.get(deviceId);
    if (!link) throw conflict(`deviceId: ${device.hostname} has no CI link; run the asset sync`, "deviceId");
    const old = await session.assets.get(link.psaId);
    if (action === "move") {
      if (old && old.companyId === client.psaCompanyId)
        throw conflict(
          `deviceId: the CI of ${device.hostname} is already in ${client.name}'s company; refresh the view`,
          "deviceId",
        );
      links.delete(deviceId);
    } else if (old && old.companyId !== client.psaCompanyId)
      throw conflict(
        `deviceId: the CI of ${device.hostname} is in another company than ${client.name}'s; move it instead`,
        "deviceId",
      );
    const psa = await this.o.sessions.forPartner(partnerId);
    const checks = await this.o.validation.check(partnerId, "assets", psa);
    if (!checks.ok)
      throw conflict(
        `the asset sync's configuration is not valid: ${checks.checks
          .filter((c) => !c.ok)
          .map((c) => c.message)
          .join("; ")}`,
      );
    const lines: string[] = [];
    const sync = new AssetSync({
      assets: session.assets,
      label: session.label,
      links,
      concurrency: 1,
      saveLink: (id, ciId, desired) =>
        this.o.links.upsert(partnerId, "device", id, ciId, fingerprint(desired), desired),
      log: async (text) => {
        lines.push(text);
      },
      progress: () => {},
    });
    const plan = await sync.plan([{ client, devices: [device] }], []);
    const counts = await sync.execute(plan);
    const item = plan.clients[0]?.items[0] as PlanItem;
    if (counts.failed > 0 || sync.halted || item.ciId === undefined)
      throw conflict(
        `${device.hostname}: ${sync.halted?.message ?? item.reason ?? "the sync wrote nothing"}`,
      );
    const what = describe(item);
    let message = `${device.hostname} (${client.name}): ${what}.`;
    if (action === "move" && old && old.active && old.id !== item.ciId) {
      await session.assets.update(old.id, session.assets.deactivation(old));
      message += ` The old CI ${old.name} was deactivated (never deleted).`;
    }
    await this.#audit(actor, partnerId, action, `device:${deviceId}`, {
      device: device.hostname,
      deviceId,
      client: client.name,
      ciId: item.ciId,
      oldCiId: link.psaId,
      result: item.action,
    });
    return { action, message, lines };
  }

  async #ignore(
    actor: Actor,
    partnerId: number,
    session: PsaSession,
    key: string,
  ): Promise<ReconciliationActionResult> {
    const { items } = await this.#reader.load(partnerId, session);
    const item = items.find((i) => i.key === key);
    if (!item)
      throw conflict(
        `key: no current item has this key (it may be resolved already); refresh the view`,
        "key",
      );
    if (!(await this.#ignores.add(partnerId, item, actor.name)))
      throw conflict(`key: the item is already ignored`, "key");
    await this.#audit(actor, partnerId, "ignore", key, { kind: item.kind, summary: item.summary });
    return { action: "ignore", message: `Ignored: ${item.summary}.`, lines: [] };
  }

  async #unignore(actor: Actor, partnerId: number, key: string): Promise<ReconciliationActionResult> {
    const row = await this.#ignores.remove(partnerId, key);
    if (!row) throw notFound("ignored item");
    await this.#audit(actor, partnerId, "unignore", key, { kind: row.kind, summary: row.summary });
    return { action: "unignore", message: `No longer ignored: ${row.summary}.`, lines: [] };
  }

  async #audit(actor: Actor, partnerId: number, verb: string, target: string, detail: object): Promise<void> {
    await this.#ctx.audit(this.o.db.kysely, actor, partnerId, `reconciliation.${verb}`, target, detail);
  }
}

function need<K extends "ciId" | "deviceId" | "key">(
  input: ReconciliationActionInput,
  field: K,
): NonNullable<ReconciliationActionInput[K]> {
  const v = input[field];
  if (v === undefined || v === null || v === "")
    throw invalid(field, `required for the ${input.action} action`);
  return v as NonNullable<ReconciliationActionInput[K]>;
}

function describe(item: PlanItem): string {
  switch (item.action) {
    case "create":
      return `created CI id ${item.ciId}`;
    case "update":
    case "deactivate":
      return `updated CI id ${item.ciId} (${Object.keys(item.changes ?? {}).join(", ")})`;
    default:
      return item.matchedBy && item.matchedBy !== "link"
        ? `linked the existing CI id ${item.ciId} (found by ${item.matchedBy === "udf" ? "the portal device id field" : "serial number"})`
        : `CI id ${item.ciId} already matches`;
  }
}
