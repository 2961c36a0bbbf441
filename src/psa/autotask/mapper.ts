import { type AssetSource, PORTAL_DEVICE_ID_FIELD } from "../connector.js";

/** What the mapper reads of a portal device (the connector seam's asset source). */
export type CiSource = AssetSource;

/**
 * Portal device → Autotask Configuration Item, as pure functions (no I/O). Advanced mode writes the
 * 13 user-defined fields below as well (the emulator's tenant has them, docs/emulator.md, Seeds);
 * simple mode writes the standard fields only.
 */

/** The CI user-defined fields of advanced mode: UDF name → the device attribute it carries. */
export const CI_UDFS = [
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
  ["Partner Portal Device Id", "id"],
] as const satisfies ReadonlyArray<readonly [string, keyof CiSource]>;

export const PORTAL_ID_UDF = PORTAL_DEVICE_ID_FIELD;

export type CiUdfName = (typeof CI_UDFS)[number][0];

/** The standard CI fields nocbridge owns (one-way: Autotask-side edits of these are overwritten). */
export const CI_FIELDS = [
  "productID",
  "configurationItemType",
  "referenceTitle",
  "serialNumber",
  "warrantyExpirationDate",
  "isActive",
] as const;
export type CiField = (typeof CI_FIELDS)[number];

/** What a CI should look like for a device: the synced standard fields and (advanced) the UDFs. */
export interface DesiredCi {
  fields: Record<CiField, string | number | boolean | null>;
  udfs: Partial<Record<CiUdfName, string | null>>;
}

export interface CiSettings {
  productId: number;
  configurationItemTypeId: number;
  advanced: boolean;
}

/** managed → active; discovered and unmanaged → inactive (a CI is never deleted). */
export function desiredCi(device: CiSource, settings: CiSettings): DesiredCi {
  const udfs: DesiredCi["udfs"] = {};
  if (settings.advanced) {
    for (const [name, attr] of CI_UDFS) {
      const v = device[attr];
      udfs[name] = v === null || v === "" ? null : String(v);
    }
  }
  return {
    fields: {
      productID: settings.productId,
      configurationItemType: settings.configurationItemTypeId,
      referenceTitle: device.hostname,
      serialNumber: device.serialNumber === "" ? null : device.serialNumber,
      warrantyExpirationDate: device.warrantyEndDate === null ? null : `${device.warrantyEndDate}T00:00:00Z`,
      isActive: device.state === "managed",
    },
    udfs,
  };
}

/** The shape of a CI as read from Autotask (only what the sync looks at). */
export interface CiRecord {
  [field: string]: unknown;
  id: number;
  companyID: number;
  productID?: number | null;
  configurationItemType?: number | null;
  referenceTitle?: string | null;
  serialNumber?: string | null;
  warrantyExpirationDate?: string | null;
  isActive?: boolean | null;
  userDefinedFields?: Array<{ name: string; value: string | null }> | null;
}

/** One changed value: what Autotask has now, and what the portal wants. */
export interface Change {
  from: unknown;
  to: unknown;
}

/** Field or UDF name → change; the UDFs are keyed `udf:<name>`. */
export type CiDiff = Record<string, Change>;

/**
 * The differences between a CI as it is and as it should be, after normalising representation
 * (null = "", dates compared by calendar day, numbers vs numeric strings).
 */
export function diffCi(actual: CiRecord | undefined, desired: DesiredCi): CiDiff {
  const diff: CiDiff = {};
  for (const f of CI_FIELDS) {
    const from = actual?.[f] ?? null;
    const to = desired.fields[f];
    if (!sameValue(f, from, to)) diff[f] = { from, to };
  }
  const udfs = new Map((actual?.userDefinedFields ?? []).map((u) => [u.name.toLowerCase(), u.value]));
  for (const [name, to] of Object.entries(desired.udfs)) {
    const from = udfs.get(name.toLowerCase()) ?? null;
    if (!sameValue("udf", from, to ?? null)) diff[`udf:${name}`] = { from, to: to ?? null };
  }
  return diff;
}

/** The PATCH body for a diff: id, the changed standard fields, and only the changed UDFs. */
export function patchBody(id: number, diff: CiDiff): Record<string, unknown> & { id: number } {
  const body: Record<string, unknown> & { id: number } = { id };
  const udfs: Array<{ name: string; value: unknown }> = [];
  for (const [key, { to }] of Object.entries(diff)) {
    if (key.startsWith("udf:")) udfs.push({ name: key.slice(4), value: to });
    else body[key] = to;
  }
  if (udfs.length > 0) body.userDefinedFields = udfs;
  return body;
}

/** The POST body that creates a device's CI under a company. */
export function createBody(companyId: number, desired: DesiredCi): Record<string, unknown> {
  const body: Record<string, unknown> = { companyID: companyId, ...desired.fields };
  const udfs = Object.entries(desired.udfs).map(([name, value]) => ({ name, value }));
  if (udfs.length > 0) body.userDefinedFields = udfs;
  return body;
}

/** The portal device id a CI carries in its UDF, if any. */
export function portalIdOf(ci: CiRecord): number | null {
  const v = ci.userDefinedFields?.find((u) => u.name.toLowerCase() === PORTAL_ID_UDF.toLowerCase())?.value;
  const n = v === null || v === undefined ? Number.NaN : Number(v);
  return Number.isInteger(n) && n > 0 ? n : null;
}

function sameValue(field: string, a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown => {
    if (v === undefined || v === null || v === "") return null;
    if (field === "warrantyExpirationDate" && typeof v === "string") {
      const t = Date.parse(v);
      return Number.isNaN(t) ? v : new Date(t).toISOString().slice(0, 10);
    }
    if (typeof v === "string" && field !== "udf") return v.trim();
    return v;
  };
  const x = norm(a);
  const y = norm(b);
  if (typeof x === "number" || typeof y === "number") return Number(x) === Number(y);
  return x === y;
}
