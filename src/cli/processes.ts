import type { Command } from "commander";
import { Option } from "commander";
import type { Config } from "../config.js";
import { isPostgresUrl } from "../lib/database-url.js";
import { type Services, StartupError, startServer } from "../main.js";
import { DEFAULT_CONCURRENCY } from "../sync/background.js";

/**
 * The long-running commands: `nocbridge serve [--with-worker]` (API and UI; on PostgreSQL background
 * work is left to workers unless --with-worker; on SQLite the server is always its worker too) and
 * `nocbridge worker [--concurrency N] [--port P]` (background work beside any number of workers).
 */
export function registerProcessCommands(
  program: Command,
  deps: {
    dbOption(): Option;
    open(config: Config, command: string, role: { worker: boolean; concurrency?: number }): Promise<Services>;
    configFrom(o: { port?: number; host?: string; database?: string }): Config;
    port(v: string): number;
    positiveInt(v: string): number;
    onSignal(stop: () => Promise<void>): void;
  },
): void {
  const { dbOption, open, configFrom, port, positiveInt, onSignal } = deps;
  const concurrencyOption = () =>
    new Option("--concurrency <n>", "background jobs this process runs at once")
      .argParser(positiveInt)
      .default(DEFAULT_CONCURRENCY);

  program
    .command("serve")
    .description(
      "serve the REST API and UI; on PostgreSQL background work is left to `nocbridge worker` processes unless --with-worker",
    )
    .addOption(new Option("--port <port>", "listen port (overrides PORT)").argParser(port))
    .addOption(new Option("--host <host>", "listen address (overrides HOST)"))
    .addOption(new Option("--with-worker", "also do background work in this process (always so on SQLite)"))
    .addOption(concurrencyOption())
    .addOption(dbOption())
    .action(
      async (o: {
        port?: number;
        host?: string;
        database?: string;
        withWorker?: boolean;
        concurrency: number;
      }) => {
        const config = configFrom(o);
        // SQLite is one process's database: its server is always its worker too.
        const worker = o.withWorker === true || !isPostgresUrl(config.databaseUrl);
        const services = await open(config, "serve", { worker, concurrency: o.concurrency });
        const server = await startServer(services).catch(async (e: unknown) => {
          await services.close().catch(() => {});
          throw e instanceof StartupError ? e : new StartupError("starting the server", e);
        });
        console.log(`nocbridge listening on ${server.url}${worker ? " (with a worker)" : ""}`);
        for (const c of services.connectors.list()) {
          const why = c.webhooks.urlProblem(
            services.config.publicUrl ?? server.url,
            services.config.allowHttpWebhooks,
          );
          if (why) console.log(`${c.label} webhooks: polling only, because ${why}.`);
        }
        if (server.generatedAdminToken)
          console.log(`NOC admin token (this start only): ${server.generatedAdminToken}`);
        onSignal(async () => {
          await server.close();
          await services.close();
        });
      },
    );

  program
    .command("worker")
    .description(
      "do background work (ticket sync, polls, asset runs, schedules) beside any number of other workers",
    )
    .addOption(concurrencyOption())
    .addOption(
      new Option(
        "--port <port>",
        "also answer /healthz, /readyz and /metrics on this port (no API)",
      ).argParser(port),
    )
    .addOption(new Option("--host <host>", "listen address of --port (overrides HOST)"))
    .addOption(dbOption())
    .action(async (o: { database?: string; concurrency: number; port?: number; host?: string }) => {
      const config = configFrom(o);
      const services = await open(config, "worker", { worker: true, concurrency: o.concurrency });
      const ops =
        o.port === undefined
          ? undefined
          : await startServer(services, { opsOnly: true }).catch(async (e: unknown) => {
              await services.close().catch(() => {});
              throw e instanceof StartupError ? e : new StartupError("starting the worker's port", e);
            });
      const id = services.sync.workerId ?? "";
      console.log(
        `nocbridge worker ${id} running ${o.concurrency} jobs at a time${ops ? `; health and metrics on ${ops.url}` : ""}`,
      );
      onSignal(async () => {
        await ops?.close();
        await services.close();
      });
    });
}
