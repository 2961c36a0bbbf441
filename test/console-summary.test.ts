import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { ConsoleSummary } from "../src/lib/console-summary.js";
import { createLogger } from "../src/lib/logger.js";
import { openServices, type Server, type Services, startServer } from "../src/main.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { syncActivity } from "../src/sync/activity.js";
import { dropSchema, openTestServices, PG_URL, STORES, TEST_MASTER_KEY } from "./helpers/services.js";
import { until } from "./helpers/wait.js";

const NONE = { assetRuns: 0, failedRuns: 0, ticketsOut: 0, ticketsIn: 0, syncErrors: 0 };

describe("the console summary line", () => {
  it("counts requests, refusals, failures, warnings and errors, then starts again from zero", () => {
    const s = new ConsoleSummary();
    for (const status of [200, 200, 404, 401, 503]) s.request(status);
    s.logged(30);
    s.logged(40);
    s.logged(50);
    s.logged(60);
    expect(s.take({ ...NONE, assetRuns: 2, failedRuns: 1, ticketsOut: 3, ticketsIn: 1, syncErrors: 1 })).toBe(
      "last minute: 5 requests (2 refused (4xx), 1 failed (5xx)), 2 asset sync runs finished (1 failed), " +
        "3 ticket changes sent to the PSA, 1 PSA ticket change taken in, 1 new sync error, 1 warning, 2 errors",
    );
    expect(s.take(NONE)).toBeNull();
  });
});

describe.each(STORES)("a server's console (%s)", (kind) => {
  let services: Services | undefined;
  let server: Server | undefined;
  const schema = `t_console_${Math.random().toString(16).slice(2, 10)}`;

  afterEach(async () => {
    await server?.close();
    await services?.close();
    if (kind === "postgres") await dropSchema(schema);
  });

  async function start(level: string): Promise<{ lines: () => Array<Record<string, unknown>> }> {
    const out = new PassThrough();
    let text = "";
    out.on("data", (b: Buffer) => {
      text += b.toString("utf8");
    });
    const summary = new ConsoleSummary({ everyMs: 150 });
    const config = loadConfig(
      {
        NOCBRIDGE_MASTER_KEY: TEST_MASTER_KEY,
        LOG_LEVEL: level,
        NOCBRIDGE_ADMIN_TOKEN: "console-test-token",
      },
      { databaseUrl: kind === "postgres" ? PG_URL : ":memory:", dataDir: "data-test-unused" },
    );
    services = await openServices(
      { ...config, port: 0 },
      {
        logger: createLogger(level, out, { onLevel: (l) => summary.logged(l) }),
        consoleSummary: summary,
        jobs: "memory",
        ...(kind === "postgres" ? { schema } : {}),
      },
    );
    server = await startServer(services);
    return {
      lines: () =>
        text
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
    };
  }

  it("logs no line per request at info, and one summary line with the counts", async () => {
    const log = await start("info");
    const url = (server as Server).url;
    const auth = { authorization: "Bearer console-test-token" };
    expect((await fetch(`${url}/api/partners`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${url}/api/partners`)).status).toBe(401);
    // The two requests may fall into one window or two: the lines' counts add up either way.
    const summed = () => {
      const lines = log
        .lines()
        .map((l) => String(l.msg))
        .filter((m) => m.startsWith("last minute:"));
      const sum = (re: RegExp) => lines.reduce((n, m) => n + Number(re.exec(m)?.[1] ?? 0), 0);
      return { requests: sum(/(\d+) requests?/), refused: sum(/(\d+) refused/) };
    };
    await until(async () => summed().requests >= 2, "summary lines counting both requests");
    expect(summed()).toEqual({ requests: 2, refused: 1 });
    const msgs = log.lines().map((l) => String(l.msg));
    expect(msgs).not.toContain("incoming request");
    expect(msgs).not.toContain("request completed");
  });

  it("shows each request at debug level", async () => {
    const log = await start("debug");
    await fetch(`${(server as Server).url}/healthz`);
    await until(async () => log.lines().some((l) => l.msg === "request completed"), "a request line");
    const line = log.lines().find((l) => l.msg === "request completed") as {
      req: { url: string };
      res: unknown;
    };
    expect(line.req.url).toBe("/healthz");
    expect(line.res).toEqual({ statusCode: 200 });
  });
});

describe.each(STORES)("the background counts of the summary (%s)", (kind) => {
  it("counts asset runs finished (and failed) and ticket changes in the window only", async () => {
    const env = await openTestServices(kind);
    try {
      const { db, portal } = env.services;
      const p = await portal.createPartner(SYSTEM_ACTOR, { name: "Counted VAR" });
      const run = (status: string, finished: string | null) => ({
        partner_id: p.id,
        kind: "assets",
        trigger: "manual",
        dry_run: 0,
        status,
        counts: "{}",
        api_calls: 0,
        plan: null,
        error: null,
        approved_by: null,
        started_at: "2026-11-29T10:00:00.000Z",
        finished_at: finished,
      });
      await db.kysely
        .insertInto("sync_runs")
        .values([
          run("succeeded", "2026-11-29T10:00:30.000Z"),
          run("failed", "2026-11-29T10:00:59.999Z"),
          run("succeeded", "2026-11-29T10:01:00.000Z"),
          run("running", null),
        ])
        .execute();
      const inWindow = await syncActivity(db, "2026-11-29T10:00:00.000Z", "2026-11-29T10:01:00.000Z");
      expect(inWindow).toEqual({ assetRuns: 2, failedRuns: 1, ticketsOut: 0, ticketsIn: 0, syncErrors: 0 });
    } finally {
      await env.close();
    }
  });
});
