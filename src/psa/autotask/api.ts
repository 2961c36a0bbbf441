import type { AutotaskClient } from "./client.js";
import type { AutotaskEntity, QueryOptions } from "./types.js";

/**
 * The part of the Autotask client the connector uses. Naming the methods keeps the engine's
 * dependency visible and lets tests pass a client built with fast retries.
 */
export type AutotaskApi = Pick<
  AutotaskClient,
  | "get"
  | "query"
  | "createIdempotent"
  | "createChild"
  | "createChildIdempotent"
  | "update"
  | "delete"
  | "fieldInfo"
  | "entityInformation"
  | "udfInfo"
  | "thresholdInformation"
  | "stats"
>;

/** Reads every page of a query into one array. */
export async function queryAll<T extends AutotaskEntity>(
  api: AutotaskApi,
  entity: Parameters<AutotaskApi["query"]>[0],
  q: QueryOptions,
): Promise<T[]> {
  const out: T[] = [];
  for await (const page of api.query<T>(entity, q)) out.push(...page);
  return out;
}
