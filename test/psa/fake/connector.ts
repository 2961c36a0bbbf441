/**
 * A fake PSA connector for tests: the whole seam (src/psa/connector.ts) over an in-memory PSA
 * (./psa.ts), so the engine can be tested without HTTP and the connector contract (../contract.ts)
 * has a second implementation besides Autotask.
 *
 *   const fake = fakeConnector();
 *   const session = fake.open(fake.settings(1), fake.tenant(1).secret, ctx);
 *   fake.tenant(1).addNote(ticketId, { text: "from a technician", published: false });
 *   fake.tenant(1).failNext({ code: "TIMEOUT", on: "tickets.create", applied: true });
 */
import { fingerprint } from "../../../src/lib/fingerprint.js";
import type {
  Check,
  Connector,
  IntegrationSettings,
  PsaSession,
  SessionContext,
} from "../../../src/psa/connector.js";
import { fakeAssets } from "./assets.js";
import { FakeClient } from "./client.js";
import { fakeCompanies } from "./companies.js";
import { FAKE_MANIFEST, fakeSettings } from "./manifest.js";
import { FakePsa, type FakeTenant, NOC_QUEUE } from "./psa.js";
import { fakeTickets } from "./tickets.js";
import { fakeOptions, validateFake } from "./validate.js";
import { fakeWebhookReceiver, fakeWebhooks } from "./webhooks.js";

export interface FakeConnector extends Connector {
  readonly psa: FakePsa;
  /** The partner's tenant in the fake PSA: add and inspect records "from the PSA side", inject faults. */
  tenant(partnerId: number): FakeTenant;
  /** Settings that open a working session for the partner (its tenant's account and NOC queue). */
  settings(partnerId: number, over?: { advanced?: boolean; queueId?: number | null }): IntegrationSettings;
}

export function fakeConnector(psa: FakePsa = new FakePsa()): FakeConnector {
  const clients = new Map<number, { key: string; client: FakeClient }>();
  /** One client per partner while the credentials stay the same, as a real connector keeps one. */
  const clientFor = (partnerId: number, creds: { username: string; secret: string }) => {
    const key = fingerprint({ partnerId, ...creds });
    const cached = clients.get(partnerId);
    if (cached?.key === key) return cached;
    const made = { key, client: new FakeClient(psa.tenant(partnerId), creds) };
    clients.set(partnerId, made);
    return made;
  };
  return {
    system: FAKE_MANIFEST.system,
    label: FAKE_MANIFEST.label,
    manifest: FAKE_MANIFEST,
    webhooks: fakeWebhookReceiver,
    psa,
    tenant: (partnerId) => psa.tenant(partnerId),

    settings(partnerId, over = {}) {
      const queueId = over.queueId === undefined ? NOC_QUEUE : over.queueId;
      return {
        ticketing: {
          enabled: true,
          system: "fake",
          account: psa.tenant(partnerId).username,
          queueId,
          queueName: "NOC",
        },
        devices: { enabled: true, advanced: over.advanced === true },
      };
    },

    missing(settings: IntegrationSettings, hasSecret: boolean): Check | null {
      if (hasSecret && fakeSettings(settings).account !== "") return null;
      return {
        name: "credentials",
        ok: false,
        message: "The FakePSA account and secret are not both set.",
        fix: "Enter the account and its secret under Setup → Partner details.",
      };
    },

    open(settings: IntegrationSettings, secret: string, ctx: SessionContext): PsaSession {
      const s = fakeSettings(settings);
      const { key, client } = clientFor(ctx.partnerId, { username: s.account, secret });
      return {
        system: FAKE_MANIFEST.system,
        label: FAKE_MANIFEST.label,
        key,
        stats: () => ({ requests: client.requests }),
        tickets: fakeTickets(client, s),
        assets: fakeAssets(client, s),
        webhooks: fakeWebhooks(client),
        companies: fakeCompanies(client),
        options: () => fakeOptions(client),
        ticketValues: async () => {
          const o = await fakeOptions(client);
          return { statuses: o.statuses, priorities: o.priorities };
        },
        validate: (input) => validateFake(client, s, input),
      };
    },
  };
}
