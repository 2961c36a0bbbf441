#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from "commander";
import { registerProcessCommands } from "./cli/processes.js";
import { registerReconciliationCommand } from "./cli/reconciliation.js";
import { registerTicketQueueCommand } from "./cli/tickets-queue.js";
import { followRun, printPlan, runSummary } from "./cli-sync.js";
import { type Config, ENV_DOC, loadConfig } from "./config.js";
import { DEMO_PARTNER_NAME, seedDemo } from "./demo/seed.js";
import { registerAutotaskEmulatorCommand } from "./emulators/autotask/cli.js";
import { registerConnectWiseEmulatorCommand } from "./emulators/connectwise/cli.js";
import { ConsoleSummary } from "./lib/console-summary.js";
import { createLogger } from "./lib/logger.js";
import { type Column, textTable } from "./lib/text-table.js";
import { openServices, type Services, StartupError } from "./main.js";
import { SYSTEM_ACTOR } from "./portal/access.js";
import { DEVICE_STATES, ROLES, type Role } from "./portal/catalog.js";
import { PortalError } from "./portal/errors.js";
import { migrate, openDb } from "./store/db.js";

/**
 * The `nocbridge` command. Commands run as the system operator (whoever can run this command can
 * read the database anyway); the REST API is where per-user authorisation applies.
 */
export function buildCli(): Command {
  const program = new Command("nocbridge")
    .description("NOC portal ↔ PSA integration: REST API, sync engine, PSA emulators")
    .addHelpText(
      "after",
      `\nEnvironment:\n${ENV_DOC.map(([name, text]) => `  ${name.padEnd(22)} ${text}`).join("\n")}`,
    )
    .showHelpAfterError();

  const dbOption = () =>
    new Option("--database <url>", "postgres://… or a SQLite file (overrides DATABASE_URL)");
  const jsonOption = () => new Option("--json", "print JSON instead of a table");

  registerProcessCommands(program, { dbOption, open, configFrom, port, positiveInt, onSignal });

  program
    .command("demo")
    .description(
      "the Autotask and ConnectWise emulators with their demo tenants + the API with a demo partner wired to each, ready to sync",
    )
    .addOption(new Option("--port <port>", "API port (overrides PORT)").argParser(port))
    .addOption(new Option("--emulator-port <port>", "Autotask emulator port").argParser(port).default(8081))
    .addOption(
      new Option("--connectwise-port <port>", "ConnectWise emulator port (HTTPS)")
        .argParser(port)
        .default(8082),
    )
    .addOption(dbOption())
    .action(
      async (o: { port?: number; emulatorPort: number; connectwisePort: number; database?: string }) => {
        const config = configFrom(o);
        // Loaded only for the demo: it brings the emulators, which other commands do not need.
        const { CW_ADMIN, DEMO_PASSWORD, NOC_TECH, startDemo } = await import("./demo/run.js");
        const consoleSummary = new ConsoleSummary();
        const demo = await startDemo(config, {
          emulatorPort: o.emulatorPort,
          connectwisePort: o.connectwisePort,
          logger: createLogger(config.logLevel, process.stderr, { onLevel: (l) => consoleSummary.logged(l) }),
          consoleSummary,
        }).catch((e: unknown) => {
          throw e instanceof StartupError ? e : new StartupError("starting the demo", e);
        });
        const { server, summary, adminToken, emulator } = demo;
        const p = summary.partner.id;
        const cw = demo.connectwise;
        const counts = (s: typeof summary) =>
          `${s.clients} clients, ${s.devices} devices, ${s.tickets} tickets${s.created ? " (just created)" : ""}`;
        console.log(
          [
            "",
            `nocbridge demo is running at ${server.url}`,
            `  partner "${summary.partner.name}" (id ${p}) on Autotask: ${counts(summary)}`,
            `  partner "${cw.summary.partner.name}" (id ${cw.summary.partner.id}) on ConnectWise: ${counts(cw.summary)}`,
            `  web UI: ${server.url}/  (sign in as noc / ${DEMO_PASSWORD}, or var-admin / ${DEMO_PASSWORD} for the Autotask partner, or ${CW_ADMIN} / ${DEMO_PASSWORD} for the ConnectWise partner)`,
            `          NOC technician: ${NOC_TECH} / ${DEMO_PASSWORD} (the ticket queue of both partners)`,
            `  NOC admin token: ${adminToken}`,
            `  Autotask emulator: ${emulator.baseUrl} (admin API ${emulator.url}/_emulator/state)`,
            `  ConnectWise emulator: ${cw.emulator.url} (self-signed certificate; company id ${cw.emulator.credentials.companyId}, admin API ${cw.emulator.url}/_emulator/tenants)`,
            "",
            "  try:",
            `    curl -H "Authorization: Bearer ${adminToken}" -X POST ${server.url}/api/partners/${p}/validate`,
            `    curl -H "Authorization: Bearer ${adminToken}" -X POST ${server.url}/api/partners/${p}/sync/assets`,
            `    curl -H "Authorization: Bearer ${adminToken}" ${server.url}/api/partners/${p}/sync-runs`,
            `  API description: ${server.url}/openapi.json`,
            "",
          ].join("\n"),
        );
        onSignal(() => demo.close());
      },
    );

  program
    .command("migrate")
    .description("create or update the database schema")
    .addOption(dbOption())
    .action(async (o: { database?: string }) => {
      const db = await openDb({ url: configFrom(o).databaseUrl });
      try {
        const applied = await migrate(db);
        console.log(applied.length ? `applied: ${applied.join(", ")}` : "schema is up to date");
      } finally {
        await db.close();
      }
    });

  const users = program.command("users").description("manage users");
  users
    .command("create")
    .description("create a user and print its API token (shown once)")
    .requiredOption("--name <name>", "display name")
    .addOption(new Option("--role <role>", "role").choices(ROLES).makeOptionMandatory())
    .addOption(new Option("--partner <id>", "partner the user belongs to").argParser(positiveInt))
    .option("--username <username>", "sign-in name for the web UI")
    .option("--password <password>", "web UI password (at least 8 characters)")
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(
      async (o: {
        name: string;
        role: Role;
        partner?: number;
        username?: string;
        password?: string;
        database?: string;
        json?: boolean;
      }) =>
        withServices(o, async (s) => {
          const { user, token } = await s.portal.createUser(SYSTEM_ACTOR, {
            name: o.name,
            role: o.role,
            partnerId: o.partner ?? null,
            ...(o.username ? { username: o.username } : {}),
            ...(o.password ? { password: o.password } : {}),
          });
          if (o.json) console.log(JSON.stringify({ id: user.id, token, user }));
          else
            console.log(
              `created user ${user.id} (${user.role}${user.partnerId ? `, partner ${user.partnerId}` : ""})\ntoken: ${token}`,
            );
        }),
    );

  const partners = program.command("partners").description("partners (VARs)");
  partners
    .command("list")
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(async (o: { database?: string; json?: boolean }) =>
      withServices(o, async (s) =>
        print(o, (await s.portal.listPartners(SYSTEM_ACTOR, { limit: 500 })).items, [
          { head: "Partner", value: (p) => p.name },
          { head: "Time zone", value: (p) => p.timeZone },
          { head: "ID", value: (p) => p.id, right: true },
        ]),
      ),
    );

  const clients = program.command("clients").description("a partner's clients");
  clients
    .command("list")
    .requiredOption("--partner <id>", "partner id", positiveInt)
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(async (o: { partner: number; database?: string; json?: boolean }) =>
      withServices(o, async (s) =>
        print(o, (await s.portal.listClients(SYSTEM_ACTOR, o.partner, { limit: 500 })).items, [
          { head: "Code", value: (c) => c.code },
          { head: "Client", value: (c) => c.name },
          { head: "PSA company", value: companyText },
          { head: "ID", value: (c) => c.id, right: true },
        ]),
      ),
    );

  const devices = program.command("devices").description("a client's devices");
  devices
    .command("list")
    .requiredOption("--client <id>", "client id", positiveInt)
    .addOption(new Option("--state <state>", "only this state").choices(DEVICE_STATES))
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(
      async (o: {
        client: number;
        state?: (typeof DEVICE_STATES)[number];
        database?: string;
        json?: boolean;
      }) =>
        withServices(o, async (s) =>
          print(
            o,
            (
              await s.portal.listDevices(SYSTEM_ACTOR, o.client, {
                limit: 500,
                ...(o.state ? { state: o.state } : {}),
              })
            ).items,
            [
              { head: "Hostname", value: (d) => d.hostname },
              { head: "State", value: (d) => d.state },
              { head: "Type", value: (d) => d.deviceType },
              { head: "IP address", value: (d) => d.ipAddress },
              { head: "Serial number", value: (d) => d.serialNumber },
              { head: "Warranty end", value: (d) => d.warrantyEndDate },
              { head: "ID", value: (d) => d.id, right: true },
            ],
          ),
        ),
    );

  const tickets = program.command("tickets").description("a partner's tickets");
  tickets
    .command("list")
    .requiredOption("--partner <id>", "partner id", positiveInt)
    .addOption(new Option("--status <id>", "only this portal status id").argParser(positiveInt))
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(async (o: { partner: number; status?: number; database?: string; json?: boolean }) =>
      withServices(o, async (s) => {
        const clientsById = new Map(
          (await s.portal.listClients(SYSTEM_ACTOR, o.partner, { limit: 500 })).items.map((c) => [c.id, c]),
        );
        const items = (
          await s.portal.listTickets(SYSTEM_ACTOR, o.partner, {
            limit: 500,
            ...(o.status ? { statusId: o.status } : {}),
          })
        ).items;
        print(o, items, [
          { head: "Title", value: (t) => t.title },
          {
            head: "Client",
            value: (t) => {
              const c = clientsById.get(t.clientId);
              return c ? `${c.code} ${c.name}` : t.clientId;
            },
          },
          { head: "Status", value: (t) => t.status },
          { head: "Priority", value: (t) => t.priority },
          { head: "Updated", value: (t) => t.updatedAt.slice(0, 16).replace("T", " ") },
          { head: "ID", value: (t) => t.id, right: true },
        ]);
      }),
    );

  registerTicketQueueCommand(tickets, { dbOption, jsonOption, positiveInt, withServices });

  const timeEntries = program.command("time-entries").description("time logged on tickets");
  timeEntries
    .command("list")
    .requiredOption("--ticket <id>", "ticket id", positiveInt)
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(async (o: { ticket: number; database?: string; json?: boolean }) =>
      withServices(o, async (s) => {
        const items = (await s.portal.listTimeEntries(SYSTEM_ACTOR, o.ticket, { limit: 500 })).items;
        print(o, items, [
          { head: "Technician", value: (e) => e.userName },
          { head: "Started (UTC)", value: (e) => e.startedAt.slice(0, 16).replace("T", " ") },
          { head: "Ended (UTC)", value: (e) => e.endedAt.slice(0, 16).replace("T", " ") },
          { head: "Minutes", value: (e) => e.minutes, right: true },
          { head: "Billable", value: (e) => (e.billable ? "yes" : "no") },
          { head: "Work type", value: (e) => e.workTypeId ?? "default" },
          { head: "Summary", value: (e) => e.summary },
          { head: "ID", value: (e) => e.id, right: true },
        ]);
        if (o.json) return;
        const effort = await s.portal.ticketEffort(SYSTEM_ACTOR, o.ticket);
        console.log(
          `total ${effort.minutes} min (${effort.billableMinutes} billable) in ${effort.entries} entries`,
        );
      }),
    );

  program
    .command("validate")
    .description("check a partner's configuration against its live PSA")
    .requiredOption("--partner <id>", "partner id", positiveInt)
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(async (o: { partner: number; database?: string; json?: boolean }) =>
      withServices(o, async (s) => {
        const r = await s.sync.validate(SYSTEM_ACTOR, o.partner);
        if (o.json) console.log(JSON.stringify(r, null, 2));
        else {
          for (const c of r.checks)
            console.log(`${c.ok ? "✔" : "✘"} ${c.message}${c.fix ? `\n    fix: ${c.fix}` : ""}`);
          console.log(r.ok ? "Configuration is valid." : "Configuration has problems.");
        }
        if (!r.ok) process.exitCode = 2;
      }),
    );

  const sync = program.command("sync").description("run synchronisations");
  sync
    .command("assets")
    .description(
      "push the partner's devices to its PSA (Autotask configuration items, ConnectWise configurations; prints the log as it runs)",
    )
    .requiredOption("--partner <id>", "partner id", positiveInt)
    .option("--dry-run", "plan only: show what would be created, updated or deactivated; write nothing")
    .addOption(
      new Option("--approve <runId>", "carry out a run held by the mass-change guard").argParser(positiveInt),
    )
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(
      async (o: { partner: number; dryRun?: boolean; approve?: number; database?: string; json?: boolean }) =>
        withServices(o, async (s) => {
          const run = o.approve
            ? await s.sync.approve(SYSTEM_ACTOR, o.approve)
            : await s.sync.startAssetRun(o.partner, "manual", { dryRun: o.dryRun === true, by: "cli" });
          const done = await followRun(s, run.id, !o.json);
          if (o.json) console.log(JSON.stringify(done, null, 2));
          else {
            console.log(runSummary(done));
            if (done.status === "awaiting-approval")
              console.log(`approve with: nocbridge sync assets --partner ${o.partner} --approve ${done.id}`);
            if (done.dryRun) printPlan(done.plan);
          }
          if (done.status === "failed") process.exitCode = 1;
        }),
    );

  registerReconciliationCommand(program, { withServices, dbOption });
  registerAutotaskEmulatorCommand(program);
  registerConnectWiseEmulatorCommand(program);

  const seed = program.command("seed").description("load sample data");
  seed
    .command("demo")
    .description(
      `create the "${DEMO_PARTNER_NAME}" partner with clients AT1 and AT2, ~50 devices and a few tickets`,
    )
    .addOption(dbOption())
    .action(async (o: { database?: string }) =>
      withServices(o, async (s) => {
        const r = await seedDemo(s.portal, SYSTEM_ACTOR);
        console.log(
          `${r.created ? "created" : "already present:"} partner ${r.partner.id} "${r.partner.name}": ${r.clients} clients, ${r.devices} devices, ${r.tickets} tickets`,
        );
      }),
    );

  return program;
}

function configFrom(o: { port?: number; host?: string; database?: string }): Config {
  const config = loadConfig();
  return {
    ...config,
    ...(o.port !== undefined ? { port: o.port } : {}),
    ...(o.host !== undefined ? { host: o.host } : {}),
    ...(o.database !== undefined
      ? { databaseUrl: loadConfig({ ...process.env, DATABASE_URL: o.database }).databaseUrl }
      : {}),
  };
}

async function open(
  config: Config,
  command: string,
  role: { worker: boolean; concurrency?: number } = { worker: false },
): Promise<Services> {
  // Commands that print results keep the log quiet unless asked; servers log at the configured level.
  const longRunning = command === "serve" || command === "demo" || command === "worker";
  const level = longRunning ? config.logLevel : (process.env.LOG_LEVEL ?? "warn");
  const server = command === "serve" || command === "worker";
  const consoleSummary = server ? new ConsoleSummary() : undefined;
  return openServices(config, {
    logger: createLogger(
      level,
      process.stderr,
      consoleSummary ? { onLevel: (l) => consoleSummary.logged(l) } : {},
    ),
    ...(consoleSummary ? { consoleSummary } : {}),
    background: role.worker || command === "demo",
    // A one-off command (sync assets, validate) carries out what it starts itself, in this process.
    ...(longRunning ? {} : { jobs: "memory" as const }),
    ...(role.concurrency !== undefined ? { concurrency: role.concurrency } : {}),
  });
}

async function withServices(o: { database?: string }, fn: (s: Services) => Promise<void>): Promise<void> {
  const services = await open(configFrom(o), "command");
  try {
    await fn(services);
  } finally {
    await services.close();
  }
}

/** The rows as JSON (as the API gives them), or as an aligned table of the columns. */
function print<T>(o: { json?: boolean }, rows: T[], columns: ReadonlyArray<Column<T>>): void {
  console.log(o.json ? JSON.stringify(rows, null, 2) : textTable(rows, columns));
}

/** A client's PSA company by name, with its id after it. */
function companyText(c: { psaCompanyId: number | null; psaCompanyName: string | null }): string {
  if (c.psaCompanyId === null) return "not mapped";
  return c.psaCompanyName ? `${c.psaCompanyName} (${c.psaCompanyId})` : `company ${c.psaCompanyId}`;
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("must be a port number");
  return n;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive whole number");
  return n;
}

function onSignal(stop: () => Promise<void>): void {
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("/nocbridge");
if (isMain) {
  buildCli()
    .parseAsync(process.argv)
    .catch((e: unknown) => {
      if (e instanceof StartupError) {
        // One line, and the process ends: a server that failed to start must not linger unlistening.
        process.stderr.write(`nocbridge: ${e.message}\n`, () => process.exit(1));
        return;
      }
      if (e instanceof PortalError) console.error(`error: ${e.message}`);
      else console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    });
}
