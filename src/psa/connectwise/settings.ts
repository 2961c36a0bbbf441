import type { IntegrationSettings } from "../connector.js";

/**
 * The ConnectWise fields of a partner's integration settings (inside its `ticketing` and `devices`).
 * The private key is the partner's secret: stored sealed by the portal and handed to `open`, never
 * kept here.
 */
export interface ConnectWiseSettings {
  /** The site the partner logs in to ("na.myconnectwise.net", an on-premise host). */
  siteUrl: string;
  /** The company id typed at login (the API's `companyId+publicKey` user). */
  companyId: string;
  publicKey: string;
  /** The integration's clientId from developer.connectwise.com. */
  clientId: string;
  /** The NOC service board: tickets on it are the NOC queue. */
  boardId: number | null;
  /** A status of that board: used when a ticket is created without a mapped status. */
  defaultStatusId: number | null;
  /** Defaults every ticket create carries (null = not sent: the board's own default applies). */
  typeId: number | null;
  subTypeId: number | null;
  itemId: number | null;
  sourceId: number | null;
  serviceLocationId: number | null;
  /** The configuration type of the portal's devices. */
  configurationTypeId: number | null;
  /** Configuration status of managed devices, and of discovered and unmanaged ones. */
  activeStatusId: number | null;
  inactiveStatusId: number | null;
  /** Advanced device integration: the custom fields of the seed's 13 attributes. */
  advanced: boolean;
  /** Time entries: the member unmapped users' entries go to (the keys mirror Autotask's). */
  effortResourceId: number | null;
  /** Its work role (null: the member's default work role). */
  effortWorkRoleId: number | null;
  /** The work type of entries that name none (null: the member's, then ConnectWise's default). */
  effortWorkTypeId: number | null;
}

const str = (v: unknown): string => (typeof v === "string" ? v.trim() : "");
const id = (v: unknown): number | null => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : null);

/** Reads the ConnectWise fields out of the stored settings; a missing or mistyped one reads as unset. */
export function connectwiseSettings(s: IntegrationSettings): ConnectWiseSettings {
  const t = s.ticketing;
  const d = s.devices;
  return {
    siteUrl: str(t.siteUrl),
    companyId: str(t.companyId),
    publicKey: str(t.publicKey),
    clientId: str(t.clientId),
    boardId: id(t.boardId),
    defaultStatusId: id(t.defaultStatusId),
    typeId: id(t.typeId),
    subTypeId: id(t.subTypeId),
    itemId: id(t.itemId),
    sourceId: id(t.sourceId),
    serviceLocationId: id(t.serviceLocationId),
    configurationTypeId: id(d.configurationTypeId),
    activeStatusId: id(d.activeStatusId),
    inactiveStatusId: id(d.inactiveStatusId),
    advanced: d.advanced === true,
    effortResourceId: id(t.effortResourceId),
    effortWorkRoleId: id(t.effortRoleId),
    effortWorkTypeId: id(t.effortWorkTypeId),
  };
}
