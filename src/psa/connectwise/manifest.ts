import { type TSchema, Type } from "@sinclair/typebox";
import type { ConnectorManifest } from "../connector.js";

const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const str = (max: number) => Type.String({ maxLength: max });
const id = () => nullable(Type.Integer({ minimum: 1 }));

/**
 * ConnectWise's settings fields: the site, the API member's keys and the integration's clientId,
 * the NOC service board with its default status and the ticket defaults inside `ticketing`; the
 * configuration type and the active and inactive configuration statuses inside `devices`. The
 * private key is the `secret` field, sealed by the portal like any connector's secret. Statuses
 * belong to a board, so the status mapping rows carry the board as their scope.
 */
export const CONNECTWISE_MANIFEST: ConnectorManifest = {
  system: "connectwise",
  label: "ConnectWise",
  fields: [
    {
      key: "siteUrl",
      section: "ticketing",
      label: "Site",
      kind: "url",
      required: true,
      help: 'The ConnectWise site you log in to, e.g. "na.myconnectwise.net".',
    },
    {
      key: "companyId",
      section: "ticketing",
      label: "Company id",
      kind: "text",
      required: true,
      help: "The company id you type at the ConnectWise login.",
    },
    {
      key: "publicKey",
      section: "ticketing",
      label: "Public key",
      kind: "text",
      required: true,
      help: "System > Members > API Members > the API member > API Keys.",
    },
    { key: "secret", section: "ticketing", label: "Private key", kind: "secret", required: true },
    {
      key: "clientId",
      section: "ticketing",
      label: "Client id",
      kind: "text",
      required: true,
      help: "The integration's clientId from developer.connectwise.com.",
    },
    {
      key: "boardId",
      section: "ticketing",
      label: "Service board",
      kind: "picklist",
      options: "boards",
      labelKey: "boardName",
      required: true,
    },
    {
      key: "defaultStatusId",
      section: "ticketing",
      label: "Default status",
      kind: "picklist",
      options: "statuses",
      parent: "boardId",
      required: true,
    },
    {
      key: "typeId",
      section: "ticketing",
      label: "Type",
      kind: "picklist",
      options: "types",
      parent: "boardId",
    },
    {
      key: "subTypeId",
      section: "ticketing",
      label: "Subtype",
      kind: "picklist",
      options: "subTypes",
      parent: "boardId",
    },
    {
      key: "itemId",
      section: "ticketing",
      label: "Item",
      kind: "picklist",
      options: "items",
      parent: "boardId",
    },
    { key: "sourceId", section: "ticketing", label: "Source", kind: "picklist", options: "sources" },
    {
      key: "serviceLocationId",
      section: "ticketing",
      label: "Service location",
      kind: "picklist",
      options: "locations",
    },
    {
      key: "configurationTypeId",
      section: "devices",
      label: "Configuration type",
      kind: "picklist",
      options: "configurationTypes",
      required: true,
    },
    {
      key: "activeStatusId",
      section: "devices",
      label: "Status of managed devices",
      kind: "picklist",
      options: "configurationStatuses",
      required: true,
    },
    {
      key: "inactiveStatusId",
      section: "devices",
      label: "Status of discovered and unmanaged devices",
      kind: "picklist",
      options: "configurationStatuses",
      required: true,
    },
  ],
  schema: {
    ticketing: Type.Object({
      siteUrl: str(500),
      companyId: str(100),
      publicKey: str(200),
      clientId: str(100),
      boardId: id(),
      boardName: str(200),
      defaultStatusId: id(),
      typeId: id(),
      subTypeId: id(),
      itemId: id(),
      sourceId: id(),
      serviceLocationId: id(),
    }),
    devices: Type.Object({ configurationTypeId: id(), activeStatusId: id(), inactiveStatusId: id() }),
  },
  statusScope: { label: "Service board", settingKey: "boardId" },
};
