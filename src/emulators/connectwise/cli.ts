/**
 * `nocbridge emulator connectwise …`: starts the ConnectWise PSA emulator over HTTPS and prints its
 * base URL, credentials and where the certificate to trust is. src/cli.ts registers it with
 * `registerConnectWiseEmulatorCommand(program)`.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_CLIENT_ID, DEFAULT_COMPANY_ID, DEFAULT_KEYS, SEED_NAMES, type SeedName } from "./seed.js";
import type { StartConnectWiseEmulatorOptions } from "./server.js";

export interface ConnectWiseEmulatorCliOptions {
  port: number;
  host: string;
  companyId: string;
  publicKey: string;
  privateKey: string;
  clientId: string;
  seed: SeedName;
  caOut?: string;
  codebase?: string;
  timeScale?: number;
  fault429?: number;
  fault500?: number;
  faultTimeout?: number;
  fault500AfterApply?: number;
  faultLatency?: number;
  callbackDrop?: number;
  callbackDuplicate?: number;
  callbackDelay?: number;
  callbackReorder?: number;
  requestsPerMinute?: number;
  randomSeed?: string;
  callbacks: boolean;
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

/** Maps parsed CLI flags to the emulator's start options. */
export function connectWiseStartOptions(o: ConnectWiseEmulatorCliOptions): StartConnectWiseEmulatorOptions {
  const faults: NonNullable<StartConnectWiseEmulatorOptions["faults"]> = {};
  const set = <K extends keyof typeof faults>(k: K, v: (typeof faults)[K] | undefined) => {
    if (v !== undefined) faults[k] = v;
  };
  set("share429", o.fault429);
  set("share500", o.fault500);
  set("shareTimeoutAfterApply", o.faultTimeout);
  set("share500AfterApply", o.fault500AfterApply);
  set("latencyMs", o.faultLatency);
  set("callbackDrop", o.callbackDrop);
  set("callbackDuplicate", o.callbackDuplicate);
  set("callbackDelay", o.callbackDelay);
  set("callbackReorder", o.callbackReorder);
  set("requestsPerMinute", o.requestsPerMinute);
  const opts: StartConnectWiseEmulatorOptions = {
    port: o.port,
    host: o.host,
    companyId: o.companyId,
    publicKey: o.publicKey,
    privateKey: o.privateKey,
    clientId: o.clientId,
    seed: o.seed,
    faults,
  };
  if (o.caOut) opts.caOut = o.caOut;
  if (o.codebase) opts.codebase = o.codebase;
  if (o.timeScale !== undefined) opts.timeScale = o.timeScale;
  if (o.randomSeed !== undefined) opts.randomSeed = o.randomSeed;
  if (!o.callbacks) opts.callbacks = false;
  return opts;
}

/** Adds `emulator connectwise` (creating the `emulator` group when it is not there yet). */
export function registerConnectWiseEmulatorCommand(program: Command): Command {
  const group =
    program.commands.find((c) => c.name() === "emulator") ??
    program.command("emulator").description("run a local emulator of a PSA's REST API");
  return group
    .command("connectwise")
    .description(
      "run the ConnectWise PSA (Manage) REST API emulator over HTTPS (auth, conditions, paging, JSON-Patch, callbacks, faults)",
    )
    .addOption(new Option("--port <port>", "listen port").default(8443).argParser(number(0, 65535)))
    .addOption(new Option("--host <host>", "listen address (the admin API has no auth)").default("127.0.0.1"))
    .addOption(new Option("--company-id <id>", "company id of the first tenant").default(DEFAULT_COMPANY_ID))
    .addOption(new Option("--public-key <key>", "API member public key").default(DEFAULT_KEYS.publicKey))
    .addOption(new Option("--private-key <key>", "API member private key").default(DEFAULT_KEYS.privateKey))
    .addOption(new Option("--client-id <id>", "clientId the requests must send").default(DEFAULT_CLIENT_ID))
    .addOption(
      new Option("--seed <seed>", "seed of the first tenant").choices([...SEED_NAMES]).default("demo"),
    )
    .addOption(
      new Option("--ca-out <file>", "write the certificate PEM clients must trust (NODE_EXTRA_CA_CERTS)"),
    )
    .addOption(new Option("--codebase <codebase>", "versioned codebase of the tenant (default v2025_1)"))
    .addOption(
      new Option("--time-scale <n>", "multiplies callback retry delays and injected delays").argParser(
        number(0),
      ),
    )
    .addOption(
      new Option("--fault-429 <share>", "share of requests answered 429 + Retry-After").argParser(share),
    )
    .addOption(new Option("--fault-500 <share>", "share of requests answered 500").argParser(share))
    .addOption(
      new Option("--fault-timeout <share>", "share of writes applied, then never answered").argParser(share),
    )
    .addOption(
      new Option("--fault-500-after-apply <share>", "share of writes applied, then answered 500").argParser(
        share,
      ),
    )
    .addOption(new Option("--fault-latency <ms>", "latency added to every request").argParser(number(0)))
    .addOption(
      new Option("--callback-drop <share>", "share of callback messages never sent").argParser(share),
    )
    .addOption(
      new Option("--callback-duplicate <share>", "share of callback messages sent twice").argParser(share),
    )
    .addOption(new Option("--callback-delay <share>", "share of callback messages delayed").argParser(share))
    .addOption(
      new Option("--callback-reorder <share>", "share of callback messages swapped with the next").argParser(
        share,
      ),
    )
    .addOption(
      new Option(
        "--requests-per-minute <n>",
        "throttle per tenant and clientId (0 = none; default 1000)",
      ).argParser(number(0)),
    )
    .addOption(new Option("--random-seed <seed>", "seed of the fault streams (replays a run)"))
    .addOption(new Option("--no-callbacks", "do not deliver callbacks"))
    .action(async (o: ConnectWiseEmulatorCliOptions) => {
      // The server is loaded only when this command runs, so other commands start faster.
      const { startConnectWiseEmulator } = await import("./server.js");
      const emu = await startConnectWiseEmulator(connectWiseStartOptions(o));
      const c = emu.credentials;
      console.log(
        [
          "",
          `ConnectWise emulator listening on ${emu.url}`,
          `  REST base:        ${emu.baseUrl}`,
          `  company info:     ${emu.url}/login/companyinfo/${encodeURIComponent(c.companyId)}`,
          `  company id:       ${c.companyId} (seed ${o.seed})`,
          `  public key:       ${c.publicKey}`,
          "  private key:      (as given by --private-key)",
          `  clientId:         ${c.clientId}`,
          o.caOut
            ? `  certificate:      ${o.caOut} (trust it, e.g. NODE_EXTRA_CA_CERTS)`
            : "  certificate:      self-signed; pass --ca-out FILE to write it",
          `  admin API:        ${emu.url}/_emulator/stats (no auth: keep it on loopback)`,
          `  fault random seed: ${String(emu.faults.snapshot().seed)}`,
          "",
        ].join("\n"),
      );
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        emu.close().then(
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
