import { type TSchema, Type } from "@sinclair/typebox";
import type { ConnectorManifest } from "../connector.js";

const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const str = (max: number) => Type.String({ maxLength: max });
/** Autotask entity ids are 32-bit integers. */
const INT32_MAX = 2_147_483_647;
const id = () => nullable(Type.Integer({ minimum: 0, maximum: INT32_MAX }));

/**
 * Autotask's settings fields: where the API user, the NOC queue, the allocation (a work type) and the
 * ticket defaults go inside `ticketing`, and the product and configuration item type inside `devices`.
 * The API schema of the integration, its validation and the Setup form are built from this.
 */
export const AUTOTASK_MANIFEST = {
  system: "autotask",
  label: "Autotask",
  fields: [
    {
      key: "apiUrl",
      section: "ticketing",
      label: "Web Login URL (API URL)",
      kind: "url",
      help: "The Autotask REST base, e.g. https://webservices5.autotask.net/ATServicesRest/. Empty: found by zone discovery from the username.",
    },
    {
      key: "username",
      section: "ticketing",
      label: "Company Username (API user)",
      kind: "text",
      required: true,
      credential: true,
      noun: "the Autotask API username",
    },
    {
      key: "secret",
      section: "ticketing",
      label: "Company Password (API secret)",
      kind: "secret",
      required: true,
      credential: true,
      noun: "the Autotask API secret",
    },
    {
      key: "integrationCode",
      section: "ticketing",
      label: "API Integration Code",
      kind: "text",
      required: true,
      credential: true,
      noun: "the Autotask API integration code",
      help: "The tracking identifier of the Autotask API user (Admin → Resources → API User).",
    },
    {
      key: "queueId",
      section: "ticketing",
      label: "Queue Id",
      kind: "picklist",
      options: "queues",
      labelKey: "queueName",
      required: true,
      noun: "the NOC queue id",
    },
    { key: "queueName", section: "ticketing", label: "Queue Name", kind: "text" },
    {
      key: "billingCodeId",
      section: "ticketing",
      label: "Allocation Id (work type)",
      kind: "picklist",
      options: "billingCodes",
      labelKey: "billingCodeName",
      required: true,
      noun: "the allocation (billing code) id",
    },
    { key: "billingCodeName", section: "ticketing", label: "Allocation Name", kind: "text" },
    {
      key: "ticketCategoryId",
      section: "ticketing",
      label: "Ticket Category",
      kind: "picklist",
      options: "ticketCategories",
      group: "defaults",
      keepWhenOmitted: true,
    },
    {
      key: "ticketTypeId",
      section: "ticketing",
      label: "Ticket Type",
      kind: "picklist",
      options: "ticketTypes",
      group: "defaults",
      keepWhenOmitted: true,
    },
    {
      key: "issueTypeId",
      section: "ticketing",
      label: "Issue Type",
      kind: "picklist",
      options: "issueTypes",
      group: "defaults",
      noun: "its issue type",
      keepWhenOmitted: true,
    },
    {
      key: "subIssueTypeId",
      section: "ticketing",
      label: "Sub-Issue Type",
      kind: "picklist",
      options: "subIssueTypes",
      parent: "issueTypeId",
      group: "defaults",
      noun: "a sub-issue type",
      keepWhenOmitted: true,
    },
    {
      key: "sourceId",
      section: "ticketing",
      label: "Source",
      kind: "picklist",
      options: "sources",
      group: "defaults",
      keepWhenOmitted: true,
    },
    {
      key: "dueDateOffsetHours",
      section: "ticketing",
      label: "Due date (hours after creation)",
      kind: "number",
      help: "Empty: no due date is sent.",
      group: "defaults",
      keepWhenOmitted: true,
    },
    {
      key: "internalNotePublish",
      section: "ticketing",
      label: "Internal notes are published to",
      kind: "picklist",
      choices: [
        { id: 2, label: "Internal Project Team" },
        { id: 4, label: "Internal & Co-Managed" },
      ],
      group: "defaults",
      keepWhenOmitted: true,
    },
    {
      key: "productId",
      section: "devices",
      label: "Product",
      kind: "picklist",
      options: "products",
      required: true,
      noun: "the product id",
    },
    {
      key: "configurationItemTypeId",
      section: "devices",
      label: "Configuration Item Type",
      kind: "picklist",
      options: "configurationItemTypes",
      required: true,
      noun: "the configuration item type id",
    },
  ],
  groups: {
    defaults: {
      label: "Ticket defaults",
      help: "Sent with every ticket the NOC creates in Autotask. Set what the ticket category makes required (Validate lists what is missing).",
    },
  },
  schema: {
    ticketing: Type.Object({
      apiUrl: Type.Optional(str(500)),
      username: str(200),
      integrationCode: str(200),
      queueId: id(),
      queueName: Type.Optional(str(200)),
      billingCodeId: id(),
      billingCodeName: Type.Optional(str(200)),
      ticketCategoryId: Type.Optional(id()),
      ticketTypeId: Type.Optional(id()),
      issueTypeId: Type.Optional(id()),
      subIssueTypeId: Type.Optional(id()),
      // Autotask's system sources have negative ids (Insourced -2, Client Portal -1).
      sourceId: Type.Optional(nullable(Type.Integer({ minimum: -INT32_MAX - 1, maximum: INT32_MAX }))),
      dueDateOffsetHours: Type.Optional(nullable(Type.Integer({ minimum: 0, maximum: 8760 }))),
      internalNotePublish: Type.Optional(
        Type.Union([Type.Literal(2), Type.Literal(4)], {
          description: "publish of internal notes: 2 Internal Project Team, 4 Internal & Co-Managed",
        }),
      ),
    }),
    devices: Type.Object({ productId: id(), configurationItemTypeId: id() }),
  },
} as const satisfies ConnectorManifest;
