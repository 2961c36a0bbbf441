import type { Static } from "@sinclair/typebox";
import type { DeviceImportResult as PortalImportResult } from "../portal/service.js";
import type * as P from "../portal/types.js";
import type { SyncRun } from "../sync/runs.js";
import type { SyncErrorView } from "../sync/tickets.js";
import type { Check, ValidationResult } from "../sync/validate.js";
import type { WebhookState } from "../sync/webhook-registration.js";
import type * as S from "./schemas.js";

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
type PageStatic<T extends import("@sinclair/typebox").TSchema> = Static<ReturnType<typeof S.PageOf<T>>>;

export type ContractChecks = [
  // The same shape on both sides.
  Assert<Same<Static<typeof S.Partner>, P.Partner>>,
  Assert<Same<Static<typeof S.User>, P.User>>,
  Assert<Same<Static<typeof S.Client>, P.Client>>,
  Assert<Same<Static<typeof S.Note>, P.Note>>,
  Assert<Same<Static<typeof S.Integration>["devices"], P.DeviceSettings>>,
  Assert<Same<Omit<Static<typeof S.Integration>["ticketing"], "secret">, P.TicketingSettings>>,
  Assert<Same<Omit<Static<typeof S.Integration>, "ticketing">, Omit<P.IntegrationView, "ticketing">>>,
  Assert<Same<Static<typeof S.WebhookState>, WebhookState>>,
  Assert<Same<Static<typeof S.Check>, Check>>,
  Assert<Same<Static<typeof S.Validation>, ValidationResult>>,
  // What each route sends through its response schema.
  Assert<Serialises<Static<typeof S.Integration>, P.IntegrationView>>,
  Assert<Serialises<Static<typeof S.Device>, P.Device & { psaCiId: number | null }>>,
  Assert<Serialises<Static<typeof S.Ticket>, P.TicketDetail>>,
  Assert<Serialises<Static<typeof S.Audit>, P.AuditEntry>>,
  Assert<Serialises<Static<typeof S.UserCreated>, { id: number; token: string; user: P.User }>>,
  Assert<Serialises<Static<typeof S.DeviceImportResult>, PortalImportResult>>,
  Assert<Serialises<Static<typeof S.Run>, SyncRun>>,
  Assert<Serialises<Static<typeof S.SyncErrorView>, SyncErrorView>>,
  Assert<Serialises<PageStatic<typeof S.Partner>, P.Page<P.Partner>>>,
  Assert<Serialises<PageStatic<typeof S.User>, P.Page<P.User>>>,
  Assert<Serialises<PageStatic<typeof S.Client>, P.Page<P.Client>>>,
  Assert<Serialises<PageStatic<typeof S.Ticket>, P.Page<P.Ticket>>>,
  Assert<Serialises<PageStatic<typeof S.Note>, P.Page<P.Note>>>,
  Assert<Serialises<PageStatic<typeof S.Audit>, P.Page<P.AuditEntry>>>,
];
