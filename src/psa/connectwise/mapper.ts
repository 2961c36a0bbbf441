/**
 * Portal device → ConnectWise company configuration, as pure functions (docs/connectwise.md,
 * Assets). Standard configuration fields carry what ConnectWise has a field for (name, serial
 * number, model number, IP address, gateway, OS, RAM, drives, last login name, warranty date); in
 * advanced mode the seed's 13 attributes also go to custom fields of those captions, "Partner Portal
 * Device Id" among them. Managed devices get the active status, discovered and unmanaged ones the
 * inactive status, as the partner chose them.
 */
import {
  type AssetDiff,
  type AssetSource,
  type DesiredAsset,
  PORTAL_DEVICE_ID_FIELD,
  type PsaAsset,
} from "../connector.js";
import type { ConnectWiseSettings } from "./settings.js";
import type { CwConfiguration, CwCustomField } from "./types.js";

/** The custom fields of advanced mode: caption → the device attribute it carries. */
export const CUSTOM_FIELDS = [
  ["BIOS Name", "biosName"],
  ["BIOS Version", "biosVersion"],
  ["Device Type", "deviceType"],
  ["DNS", "hostname"],
  ["Drive Info", "driveInfo"],
  ["Gateway", "gateway"],
  ["IP Address", "ipAddress"],
  ["Make", "make"],
  ["Model", "model"],
  ["Operating System", "operatingSystem"],
  ["RAM", "ram"],
  ["Last Logged User", "lastLoggedUser"],
  [PORTAL_DEVICE_ID_FIELD, "id"],
] as const satisfies ReadonlyArray<readonly [string, keyof AssetSource]>;

/** Standard string fields: configuration field → device attribute, and ConnectWise's maximum length. */
const TEXT_FIELDS = [
  ["name", "hostname", 100],
  ["serialNumber", "serialNumber", 250],
  ["modelNumber", "model", 50],
  ["ipAddress", "ipAddress", 50],
  ["defaultGateway", "gateway", 50],
  ["osType", "operatingSystem", 250],
  ["ram", "ram", 25],
  ["localHardDrives", "driveInfo", 4000],
  ["lastLoginName", "lastLoggedUser", 100],
] as const satisfies ReadonlyArray<readonly [string, keyof AssetSource, number]>;

/** Fields whose value is a reference `{id}`. */
export const REF_FIELDS = new Set(["type", "status"]);

/** The configuration fields the sync reads and owns. */
export const CONFIGURATION_FIELDS = [
  ...TEXT_FIELDS.map(([f]) => f),
  "type",
  "status",
  "activeFlag",
  "warrantyExpirationDate",
] as const;

export const CUSTOM_PREFIX = "custom:";

export interface Desired {
  fields: Record<string, string | number | boolean | null>;
  custom: Record<string, string | null>;
}

const clip = (v: string, max: number): string | null => {
  const t = v.trim();
  return t === "" ? null : t.slice(0, max);
};

export function desiredConfiguration(device: AssetSource, s: ConnectWiseSettings): Desired {
  const fields: Desired["fields"] = {};
  for (const [field, attr, max] of TEXT_FIELDS) fields[field] = clip(String(device[attr] ?? ""), max);
  if (fields["name"] === null) fields["name"] = `device-${device.id}`;
  const managed = device.state === "managed";
  fields["type"] = s.configurationTypeId;
  fields["status"] = managed ? s.activeStatusId : s.inactiveStatusId;
  fields["activeFlag"] = managed;
  fields["warrantyExpirationDate"] = device.warrantyEndDate
    ? `${device.warrantyEndDate.slice(0, 10)}T00:00:00Z`
    : null;
  const custom: Desired["custom"] = {};
  if (s.advanced) {
    for (const [caption, attr] of CUSTOM_FIELDS) {
      const v = device[attr];
      custom[caption] = v === null || v === undefined || v === "" ? null : String(v);
    }
  }
  return { fields, custom };
}

/** A desired asset as the engine stores it, read back (anything else reads as empty). */
export function asDesired(d: DesiredAsset): Desired {
  const o = d as Partial<Desired>;
  return { fields: { ...(o.fields ?? {}) }, custom: { ...(o.custom ?? {}) } };
}

/** What a configuration holds now, in the desired form. */
export function actualOf(c: CwConfiguration): Desired {
  const fields: Desired["fields"] = {};
  for (const f of CONFIGURATION_FIELDS) {
    const v = c[f];
    fields[f] = REF_FIELDS.has(f)
      ? typeof (v as { id?: unknown } | null)?.id === "number"
        ? (v as { id: number }).id
        : null
      : ((v as string | number | boolean | null | undefined) ?? null);
  }
  const custom: Desired["custom"] = {};
  for (const cf of c.customFields ?? []) {
    if (typeof cf.caption === "string")
      custom[cf.caption] = cf.value === null || cf.value === undefined ? null : String(cf.value);
  }
  return { fields, custom };
}

function same(field: string, a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown => {
    if (v === undefined || v === null || v === "") return null;
    if (field === "warrantyExpirationDate" && typeof v === "string") {
      const t = Date.parse(v);
      return Number.isNaN(t) ? v : new Date(t).toISOString().slice(0, 10);
    }
    // The API keeps \r and \n as spaces.
    if (typeof v === "string") return v.replace(/\r\n|\r|\n/g, " ").trim();
    return v;
  };
  const x = norm(a);
  const y = norm(b);
  if (typeof x === "number" || typeof y === "number") return Number(x) === Number(y);
  return x === y;
}

/** Field and custom-field changes from `actual` to `desired` (custom fields keyed "custom:<caption>"). */
export function diffDesired(actual: Desired, desired: Desired): AssetDiff {
  const diff: AssetDiff = {};
  for (const [f, to] of Object.entries(desired.fields)) {
    if (to === null && REF_FIELDS.has(f)) continue; // an unset type/status in the settings changes nothing
    const from = actual.fields[f] ?? null;
    if (!same(f, from, to)) diff[f] = { from, to };
  }
  const have = new Map(Object.entries(actual.custom).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [caption, to] of Object.entries(desired.custom)) {
    const from = have.get(caption.toLowerCase()) ?? null;
    if (!same("custom", from, to)) diff[`${CUSTOM_PREFIX}${caption}`] = { from, to };
  }
  return diff;
}

/** The wanted value of a diff key in a desired asset. */
export function wanted(key: string, d: Desired): unknown {
  return key.startsWith(CUSTOM_PREFIX) ? d.custom[key.slice(CUSTOM_PREFIX.length)] : d.fields[key];
}

/** The portal device id a configuration carries in its custom field, if any. */
export function portalIdOf(custom: Record<string, string | null>): number | null {
  const key = Object.keys(custom).find((k) => k.toLowerCase() === PORTAL_DEVICE_ID_FIELD.toLowerCase());
  const n = key === undefined ? Number.NaN : Number(custom[key]);
  return Number.isInteger(n) && n > 0 ? n : null;
}

export function toAsset(c: CwConfiguration): PsaAsset {
  const a = actualOf(c);
  return {
    id: c.id,
    companyId: typeof c.company?.id === "number" ? c.company.id : 0,
    name: c.name ?? "",
    serialNumber:
      typeof c["serialNumber"] === "string" && c["serialNumber"] !== "" ? c["serialNumber"] : null,
    active: c.activeFlag !== false,
    portalDeviceId: portalIdOf(a.custom),
    fields: a.fields,
    custom: a.custom,
  };
}

/** The whole customFields array with the changed captions set (ConnectWise replaces the array). */
export function withCustomValues(
  current: CwCustomField[],
  defs: Map<string, CwCustomField> | null,
  values: Record<string, unknown>,
): { fields: CwCustomField[]; missing: string[] } {
  const out = current.map((f) => ({ ...f }));
  const missing: string[] = [];
  for (const [caption, value] of Object.entries(values)) {
    const lower = caption.toLowerCase();
    const have = out.find((f) => f.caption?.toLowerCase() === lower);
    if (have) have.value = value;
    else {
      const def = defs?.get(lower);
      if (def) out.push({ ...def, value });
      else missing.push(caption);
    }
  }
  return { fields: out, missing };
}
