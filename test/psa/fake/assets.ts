import {
  type AssetDiff,
  type AssetPort,
  type AssetSource,
  type DesiredAsset,
  PORTAL_DEVICE_ID_FIELD,
  type PsaAsset,
} from "../../../src/psa/connector.js";
import { type FakeClient, notFound, refuse } from "./client.js";
import type { FakeSettings } from "./manifest.js";
import type { FakeAsset } from "./psa.js";

/** What the fake wants an asset to be; its diff keys are these names and `custom:<field>`. */
export interface FakeDesired {
  name: string;
  serialNumber: string | null;
  warrantyEnd: string | null;
  active: boolean;
  custom: Record<string, string | null>;
}

const STANDARD = ["name", "serialNumber", "warrantyEnd", "active"] as const;
const CUSTOM = "custom:";

const blank = (v: string | null | undefined): string | null =>
  v === null || v === undefined || v.trim() === "" ? null : v;

/** The value `key` of a diff names, in a desired asset. */
function wanted(d: DesiredAsset, key: string): unknown {
  const f = d as unknown as FakeDesired;
  if (key.startsWith(CUSTOM)) return f.custom?.[key.slice(CUSTOM.length)] ?? null;
  return (f as unknown as Record<string, unknown>)[key] ?? null;
}

const norm = (v: unknown): unknown => (typeof v === "string" ? blank(v.trim()) : (v ?? null));

function view(a: FakeAsset): PsaAsset {
  const portal = Number(a.custom[PORTAL_DEVICE_ID_FIELD]);
  return {
    id: a.id,
    companyId: a.companyId,
    name: a.name,
    serialNumber: a.serialNumber,
    active: a.active,
    portalDeviceId: Number.isInteger(portal) && portal > 0 ? portal : null,
    fields: { name: a.name, serialNumber: a.serialNumber, warrantyEnd: a.warrantyEnd, active: a.active },
    custom: { ...a.custom },
  };
}

/** The fake's assets: one-way from the portal, matched by the portal id field, serial or name. */
export function fakeAssets(client: FakeClient, s: FakeSettings): AssetPort {
  const tenant = client.tenant;
  const checkCustom = (op: string, names: string[]) => {
    for (const n of names)
      if (!tenant.customFields.has(n))
        throw refuse(op, `User-defined field '${n}' does not exist for assets.`);
  };
  return {
    async listByCompany(companyId) {
      const list = await client.call("assets.query", (rows) =>
        [...rows.assets.values()].filter((a) => a.companyId === companyId).sort((a, b) => a.id - b.id),
      );
      return list.map(view);
    },

    async get(id) {
      const a = await client.call("assets.get", (rows) => rows.assets.get(id));
      return a ? view(a) : null;
    },

    desired(d: AssetSource): DesiredAsset {
      const custom: Record<string, string | null> = {};
      if (s.advanced) {
        custom[PORTAL_DEVICE_ID_FIELD] = String(d.id);
        custom["IP Address"] = blank(d.ipAddress);
        custom["Operating System"] = blank(d.operatingSystem);
        custom["RAM"] = blank(d.ram);
      }
      const out: FakeDesired = {
        name: d.hostname,
        serialNumber: blank(d.serialNumber),
        warrantyEnd: d.warrantyEndDate,
        active: d.state === "managed",
        custom,
      };
      return out as unknown as DesiredAsset;
    },

    diff(asset, desired) {
      const out: AssetDiff = {};
      const have: Record<string, unknown> = asset.fields;
      for (const k of STANDARD) {
        const from = have[k] ?? null;
        const to = wanted(desired, k);
        if (norm(from) !== norm(to)) out[k] = { from, to };
      }
      for (const name of Object.keys((desired as unknown as FakeDesired).custom ?? {})) {
        const from = asset.custom[name] ?? null;
        const to = wanted(desired, CUSTOM + name);
        if (norm(from) !== norm(to)) out[CUSTOM + name] = { from, to };
      }
      return out;
    },

    sameWanted(key, a, b) {
      return JSON.stringify(wanted(a, key)) === JSON.stringify(wanted(b, key));
    },

    deactivates(asset, diff) {
      return asset.active && diff["active"]?.to === false;
    },

    deactivation(asset) {
      return { active: { from: asset.active, to: false } };
    },

    async create(companyId, desired, device) {
      const op = "assets.create";
      const want = desired as unknown as FakeDesired;
      return client.idempotent(
        () =>
          client.call(op, () => {
            const company = tenant.companies.get(companyId);
            if (!company) throw refuse(op, "Value does not reference an existing entity for companyId.");
            if (!company.active)
              throw refuse(op, "Reference value on field: companyId does not exist or is invalid.");
            if (blank(want.name) === null) throw refuse(op, "Missing Required Field: name.");
            checkCustom(op, Object.keys(want.custom ?? {}));
            return tenant.addAsset({
              companyId,
              name: want.name,
              serialNumber: want.serialNumber,
              warrantyEnd: want.warrantyEnd,
              active: want.active,
              custom: { ...want.custom },
            }).id;
          }),
        // After an ambiguous create: by the portal id field (advanced), else serial, else name.
        () =>
          client.call("assets.query", (rows) => {
            const mine = [...rows.assets.values()].filter((a) => a.companyId === companyId);
            const hit = s.advanced
              ? mine.find((a) => a.custom[PORTAL_DEVICE_ID_FIELD] === String(device.id))
              : device.serialNumber
                ? mine.find((a) => a.serialNumber?.toLowerCase() === device.serialNumber.toLowerCase())
                : mine.find((a) => a.name === device.hostname);
            return hit?.id ?? null;
          }),
      );
    },

    async update(id, diff) {
      const op = "assets.update";
      await client.call(op, (rows) => {
        const row = rows.assets.get(id);
        if (!row) throw notFound(op, `asset ${id}`);
        const next: FakeAsset = { ...row, custom: { ...row.custom } };
        for (const [key, { to }] of Object.entries(diff)) {
          if (key.startsWith(CUSTOM)) {
            checkCustom(op, [key.slice(CUSTOM.length)]);
            next.custom[key.slice(CUSTOM.length)] = to === null ? null : String(to);
          } else if (key === "active") {
            if (typeof to !== "boolean") throw refuse(op, "active must be true or false.");
            next.active = to;
          } else if (key === "name" || key === "serialNumber" || key === "warrantyEnd") {
            if (to !== null && typeof to !== "string") throw refuse(op, `${key} must be text.`);
            if (key === "name") next.name = String(to ?? "");
            else next[key] = (to as string | null) ?? null;
          } else throw refuse(op, `${key} is not an asset field that can be written.`);
        }
        if (blank(next.name) === null) throw refuse(op, "Missing Required Field: name.");
        Object.assign(row, next, { lastActivity: tenant.stamp() });
      });
    },
  };
}
