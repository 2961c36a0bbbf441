import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { dropSchema, PG_URL, STORES, TEST_MASTER_KEY } from "./helpers/services.js";

const run = promisify(execFile);
// Each test runs several CLI processes, each compiling the sources with tsx: give them room on a
// busy machine (a time-out is a bound, not a measured figure).
const CLI = ["--import", "tsx", join(import.meta.dirname, "..", "src", "cli.ts")];

describe.each(STORES)("nocbridge CLI on %s", (kind) => {
  const schema = `cli_${randomBytes(5).toString("hex")}`;
  const dataDir = mkdtempSync(join(tmpdir(), "nb-cli-"));
  const databaseUrl =
    kind === "postgres" ? `${PG_URL}?options=-c%20search_path%3D${schema}` : join(dataDir, "cli.sqlite");
  const env = {
    ...process.env,
    NOCBRIDGE_DATA_DIR: dataDir,
    NOCBRIDGE_MASTER_KEY: TEST_MASTER_KEY,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: "warn",
  };
  const cli = async (...args: string[]) => (await run("node", [...CLI, ...args], { env })).stdout;
  let server: ChildProcess | undefined;

  afterAll(async () => {
    server?.kill("SIGTERM");
    if (kind === "postgres") await dropSchema(schema);
  });

  it("migrates, seeds the demo, creates a user and lists partners, clients, devices and tickets", async () => {
    if (kind === "postgres") {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`CREATE SCHEMA ${schema}`);
      await c.end();
    }
    expect(await cli("migrate")).toContain("0001_init");
    expect(await cli("migrate")).toContain("up to date");
    expect(await cli("seed", "demo")).toMatch(
      /created partner 1 "Demo VAR": 2 clients, 50 devices, 4 tickets/,
    );
    const user = JSON.parse(
      await cli("users", "create", "--name", "Ana", "--role", "partner-admin", "--partner", "1", "--json"),
    );
    expect(user.token).toMatch(/^nbt_/);
    expect(user.user).toMatchObject({ role: "partner-admin", partnerId: 1 });
    expect(JSON.parse(await cli("partners", "list", "--json")).map((p: { name: string }) => p.name)).toEqual([
      "Demo VAR",
    ]);
    expect(
      JSON.parse(await cli("clients", "list", "--partner", "1", "--json")).map(
        (c: { code: string }) => c.code,
      ),
    ).toEqual(["AT1", "AT2"]);
    const managed = JSON.parse(await cli("devices", "list", "--client", "1", "--state", "managed", "--json"));
    expect(managed.length).toBeGreaterThan(0);
    expect(managed.every((d: { state: string }) => d.state === "managed")).toBe(true);
    const ticketTable = await cli("tickets", "list", "--partner", "1");
    expect(ticketTable).toContain("Windows updates pending reboot");
    // An aligned table with names: no console.table index column, the client by code and name.
    expect(ticketTable.split("\n")[0]).toMatch(/^Title\s+Client\s+Status\s+Priority\s+Updated\s+ID$/);
    expect(ticketTable).not.toContain("(index)");
    expect(ticketTable).toMatch(/Windows updates pending reboot[^\n]*\s{2}AT\d \S/);
    const clientTable = await cli("clients", "list", "--partner", "1");
    expect(clientTable).toMatch(/^AT1\s+\S.*\s+(not mapped|company \d+|.+ \(\d+\))\s+1$/m);
    await expect(cli("users", "create", "--name", "x", "--role", "wizard")).rejects.toThrow(
      /Allowed choices are noc-admin/,
    );
    await expect(cli("clients", "list", "--partner", "77")).rejects.toThrow(/partner not found/);
  }, 120_000);

  it("prints the ticket queue across partners with names and the count per status", async () => {
    // An aligned table with names (no index column), then the counts. The demo's tickets wait in the
    // outbox (no server ran to send them): pending.
    const queue = (await cli("tickets", "queue")).trimEnd().split("\n");
    expect(queue[0]).toMatch(/^PSA ticket +Title +Partner +Client +Status +Priority +Sync$/);
    expect(queue[1]).toMatch(/^─+( +─+){6}$/);
    const backup = queue.find((l) => l.includes("Backup job failed"));
    expect(backup).toMatch(/^— +Backup job failed on \S+ +Demo VAR +AT\d \S.* +New +P\d +pending$/);
    expect(queue.at(-1)).toBe("4 tickets · New 1 · Work In Progress 1 · Scheduled 1 · Handed Over to MSP 1");
    const newOnes = JSON.parse(await cli("tickets", "queue", "--status", "1", "--json"));
    expect(newOnes.items.map((t: { title: string }) => t.title)).toEqual([
      expect.stringMatching(/^Backup job/),
    ]);
    expect(newOnes.counts.total).toBe(4);
  }, 120_000);

  it("serves the API with the admin token from the environment", async () => {
    const token = `nbt_${randomBytes(16).toString("hex")}`;
    server = spawn("node", [...CLI, "serve", "--port", "0"], {
      env: { ...env, NOCBRIDGE_ADMIN_TOKEN: token },
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      server!.stdout!.on("data", (b) => {
        out += String(b);
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      server!.on("exit", (code) => reject(new Error(`serve exited ${code}`)));
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const res = await fetch(`${url}/api/partners`, { headers: { authorization: `Bearer ${token}` } });
    const partners = (await res.json()) as { items: Array<{ name: string }> };
    expect(partners.items[0]?.name).toBe("Demo VAR");
    expect((await fetch(`${url}/api/partners`)).status).toBe(401);

    // Time logged through the API is listed by the CLI, with the ticket's total.
    const logged = await fetch(`${url}/api/tickets/1/time-entries`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        startedAt: "2026-03-02T09:00:00Z",
        endedAt: "2026-03-02T10:30:00Z",
        summary: "Rebooted after updates",
      }),
    });
    expect(logged.status).toBe(201);
    const listed = await cli("time-entries", "list", "--ticket", "1");
    expect(listed).toContain("Rebooted after updates");
    expect(listed).toMatch(/Rebooted after updates/);
    expect(listed).toMatch(/\s90\s+yes\s/);
    expect(listed).toContain("total 90 min (90 billable) in 1 entries");
    expect(JSON.parse(await cli("time-entries", "list", "--ticket", "1", "--json"))).toMatchObject([
      { minutes: 90, billable: true, summary: "Rebooted after updates" },
    ]);
  }, 120_000);
});
