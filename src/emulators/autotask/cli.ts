/**
 * `nocbridge emulator autotask …`: starts the Autotask emulator from the command line and prints its
 * base URL and credentials. src/cli.ts registers it with `registerAutotaskEmulatorCommand(program)`.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import type { FaultOptions } from "./faults.js";
import type { LimitsOptions } from "./limits.js";
import { DEFAULT_CREDENTIALS, DEFAULT_TENANT_ID, SEED_NAMES, type SeedName } from "./seed.js";
import type { StartAutotaskEmulatorOptions } from "./server.js";

export interface AutotaskEmulatorCliOptions {
  port: number;
  host: string;
  username: string;
  secret: string;
  integrationCode: string;
  seed: SeedName;
  state?: string;
  tenantId: string;
  publicUrl?: string;
  timeScale?: number;
  threshold?: number;
  maxThreads?: number;
  limits: boolean;
  limitsJson?: Partial<LimitsOptions>;
  fault429?: number;
  fault500?: number;
  faultTimeout?: number;
  fault500AfterApply?: number;
  faultLatency?: number;
  webhookDrop?: number;
  webhookDuplicate?: number;
  webhookDelay?: number;
  webhookReorder?: number;
  faultsJson?: Partial<FaultOptions>;
  randomSeed?: string;
  webhooks: boolean;
  allowHttpWebhooks?: boolean;
}

const number =
  (min: number, max = Number.POSITIVE_INFINITY) =>
  (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}`);
    return n;
  };
const share = number(0, 1);
const json = (v: string) => {
  try {
    const o = JSON.parse(v) as unknown;
    if (o === null || typeof o !== "object" || Array.isArray(o)) throw new Error("not an object");
    return o;
  } catch {
    throw new InvalidArgumentError("expected a JSON object");
  }
};

/** Maps parsed CLI flags to the emulator's start options. */
export function startOptionsFromCli(o: AutotaskEmulatorCliOptions): StartAutotaskEmulatorOptions {
  const opts: StartAutotaskEmulatorOptions = {
    port: o.port,
    host: o.host,
    username: o.username,
    secret: o.secret,
    integrationCode: o.integrationCode,
    seed: o.seed,
    tenantId: o.tenantId,
  };
  if (o.state) opts.state = o.state;
  if (o.publicUrl) opts.publicUrl = o.publicUrl;
  if (o.timeScale !== undefined) opts.timeScale = o.timeScale;
  if (o.randomSeed !== undefined) opts.randomSeed = o.randomSeed;
  if (!o.limits) opts.limits = false;
  else {
    const limits: Partial<LimitsOptions> = { ...o.limitsJson };
    if (o.threshold !== undefined) limits.requestThreshold = o.threshold;
    if (o.maxThreads !== undefined) limits.maxThreads = o.maxThreads;
    opts.limits = limits;
  }
  const faults: Partial<FaultOptions> = { ...o.faultsJson };
  const set = <K extends keyof FaultOptions>(k: K, v: FaultOptions[K] | undefined) => {
    if (v !== undefined) faults[k] = v;
  };
  set("share429", o.fault429);
  set("share500", o.fault500);
  set("shareTimeoutAfterApply", o.faultTimeout);
  set("share500AfterApply", o.fault500AfterApply);
  set("latencyMs", o.faultLatency);
  set("deliveryDrop", o.webhookDrop);
  set("deliveryDuplicate", o.webhookDuplicate);
  set("deliveryDelay", o.webhookDelay);
  set("deliveryReorder", o.webhookReorder);
  opts.faults = faults;
  if (!o.webhooks) opts.webhooks = false;
  if (o.allowHttpWebhooks) opts.allowHttpWebhooks = true;
  return opts;
}

/** Adds `emulator autotask` (creating the `emulator` group when it is not there yet). */
export function registerAutotaskEmulatorCommand(program: Command): Command {
  const group =
    program.commands.find((c) => c.name() === "emulator") ??
    program.command("emulator").description("run a local emulator of a PSA's REST API");
  return group
    .command("autotask")
    .description(
      "run the Autotask PSA REST API emulator (zones, auth, queries, picklists, UDFs, webhooks, limits, faults)",
    )
    .addOption(new Option("--port <port>", "listen port").default(8787).argParser(number(0, 65535)))
    .addOption(new Option("--host <host>", "listen address (the admin API has no auth)").default("127.0.0.1"))
    .addOption(new Option("--username <user>", "API user name").default(DEFAULT_CREDENTIALS.username))
    .addOption(new Option("--secret <secret>", "API user secret").default(DEFAULT_CREDENTIALS.secret))
    .addOption(
      new Option("--integration-code <code>", "API integration code (tracking identifier)").default(
        DEFAULT_CREDENTIALS.integrationCode,
      ),
    )
    .addOption(new Option("--seed <seed>", "seed of a new state").choices([...SEED_NAMES]).default("demo"))
    .addOption(new Option("--state <file>", "JSON state file: loaded at start, saved after writes"))
    .addOption(
      new Option("--tenant-id <id>", "id of the first tenant (admin API paths)").default(DEFAULT_TENANT_ID),
    )
    .addOption(
      new Option("--public-url <url>", "origin advertised in the zone url (default: the request's Host)"),
    )
    .addOption(
      new Option("--time-scale <n>", "multiplies every nominal delay (0.01 = 100× faster)").argParser(
        number(0),
      ),
    )
    .addOption(
      new Option("--threshold <n>", "requests per rolling hour per tenant (default 10000)").argParser(
        number(1),
      ),
    )
    .addOption(
      new Option(
        "--max-threads <n>",
        "concurrent requests per integration code and endpoint (default 3)",
      ).argParser(number(1)),
    )
    .addOption(new Option("--no-limits", "no threshold, latency or thread limit"))
    .addOption(
      new Option("--limits-json <json>", "limits options as JSON (see docs/emulator.md)").argParser(json),
    )
    .addOption(
      new Option("--fault-429 <share>", "share of requests answered 429 + Retry-After").argParser(share),
    )
    .addOption(new Option("--fault-500 <share>", "share of requests answered 500").argParser(share))
    .addOption(
      new Option("--fault-timeout <share>", "share of requests applied, then never answered").argParser(
        share,
      ),
    )
    .addOption(
      new Option("--fault-500-after-apply <share>", "share of requests applied, then answered 500").argParser(
        share,
      ),
    )
    .addOption(new Option("--fault-latency <ms>", "latency added to every request").argParser(number(0)))
    .addOption(new Option("--webhook-drop <share>", "share of webhook events never sent").argParser(share))
    .addOption(
      new Option("--webhook-duplicate <share>", "share of webhook events sent twice").argParser(share),
    )
    .addOption(new Option("--webhook-delay <share>", "share of webhook events delayed").argParser(share))
    .addOption(
      new Option("--webhook-reorder <share>", "share of webhook events swapped with the next").argParser(
        share,
      ),
    )
    .addOption(
      new Option("--faults-json <json>", "fault options as JSON (see docs/emulator.md)").argParser(json),
    )
    .addOption(new Option("--random-seed <seed>", "seed of the fault streams (replays a run)"))
    .addOption(new Option("--no-webhooks", "do not deliver webhook callouts"))
    .addOption(
      new Option(
        "--allow-http-webhooks",
        "accept webhook URLs that are not https on port 443 (a real tenant delivers to 443 only)",
      ),
    )
    .action(async (o: AutotaskEmulatorCliOptions) => {
      // The server is loaded only when this command runs, so other commands start faster.
      const { startAutotaskEmulator } = await import("./server.js");
      const emulator = await startAutotaskEmulator(startOptionsFromCli(o));
      const c = emulator.credentials;
      const faults = emulator.behaviours.faults?.snapshot().options.seed;
      console.log(
        [
          "",
          `Autotask emulator listening on ${emulator.url}`,
          `  REST base (zone url):  ${emulator.baseUrl}`,
          `  zone lookup:           ${emulator.baseUrl}V1.0/ZoneInformation?user=${encodeURIComponent(c.username)}`,
          `  UserName:              ${c.username}`,
          `  Secret:                ${c.secret}`,
          `  ApiIntegrationCode:    ${c.integrationCode}`,
          `  tenant:                ${emulator.tenantId} (seed ${o.state ? `${o.seed}, state ${o.state}` : o.seed})`,
          `  admin API:             ${emulator.url}/_emulator/stats (no auth: keep it on loopback)`,
          faults !== undefined ? `  fault random seed:     ${String(faults)}` : "",
          "",
        ]
          .filter((l, i, all) => l !== "" || i === 0 || i === all.length - 1)
          .join("\n"),
      );
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        emulator.close().then(
          () => process.exit(0),
          (err: unknown) => {
            console.error(err);
            process.exit(1);
          },
        );
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
