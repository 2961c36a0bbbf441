/**
 * Entity definitions of the emulated Autotask REST API: fields (type, length, required, read-only,
 * queryable, reference, picklist, webhook field id), allowed verbs, child URLs. The server, the
 * store, the query engine and the entityInformation endpoints all read these tables, so a field's
 * flags in `entityInformation/fields` and the checks applied on write are one and the same.
 *
 * Field names are the wire (camelCase) names of the 2020 Swagger models (docs/autotask.md, Entities and
 * fields used); only the fields the integration and its tests need are modelled, plus the ones the payload
 * files show.
 */
import { configurationItems, configurationItemTypes, products } from "./entities-cis.js";
import { companies, resourceServiceDeskRoles, resources, roles } from "./entities-org.js";
import {
  ticketAttachments,
  ticketCategories,
  ticketCategoryFieldDefaults,
  ticketNotes,
  tickets,
} from "./entities-tickets.js";
import { billingCodes, timeEntries } from "./entities-time.js";
import { webhookEntities, webhookEventErrorLogs } from "./entities-webhooks.js";
import { type EntityDef, entity, type FieldDef, f } from "./entity-model.js";
import type { WebhookEntityType } from "./hooks.js";

export type { DataType, EntityDef, FieldDef, ParentLink, PicklistSource, Verbs } from "./entity-model.js";

const thresholdInformation = entity(
  "ThresholdInformation",
  [
    f("externalRequestThreshold", "integer", { ro: true }),
    f("requestThresholdTimeframe", "integer", { ro: true }),
    f("currentTimeframeRequestCount", "integer", { ro: true }),
  ],
  { singular: "ThresholdInformation", verbs: { query: false }, idBase: 1, singleton: true },
);

/** Every entity the emulator serves. */
export const ENTITIES: readonly EntityDef[] = [
  companies,
  resources,
  billingCodes,
  ticketCategories,
  ticketCategoryFieldDefaults,
  tickets,
  ticketNotes,
  ticketAttachments,
  configurationItems,
  configurationItemTypes,
  products,
  timeEntries,
  roles,
  resourceServiceDeskRoles,
  thresholdInformation,
  ...webhookEntities("Ticket", 1, true),
  // TicketNoteWebhooks have Fields and ExcludedResources but no UdfFields (docs/autotask.md, Entities and
  // URLs).
  ...webhookEntities("TicketNote", 1, false),
  ...webhookEntities("ConfigurationItem", 1, true),
  webhookEventErrorLogs,
];

const byLower = new Map(ENTITIES.map((e) => [e.name.toLowerCase(), e]));

/**
 * Looks an entity up by its URL name, case-insensitively (docs/autotask.md, Zone discovery: clients vary the
 * casing).
 */
export function entityByName(name: string): EntityDef | undefined {
  return byLower.get(name.toLowerCase());
}

/** The entity by its exact canonical name; throws for a programming error. */
export function entityDef(name: string): EntityDef {
  const def = byLower.get(name.toLowerCase());
  if (!def) throw new Error(`unknown entity ${name}`);
  return def;
}

/** The child entity reached at `{parent}/{id}/{segment}`. */
export function childEntity(parent: EntityDef, segment: string): EntityDef | undefined {
  const seg = segment.toLowerCase();
  return ENTITIES.find((e) => e.parent?.entity === parent.name && e.parent.segment.toLowerCase() === seg);
}

/** Children of an entity (for cascading deletes of webhooks). */
export function childrenOf(parent: EntityDef): EntityDef[] {
  return ENTITIES.filter((e) => e.parent?.entity === parent.name);
}

const bySingular = new Map(ENTITIES.map((e) => [e.singular, e]));

/** The entity a reference field points at, when the emulator stores it (Company → Companies). */
export function referencedEntity(field: FieldDef): EntityDef | undefined {
  return field.referenceEntityType ? bySingular.get(field.referenceEntityType) : undefined;
}

/** The entity whose changes a webhook entity type reports. */
export function entityForWebhookType(type: WebhookEntityType): EntityDef {
  const def = ENTITIES.find((e) => e.webhookEntityType === type);
  if (!def) throw new Error(`no entity for webhook type ${type}`);
  return def;
}

/** The {X}Webhooks entity for a webhook entity type. */
export function webhookEntityFor(type: WebhookEntityType): EntityDef {
  return entityDef(`${type}Webhooks`);
}

/**
 * Field name of a webhook field id (docs/autotask.md, Registration: ids come from the `fieldID` picklist).
 */
export function webhookFieldName(type: WebhookEntityType, fieldId: number): string | undefined {
  return entityForWebhookType(type).fields.find((fd) => fd.webhookFieldId === fieldId)?.name;
}
