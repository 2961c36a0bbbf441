import { Type } from "@sinclair/typebox";
import type { ConnectorManifest, IntegrationSettings } from "../../../src/psa/connector.js";

/** The fake connector's settings: an account, the NOC queue, and (devices) the advanced switch. */
export const FAKE_MANIFEST: ConnectorManifest = {
  system: "fake",
  label: "FakePSA",
  fields: [
    {
      key: "account",
      section: "ticketing",
      label: "Account",
      kind: "text",
      required: true,
      credential: true,
    },
    {
      key: "secret",
      section: "ticketing",
      label: "Secret",
      kind: "secret",
      required: true,
      credential: true,
    },
    {
      key: "queueId",
      section: "ticketing",
      label: "Queue",
      kind: "picklist",
      options: "queues",
      labelKey: "queueName",
      required: true,
    },
  ],
  schema: {
    ticketing: Type.Object({
      account: Type.String({ maxLength: 200 }),
      queueId: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
      queueName: Type.String({ maxLength: 200 }),
    }),
    devices: Type.Object({}),
  },
};

export interface FakeSettings {
  account: string;
  queueId: number | null;
  advanced: boolean;
}

/** Reads the fake's fields out of the stored settings; a missing or mistyped one reads as unset. */
export function fakeSettings(s: IntegrationSettings): FakeSettings {
  const q = s.ticketing["queueId"];
  return {
    account: typeof s.ticketing["account"] === "string" ? s.ticketing["account"] : "",
    queueId: typeof q === "number" && Number.isInteger(q) ? q : null,
    advanced: s.devices["advanced"] === true,
  };
}
