/**
 * The parts of @apigrate/autotask-restapi@2 (plain JavaScript, no types) the tests use; see docs/autotask.md,
 * The public npm client.
 */
declare module "@apigrate/autotask-restapi" {
  type Json = Record<string, unknown>;
  interface EntityHandle {
    query(search: Json): Promise<Json>;
    count(search: Json): Promise<{ queryCount: number }>;
    get(id: number): Promise<Json | null>;
    create(body: Json, opts?: { ImpersonationResourceId?: number }): Promise<{ itemId: number }>;
    update(body: Json, opts?: { ImpersonationResourceId?: number }): Promise<{ itemId: number }>;
    replace(body: Json, opts?: { ImpersonationResourceId?: number }): Promise<{ itemId: number }>;
    delete(id: number): Promise<Json>;
    info(): Promise<Json>;
    fieldInfo(): Promise<{ fields: Json[] }>;
    udfInfo(): Promise<{ fields: Json[] }>;
  }
  interface ChildHandle extends Omit<EntityHandle, "create" | "update"> {
    create(
      parentId: number,
      body: Json,
      opts?: { ImpersonationResourceId?: number },
    ): Promise<{ itemId: number }>;
    update(
      parentId: number,
      body: Json,
      opts?: { ImpersonationResourceId?: number },
    ): Promise<{ itemId: number }>;
  }
  export class AutotaskRestApi {
    constructor(
      user: string,
      secret: string,
      code: string,
      options?: { base_url?: string; version?: string },
    );
    zoneInfo: { zoneName: string; url: string; webUrl: string; ci: number } | null;
    Companies: EntityHandle;
    Tickets: EntityHandle;
    ConfigurationItems: EntityHandle;
    TicketNotes: ChildHandle;
  }
  export class AutotaskApiError extends Error {
    status: number;
    details: unknown;
  }
  export const FilterOperators: Record<
    | "eq"
    | "noteq"
    | "gt"
    | "gte"
    | "lt"
    | "lte"
    | "beginsWith"
    | "endsWith"
    | "contains"
    | "exist"
    | "notExist"
    | "in"
    | "notIn",
    string
  >;
}
