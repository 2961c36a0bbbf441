import type { Static } from "@sinclair/typebox";
import type * as deviceViews from "../portal/device-views.js";
import type * as portalQueue from "../portal/queue.js";
import type * as service from "../portal/service.js";
import type * as domain from "../portal/types.js";
import type { Check, ValidationResult } from "../psa/connector.js";
import type { DeviceCiView } from "../sync/device-ci.js";
import type { SyncRun } from "../sync/runs.js";
import type { TimeEntrySyncView } from "../sync/tickets/effort-views.js";
import type { SyncErrorView } from "../sync/tickets/errors.js";
import type { PsaTicketView } from "../sync/tickets/views.js";
import type { WebhookState } from "../sync/tickets/webhooks.js";
import type * as api from "./schemas.js";
import type * as devicesApi from "./schemas-devices.js";
import type * as queue from "./schemas-queue.js";

/**
 * Compile-time checks only (nothing here runs): each response schema's type accepts the domain type
 * the route serialises, so a field renamed or retyped on one side and not the other fails `tsc`.
 * Where the domain type duplicates a schema field for field, the two must be the same type.
 */

type Assert<T extends true> = T;
/** Whether a `From` value may be sent where the schema `To` describes the answer. */
type Serialises<To, From> = [From] extends [To] ? true : false;
/** Whether A and B are the same type (no field more or less, none typed differently). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Omit on each member of a union (one per PSA system), each flattened. */
type OmitEach<T, K extends PropertyKey> = T extends unknown ? { [P in Exclude<keyof T, K>]: T[P] } : never;
type PageStatic<T extends import("@sinclair/typebox").TSchema> = Static<ReturnType<typeof api.PageOf<T>>>;

export type ContractChecks = [
  // The same shape on both sides.
  Assert<Same<Static<typeof api.Partner>, domain.Partner>>,
  Assert<Same<Static<typeof api.User>, domain.User>>,
  Assert<Same<Static<typeof api.Client>, domain.Client>>,
  Assert<Same<Static<typeof api.Note>, domain.Note>>,
  // The list adds the sync's view of each entry (`psa`, optional).
  Assert<Same<Omit<Static<typeof api.TimeEntry>, "psa">, domain.TimeEntry>>,
  Assert<Same<NonNullable<Static<typeof api.TimeEntry>["psa"]>, TimeEntrySyncView>>,
  Assert<Same<Static<typeof api.Effort>, domain.Effort>>,
  Assert<Same<Static<typeof api.EffortLine>, service.EffortLine>>,
  Assert<Same<Static<typeof api.Integration>["devices"], domain.DeviceSettings>>,
  Assert<Same<OmitEach<Static<typeof api.Integration>["ticketing"], "secret">, domain.TicketingSettings>>,
  Assert<Same<Omit<Static<typeof api.Integration>, "ticketing">, Omit<domain.IntegrationView, "ticketing">>>,
  Assert<Same<Static<typeof api.WebhookState>, WebhookState>>,
  Assert<Same<Static<typeof api.Check>, Check>>,
  Assert<Same<Static<typeof devicesApi.DeviceListItem>, deviceViews.DeviceListItem>>,
  Assert<Same<Static<typeof devicesApi.DeviceListQuery>, deviceViews.DeviceListFilter>>,
  Assert<Same<Static<typeof devicesApi.DeviceCi>, DeviceCiView>>,
  Assert<Same<Static<typeof api.Validation>, ValidationResult>>,
  Assert<Same<Omit<Static<typeof queue.QueueItem>, "psa">, portalQueue.QueueItem>>,
  Assert<Same<Static<typeof queue.QueueCounts>, portalQueue.QueueCounts>>,
  Assert<Same<Static<typeof queue.QueuePsa>, PsaTicketView>>,
  Assert<Same<(typeof queue.QUEUE_SYNC_STATES)[number], portalQueue.QueueSyncState>>,
  // What each route sends through its response schema.
  Assert<Serialises<Static<typeof api.Integration>, domain.IntegrationView>>,
  Assert<Serialises<Static<typeof api.Device>, domain.Device & { psaCiId: number | null }>>,
  Assert<Serialises<Static<typeof api.Ticket>, domain.TicketDetail>>,
  Assert<Serialises<Static<typeof api.Audit>, domain.AuditEntry>>,
  Assert<Serialises<Static<typeof api.UserCreated>, { id: number; token: string; user: domain.User }>>,
  Assert<Serialises<Static<typeof api.DeviceImportResult>, service.DeviceImportResult>>,
  Assert<Serialises<Static<typeof api.Run>, SyncRun>>,
  Assert<Serialises<Static<typeof api.SyncErrorView>, SyncErrorView>>,
  Assert<Serialises<PageStatic<typeof api.Partner>, domain.Page<domain.Partner>>>,
  Assert<Serialises<PageStatic<typeof api.User>, domain.Page<domain.User>>>,
  Assert<Serialises<PageStatic<typeof api.Client>, domain.Page<domain.Client>>>,
  Assert<Serialises<PageStatic<typeof api.Ticket>, domain.Page<domain.Ticket>>>,
  Assert<Serialises<PageStatic<typeof api.Note>, domain.Page<domain.Note>>>,
  Assert<Serialises<PageStatic<typeof api.TimeEntry>, domain.Page<domain.TimeEntry>>>,
  Assert<Serialises<PageStatic<typeof api.Audit>, domain.Page<domain.AuditEntry>>>,
];
