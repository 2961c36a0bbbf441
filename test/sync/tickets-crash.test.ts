import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAILPOINTS, type Failpoint } from "../../src/config.js";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { demoTicketing, startTestEmulator, type TestEmulator } from "../helpers/autotask.js";
import { apiClient, startNocbridge } from "../helpers/processes.js";
import { dropSchema, PG_URL, STORES, TEST_MASTER_KEY } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

/** A restarting child server needs a longer deadline. */
const untilServer = <T>(fn: () => Promise<T | undefined | null | false>, what: string) =>
  until(fn, what, 30_000, 50);

/**
 * Crash consistency of the ticket outbox (docs/reliability.md, Outbox and inbox; How this is tested): the
 * real server runs as a child process and is made to die (NOCBRIDGE_FAILPOINT, exit code 137) right before a
 * ticket create is sent to Autotask, or right after it returned and before the link was saved. Started again
 * without the failpoint, it must finish the job by itself: the portal ticket ends synced, with exactly one
 * Autotask ticket carrying its externalID.
 */

const TOKEN = `nbt_${randomBytes(16).toString("hex")}`;

/** `nocbridge serve --with-worker --port 0`; resolves once it prints its URL. */
const serve = (env: NodeJS.ProcessEnv) => startNocbridge(["serve", "--with-worker", "--port", "0"], env);
const api = apiClient(TOKEN);

/** fetch's error when the server's socket closed under the request (the process died mid-request). */
function isClosedSocket(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } } | null)?.cause;
  return err instanceof TypeError && (cause?.code === "UND_ERR_SOCKET" || cause?.code === "ECONNRESET");
}

describe.each(STORES)("the ticket worker killed between commit and send, restarted (%s)", (kind) => {
  let at: TestEmulator;
  const dirs: string[] = [];
  const schemas: string[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    at = await startTestEmulator();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await at?.close();
    for (const s of schemas) await dropSchema(s);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A fresh store for one scenario: a SQLite file in a temp dir, or a new PostgreSQL schema. */
  async function freshEnv(
    failpoint: Failpoint | null,
  ): Promise<{ env: NodeJS.ProcessEnv; without(): NodeJS.ProcessEnv }> {
    const dir = mkdtempSync(join(tmpdir(), "nb-crash-"));
    dirs.push(dir);
    let databaseUrl = join(dir, "nocbridge.sqlite");
    if (kind === "postgres") {
      const schema = `crash_${randomBytes(5).toString("hex")}`;
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`CREATE SCHEMA ${schema}`);
      await c.end();
      schemas.push(schema);
      databaseUrl = `${PG_URL}?options=-c%20search_path%3D${schema}`;
    }
    const base: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      NOCBRIDGE_DATA_DIR: dir,
      NOCBRIDGE_MASTER_KEY: TEST_MASTER_KEY,
      NOCBRIDGE_ADMIN_TOKEN: TOKEN,
      LOG_LEVEL: "error",
      NOCBRIDGE_ALLOW_HTTP_WEBHOOKS: "1",
      NOCBRIDGE_PSA_URL_ALLOWLIST: `https://*.autotask.net,${at.emu.url}`,
    };
    delete base.NOCBRIDGE_FAILPOINT;
    delete base.NOCBRIDGE_PUBLIC_URL;
    return {
      env: failpoint ? { ...base, NOCBRIDGE_FAILPOINT: failpoint } : base,
      without: () => base,
    };
  }

  const ops = async () => (await at.stats()) as unknown as { byOperation: Record<string, number> };
  const creates = async () => (await ops()).byOperation["create Tickets"] ?? 0;
  const byExternalId = async (ticketId: number) =>
    (
      await at.api<{ items: Array<{ id: number; externalID: string }> }>("POST", "Tickets/query", {
        filter: [{ op: "eq", field: "externalID", value: String(ticketId) }],
      })
    ).items;

  it.each(FAILPOINTS)(
    "dies at %s, and after a restart the ticket is synced with exactly one Autotask ticket",
    async (failpoint) => {
      await at.admin("POST", "/reset"); // externalIDs restart at 1 in each fresh store
      const { env, without } = await freshEnv(failpoint);

      // 1. The server with the failpoint; a partner configured through the REST API.
      const first = await serve(env);
      children.push(first.proc);
      const partner = await api<{ id: number }>(first.url, "POST", "/api/partners", { name: "Crash VAR" });
      const client = await api<{ id: number }>(first.url, "POST", `/api/partners/${partner.id}/clients`, {
        code: "AT1",
        name: "Acme",
        psaCompanyId: DEMO_IDS.companies.AT1,
      });
      await api(first.url, "PUT", `/api/partners/${partner.id}/integration`, {
        ticketing: demoTicketing(at.emu.baseUrl),
        devices: { enabled: false, productId: null, configurationItemTypeId: null, advanced: false },
      });
      // Switching ticketing on registers the webhooks, then polls: wait for that poll to be done.
      await untilServer(async () => ((await ops()).byOperation["query Tickets"] ?? 0) > 0, "the first poll");
      expect(await creates()).toBe(0);

      // 2. A portal ticket: committed with its outbox row, then the worker dies at the failpoint. On a fast
      // store the worker can reach the failpoint before the answer to this request is written: the socket
      // closing under the request is then that same death, and the ticket is found by its title below.
      const title = `Crash at ${failpoint}`;
      let ticketId: number | null = null;
      try {
        const created = await api<{ id: number }>(first.url, "POST", `/api/partners/${partner.id}/tickets`, {
          clientId: client.id,
          title,
          description: "the worker dies here",
          statusId: 1,
          priorityId: 9,
        });
        ticketId = created.id;
      } catch (err) {
        if (!isClosedSocket(err)) throw err;
      }
      const died = await Promise.race([
        first.exited,
        new Promise<null>((r) => setTimeout(() => r(null), 30_000)),
      ]);
      expect(died, first.output()).toEqual({ code: 137, signal: null });
      expect(first.output()).toContain(`failpoint ${failpoint} hit`);
      const byTitle = async () =>
        (
          await at.api<{ items: Array<{ id: number; externalID: string }> }>("POST", "Tickets/query", {
            filter: [{ op: "eq", field: "title", value: title }],
          })
        ).items;
      if (failpoint === "before-send") {
        expect(await creates()).toBe(0);
        expect(await byTitle()).toHaveLength(0);
      } else {
        expect(await creates()).toBe(1);
        expect(await byTitle()).toHaveLength(1);
      }

      // 3. Started again without the failpoint: it picks the outbox row up by itself.
      const second = await serve(without());
      children.push(second.proc);
      try {
        if (ticketId === null) {
          const mine = await api<{ items: Array<{ id: number; title: string }> }>(
            second.url,
            "GET",
            `/api/partners/${partner.id}/tickets`,
          );
          ticketId = mine.items.find((t) => t.title === title)?.id ?? null;
        }
        expect(ticketId, `portal ticket "${title}" was committed before the death`).not.toBeNull();
        const ticket = { id: ticketId! };
        const view = await untilServer(async () => {
          const t = await api<{ psa: { state: string; ticketId: number | null } }>(
            second.url,
            "GET",
            `/api/tickets/${ticket.id}`,
          );
          return t.psa.state === "synced" ? t : null;
        }, `portal ticket ${ticket.id} synced after the restart`);
        const found = await byExternalId(ticket.id);
        expect(found).toHaveLength(1);
        expect(view.psa.ticketId).toBe(found[0]!.id);
        // One create in all: before-send → only the restarted server sent it; after-send → never resent.
        expect(await creates()).toBe(1);
        // One portal ticket (the Autotask ticket, seen by the restarted server's first poll, was not
        // copied back), and the recovery went through cleanly: no sync error, not even a resolved one.
        const listed = await api<{ items: Array<{ id: number }> }>(
          second.url,
          "GET",
          `/api/partners/${partner.id}/tickets`,
        );
        expect(listed.items.map((t) => t.id)).toEqual([ticket.id]);
        const errors = await api<{ items: Array<{ error: string }> }>(
          second.url,
          "GET",
          `/api/partners/${partner.id}/sync/errors?all=true`,
        );
        expect(errors.items.map((e) => e.error)).toEqual([]);
        const a = await at.api<{ item: Record<string, unknown> }>("GET", `Tickets/${found[0]!.id}`);
        expect(a.item).toMatchObject({
          title,
          queueID: DEMO_IDS.nocQueue,
          companyID: DEMO_IDS.companies.AT1,
          status: 29,
          priority: 1,
        });
      } finally {
        second.proc.kill("SIGTERM");
        await second.exited;
      }
    },
    90_000,
  );
});
