import { isAbsolute, join, resolve } from "node:path";
import { isPostgresUrl } from "./lib/database-url.js";
import { DEFAULT_ATTACHMENT_MAX_BYTES, DEFAULT_ATTACHMENT_TYPES } from "./portal/attachments.js";
import { BUILTIN_PSA_URL_ALLOWLIST } from "./psa/manifests.js";
import { PsaUrlPolicy } from "./psa/url-policy.js";
import { FAILPOINTS, type Failpoint } from "./sync/failpoint.js";
import { DEFAULT_FILE_CHECK_MINUTES } from "./sync/tickets/file-check.js";

// Kept here too for callers of the configuration module; each lives with the layer that uses it.
export { isPostgresUrl } from "./lib/database-url.js";
export { FAILPOINTS, type Failpoint } from "./sync/failpoint.js";

/** Everything nocbridge reads from the environment. This module is the only reader of process.env. */
export interface Config {
  /** postgres://… for PostgreSQL; otherwise the SQLite file path (or ":memory:"). */
  databaseUrl: string;
  dataDir: string;
  /** 32-byte master key from NOCBRIDGE_MASTER_KEY (hex or base64); absent → key file in dataDir. */
  masterKey: string | undefined;
  /** NOC admin's API token set at start (NOCBRIDGE_ADMIN_TOKEN). */
  adminToken: string | undefined;
  /** A bearer token that may read GET /metrics and nothing else (NOCBRIDGE_METRICS_TOKEN). */
  metricsToken: string | undefined;
  host: string;
  port: number;
  logLevel: string;
  /** Base URL at which the PSA reaches this server (webhooks). */
  publicUrl: string | undefined;
  /** NOCBRIDGE_ALLOW_HTTP_WEBHOOKS=1: register webhooks at a URL that is not https on port 443. */
  allowHttpWebhooks: boolean;
  /** NOCBRIDGE_TLS_CERT / NOCBRIDGE_TLS_KEY: PEM files; `serve` terminates TLS itself when both are set. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** Processed ticket inbox/outbox rows and resolved sync errors older than this many days are deleted. */
  retentionDays: number;
  /** Every open linked ticket's PSA files are listed at least this often, minutes (NOCBRIDGE_FILE_CHECK_MINUTES). */
  fileCheckMinutes: number;
  /** Where PSA calls may go (NOCBRIDGE_PSA_URL_ALLOWLIST). */
  psaUrls: PsaUrlPolicy;
  /** Testing only (NOCBRIDGE_FAILPOINT): the process exits at this point of a ticket create. */
  failpoint: Failpoint | undefined;
  // ---------------------------------------------------------------- attachments
  /** Largest file on a ticket, bytes (NOCBRIDGE_ATTACHMENT_MAX_BYTES). */
  attachmentMaxBytes: number;
  /** Content types accepted on tickets (NOCBRIDGE_ATTACHMENT_TYPES). */
  attachmentTypes: string[];
  /** Where attachment bytes live as files (NOCBRIDGE_ATTACHMENT_DIR); unset: in the database. */
  attachmentDir: string | undefined;
}

export const ENV_DOC: Array<[name: string, meaning: string]> = [
  [
    "DATABASE_URL",
    "postgres://user@host:5432/db for PostgreSQL; otherwise a SQLite file path. Default: <data dir>/nocbridge.sqlite",
  ],
  ["NOCBRIDGE_DATA_DIR", "where the SQLite file and the generated key file live. Default: ./data"],
  [
    "NOCBRIDGE_MASTER_KEY",
    "32-byte key (64 hex chars or base64) that encrypts PSA secrets. Default: <data dir>/master.key, generated on first start",
  ],
  [
    "NOCBRIDGE_ADMIN_TOKEN",
    "API token of the NOC admin, (re)set at every start. Without it `serve` prints a fresh one",
  ],
  [
    "NOCBRIDGE_METRICS_TOKEN",
    "bearer token (at least 16 characters, no spaces) that may read GET /metrics and nothing else, for Prometheus. The admin token may read it too. Default: unset",
  ],
  ["HOST", "listen address. Default: 127.0.0.1"],
  ["PORT", "listen port. Default: 8080"],
  ["LOG_LEVEL", "pino level: fatal, error, warn, info, debug, trace, silent. Default: info"],
  [
    "NOCBRIDGE_PUBLIC_URL",
    "base URL the PSA uses to reach this server (webhooks). Default: the listen address",
  ],
  [
    "NOCBRIDGE_ALLOW_HTTP_WEBHOOKS",
    "1: register Autotask webhooks even when the public URL is not https on port 443 (Autotask delivers to 443 only; for local demos and tests). Default: unset — such a URL means polling only",
  ],
  [
    "NOCBRIDGE_TLS_CERT",
    "PEM certificate (chain) file: `serve` answers https itself. Needs NOCBRIDGE_TLS_KEY. Default: unset (plain http, e.g. behind a TLS-terminating reverse proxy)",
  ],
  ["NOCBRIDGE_TLS_KEY", "PEM private key file for NOCBRIDGE_TLS_CERT. Default: unset"],
  [
    "NOCBRIDGE_RETENTION_DAYS",
    "days processed ticket inbox/outbox rows and resolved sync errors are kept (pruned hourly; unprocessed rows never). Default: 30",
  ],
  [
    "NOCBRIDGE_PSA_URL_ALLOWLIST",
    `comma-separated PSA base URLs the server may call: host patterns with a scheme (https://*.autotask.net) or exact origins (http://127.0.0.1:8081); only an exact origin may be a loopback or private address. Default: ${BUILTIN_PSA_URL_ALLOWLIST}`,
  ],
  [
    "NOCBRIDGE_FAILPOINT",
    `testing only: ${FAILPOINTS.join(" or ")} — the process exits (code 137) just before a ticket create is sent to the PSA, or just after it returned and before its link is saved. Default: unset`,
  ],
  [
    "NOCBRIDGE_ATTACHMENT_MAX_BYTES",
    `largest file accepted on a ticket, in bytes (upload, and files brought from the PSA). Default: ${DEFAULT_ATTACHMENT_MAX_BYTES} (6 MB, the Autotask API's per-file limit)`,
  ],
  [
    "NOCBRIDGE_ATTACHMENT_TYPES",
    "comma-separated content types accepted on tickets; type/* allows a family (image/*). Default: common images, PDF, plain text and CSV, JSON, XML, zip/7z/gzip, e-mail messages and Office documents",
  ],
  [
    "NOCBRIDGE_FILE_CHECK_MINUTES",
    `the periodic file check: every open linked ticket's PSA files are listed about this often (a file added alone in the PSA may not show as ticket activity). Default: ${DEFAULT_FILE_CHECK_MINUTES}`,
  ],
  [
    "NOCBRIDGE_ATTACHMENT_DIR",
    "directory for attachment bytes (one file each, 0600). Default: unset — the bytes are stored in the database",
  ],
];

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/**
 * Reads and checks the environment once. Every problem is collected so one error names every bad
 * variable, rather than failing on the first.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = [];
  const dataDir = resolve(overrides.dataDir ?? env.NOCBRIDGE_DATA_DIR ?? "data");
  const portText = env.PORT ?? "8080";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    problems.push(`PORT must be a port number, got "${portText}"`);
  const logLevel = env.LOG_LEVEL ?? "info";
  if (!LEVELS.has(logLevel))
    problems.push(`LOG_LEVEL must be one of ${[...LEVELS].join(", ")}, got "${logLevel}"`);
  const publicUrl = env.NOCBRIDGE_PUBLIC_URL;
  if (publicUrl !== undefined && !/^https?:\/\//.test(publicUrl)) {
    problems.push(`NOCBRIDGE_PUBLIC_URL must be an http(s) URL, got "${publicUrl}"`);
  }
  const allowHttpText = env.NOCBRIDGE_ALLOW_HTTP_WEBHOOKS ?? "";
  if (!["", "0", "1"].includes(allowHttpText))
    problems.push(`NOCBRIDGE_ALLOW_HTTP_WEBHOOKS must be 1 or 0, got "${allowHttpText}"`);
  const tlsCert = env.NOCBRIDGE_TLS_CERT || undefined;
  const tlsKey = env.NOCBRIDGE_TLS_KEY || undefined;
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    problems.push("NOCBRIDGE_TLS_CERT and NOCBRIDGE_TLS_KEY must be set together (or neither)");
  const retentionText = env.NOCBRIDGE_RETENTION_DAYS ?? "30";
  const retentionDays = Number(retentionText);
  if (!/^\d+$/.test(retentionText.trim()) || retentionDays < 1 || retentionDays > 3650)
    problems.push(
      `NOCBRIDGE_RETENTION_DAYS must be a whole number of days from 1 to 3650, got "${retentionText}"`,
    );
  const fileCheckText = env.NOCBRIDGE_FILE_CHECK_MINUTES ?? String(DEFAULT_FILE_CHECK_MINUTES);
  const fileCheckMinutes = Number(fileCheckText);
  if (!/^\d+$/.test(fileCheckText.trim()) || fileCheckMinutes < 1 || fileCheckMinutes > 10080)
    problems.push(
      `NOCBRIDGE_FILE_CHECK_MINUTES must be a whole number of minutes from 1 to 10080, got "${fileCheckText}"`,
    );
  const metricsToken = env.NOCBRIDGE_METRICS_TOKEN || undefined;
  // Never echoed: the value is a credential.
  if (metricsToken !== undefined && !/^\S{16,}$/.test(metricsToken))
    problems.push("NOCBRIDGE_METRICS_TOKEN must be at least 16 characters without spaces");
  const failpoint = env.NOCBRIDGE_FAILPOINT || undefined;
  if (failpoint !== undefined && !(FAILPOINTS as readonly string[]).includes(failpoint))
    problems.push(`NOCBRIDGE_FAILPOINT must be one of ${FAILPOINTS.join(", ")}, got "${failpoint}"`);
  const maxText = env.NOCBRIDGE_ATTACHMENT_MAX_BYTES ?? String(DEFAULT_ATTACHMENT_MAX_BYTES);
  const attachmentMaxBytes = Number(maxText);
  if (!/^\d+$/.test(maxText.trim()) || attachmentMaxBytes < 1 || attachmentMaxBytes > 100 * 1024 * 1024)
    problems.push(
      `NOCBRIDGE_ATTACHMENT_MAX_BYTES must be a whole number of bytes from 1 to 104857600, got "${maxText}"`,
    );
  const attachmentTypes = (env.NOCBRIDGE_ATTACHMENT_TYPES ?? DEFAULT_ATTACHMENT_TYPES.join(","))
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== "");
  for (const t of attachmentTypes)
    if (!/^[a-z0-9!#$&^_.+-]+\/([a-z0-9!#$&^_.+-]+|\*)$/.test(t))
      problems.push(`NOCBRIDGE_ATTACHMENT_TYPES: "${t}" is not a content type (type/subtype or type/*)`);
  const attachmentDir = env.NOCBRIDGE_ATTACHMENT_DIR ? resolve(env.NOCBRIDGE_ATTACHMENT_DIR) : undefined;
  let psaUrls = PsaUrlPolicy.default;
  try {
    psaUrls = PsaUrlPolicy.parse(env.NOCBRIDGE_PSA_URL_ALLOWLIST ?? BUILTIN_PSA_URL_ALLOWLIST);
  } catch (e) {
    problems.push(`NOCBRIDGE_PSA_URL_ALLOWLIST: ${(e as Error).message}`);
  }
  let databaseUrl = overrides.databaseUrl ?? env.DATABASE_URL ?? join(dataDir, "nocbridge.sqlite");
  if (!isPostgresUrl(databaseUrl) && databaseUrl !== ":memory:") {
    databaseUrl = databaseUrl.replace(/^sqlite:(\/\/)?/, "");
    if (!isAbsolute(databaseUrl)) databaseUrl = resolve(databaseUrl);
  }
  if (problems.length > 0) throw new Error(`Invalid configuration:\n- ${problems.join("\n- ")}`);
  return {
    databaseUrl,
    dataDir,
    masterKey: env.NOCBRIDGE_MASTER_KEY,
    adminToken: env.NOCBRIDGE_ADMIN_TOKEN,
    metricsToken,
    host: env.HOST ?? "127.0.0.1",
    port,
    logLevel,
    publicUrl,
    allowHttpWebhooks: allowHttpText === "1",
    tlsCert,
    tlsKey,
    retentionDays,
    fileCheckMinutes,
    psaUrls,
    failpoint: failpoint as Failpoint | undefined,
    attachmentMaxBytes,
    attachmentTypes,
    attachmentDir,
    ...overrides,
  };
}
