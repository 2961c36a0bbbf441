import { fingerprint } from "../../lib/fingerprint.js";
import type { Check, Connector, IntegrationSettings, PsaSession, SessionContext } from "../connector.js";
import type { AutotaskApi } from "./api.js";
import { autotaskAssets } from "./assets.js";
import { autotaskAttachments } from "./attachments.js";
import type { AutotaskCredentials } from "./client.js";
import { autotaskCompanies } from "./companies.js";
import { AUTOTASK_MANIFEST } from "./manifest.js";
import { autotaskOptions, autotaskTicketValues } from "./options.js";
import type { PeopleCache } from "./people.js";
import { autotaskSettings } from "./settings.js";
import { autotaskTickets } from "./tickets.js";
import { autotaskTimeEntries } from "./time-entries.js";
import { validateAutotask } from "./validate.js";
import { autotaskWebhookReceiver } from "./webhook-receive.js";
import { autotaskWebhooks } from "./webhooks.js";

export interface AutotaskConnectorOptions {
  /**
   * Builds a partner's Autotask client for its credentials (tests pass one with fast retries);
   * `partnerId` labels its metrics.
   */
  client(creds: AutotaskCredentials, partnerId: number): AutotaskApi;
}

/** The Autotask PSA behind the connector seam. */
export function autotaskConnector(o: AutotaskConnectorOptions): Connector {
  const clients = new Map<number, { key: string; api: AutotaskApi; people: PeopleCache }>();
  /**
   * One client per partner while its credentials stay the same: its limiter and budget live there,
   * and the names of the partner's resources (note authors).
   */
  const clientFor = (partnerId: number, creds: AutotaskCredentials) => {
    const key = fingerprint(creds);
    const cached = clients.get(partnerId);
    if (cached?.key === key) return cached;
    const made = { key, api: o.client(creds, partnerId), people: new Map() as PeopleCache };
    clients.set(partnerId, made);
    return made;
  };
  return {
    system: "autotask",
    label: "Autotask",
    manifest: AUTOTASK_MANIFEST,
    webhooks: autotaskWebhookReceiver,
    missing(settings: IntegrationSettings, hasSecret: boolean): Check | null {
      const s = autotaskSettings(settings);
      if (hasSecret && s.username !== "" && s.integrationCode !== "") return null;
      return {
        name: "credentials",
        ok: false,
        message: "The Autotask API username, secret and integration code are not all set.",
        fix: "Enter the API user's username, secret and the API integration code under Setup → Partner details → Service Center and Ticketing System Details.",
      };
    },
    open(settings: IntegrationSettings, secret: string, ctx: SessionContext): PsaSession {
      const s = autotaskSettings(settings);
      const { key, api, people } = clientFor(ctx.partnerId, {
        apiUrl: s.apiUrl,
        username: s.username,
        secret,
        integrationCode: s.integrationCode,
      });
      return {
        system: "autotask",
        label: "Autotask",
        key,
        stats: () => ({ requests: api.stats().requests }),
        tickets: autotaskTickets(api, s, ctx, people),
        assets: autotaskAssets(api, s),
        webhooks: autotaskWebhooks(api, s, ctx),
        timeEntries: autotaskTimeEntries(api, s),
        attachments: autotaskAttachments(api),
        companies: autotaskCompanies(api),
        options: () => autotaskOptions(api),
        ticketValues: () => autotaskTicketValues(api),
        validate: (input) => validateAutotask(api, s, input),
      };
    },
  };
}
