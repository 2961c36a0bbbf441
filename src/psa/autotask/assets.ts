import type { AssetDiff, AssetPort, AssetSource, DesiredAsset, PsaAsset } from "../connector.js";
import { type AutotaskApi, queryAll } from "./api.js";
import {
  type CiRecord,
  type CiSettings,
  createBody,
  type DesiredCi,
  desiredCi,
  diffCi,
  PORTAL_ID_UDF,
  patchBody,
  portalIdOf,
} from "./mapper.js";
import type { AutotaskSettings } from "./settings.js";
import type { QueryFilter } from "./types.js";

/** A configuration item as the engine sees it: standard fields, UDFs by name, the portal id it carries. */
export function assetOf(ci: CiRecord): PsaAsset {
  const { userDefinedFields, ...fields } = ci;
  const custom: Record<string, string | null> = {};
  for (const u of userDefinedFields ?? []) custom[u.name] = u.value;
  return {
    id: ci.id,
    companyId: ci.companyID,
    name: ci.referenceTitle ?? "",
    serialNumber: ci.serialNumber ?? null,
    active: ci.isActive === true,
    portalDeviceId: portalIdOf(ci),
    fields,
    custom,
  };
}

/** The asset back as the CI record the mapper compares. */
function recordOf(a: PsaAsset): CiRecord {
  return {
    ...a.fields,
    id: a.id,
    companyID: a.companyId,
    userDefinedFields: Object.entries(a.custom).map(([name, value]) => ({ name, value })),
  };
}

/** A stored description of another shape (not `{fields, udfs}`) compares as nothing changed. */
const isDesiredCi = (d: DesiredAsset): boolean =>
  typeof d["fields"] === "object" && d["fields"] !== null && typeof d["udfs"] === "object";

/**
 * Configuration items under the asset port. A company's CIs are read in 500-row pages; a write sends
 * only the changed fields and UDFs (docs/autotask.md, Writes).
 */
export function autotaskAssets(api: AutotaskApi, s: AutotaskSettings): AssetPort {
  const settings = (): CiSettings => ({
    productId: s.productId as number,
    configurationItemTypeId: s.configurationItemTypeId as number,
    advanced: s.advanced,
  });

  /** After an ambiguous create: is the CI there after all? By UDF (advanced), serial, or hostname. */
  const lookup = async (companyId: number, d: AssetSource): Promise<number | null> => {
    const filter: QueryFilter = [{ op: "eq", field: "companyID", value: companyId }];
    if (s.advanced) filter.push({ op: "eq", field: PORTAL_ID_UDF, value: String(d.id), udf: true });
    else if (d.serialNumber) filter.push({ op: "eq", field: "serialNumber", value: d.serialNumber });
    else filter.push({ op: "eq", field: "referenceTitle", value: d.hostname });
    const found = await queryAll<CiRecord>(api, "ConfigurationItems", { filter, maxRecords: 2 });
    return found[0]?.id ?? null;
  };

  return {
    async listByCompany(companyId) {
      const cis = await queryAll<CiRecord>(api, "ConfigurationItems", {
        filter: [{ op: "eq", field: "companyID", value: companyId }],
        maxRecords: 500,
      });
      return cis.map(assetOf);
    },
    async get(id) {
      const ci = await api.get<CiRecord>("ConfigurationItems", id);
      return ci ? assetOf(ci) : null;
    },
    desired: (device) => desiredCi(device, settings()) as unknown as DesiredAsset,
    diff: (asset, desired) =>
      isDesiredCi(desired) ? diffCi(recordOf(asset), desired as unknown as DesiredCi) : {},
    sameWanted(key, a, b) {
      const get = (d: DesiredAsset) => {
        const part = key.startsWith("udf:") ? d["udfs"] : d["fields"];
        return (part as Record<string, unknown> | undefined)?.[key.startsWith("udf:") ? key.slice(4) : key];
      };
      return JSON.stringify(get(a) ?? null) === JSON.stringify(get(b) ?? null);
    },
    deactivates: (asset, diff) => diff["isActive"]?.to === false && asset.active,
    deactivation: (): AssetDiff => ({ isActive: { from: true, to: false } }),
    create: (companyId, desired, device) =>
      api.createIdempotent("ConfigurationItems", createBody(companyId, desired as unknown as DesiredCi), () =>
        lookup(companyId, device),
      ),
    async update(id, diff) {
      await api.update("ConfigurationItems", patchBody(id, diff));
    },
  };
}
