/**
 * Company configurations behind the AssetPort (docs/connectwise.md, Assets): read a company's
 * configurations page by page, write only the changed fields as JSON-Patch operations (custom fields
 * as the whole array, which is how ConnectWise takes them), and create with a lookup first after an
 * ambiguous failure (the "Partner Portal Device Id" custom field, else the serial number, else the
 * name, within the company).
 */
import type {
  AssetDiff,
  AssetPort,
  AssetSource,
  DesiredAsset,
  PsaAsset,
  SessionContext,
} from "../connector.js";
import { PORTAL_DEVICE_ID_FIELD } from "../connector.js";
import { PsaError } from "../errors.js";
import type { ConnectWiseApi } from "./api.js";
import { type ConnectWiseCache, learnDefs } from "./cache.js";
import {
  asDesired,
  CONFIGURATION_FIELDS,
  CUSTOM_PREFIX,
  desiredConfiguration,
  diffDesired,
  REF_FIELDS,
  toAsset,
  wanted,
  withCustomValues,
} from "./mapper.js";
import { and, int, str } from "./query.js";
import type { ConnectWiseSettings } from "./settings.js";
import type { CwConfiguration, CwCustomField, PatchOp } from "./types.js";

const PATH = "company/configurations";
const READ_FIELDS = [
  ...CONFIGURATION_FIELDS.filter((f) => !REF_FIELDS.has(f)),
  "type/id",
  "status/id",
  "company/id",
  "customFields",
];

export function connectwiseAssets(
  api: ConnectWiseApi,
  s: ConnectWiseSettings,
  ctx: SessionContext,
  cache: ConnectWiseCache,
): AssetPort {
  const remember = (c: CwConfiguration): PsaAsset => {
    if (Array.isArray(c.customFields)) {
      cache.configurationCustom.set(c.id, c.customFields);
      learnDefs(cache, c.customFields);
    }
    return toAsset(c);
  };

  /** The custom-field definitions: as learned, else from any configuration of the tenant. */
  const defs = async (): Promise<Map<string, CwCustomField> | null> => {
    if (cache.customFieldDefs === null) {
      const [any] = await api.all<CwConfiguration>(PATH, { fields: ["customFields"], pageSize: 1, limit: 1 });
      learnDefs(cache, any?.customFields);
    }
    return cache.customFieldDefs;
  };

  const customOps = (current: CwCustomField[], values: Record<string, unknown>): PatchOp[] => {
    const { fields, missing } = withCustomValues(current, cache.customFieldDefs, values);
    if (missing.length > 0) {
      throw new PsaError({
        code: "INVALID_REQUEST",
        retryable: false,
        message: `expected the configuration custom field${missing.length === 1 ? "" : "s"} ${missing
          .map((m) => `"${m}"`)
          .join(
            ", ",
          )} in ConnectWise, got none by that caption (System > Setup Tables > Custom Fields, screen Configuration; or turn advanced device integration off)`,
      });
    }
    return [{ op: "replace", path: "customFields", value: fields }];
  };

  const opsFor = async (id: number, diff: AssetDiff): Promise<PatchOp[]> => {
    const ops: PatchOp[] = [];
    const custom: Record<string, unknown> = {};
    for (const [key, { to }] of Object.entries(diff)) {
      if (key.startsWith(CUSTOM_PREFIX)) custom[key.slice(CUSTOM_PREFIX.length)] = to;
      else if (REF_FIELDS.has(key)) {
        if (to !== null) ops.push({ op: "replace", path: key, value: { id: to } });
      } else ops.push({ op: "replace", path: key, value: to });
    }
    if (Object.keys(custom).length > 0) {
      let current = cache.configurationCustom.get(id);
      if (!current) {
        const c = await api.get<CwConfiguration>(`${PATH}/${int(id)}`, ["customFields"]);
        if (!c)
          throw new PsaError({
            code: "NOT_FOUND",
            retryable: false,
            message: `expected configuration ${id}, got none`,
          });
        current = c.customFields ?? [];
        learnDefs(cache, current);
      }
      if (cache.customFieldDefs === null) await defs();
      ops.push(...customOps(current, custom));
    }
    return ops;
  };

  const lookup = async (companyId: number, device: AssetSource): Promise<CwConfiguration | null> => {
    const inCompany = `company/id = ${int(companyId)}`;
    const query = s.advanced
      ? {
          conditions: inCompany,
          customFieldConditions: `caption = ${str(PORTAL_DEVICE_ID_FIELD)} and value = ${str(String(device.id))}`,
        }
      : device.serialNumber.trim() !== ""
        ? { conditions: and(inCompany, `serialNumber = ${str(device.serialNumber.trim())}`) }
        : { conditions: and(inCompany, `name = ${str(device.hostname.trim() || `device-${device.id}`)}`) };
    const [found] = await api.all<CwConfiguration>(PATH, {
      ...query,
      fields: READ_FIELDS,
      pageSize: 2,
      limit: 1,
    });
    return found ?? null;
  };

  return {
    async listByCompany(companyId: number): Promise<PsaAsset[]> {
      const out: PsaAsset[] = [];
      for await (const page of api.pages<CwConfiguration>(PATH, {
        conditions: `company/id = ${int(companyId)}`,
        fields: READ_FIELDS,
      })) {
        for (const c of page) out.push(remember(c));
      }
      return out;
    },

    async get(id: number): Promise<PsaAsset | null> {
      const c = await api.get<CwConfiguration>(`${PATH}/${int(id)}`, READ_FIELDS);
      return c ? remember(c) : null;
    },

    desired: (device: AssetSource): DesiredAsset =>
      desiredConfiguration(device, s) as unknown as DesiredAsset,

    diff: (asset: PsaAsset, desired: DesiredAsset): AssetDiff =>
      diffDesired(
        { fields: asset.fields as Record<string, string | number | boolean | null>, custom: asset.custom },
        asDesired(desired),
      ),

    sameWanted: (key: string, a: DesiredAsset, b: DesiredAsset): boolean =>
      JSON.stringify(wanted(key, asDesired(a)) ?? null) === JSON.stringify(wanted(key, asDesired(b)) ?? null),

    deactivates: (asset: PsaAsset, diff: AssetDiff): boolean =>
      asset.active && diff["activeFlag"]?.to === false,

    deactivation(asset: PsaAsset): AssetDiff {
      const diff: AssetDiff = { activeFlag: { from: asset.active, to: false } };
      const status = asset.fields["status"] ?? null;
      if (s.inactiveStatusId !== null && status !== s.inactiveStatusId)
        diff["status"] = { from: status, to: s.inactiveStatusId };
      return diff;
    },

    async create(companyId: number, desired: DesiredAsset, device: AssetSource): Promise<number> {
      const d = asDesired(desired);
      const body: Record<string, unknown> = { company: { id: companyId } };
      for (const [f, v] of Object.entries(d.fields)) {
        if (v === null) continue;
        body[f] = REF_FIELDS.has(f) ? { id: v } : v;
      }
      const customValues = Object.fromEntries(Object.entries(d.custom).filter(([, v]) => v !== null));
      const wantsCustom = Object.keys(customValues).length > 0;
      const known = wantsCustom ? await defs() : null;
      // A missing custom field is named before anything is created.
      if (known) body["customFields"] = customOps([], customValues)[0]?.value;
      const created = await api.createIdempotent<CwConfiguration>(PATH, body, () =>
        lookup(companyId, device),
      );
      remember(created);
      if (wantsCustom && !known) {
        // A tenant without any configuration yet: the definitions come with the created record, and
        // the custom fields follow in one update. Its failure must not hide the created id (the next
        // sync writes them, or names the missing field).
        try {
          const ops = customOps(created.customFields ?? [], customValues);
          remember(await api.patch<CwConfiguration>(`${PATH}/${int(created.id)}`, ops));
        } catch (e) {
          ctx.logger.warn(
            {
              partnerId: ctx.partnerId,
              configurationId: created.id,
              err: e instanceof Error ? e.message : String(e),
            },
            "ConnectWise: the new configuration's custom fields were not written",
          );
        }
      }
      return created.id;
    },

    async update(id: number, diff: AssetDiff): Promise<void> {
      const ops = await opsFor(id, diff);
      if (ops.length === 0) return;
      const updated = await api.patch<CwConfiguration>(`${PATH}/${int(id)}`, ops);
      if (Array.isArray(updated.customFields)) cache.configurationCustom.set(id, updated.customFields);
    },
  };
}
