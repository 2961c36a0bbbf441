import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { AutotaskCredentials } from "../../src/psa/autotask/client.js";
import type { PsaUrlPolicy } from "../../src/psa/url-policy.js";
import type { RunEvent } from "../../src/sync/runs.js";
import { demoTicketing, fastClient, startTestEmulator, type TestEmulator } from "../helpers/autotask.js";
import { device } from "../helpers/devices.js";
import {
  openTestServices,
  STORES,
  sharedTestDatabase,
  TEST_MASTER_KEY,
  type TestDatabase,
  type TestEnv,
  testApp,
} from "../helpers/services.js";
import { until } from "../helpers/wait.js";

const CLI = ["--import", "tsx", join(import.meta.dirname, "..", "..", "src", "cli.ts")];

/** One SSE answer as [event, data] pairs. */
function sseEvents(body: string): Array<[string, Record<string, unknown>]> {
  return body
    .split("\n\n")
    .filter((b) => b.trim() !== "")
    .map((b) => {
      const event = /^event: (.*)$/m.exec(b)?.[1] ?? "";
      const data = /^data: (.*)$/m.exec(b)?.[1] ?? "{}";
      return [event, JSON.parse(data) as Record<string, unknown>];
    });
}

/**
 * Several processes on one database: a run executes in one (A) and is watched from another (B, the
 * API of another process; and the CLI in a process of its own). Watchers read the run from the store,
 * so B sees A's run line by line, in order, each line once, then its final status; closing B's server
 * ends an open stream rather than waiting for the run.
 */
describe.each(STORES)("a run watched from another process on %s", (kind) => {
  let at: TestEmulator;
  let db: TestDatabase;
  let a: TestEnv;
  let b: TestEnv;
  let appB: App;
  let partnerId = 0;
  let clientId = 0;
  let token = "";
  let nextDevice = 10;
  /** A's CI creates wait for this (a run held in the middle, for as long as a test needs). */
  let gate: Promise<void> = Promise.resolve();

  /** Holds A's next run at its first CI create until the returned function is called. */
  const hold = (): (() => void) => {
    let release = () => {};
    gate = new Promise<void>((r) => {
      release = r;
    });
    return release;
  };
  const gated = (creds: AutotaskCredentials, urls?: PsaUrlPolicy) => {
    const api = fastClient(creds, urls);
    const create = api.createIdempotent.bind(api);
    api.createIdempotent = async (...args: Parameters<typeof create>) => {
      await gate;
      return create(...args);
    };
    return api;
  };
  /** A real run in A with `n` devices to create, held at its first create. */
  const heldRun = async (n: number) => {
    await a.services.portal.importDevices(
      SYSTEM_ACTOR,
      clientId,
      Array.from({ length: n }, () => device(nextDevice++, "managed")),
    );
    const release = hold();
    const run = await a.services.sync.startAssetRun(partnerId, "manual", { dryRun: false });
    return { run, release };
  };

  beforeAll(async () => {
    at = await startTestEmulator();
    db = sharedTestDatabase(kind);
    a = await openTestServices(kind, { autotask: gated, psaOrigins: [at.emu.url], database: db });
    // B only watches: an API process without the background work.
    b = await openTestServices(kind, { psaOrigins: [at.emu.url], database: db, background: false });
    appB = await testApp(b);
    const portal = a.services.portal;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Shared VAR" })).id;
    clientId = (
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT1",
        name: "Acme Dental Group",
        psaCompanyId: DEMO_IDS.companies.AT1,
      })
    ).id;
    await portal.importDevices(SYSTEM_ACTOR, clientId, [device(1, "managed"), device(2, "managed")]);
    await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl, { enabled: false, nocMayEnterTickets: false }),
      devices: {
        enabled: true,
        productId: DEMO_IDS.product,
        configurationItemTypeId: DEMO_IDS.ciType,
        advanced: true,
        schedule: null,
      },
    });
    await a.services.sync.settingsSaved(partnerId);
    const [onboarding] = (await a.services.sync.runs.list(partnerId, "assets")).items;
    expect((await a.services.sync.wait(onboarding!.id)).status).toBe("succeeded");
    token = (await portal.createUser(SYSTEM_ACTOR, { name: "Pat Admin", role: "partner-admin", partnerId }))
      .token;
  }, 60_000);
  afterAll(async () => {
    await appB?.close();
    await b?.close();
    await a?.close();
    await db?.drop();
    await at?.close();
  });

  it("B's subscribe and B's live log stream A's run: every line once, in order, then its final status", async () => {
    const { run, release } = await heldRun(3);
    const events: RunEvent[] = [];
    const off = b.services.sync.subscribe(run.id, (e) => events.push(e));
    try {
      // B hears of the run while A holds it mid-way: the lines come from A's process, live.
      await until(async () => events.some((e) => e.type === "line"), "B to see A's first line");
      expect((await b.services.sync.runs.get(run.id))?.status).toBe("running");
      expect(events.filter((e) => e.type === "status").map((e) => e.status)).toEqual(["running"]);
      const sse = appB.inject({
        method: "GET",
        url: `/api/sync-runs/${run.id}/events`,
        headers: { authorization: `Bearer ${token}` },
      });
      release();
      await a.services.sync.wait(run.id);
      await until(
        async () => events.some((e) => e.type === "status" && e.status !== "running"),
        "B to see the final status",
      );
      const stored = await a.services.sync.runs.get(run.id);
      expect(stored?.status).toBe("succeeded");
      expect(stored?.counts).toMatchObject({ created: 3, unchanged: 2 });
      const storedLines = await b.services.sync.runs.lines(run.id);

      const lines = events.flatMap((e) => (e.type === "line" ? [e] : []));
      expect(lines.map((l) => l.text)).toEqual(storedLines.map((l) => l.text));
      expect(lines.map((l) => l.id)).toEqual(storedLines.map((l) => l.id));
      expect(events.filter((e) => e.type === "status").map((e) => e.status)).toEqual([
        "running",
        "succeeded",
      ]);
      expect(events.at(-1)).toEqual({ type: "status", runId: run.id, status: "succeeded" });
      const progress = events.flatMap((e) => (e.type === "progress" ? [e] : []));
      expect(progress.at(-1)).toMatchObject({ counts: stored?.counts, done: 5, total: 5 });

      // B's HTTP live log, opened while the run was held: the same lines, then the status, then the end.
      const res = await sse;
      expect(res.statusCode).toBe(200);
      const streamed = sseEvents(res.body);
      expect(streamed.filter(([e]) => e === "line").map(([, d]) => d["text"])).toEqual(
        storedLines.map((l) => l.text),
      );
      expect(streamed.at(-1)).toEqual(["status", { status: "succeeded" }]);
      expect(streamed.filter(([e]) => e === "status")).toHaveLength(1);
    } finally {
      off();
      release();
    }
  }, 60_000);

  it("closing B's server ends a live log that is still open", async () => {
    const server = await testApp(b);
    await server.listen({ host: "127.0.0.1", port: 0 });
    const { run, release } = await heldRun(1);
    try {
      const addr = server.server.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      const res = await fetch(`http://127.0.0.1:${port}/api/sync-runs/${run.id}/events`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let body = "";
      while (!body.includes("event: line")) {
        const chunk = await reader.read();
        if (chunk.done) break;
        body += decoder.decode(chunk.value, { stream: true });
      }
      expect(body).toContain("event: line");
      // The run is still held: without the server ending the stream, close would wait for the run.
      await server.close();
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        body += decoder.decode(chunk.value, { stream: true });
      }
      expect(body).not.toContain("event: status");
      expect((await a.services.sync.runs.get(run.id))?.status).toBe("running");
    } finally {
      release();
      await server.close();
    }
    expect((await a.services.sync.wait(run.id)).status).toBe("succeeded");
  }, 60_000);

  it("`nocbridge sync assets` in another process joins A's run and reports its true counts", async () => {
    const { run, release } = await heldRun(2);
    const dataDir = mkdtempSync(join(tmpdir(), "nb-shared-cli-"));
    try {
      const child = spawn("node", [...CLI, "sync", "assets", "--partner", String(partnerId)], {
        env: {
          ...process.env,
          NOCBRIDGE_DATA_DIR: dataDir,
          NOCBRIDGE_MASTER_KEY: TEST_MASTER_KEY,
          DATABASE_URL: db.processUrl,
          NOCBRIDGE_PSA_URL_ALLOWLIST: at.emu.url,
          LOG_LEVEL: "warn",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      // The command is following the run (it printed A's log so far) while A still holds it.
      const first = await until(async () => (await a.services.sync.runs.lines(run.id))[0], "A's first line");
      await until(async () => out.includes(first.text), `the CLI to print "${first.text}"`, 60_000).catch(
        (e: Error) => {
          throw new Error(`${e.message}; stderr: ${err}`);
        },
      );
      expect((await a.services.sync.runs.get(run.id))?.status).toBe("running");
      release();
      expect(await exited, err).toBe(0);
      const done = await a.services.sync.runs.get(run.id);
      expect(done?.status).toBe("succeeded");
      expect(done?.counts).toMatchObject({ created: 2, updated: 0, deactivated: 0, failed: 0 });
      const c = done!.counts;
      expect(out).toMatch(
        new RegExp(
          `^run ${run.id}: succeeded — created ${c.created}, updated 0, deactivated 0, unchanged ${c.unchanged}, failed 0; \\d+ API calls; took [\\d.]+ m?s$`,
          "m",
        ),
      );
      // Its log, as printed: every stored line once, in order, before the summary.
      const printed = out.split("\n").filter((l) => l !== "" && !l.startsWith(`run ${run.id}:`));
      expect(printed).toEqual((await a.services.sync.runs.lines(run.id)).map((l) => l.text));
    } finally {
      release();
      rmSync(dataDir, { recursive: true, force: true });
    }
    await a.services.sync.wait(run.id);
  }, 120_000);
});
