/**
 * The Autotask side of the asset benchmark (bench/assets.ts): its emulator in its own process with the
 * hourly threshold out of the way and no webhooks, companies made through its admin API, and the naive
 * strategy with the Autotask client (look the CI up by its portal-id UDF, then write all its fields).
 */
import { DEFAULT_CREDENTIALS, DEMO_IDS } from "../src/emulators/autotask/seed.js";
import { openServices } from "../src/main.js";
import type { IntegrationInput } from "../src/portal/types.js";
import { AutotaskClient } from "../src/psa/autotask/client.js";
import { createBody, desiredCi, PORTAL_ID_UDF } from "../src/psa/autotask/mapper.js";
import type { AssetsPsa } from "./assets-psa.js";
import { startEmulatorProcess } from "./emulator-process.js";

export async function autotaskAssets(): Promise<AssetsPsa> {
  const emulator = await startEmulatorProcess(["--threshold", "100000000", "--no-webhooks"]);
  const baseUrl = emulator.restBase;
  const admin = emulator.admin;
  const settings = { productId: DEMO_IDS.product, configurationItemTypeId: DEMO_IDS.ciType, advanced: true };
  return {
    label: "Autotask",
    origin: new URL(baseUrl).origin,
    pageSize: 500,
    requests: async () => (await admin<{ requests: number }>("GET", "/stats")).requests,
    open: (config, opts) => openServices(config, opts),
    async createCompanies(n) {
      const { ids } = await admin<{ ids: number[] }>("POST", "/tenants/default/rows/Companies", {
        rows: Array.from({ length: n }, (_, i) => ({
          companyName: `Bench Client ${i + 1}`,
          companyNumber: `BC${i + 1}`,
          companyType: 1,
          phone: "555-0100",
          ownerResourceID: DEMO_IDS.apiResource,
          isActive: true,
        })),
      });
      return ids;
    },
    integration: () =>
      ({
        ticketing: {
          enabled: false,
          nocMayEnterTickets: false,
          apiUrl: baseUrl,
          username: DEFAULT_CREDENTIALS.username,
          secret: DEFAULT_CREDENTIALS.secret,
          integrationCode: DEFAULT_CREDENTIALS.integrationCode,
          queueId: null,
          queueName: "",
          billingCodeId: null,
          billingCodeName: "",
        },
        devices: { enabled: true, ...settings, schedule: null },
      }) as IntegrationInput,
    naive(config, companyOf) {
      const naiveClient = new AutotaskClient({
        credentials: { apiUrl: baseUrl, ...DEFAULT_CREDENTIALS },
        urlPolicy: config.psaUrls,
        budget: false,
      });
      return async (d) => {
        const found = await naiveClient.queryAll("ConfigurationItems", {
          filter: [{ op: "eq", field: PORTAL_ID_UDF, value: String(d.id), udf: true }],
          maxRecords: 1,
        });
        const body = createBody(companyOf.get(d.clientId) as number, desiredCi(d, settings));
        if (found[0])
          await naiveClient.update("ConfigurationItems", { ...body, id: found[0].id, companyID: undefined });
        else if (d.state !== "unmanaged") await naiveClient.create("ConfigurationItems", body);
      };
    },
    stop: () => emulator.stop(),
  };
}
