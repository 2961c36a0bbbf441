import { createContext, type ReactNode, useContext } from "react";
import { get } from "./api";
import { autotaskCiUrl, autotaskTicketUrl, autotaskWebUrl } from "./format";
import { useResource } from "./hooks";
import type { Integration, PsaField, PsaSystem, PsaTicket } from "./types";

/**
 * How the pages name the partner's PSA and its records: the system's label from its manifest (GET
 * /api/psa/systems) and the words its users know (an Autotask "CI", a ConnectWise "configuration").
 * The pages read stored settings only through `setting`, so no page names a connector's field.
 */
export interface Psa {
  system: string;
  /** "Autotask", "ConnectWise". */
  label: string;
  /** The connector's settings fields (its manifest), for summaries. */
  fields: PsaField[];
  /** The PSA's record of a device, short ("CI") and in full ("configuration item"). */
  asset: string;
  assetLong: string;
  /** Where the NOC's tickets live in the PSA ("queue", "service board"). */
  queue: string;
  /** The PSA's custom fields of a device ("user-defined fields", "custom fields"). */
  customFields: string;
  /** How the PSA's change notices are called ("webhooks", "callbacks"). */
  hooks: string;
  /** What Validate checks, in the PSA's words. */
  validates: string;
  /** What publishing a note means there. */
  published: string;
  /** Whom time entries are booked to ("resource", "member"), with what ("role", "work role"), and the
   * live pick-list of those roles (GET …/psa/options: "roles", "workRoles"). */
  resource: string;
  role: string;
  roleOptions: string;
  /** Every credential of the stored settings is there (the live pick-lists can be read). */
  hasCredentials: boolean;
  /** Where the PSA's statuses belong (a ConnectWise board): the chosen value and its name. */
  statusScope: { label: string; id: number | null; name: string } | undefined;
  /** A stored setting by its key ("queueName"), whatever the system. */
  setting(key: string): unknown;
  /** How people refer to a PSA ticket ("T20261128.0001", "#123"). */
  ticketRef(t: Pick<PsaTicket, "ticketNumber" | "ticketId">): string | null;
  /** A link to a ticket or an asset in the PSA's own UI, where the system has a known one. */
  ticketUrl(id: number): string | null;
  assetUrl(id: number): string | null;
}

export interface Words {
  asset: string;
  assetLong: string;
  queue: string;
  customFields: string;
  hooks: string;
  validates: string;
  published: string;
  /** Whom time entries are booked to ("resource", "member") and with what ("role", "work role"). */
  resource: string;
  role: string;
  /** The live pick-list (GET …/psa/options) of those roles. */
  roleOptions: string;
}

/** The PSAs' own words (Autotask's and ConnectWise's admin menus); a system not listed gets plain ones. */
const WORDS: Record<string, Words> = {
  autotask: {
    asset: "CI",
    assetLong: "configuration item",
    queue: "queue",
    customFields: "user-defined fields",
    hooks: "webhooks",
    validates:
      "credentials, queue, allocation, product, configuration item type, user-defined fields, client companies and the mapped statuses and priorities",
    published: "all Autotask users see it; otherwise internal only",
    resource: "resource",
    role: "role",
    roleOptions: "roles",
  },
  connectwise: {
    asset: "configuration",
    assetLong: "configuration",
    queue: "service board",
    customFields: "custom fields",
    hooks: "callbacks",
    validates:
      "credentials, configuration type and statuses, custom fields, client companies, the service board with its default status, type and the mapped statuses, the mapped priorities and the API member's permissions",
    published: "a Discussion note in ConnectWise, which the customer may see; otherwise an Internal note",
    resource: "member",
    role: "work role",
    roleOptions: "workRoles",
  },
};
const PLAIN: Words = {
  asset: "asset",
  assetLong: "asset",
  queue: "queue",
  customFields: "custom fields",
  hooks: "webhooks",
  validates: "credentials, the settings, client companies and the mapped statuses and priorities",
  published: "visible to the PSA's users; otherwise internal only",
  resource: "resource",
  role: "role",
  roleOptions: "roles",
};

/** A system's words (the chosen system in Setup may not be the stored one). */
export const wordsOf = (system: string): Words => WORDS[system] ?? PLAIN;

const text = (v: unknown): string => (v === null || v === undefined ? "" : String(v));

/** The stored settings' value of a key in either section (ticketing first). */
export function settingOf(i: Integration, key: string): unknown {
  const t = i.ticketing as Record<string, unknown>;
  const d = i.devices as Record<string, unknown>;
  return key in t ? t[key] : d[key];
}

/**
 * How people refer to a PSA ticket of a system: Autotask's ticket number as it is ("T20261128.0001"),
 * other systems' with a leading # ("#123"); null when the ticket is not in the PSA.
 */
export function ticketRefOf(
  system: string | null,
  t: Pick<PsaTicket, "ticketNumber"> | null | undefined,
): string | null {
  const n = t?.ticketNumber ?? null;
  if (n === null || n === "") return null;
  return system === "autotask" ? n : `#${n.replace(/^#/, "")}`;
}

/** The PSA of the stored settings, as the pages name it. */
export function psaOf(i: Integration, systems: PsaSystem[]): Psa {
  const system = systems.find((s) => s.system === i.ticketing.system);
  const words = wordsOf(i.ticketing.system);
  const setting = (key: string) => settingOf(i, key);
  const hasCredentials =
    system?.fields
      .filter((f) => f.credential)
      .every((f) => text(f.kind === "secret" ? i.ticketing.secret : setting(f.key)) !== "") === true;
  const scope = system?.statusScope;
  const scopeField = scope ? system?.fields.find((f) => f.key === scope.settingKey) : undefined;
  const scopeId = scope ? setting(scope.settingKey) : null;
  const autotask = i.ticketing.system === "autotask";
  const web = autotask ? autotaskWebUrl(text(setting("apiUrl"))) : null;
  return {
    system: i.ticketing.system,
    label: system?.label ?? i.ticketing.system,
    fields: system?.fields ?? [],
    ...words,
    hasCredentials,
    statusScope: scope
      ? {
          label: scope.label,
          id: typeof scopeId === "number" ? scopeId : null,
          name: scopeField?.labelKey ? text(setting(scopeField.labelKey)) : "",
        }
      : undefined,
    setting,
    ticketRef: (t) => ticketRefOf(i.ticketing.system, t),
    ticketUrl: (id) => (autotask ? autotaskTicketUrl(web, id) : null),
    assetUrl: (id) => (autotask ? autotaskCiUrl(web, id) : null),
  };
}

let systemsOnce: Promise<PsaSystem[]> | null = null;
/** The PSA systems the server runs (the same for the whole session: read once). */
export function loadSystems(): Promise<PsaSystem[]> {
  systemsOnce ??= get<PsaSystem[]>("/api/psa/systems").catch((e: unknown) => {
    systemsOnce = null;
    throw e;
  });
  return systemsOnce;
}

interface PsaCtx {
  /** The partner's stored settings and its PSA, once read (undefined while loading or unreadable). */
  integration: Integration | undefined;
  psa: Psa | undefined;
  error: string | undefined;
  /** Reads them again (after a save). */
  reload(): Promise<void>;
}

const PsaContext = createContext<PsaCtx | null>(null);

/** Reads the partner's settings and the PSA systems for the partner's pages. */
export function PsaScope({ partnerId, children }: { partnerId: number; children: ReactNode }) {
  const res = useResource(async () => {
    const [i, systems] = await Promise.all([
      get<Integration>(`/api/partners/${partnerId}/integration`),
      loadSystems(),
    ]);
    return { integration: i, psa: psaOf(i, systems) };
  }, [partnerId]);
  const value: PsaCtx = {
    integration: res.data?.integration,
    psa: res.data?.psa,
    error: res.error,
    reload: () => res.reload(true),
  };
  return <PsaContext.Provider value={value}>{children}</PsaContext.Provider>;
}

/** The partner's PSA (inside a partner's pages). */
export function usePsa(): PsaCtx {
  const c = useContext(PsaContext);
  if (!c) throw new Error("usePsa outside a partner page");
  return c;
}
