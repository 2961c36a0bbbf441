import { fingerprint } from "../lib/fingerprint.js";
import type { Client, Device } from "../portal/types.js";
import {
  type AssetDiff,
  type AssetPort,
  type DesiredAsset,
  isPsaError,
  PORTAL_DEVICE_ID_FIELD,
  type PsaAsset,
} from "../psa/connector.js";
import type { WriteJournal, WriteOutcome } from "./link-outcomes.js";
import type { Link } from "./links.js";
import type { RunCounts } from "./runs.js";

/** The hourly API budget stopped the writes: its figures, and when the PSA client looks again (ms). */
export interface BudgetHalt {
  message: string;
  retryAfterMs: number | undefined;
}

export type PlanAction = "create" | "update" | "deactivate" | "unchanged" | "conflict";

/** What the sync will do (or did) with one device. This is also the dry run's output. */
export interface PlanItem {
  deviceId: number;
  hostname: string;
  action: PlanAction;
  ciId?: number;
  /** How the CI was found: the stored link, the Partner Portal Device Id field, or the serial number. */
  matchedBy?: "link" | "udf" | "serial";
  /** update/deactivate: each field from → to. */
  changes?: AssetDiff;
  /** Fields whose PSA value was edited there since we wrote it, and that the sync overwrites. */
  overwrites?: string[];
  reason?: string;
}

export interface ClientPlan {
  clientId: number;
  code: string;
  /** The client's name, for pages and messages. */
  name: string;
  companyId: number;
  /** The PSA company's name as the portal knows it (null: not known; show the id). */
  companyName: string | null;
  /** CIs of this company linked to this partner's devices before the run. */
  linkedCount: number;
  items: PlanItem[];
}

export interface AssetPlan {
  clients: ClientPlan[];
  /** Links whose portal device no longer exists: their CIs are set inactive, never deleted. */
  orphans: PlanItem[];
}

export interface GuardVerdict {
  held: boolean;
  reasons: string[];
}

/** Internal: what the executor needs beside the plan item. */
interface Work {
  item: PlanItem;
  companyId: number;
  device: Device | null;
  desired: DesiredAsset | null;
}

export interface AssetSyncDeps {
  /** The partner's PSA assets (its session's asset port). */
  assets: AssetPort;
  /** The PSA's name as people say it ("Autotask"), for the log. */
  label: string;
  links: Map<number, Link>;
  saveLink(deviceId: number, ciId: number, desired: DesiredAsset): Promise<void>;
  log(text: string, level?: "info" | "warn" | "error"): Promise<void>;
  /** While planning: the items of a client (or of one device gone) just planned. */
  planned?(items: PlanItem[]): void;
  /** While writing: devices done so far and the counts so far, after every device (the run saves them). */
  progress(done: number, counts: RunCounts): void;
  /** Parallel writes; the PSA client keeps its own per-endpoint limit whatever this is. */
  concurrency?: number;
  /** A run that may be taken over records each write before it is sent (./link-outcomes.ts). */
  journal?: WriteJournal | undefined;
  /**
   * A run taken over: the devices it wrote before, and how. One this plan finds unchanged was done
   * by the run already, and counts as what was done to it.
   */
  carried?: Map<number, WriteOutcome> | undefined;
}

/**
 * One-way asset sync for one partner: plans every client's devices against the CIs of its company
 * (read page by page by the connector), then writes only what differs. Matching is the stored link,
 * else the Partner Portal Device Id field, else the serial number within the company; an existing CI
 * is linked, never duplicated, and two CIs claiming one device are a conflict, not a guess.
 */
export class AssetSync {
  readonly #d: AssetSyncDeps;
  #work: Work[][] = [];
  #orphanWork: Work[] = [];
  /** Set when the hourly API budget ran out: the rest waits for the budget, rather than failing one by one. */
  #halted: BudgetHalt | null = null;

  /** Why the run stopped early (the API budget) and when the PSA client means to look again, or null. */
  get halted(): BudgetHalt | null {
    return this.#halted;
  }

  #stopRequested = false;
  #stopped = false;

  /** Writes nothing more (the worker shuts down); writes in flight finish. */
  stop(): void {
    this.#stopRequested = true;
  }

  /** Whether `stop` left part of the plan unwritten. */
  get stopped(): boolean {
    return this.#stopped;
  }

  constructor(deps: AssetSyncDeps) {
    this.#d = deps;
  }

  /** Reads the PSA and builds the plan. No writes. */
  async plan(clients: Array<{ client: Client; devices: Device[] }>, orphanLinks: Link[]): Promise<AssetPlan> {
    const { assets, label } = this.#d;
    const plan: AssetPlan = { clients: [], orphans: [] };
    this.#work = [];
    const linkedCiIds = new Set([...this.#d.links.values()].map((l) => l.psaId));
    for (const { client, devices } of clients) {
      const companyId = client.psaCompanyId as number;
      const cis = await assets.listByCompany(companyId);
      const byId = new Map(cis.map((c) => [c.id, c]));
      const byPortalId = groupBy(cis, (c) => c.portalDeviceId);
      const bySerial = groupBy(cis, (c) => (c.serialNumber ? c.serialNumber.trim().toLowerCase() : null));
      const claimed = new Map<number, number>(); // ciId → deviceId, within this run
      for (const l of this.#d.links.values()) if (byId.has(l.psaId)) claimed.set(l.psaId, l.portalId);
      const work: Work[] = [];
      for (const device of devices) {
        const desired = assets.desired(device);
        const base = { deviceId: device.id, hostname: device.hostname };
        const link = this.#d.links.get(device.id);
        let ci: PsaAsset | undefined;
        let matchedBy: PlanItem["matchedBy"];
        let conflict: string | undefined;
        if (link && byId.has(link.psaId)) {
          ci = byId.get(link.psaId);
          matchedBy = "link";
        } else {
          const viaUdf = (byPortalId.get(device.id) ?? []).filter(
            (c) => !isClaimedByOther(claimed, c.id, device.id),
          );
          const viaSerial = device.serialNumber
            ? (bySerial.get(device.serialNumber.trim().toLowerCase()) ?? []).filter(
                (c) =>
                  !isClaimedByOther(claimed, c.id, device.id) &&
                  (c.portalDeviceId ?? device.id) === device.id,
              )
            : [];
          if (viaUdf.length > 1)
            conflict = `CIs ${viaUdf.map((c) => c.id).join(" and ")} both carry ${PORTAL_DEVICE_ID_FIELD} ${device.id}`;
          else if (viaUdf.length === 1) [ci, matchedBy] = [viaUdf[0], "udf"];
          else if (viaSerial.length > 1)
            conflict = `CIs ${viaSerial.map((c) => c.id).join(" and ")} both have serial number ${device.serialNumber}`;
          else if (viaSerial.length === 1) [ci, matchedBy] = [viaSerial[0], "serial"];
        }
        if (conflict) {
          work.push({
            item: {
              ...base,
              action: "conflict",
              reason: `conflict: ${conflict}; fix the duplicates in ${label}`,
            },
            companyId,
            device,
            desired,
          });
          continue;
        }
        if (ci) claimed.set(ci.id, device.id);
        if (!ci) {
          // An unmanaged device that never had a CI has nothing to deactivate: no CI is created for it.
          const action: PlanAction = device.state === "unmanaged" ? "unchanged" : "create";
          work.push({
            item: { ...base, action, ...(action === "unchanged" ? { reason: "unmanaged, no CI" } : {}) },
            companyId,
            device,
            desired,
          });
          continue;
        }
        const changes = assets.diff(ci, desired);
        const keys = Object.keys(changes);
        const item: PlanItem = {
          ...base,
          ciId: ci.id,
          ...(matchedBy ? { matchedBy } : {}),
          action: "unchanged",
        };
        if (keys.length > 0) {
          item.action = assets.deactivates(ci, changes) ? "deactivate" : "update";
          item.changes = changes;
          if (link && link.psaId === ci.id && link.written) {
            // What was edited on the PSA's side since we wrote it, where we still want what we wrote.
            const lastWritten: DesiredAsset = link.written;
            const editedThere = assets.diff(ci, lastWritten);
            const overwrites = keys.filter(
              (k) => k in editedThere && assets.sameWanted(k, lastWritten, desired),
            );
            if (overwrites.length > 0) item.overwrites = overwrites;
          }
        }
        work.push({ item, companyId, device, desired });
      }
      const linkedCount = cis.filter((c) => linkedCiIds.has(c.id)).length;
      plan.clients.push({
        clientId: client.id,
        code: client.code,
        name: client.name,
        companyId,
        companyName: client.psaCompanyName ?? null,
        linkedCount,
        items: work.map((w) => w.item),
      });
      this.#work.push(work);
      this.#d.planned?.(work.map((w) => w.item));
    }
    // Devices that are gone from the portal: their CIs become inactive (never deleted).
    this.#orphanWork = [];
    for (const l of orphanLinks) {
      const ci = await assets.get(l.psaId);
      const item: PlanItem = ci?.active
        ? {
            deviceId: l.portalId,
            hostname: ci.name,
            ciId: l.psaId,
            action: "deactivate",
            changes: assets.deactivation(ci),
            reason: "device no longer reported by the portal",
          }
        : {
            deviceId: l.portalId,
            hostname: ci?.name ?? "",
            ciId: l.psaId,
            action: "unchanged",
            reason: "device no longer reported; CI already inactive or gone",
          };
      plan.orphans.push(item);
      this.#orphanWork.push({ item, companyId: ci?.companyId ?? 0, device: null, desired: null });
      this.#d.planned?.([item]);
    }
    return plan;
  }

  /**
   * The mass-change guard: a company whose plan deactivates more than `share` of its linked CIs (and
   * at least `minimum` of them) holds the whole run for approval.
   */
  static guard(plan: AssetPlan, share: number, minimum: number): GuardVerdict {
    const reasons: string[] = [];
    for (const c of plan.clients) {
      const n = c.items.filter((i) => i.action === "deactivate").length;
      if (c.linkedCount > 0 && n >= minimum && n / c.linkedCount > share) {
        reasons.push(
          `client:${c.code} (${c.name}) would deactivate ${n} of ${c.linkedCount} linked configuration items (${Math.round((100 * n) / c.linkedCount)} % > ${Math.round(share * 100)} %)`,
        );
      }
    }
    return { held: reasons.length > 0, reasons };
  }

  /** Carries out the plan made by `plan()`, client by client, logging each client's start and outcome. */
  async execute(plan: AssetPlan): Promise<RunCounts> {
    const counts: RunCounts = { created: 0, updated: 0, deactivated: 0, unchanged: 0, failed: 0 };
    // Devices done: those counted (a device still being written is not; nor one the budget stopped).
    const done = () =>
      counts.created + counts.updated + counts.deactivated + counts.unchanged + counts.failed;
    for (const [i, cp] of plan.clients.entries()) {
      await this.#d.log(`Creating/updating devices for client:${cp.code}`);
      const before = counts.failed;
      await pool(this.#work[i] ?? [], this.#d.concurrency ?? 3, async (w) => {
        await this.#apply(w, counts);
        this.#d.progress(done(), counts);
      });
      const failed = counts.failed - before;
      if (failed === 0) await this.#d.log(`Successfully created/updated devices for client:${cp.code}`);
      else
        await this.#d.log(
          `Created/updated devices for client:${cp.code} with ${failed} failed device${failed === 1 ? "" : "s"}`,
          "warn",
        );
    }
    if (this.#orphanWork.length > 0) {
      await this.#d.log("Deactivating configuration items of devices no longer in the portal");
      await pool(this.#orphanWork, this.#d.concurrency ?? 3, async (w) => {
        await this.#apply(w, counts);
        this.#d.progress(done(), counts);
      });
    }
    return counts;
  }

  async #apply(w: Work, counts: RunCounts): Promise<void> {
    if (this.#halted) return;
    if (this.#stopRequested) {
      this.#stopped = true;
      return;
    }
    const { item, device, desired } = w;
    const { assets, label, journal } = this.#d;
    const who = `Device ${item.hostname} (id ${item.deviceId})`;
    // Whether the PSA carried out this device's write (a failure after it — saving the link — is not a refusal).
    let landed = false;
    try {
      switch (item.action) {
        case "conflict":
          counts.failed++;
          await this.#d.log(`${who}: ${item.reason}`, "error");
          return;
        case "create": {
          const d = device as Device;
          const want = desired as DesiredAsset;
          await journal?.sending(d.id, "created");
          const id = await assets.create(w.companyId, want, d);
          landed = true;
          await this.#d.saveLink(d.id, id, want);
          item.ciId = id;
          counts.created++;
          return;
        }
        case "update":
        case "deactivate": {
          await journal?.sending(item.deviceId, item.action === "deactivate" ? "deactivated" : "updated");
          await assets.update(item.ciId as number, item.changes ?? {});
          landed = true;
          if (device && desired) await this.#d.saveLink(device.id, item.ciId as number, desired);
          if (item.action === "deactivate") counts.deactivated++;
          else counts.updated++;
          if (item.overwrites?.length) {
            const what = item.overwrites
              .map(
                (k) =>
                  `${k} ${JSON.stringify(item.changes?.[k]?.from)} → ${JSON.stringify(item.changes?.[k]?.to)}`,
              )
              .join(", ");
            await this.#d.log(
              `CI ${item.ciId} (${item.hostname}): ${label}-side edit overwritten: ${what}`,
              "warn",
            );
          }
          return;
        }
        case "unchanged":
          // Found by UDF or serial with nothing to change, or linked and unchanged: record the link.
          if (device && desired && item.ciId !== undefined) {
            const link = this.#d.links.get(device.id);
            if (!link || link.psaId !== item.ciId || link.fingerprint !== fingerprint(desired))
              await this.#d.saveLink(device.id, item.ciId, desired);
          }
          counts[this.#d.carried?.get(item.deviceId) ?? "unchanged"]++;
          return;
      }
    } catch (e) {
      if (journal && !landed) await journal.refused(item.deviceId).catch(() => {});
      if (isPsaError(e) && e.code === "BUDGET_EXHAUSTED") {
        // Not this device's fault: stop writing and leave room for ticket traffic (docs/reliability.md,
        // Rate-limit awareness). The caller pauses the run; what was written is saved in the links.
        this.#halted ??= { message: e.message, retryAfterMs: e.retryAfterMs };
        return;
      }
      counts.failed++;
      item.reason = (e as Error).message;
      await this.#d.log(`${who}: failed: ${(e as Error).message}`, "error");
    }
  }
}

function isClaimedByOther(claimed: Map<number, number>, ciId: number, deviceId: number): boolean {
  const owner = claimed.get(ciId);
  return owner !== undefined && owner !== deviceId;
}

function groupBy<T, K>(xs: T[], key: (x: T) => K | null): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const x of xs) {
    const k = key(x);
    if (k === null) continue;
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
}

/** Runs `fn` over `items` with at most `n` at a time; never rejects (fn handles its own errors). */
export async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const x = items[next++] as T;
      await fn(x);
    }
  });
  await Promise.all(workers);
}
