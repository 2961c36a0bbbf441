import { fingerprint } from "../../lib/fingerprint.js";
import type { Check, Connector, IntegrationSettings, PsaSession, SessionContext } from "../connector.js";
import type { ConnectWiseApi, ConnectWiseCredentials } from "./api.js";
import { connectwiseAssets } from "./assets.js";
import { connectwiseAttachments } from "./attachments.js";
import { type ConnectWiseCache, newCache } from "./cache.js";
import { ConnectWiseClient } from "./client.js";
import { connectwiseCompanies } from "./companies.js";
import { CONNECTWISE_MANIFEST } from "./manifest.js";
import { connectwiseOptions, connectwiseTicketValues } from "./options.js";
import { connectwiseReceiver } from "./receive.js";
import { connectwiseSettings } from "./settings.js";
import { connectwiseTickets } from "./tickets.js";
import { connectwiseTimeEntries } from "./time-entries.js";
import { validateConnectWise } from "./validate.js";
import { connectwiseWebhooks } from "./webhooks.js";

export interface ConnectWiseConnectorOptions {
  /**
   * Builds a partner's ConnectWise client for its credentials (the server passes the operator's
   * allow-list; tests pass fast retries). Default: a ConnectWiseClient allowing ConnectWise's cloud
   * hosts only. `partnerId` labels its metrics.
   */
  client?(creds: ConnectWiseCredentials, partnerId: number): ConnectWiseApi;
  /** Clock of the signing-key cache (default Date.now). */
  now?: () => number;
}

/** Credential sets kept per partner. */
const KEPT_CREDENTIALS = 3;

/** The ConnectWise PSA (Manage) behind the connector seam. */
export function connectwiseConnector(o: ConnectWiseConnectorOptions = {}): Connector {
  const make = o.client ?? ((credentials: ConnectWiseCredentials) => new ConnectWiseClient({ credentials }));
  type Open = { key: string; api: ConnectWiseApi; cache: ConnectWiseCache; companyId: string };
  /** A partner's connections, the newest first: a few credential sets are kept (see clientFor). */
  const clients = new Map<number, Open[]>();
  /**
   * One client per partner and credentials: while they stay the same, its limiter and caches live on.
   * The last few sets are kept, so that opening a session with other credentials (a check of a wrong
   * key) does not drop the connection that verifies the partner's callbacks.
   */
  const clientFor = (partnerId: number, creds: ConnectWiseCredentials): Open => {
    const key = fingerprint(creds);
    const list = clients.get(partnerId) ?? [];
    const cached = list.find((c) => c.key === key);
    if (cached) return cached;
    const made = { key, api: make(creds, partnerId), cache: newCache(), companyId: creds.companyId };
    clients.set(partnerId, [made, ...list].slice(0, KEPT_CREDENTIALS));
    return made;
  };
  return {
    system: "connectwise",
    label: "ConnectWise",
    manifest: CONNECTWISE_MANIFEST,
    /** Deliveries are verified through the open connection of the site and company that signed them. */
    webhooks: connectwiseReceiver(() => [...clients.values()].flat(), o.now ?? Date.now),
    missing(settings: IntegrationSettings, hasSecret: boolean): Check | null {
      const s = connectwiseSettings(settings);
      if (hasSecret && s.siteUrl !== "" && s.companyId !== "" && s.publicKey !== "" && s.clientId !== "")
        return null;
      return {
        name: "credentials",
        ok: false,
        message: "The ConnectWise site, company id, public and private key and client id are not all set.",
        fix: "Enter them under Setup → Partner details → Service Center and Ticketing System Details: the keys come from System > Members > API Members > the API member > API Keys in ConnectWise, the client id from developer.connectwise.com.",
      };
    },
    open(settings: IntegrationSettings, secret: string, ctx: SessionContext): PsaSession {
      const s = connectwiseSettings(settings);
      const { key, api, cache } = clientFor(ctx.partnerId, {
        siteUrl: s.siteUrl,
        companyId: s.companyId,
        publicKey: s.publicKey,
        privateKey: secret,
        clientId: s.clientId,
      });
      return {
        system: "connectwise",
        label: "ConnectWise",
        key,
        stats: () => ({ requests: api.stats().requests }),
        tickets: connectwiseTickets(api, s, ctx, cache),
        assets: connectwiseAssets(api, s, ctx, cache),
        webhooks: connectwiseWebhooks(api, s, ctx, cache),
        timeEntries: connectwiseTimeEntries(api, s),
        attachments: connectwiseAttachments(api),
        companies: connectwiseCompanies(api),
        options: () => connectwiseOptions(api, s),
        ticketValues: () => connectwiseTicketValues(api, s),
        validate: (input) => validateConnectWise(api, s, cache, input),
      };
    },
  };
}
