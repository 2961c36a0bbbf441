import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import type { IntegrationView } from "../portal/types.js";
import type { Check, Connector, IntegrationSettings, PsaSession } from "../psa/connector.js";
import type { ConnectorRegistry } from "../psa/registry.js";
import type { SyncPortal } from "./portal-port.js";

/** A partner's integration as the engine works with it: settings, connector, and a session if it can open one. */
export interface PartnerPsa {
  view: IntegrationView;
  timeZone: string;
  connector: Connector;
  /** null when a credential is missing (then `missing` says which). */
  session: PsaSession | null;
  missing: Check | null;
}

/** Opens partners' PSA sessions through the connector their settings name. */
export class PsaSessions {
  constructor(
    private readonly o: { registry: ConnectorRegistry; portal: SyncPortal; logger: Logger; clock: Clock },
  ) {}

  async forPartner(partnerId: number): Promise<PartnerPsa> {
    const { view, secret, timeZone } = await this.o.portal.integration(partnerId);
    const connector = this.o.registry.get(view.ticketing.system);
    const settings = view as unknown as IntegrationSettings;
    const missing = connector.missing(settings, secret !== null);
    const session =
      missing === null && secret !== null
        ? connector.open(settings, secret, { partnerId, logger: this.o.logger, clock: this.o.clock })
        : null;
    return { view, timeZone, connector, session, missing };
  }
}
