import type { IntegrationSettings } from "../connector.js";

/** The Autotask fields of a partner's integration settings (inside its `ticketing` and `devices`). */
export interface AutotaskSettings {
  /** Empty = Autotask's public zone discovery; set to point at a fixed zone (or an emulator). */
  apiUrl: string;
  username: string;
  integrationCode: string;
  queueId: number | null;
  billingCodeId: number | null;
  /** Defaults every ticket create carries (null = not sent: Autotask's own default applies). */
  ticketCategoryId: number | null;
  ticketTypeId: number | null;
  issueTypeId: number | null;
  subIssueTypeId: number | null;
  sourceId: number | null;
  /** dueDateTime = the create time plus this many hours; null = not sent. */
  dueDateOffsetHours: number | null;
  /** `publish` of internal notes: 2 Internal Project Team, 4 Internal & Co-Managed. */
  internalNotePublish: number;
  /** Time entries: the default NOC resource, its role, the default work type, impersonation. */
  effortResourceId: number | null;
  effortRoleId: number | null;
  effortWorkTypeId: number | null;
  effortImpersonate: boolean;
  productId: number | null;
  configurationItemTypeId: number | null;
  advanced: boolean;
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const id = (v: unknown): number | null => (typeof v === "number" && Number.isInteger(v) ? v : null);

/** Reads the Autotask fields out of the stored settings; a missing or mistyped one reads as unset. */
export function autotaskSettings(s: IntegrationSettings): AutotaskSettings {
  const t = s.ticketing;
  const d = s.devices;
  return {
    apiUrl: str(t.apiUrl),
    username: str(t.username),
    integrationCode: str(t.integrationCode),
    queueId: id(t.queueId),
    billingCodeId: id(t.billingCodeId),
    ticketCategoryId: id(t.ticketCategoryId),
    ticketTypeId: id(t.ticketTypeId),
    issueTypeId: id(t.issueTypeId),
    subIssueTypeId: id(t.subIssueTypeId),
    sourceId: id(t.sourceId),
    dueDateOffsetHours: id(t.dueDateOffsetHours),
    internalNotePublish: t.internalNotePublish === 4 ? 4 : 2,
    effortResourceId: id(t.effortResourceId),
    effortRoleId: id(t.effortRoleId),
    effortWorkTypeId: id(t.effortWorkTypeId),
    effortImpersonate: t.effortImpersonate === true,
    productId: id(d.productId),
    configurationItemTypeId: id(d.configurationItemTypeId),
    advanced: d.advanced === true,
  };
}
