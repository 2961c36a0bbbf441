import { type TSchema, Type } from "@sinclair/typebox";
import type { ConnectorManifest } from "../connector.js";

const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const str = (max: number) => Type.String({ maxLength: max });
const id = () => nullable(Type.Integer({ minimum: 0 }));

/**
 * Autotask's settings fields: where the API user, the NOC queue, the allocation (a work type) and the
 * ticket defaults go inside `ticketing`, and the product and configuration item type inside `devices`.
 * The API schema of the integration and the Setup form are built from this.
 */
export const AUTOTASK_MANIFEST: ConnectorManifest = {
  system: "autotask",
  label: "Autotask",
  fields: [
    {
      key: "apiUrl",
      section: "ticketing",
      label: "API URL",
      kind: "url",
      help: "Leave empty to find the tenant's zone automatically.",
    },
    { key: "username", section: "ticketing", label: "API username", kind: "text", required: true },
    { key: "secret", section: "ticketing", label: "API secret", kind: "secret", required: true },
    {
      key: "integrationCode",
      section: "ticketing",
      label: "API integration code",
      kind: "text",
      required: true,
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
    {
      key: "billingCodeId",
      section: "ticketing",
      label: "Allocation (work type)",
      kind: "picklist",
      options: "billingCodes",
      labelKey: "billingCodeName",
      required: true,
    },
    {
      key: "ticketCategoryId",
      section: "ticketing",
      label: "Ticket category",
      kind: "picklist",
      options: "ticketCategories",
    },
    {
      key: "ticketTypeId",
      section: "ticketing",
      label: "Ticket type",
      kind: "picklist",
      options: "ticketTypes",
    },
    {
      key: "issueTypeId",
      section: "ticketing",
      label: "Issue type",
      kind: "picklist",
      options: "issueTypes",
    },
    {
      key: "subIssueTypeId",
      section: "ticketing",
      label: "Sub-issue type",
      kind: "picklist",
      options: "subIssueTypes",
      parent: "issueTypeId",
    },
    { key: "sourceId", section: "ticketing", label: "Source", kind: "picklist", options: "sources" },
    { key: "dueDateOffsetHours", section: "ticketing", label: "Due in (hours)", kind: "number" },
    {
      key: "internalNotePublish",
      section: "ticketing",
      label: "Internal notes are visible to",
      kind: "picklist",
      options: "notePublish",
    },
    {
      key: "productId",
      section: "devices",
      label: "Product",
      kind: "picklist",
      options: "products",
      required: true,
    },
    {
      key: "configurationItemTypeId",
      section: "devices",
      label: "Configuration item type",
      kind: "picklist",
      options: "configurationItemTypes",
      required: true,
    },
  ],
  schema: {
    ticketing: Type.Object({
      apiUrl: str(500),
      username: str(200),
      integrationCode: str(200),
      queueId: id(),
      queueName: str(200),
      billingCodeId: id(),
      billingCodeName: str(200),
      ticketCategoryId: id(),
      ticketTypeId: id(),
      issueTypeId: id(),
      subIssueTypeId: id(),
      // Autotask's system sources have negative ids (Insourced -2, Client Portal -1).
      sourceId: nullable(Type.Integer()),
      dueDateOffsetHours: nullable(Type.Integer({ minimum: 0, maximum: 8760 })),
      internalNotePublish: Type.Union([Type.Literal(2), Type.Literal(4)], {
        description: "publish of internal notes: 2 Internal Project Team, 4 Internal & Co-Managed",
      }),
    }),
    devices: Type.Object({ productId: id(), configurationItemTypeId: id() }),
  },
};
