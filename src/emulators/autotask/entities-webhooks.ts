/** Entity definitions: the {X}Webhooks entities, their children and the error log (entities.ts). */
import { type EntityDef, entity, type FieldDef, f, id } from "./entity-model.js";
import type { WebhookEntityType } from "./hooks.js";

/** The fields of every {X}Webhooks entity (docs/autotask.md, Registration). */
export function webhookFields(): FieldDef[] {
  return [
    id(),
    f("name", "string", { len: 50, req: true }),
    f("webhookUrl", "string", { len: 500, req: true }),
    f("deactivationUrl", "string", { len: 500, req: true }),
    f("secretKey", "string", { len: 64 }),
    f("isActive", "boolean"),
    f("isReady", "boolean", { ro: true }),
    f("isSubscribedToCreateEvents", "boolean"),
    f("isSubscribedToUpdateEvents", "boolean"),
    f("isSubscribedToDeleteEvents", "boolean"),
    f("sendThresholdExceededNotification", "boolean"),
    f("notificationEmailAddress", "string", { len: 150 }),
    f("ownerResourceID", "integer", { ro: true, ref: "Resource" }),
    f("webhookGUID", "string", { len: 100, ro: true }),
  ];
}

export function webhookEntities(prefix: WebhookEntityType, idBase: number, withUdfs: boolean): EntityDef[] {
  const parent = `${prefix}Webhooks`;
  const out = [
    entity(parent, webhookFields(), {
      singular: `${prefix}Webhook`,
      verbs: { create: true, update: true, delete: true },
      idBase,
    }),
    entity(
      `${prefix}WebhookFields`,
      [
        id(),
        f("webhookID", "integer", { req: true, ref: `${prefix}Webhook` }),
        f("fieldID", "integer", { req: true, pick: { kind: "webhookFields", entityType: prefix } }),
        f("isSubscribedField", "boolean"),
        f("isDisplayAlwaysField", "boolean"),
      ],
      {
        singular: `${prefix}WebhookField`,
        verbs: { create: true, update: true, delete: true },
        parent: { entity: parent, segment: "Fields", field: "webhookID" },
        idBase: 1,
      },
    ),
    entity(
      `${prefix}WebhookExcludedResources`,
      [
        id(),
        f("webhookID", "integer", { req: true, ref: `${prefix}Webhook` }),
        f("resourceID", "integer", { req: true, ref: "Resource" }),
      ],
      {
        singular: `${prefix}WebhookExcludedResource`,
        // No PUT/PATCH on excluded resources (docs/autotask.md, Entities and URLs table).
        verbs: { create: true, delete: true },
        parent: { entity: parent, segment: "ExcludedResources", field: "webhookID" },
        idBase: 1,
      },
    ),
  ];
  if (withUdfs) {
    const udfEntity = prefix === "Ticket" ? "Tickets" : "ConfigurationItems";
    out.push(
      entity(
        `${prefix}WebhookUdfFields`,
        [
          id(),
          f("webhookID", "integer", { req: true, ref: `${prefix}Webhook` }),
          f("udfFieldID", "integer", { req: true, pick: { kind: "udfs", entity: udfEntity } }),
          f("isSubscribedField", "boolean"),
          f("isDisplayAlwaysField", "boolean"),
        ],
        {
          singular: `${prefix}WebhookUdfField`,
          verbs: { create: true, update: true, delete: true },
          parent: { entity: parent, segment: "UdfFields", field: "webhookID" },
          idBase: 1,
        },
      ),
    );
  }
  return out;
}

export const webhookEventErrorLogs = entity(
  "WebhookEventErrorLogs",
  [
    id(),
    f("createDateTime", "datetime", { ro: true }),
    f("errorMessage", "string", { len: 8000, ro: true }),
    f("payload", "string", { len: 32000, ro: true }),
    f("sequenceNumber", "long", { ro: true }),
    f("accountWebhookID", "integer", { ro: true }),
    f("contactWebhookID", "integer", { ro: true }),
    f("ticketWebhookID", "integer", { ro: true }),
    f("ticketNoteWebhookID", "integer", { ro: true }),
    f("configurationItemWebhookID", "integer", { ro: true }),
  ],
  // Query, get and delete only (docs/autotask.md, Entities and URLs table).
  { singular: "WebhookEventErrorLog", verbs: { delete: true }, idBase: 1 },
);
