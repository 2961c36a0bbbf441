/**
 * The ConnectWise side of the asset benchmark (bench/assets.ts): its emulator in its own process over
 * HTTPS (`nocbridge emulator connectwise … --ca-out FILE`, the certificate trusted by this process),
 * the per-minute throttle off and no callbacks; companies made through the REST API as the API member
 * (before anything is measured); the ConnectWise connector; and the naive strategy with the
 * ConnectWise client (look the configuration up by its "Partner Portal Device Id" custom field, then
 * write all its fields in one PATCH, or create it).
 */

import { PORTAL_DEVICE_ID_FIELD } from "../src/psa/connector.js";
import { learnDefs, newCache } from "../src/psa/connectwise/cache.js";
import { ConnectWiseClient, MAX_PAGE_SIZE } from "../src/psa/connectwise/client.js";
import { desiredConfiguration, REF_FIELDS, withCustomValues } from "../src/psa/connectwise/mapper.js";
import { int, str } from "../src/psa/connectwise/query.js";
import { connectwiseSettings } from "../src/psa/connectwise/settings.js";
import type { CwConfiguration, PatchOp } from "../src/psa/connectwise/types.js";
import type { AssetsPsa } from "./assets-psa.js";
import { connectwiseIntegration, openServicesWithConnectWise, trustConnectWiseCa } from "./connectwise.js";
import { CW_CREDENTIALS, httpsJson, startConnectWiseEmulatorProcess } from "./emulator-process.js";

const PATH = "company/configurations";

export async function connectwiseAssets(): Promise<AssetsPsa> {
  const emulator = await startConnectWiseEmulatorProcess(["--requests-per-minute", "0", "--no-callbacks"]);
  trustConnectWiseCa(emulator.caPem);
  const c = CW_CREDENTIALS;
  const apiBase = `${emulator.url}/v4_6_release/apis/3.0`;
  const memberHeaders = {
    authorization: `Basic ${Buffer.from(`${c.companyId}+${c.publicKey}:${c.privateKey}`).toString("base64")}`,
    clientId: c.clientId,
  };
  const integration = connectwiseIntegration(emulator.url, { tickets: false, devices: true });
  return {
    label: "ConnectWise",
    origin: emulator.url,
    pageSize: MAX_PAGE_SIZE,
    requests: async () => (await emulator.admin<{ requests: number }>("GET", "/stats")).requests,
    operations: async () =>
      (await emulator.admin<{ byOperation: Record<string, number> }>("GET", "/stats")).byOperation,
    open: openServicesWithConnectWise,
    async createCompanies(n) {
      const ids: number[] = [];
      for (let i = 0; i < n; i++) {
        const res = await httpsJson(
          emulator.agent,
          "POST",
          `${apiBase}/company/companies`,
          { identifier: `BenchClient${i + 1}`, name: `Bench Client ${i + 1}`, types: [{ name: "Client" }] },
          memberHeaders,
        );
        if (res.status !== 201) throw new Error(`POST company/companies → ${res.status} ${res.text}`);
        ids.push((res.body as { id: number }).id);
      }
      return ids;
    },
    integration: () => integration,
    naive(config, companyOf) {
      const client = new ConnectWiseClient({
        credentials: { siteUrl: emulator.url, ...c },
        urlPolicy: config.psaUrls,
      });
      const settings = connectwiseSettings(integration as never);
      // Custom-field definitions, learned from the configurations read (each shows every field).
      const cache = newCache();
      return async (d) => {
        const companyId = companyOf.get(d.clientId) as number;
        const [found] = await client.all<CwConfiguration>(PATH, {
          conditions: `company/id = ${int(companyId)}`,
          customFieldConditions: `caption = ${str(PORTAL_DEVICE_ID_FIELD)} and value = ${str(String(d.id))}`,
          pageSize: 1,
          limit: 1,
        });
        if (found) learnDefs(cache, found.customFields);
        const want = desiredConfiguration(d, settings);
        const custom = withCustomValues(found?.customFields ?? [], cache.customFieldDefs, want.custom).fields;
        if (found) {
          const ops: PatchOp[] = Object.entries(want.fields).map(([path, v]) => ({
            op: "replace",
            path,
            value: REF_FIELDS.has(path) && v !== null ? { id: v } : v,
          }));
          ops.push({ op: "replace", path: "customFields", value: custom });
          await client.patch(`${PATH}/${int(found.id)}`, ops);
        } else if (d.state !== "unmanaged") {
          const body: Record<string, unknown> = { company: { id: companyId }, customFields: custom };
          for (const [f, v] of Object.entries(want.fields))
            if (v !== null) body[f] = REF_FIELDS.has(f) ? { id: v } : v;
          await client.create(PATH, body);
        }
      };
    },
    stop: () => emulator.stop(),
  };
}
