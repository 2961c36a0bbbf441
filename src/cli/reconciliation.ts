import { type Command, InvalidArgumentError, Option } from "commander";
import type { Services } from "../main.js";
import { SYSTEM_ACTOR } from "../portal/access.js";
import { invalid, notFound } from "../portal/errors.js";
import {
  RECONCILIATION_ACTIONS,
  type ReconciliationAction,
  type ReconciliationItem,
} from "../sync/reconciliation/analysis.js";

/**
 * `nocbridge reconciliation <partner> [action]`: the reconciliation view as an aligned table (or
 * JSON), and its actions. The partner is named by id or by name; a device by id or hostname.
 */

export interface ReconciliationCliOptions {
  ci?: number;
  device?: string;
  key?: string;
  refresh?: boolean;
  ignored?: boolean;
  json?: boolean;
}

export function registerReconciliationCommand(
  program: Command,
  deps: {
    withServices(o: { database?: string }, fn: (s: Services) => Promise<void>): Promise<void>;
    dbOption(): Option;
  },
): void {
  program
    .command("reconciliation")
    .description(
      "portal devices against the PSA's configuration items (orphan CIs, wrong companies, duplicate serials, CIs changed in the PSA); with an action, act on one item",
    )
    .argument("<partner>", "partner id or name")
    .argument("[action]", "link | move | deactivate | resync | ignore | unignore (none: list the items)")
    .addOption(new Option("--ci <id>", "link, deactivate: the configuration item id").argParser(positiveInt))
    .addOption(new Option("--device <device>", "link, move, resync: the device (id or hostname)"))
    .addOption(new Option("--key <key>", "ignore, unignore: the item's key (see --json or the KEY column)"))
    .addOption(new Option("--refresh", "read the PSA afresh"))
    .addOption(new Option("--ignored", "list the ignored items instead"))
    .addOption(new Option("--json", "print JSON instead of a table"))
    .addOption(deps.dbOption())
    .action(
      async (
        partner: string,
        action: string | undefined,
        o: ReconciliationCliOptions & { database?: string },
      ) =>
        deps.withServices(o, async (s) => {
          console.log(await runReconciliation(s, partner, action, o));
        }),
    );
}

/** What the command prints. */
export async function runReconciliation(
  s: Services,
  partnerArg: string,
  action: string | undefined,
  o: ReconciliationCliOptions,
): Promise<string> {
  const partnerId = await partnerOf(s, partnerArg);
  if (action === undefined) {
    const view = await s.sync.reconciliation.view(SYSTEM_ACTOR, partnerId, { refresh: o.refresh === true });
    if (o.json) return JSON.stringify(view, null, 2);
    const items = o.ignored ? view.ignored : view.items;
    const counts = Object.entries(view.counts)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    const head = `${items.length} ${o.ignored ? "ignored " : ""}item${items.length === 1 ? "" : "s"} (${counts}; ${view.ignoredCount} ignored; ${view.companies.read} companies read, ${view.apiCalls} PSA requests)`;
    if (items.length === 0) return head;
    return `${head}\n${table(
      ["KIND", "DEVICE", "CLIENT", "CI", "SERIAL", "COMPANY", "DETAIL", "KEY"],
      items.map(row),
    )}`;
  }
  if (!(RECONCILIATION_ACTIONS as readonly string[]).includes(action))
    throw invalid("action", `must be one of ${RECONCILIATION_ACTIONS.join(", ")}`);
  const deviceId = o.device === undefined ? undefined : await deviceOf(s, partnerId, o.device);
  const r = await s.sync.reconciliation.act(SYSTEM_ACTOR, partnerId, {
    action: action as ReconciliationAction,
    ciId: o.ci,
    deviceId,
    key: o.key,
  });
  if (o.json) return JSON.stringify(r, null, 2);
  return [r.message, ...r.lines.map((l) => `  ${l}`)].join("\n");
}

function row(i: ReconciliationItem): string[] {
  const d = i.device;
  const c = i.ci;
  let detail = "";
  switch (i.kind) {
    case "orphan-ci":
      detail = i.candidates?.length ? `suggested: ${i.candidates[0]?.hostname}` : "no unlinked device";
      break;
    case "wrong-company":
      detail = `client's company: ${i.expectedCompany?.name ?? ""}`;
      break;
    case "duplicate-serial":
      detail = [
        ...(i.devices ?? []).map((x) => `${x.hostname} (${x.clientName})`),
        ...(i.cis ?? []).map((x) => `CI ${x.name} (${x.companyName})`),
      ].join(", ");
      break;
    case "changed-in-psa":
      detail = i.gone
        ? "deleted in the PSA"
        : (i.changes ?? []).map((x) => `${x.field}: ${show(x.written)} → ${show(x.now)}`).join("; ");
      break;
  }
  return [
    i.kind,
    d?.hostname ?? "",
    d?.clientName ?? "",
    c?.name ?? "",
    c?.serialNumber ?? i.serialNumber ?? "",
    c?.companyName ?? "",
    detail,
    i.key,
  ];
}

const show = (v: unknown) => (v === null || v === undefined || v === "" ? "(empty)" : String(v));

/** Columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, n) => Math.max(h.length, ...rows.map((r) => (r[n] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, n) => (n === cells.length - 1 ? c : c.padEnd(widths[n] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

async function partnerOf(s: Services, arg: string): Promise<number> {
  const partners = (await s.portal.listPartners(SYSTEM_ACTOR, { limit: 500 })).items;
  const p = /^\d+$/.test(arg)
    ? partners.find((x) => x.id === Number(arg))
    : partners.find((x) => x.name.toLowerCase() === arg.trim().toLowerCase());
  if (!p) throw notFound("partner");
  return p.id;
}

async function deviceOf(s: Services, partnerId: number, arg: string): Promise<number> {
  if (/^\d+$/.test(arg)) return Number(arg);
  const clients = await s.sync.portal.clients(partnerId);
  const found: number[] = [];
  for (const c of clients)
    for (const d of await s.sync.portal.devices(c.id))
      if (d.hostname.toLowerCase() === arg.trim().toLowerCase()) found.push(d.id);
  if (found.length === 0) throw notFound("device");
  if (found.length > 1)
    throw invalid("device", `${found.length} devices are named ${arg}; give the device id`);
  return found[0] as number;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive whole number");
  return n;
}
