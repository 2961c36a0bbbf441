/**
 * The ConnectWise PSA (Manage) records the connector reads and writes, as far as it looks at them.
 * Field names are the REST API's (ConnectWise's published OpenAPI types, as shipped in the public
 * `connectwise-rest` npm client's ManageTypes.ts); docs/connectwise.md says what each is used for.
 * Every field is optional: the API leaves out nulls and unrequested fields, and adds new ones without
 * notice, so readers check what they use and ignore the rest.
 */

/** A reference to another record: `{id, name}` (companies and members also carry `identifier`). */
export interface CwRef {
  id: number;
  name?: string | null;
  identifier?: string | null;
}

/** `_info`: the server's stamps (UTC, second resolution) and who wrote last. */
export interface CwInfo {
  lastUpdated?: string;
  updatedBy?: string;
  dateEntered?: string;
  enteredBy?: string;
}

/** One element of a record's `customFields` array; a write replaces the whole array. */
export interface CwCustomField {
  id: number;
  caption?: string;
  type?: string;
  entryMethod?: string;
  numberOfDecimals?: number;
  value?: unknown;
}

export interface CwTicket {
  id: number;
  summary?: string;
  board?: CwRef | null;
  status?: CwRef | null;
  priority?: CwRef | null;
  company?: CwRef | null;
  externalXRef?: string | null;
  closedFlag?: boolean;
  _info?: CwInfo;
}

export interface CwNote {
  id: number;
  ticketId?: number;
  text?: string | null;
  detailDescriptionFlag?: boolean;
  internalAnalysisFlag?: boolean;
  resolutionFlag?: boolean;
  member?: CwRef | null;
  contact?: CwRef | null;
  createdBy?: string | null;
  dateCreated?: string | null;
}

export interface CwConfiguration {
  id: number;
  name?: string;
  type?: CwRef | null;
  status?: CwRef | null;
  company?: CwRef | null;
  activeFlag?: boolean;
  customFields?: CwCustomField[] | null;
  [field: string]: unknown;
}

export interface CwBoardStatus {
  id: number;
  name?: string;
  board?: CwRef | null;
  inactive?: boolean;
  closedStatus?: boolean;
  defaultFlag?: boolean;
  sortOrder?: number;
}

export interface CwCallbackEntry {
  id: number;
  description?: string | null;
  url?: string;
  objectId?: number;
  type?: string;
  level?: string;
  inactiveFlag?: boolean;
  isSelfSuppressedFlag?: boolean;
  memberId?: number;
}

/** One JSON-Patch operation as ConnectWise takes it: a bare, case-sensitive field name as the path. */
export interface PatchOp {
  op: "add" | "replace" | "remove";
  path: string;
  value?: unknown;
}
