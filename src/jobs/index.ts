import type { Logger } from "../lib/logger.js";
import type { Db } from "../store/db.js";
import { GraphileJobs } from "./graphile.js";
import { MemoryJobs } from "./memory.js";
import type { Jobs } from "./types.js";

export { GraphileJobs } from "./graphile.js";
export { MemoryJobs } from "./memory.js";
export type { JobContext, JobOptions, Jobs, TaskList } from "./types.js";

/** Where the job engine keeps its tables: beside ours, so that each nocbridge schema has its own jobs. */
export function jobSchemaFor(schema: string | undefined): string {
  return !schema || schema === "public" ? "graphile_worker" : `${schema}_jobs`;
}

/**
 * The job engine for a store: on PostgreSQL the shared one (any number of processes), on SQLite the
 * in-process one. `memory` forces the in-process engine (single-process tests on PostgreSQL).
 */
export async function openJobs(o: {
  db: Db;
  url: string;
  logger: Logger;
  memory?: boolean;
  graceMs?: number;
  pollIntervalMs?: number;
}): Promise<Jobs> {
  if (o.db.dialect !== "postgres" || o.memory) return new MemoryJobs();
  return GraphileJobs.open({
    url: o.url,
    schema: jobSchemaFor(o.db.schema),
    logger: o.logger,
    ...(o.graceMs !== undefined ? { graceMs: o.graceMs } : {}),
    ...(o.pollIntervalMs !== undefined ? { pollIntervalMs: o.pollIntervalMs } : {}),
  });
}
