/**
 * Names of Autotask resources (the people who write ticket notes), read from the Resources entity by
 * id and kept for an hour per partner connection, so a note's author is a name, not a resource id.
 * When the look-up fails (no permission to read Resources, a network error) the author is the clear
 * stand-in "Autotask user <id>", and the next read tries again.
 */
import type { Clock } from "../../lib/clock.js";
import type { Logger } from "../../lib/logger.js";
import { isPsaError } from "../errors.js";
import { type AutotaskApi, queryAll } from "./api.js";
import type { AutotaskEntity } from "./types.js";

/** How long a resource's name is kept before it is read again (a rename shows up within it). */
export const NAME_TTL_MS = 60 * 60 * 1000;
/** Ids per `in` condition (Autotask allows at most 500 values). */
const IDS_PER_QUERY = 200;

/** The cache a partner's connection keeps: resource id → name and when it was read. */
export type PeopleCache = Map<number, { name: string; at: number }>;

export const standIn = (id: number) => `Autotask user ${id}`;

/** Resource id → name, for the given ids; an id Autotask does not name is left out. */
export async function resourceNames(
  api: AutotaskApi,
  cache: PeopleCache,
  o: { clock: Clock; logger: Logger; partnerId: number },
  ids: readonly number[],
): Promise<Map<number, string>> {
  const now = o.clock.now().getTime();
  const wanted = [...new Set(ids)];
  const stale = wanted.filter((id) => {
    const hit = cache.get(id);
    return !hit || now - hit.at > NAME_TTL_MS;
  });
  try {
    for (let i = 0; i < stale.length; i += IDS_PER_QUERY) {
      const rows = await queryAll<AutotaskEntity>(api, "Resources", {
        filter: [{ op: "in", field: "id", value: stale.slice(i, i + IDS_PER_QUERY) }],
        includeFields: ["id", "firstName", "lastName"],
      });
      for (const r of rows) {
        const name = [r["firstName"], r["lastName"]]
          .filter((x) => typeof x === "string" && x.trim() !== "")
          .join(" ");
        if (name) cache.set(r.id, { name, at: now });
      }
    }
  } catch (e) {
    o.logger.warn(
      { partnerId: o.partnerId, err: isPsaError(e) ? e.message : String(e) },
      "Autotask: could not read the names of note authors (Resources); notes show their resource id",
    );
  }
  const out = new Map<number, string>();
  for (const id of wanted) {
    const hit = cache.get(id);
    if (hit) out.set(id, hit.name);
  }
  return out;
}
