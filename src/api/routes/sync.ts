import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { SyncEngine } from "../../sync/engine.js";
import type { RunEvent } from "../../sync/runs.js";
import { rawField } from "../guard.js";
import { IdParams, PageQuery, Run, Validation } from "../schemas.js";

export const syncRoutes =
  (sync: SyncEngine): FastifyPluginAsyncTypebox =>
  async (app) => {
    const PartnerParams = IdParams("partnerId");
    const RunParams = IdParams("runId");
    /**
     * The live logs being streamed, each by the function that ends it. A stream lasts as long as its
     * run; the server's close would wait for every one, so closing ends them first (a browser then
     * reads the run instead, a CLI sees its stream end).
     */
    const open = new Set<() => void>();
    app.addHook("preClose", async () => {
      for (const end of [...open]) end();
    });

    app.post(
      "/api/partners/:partnerId/validate",
      {
        schema: {
          tags: ["sync"],
          summary: "Check the configuration against the partner's live PSA",
          params: PartnerParams,
          response: { 200: Validation },
        },
        config: { permission: "integration:write" },
      },
      async (req) => sync.validate(req.actor, req.params.partnerId),
    );

    app.post(
      "/api/partners/:partnerId/sync/assets",
      {
        schema: {
          tags: ["sync"],
          summary:
            "Start an asset sync (202 {runId}); a second request while one runs returns that run. ?dryRun=true plans without writing",
          params: PartnerParams,
          querystring: Type.Object({ dryRun: Type.Optional(Type.Boolean()) }),
          response: { 202: Type.Object({ runId: Type.Integer(), status: Type.String() }) },
        },
        config: { permission: "integration:write" },
      },
      async (req, reply) => {
        const run = await sync.requestAssetSync(req.actor, req.params.partnerId, req.query.dryRun === true);
        return reply.code(202).send({ runId: run.id, status: run.status });
      },
    );

    app.get(
      "/api/partners/:partnerId/sync/assets/status",
      {
        schema: {
          tags: ["sync"],
          summary: "Last Sync Date, Last Sync Status, next scheduled run",
          params: PartnerParams,
        },
      },
      async (req) => sync.status(req.actor, req.params.partnerId),
    );

    app.get(
      "/api/partners/:partnerId/sync-runs",
      { schema: { tags: ["sync"], params: PartnerParams, querystring: Type.Object(PageQuery) } },
      async (req) =>
        sync.listRuns(req.actor, req.params.partnerId, req.query.limit ?? 50, req.query.offset ?? 0),
    );

    app.get(
      "/api/sync-runs/:runId",
      {
        schema: {
          tags: ["sync"],
          summary: "A run with its log lines and (dry run, held run) its plan",
          params: RunParams,
          response: { 200: Run },
        },
      },
      async (req) => sync.getRun(req.actor, req.params.runId),
    );

    app.post(
      "/api/sync-runs/:runId/approve",
      {
        schema: {
          tags: ["sync"],
          summary: "Carry out a run held by the mass-change guard",
          params: RunParams,
          response: { 200: Run },
        },
      },
      async (req) => sync.approve(req.actor, req.params.runId),
    );

    app.post(
      "/api/sync-runs/:runId/cancel",
      {
        schema: {
          tags: ["sync"],
          summary: "Cancel a run held by the mass-change guard",
          params: RunParams,
          response: { 200: Run },
        },
      },
      async (req) => sync.cancel(req.actor, req.params.runId),
    );

    app.post(
      "/api/sync-runs/:runId/stream-ticket",
      {
        schema: {
          tags: ["sync"],
          summary:
            "A ticket for following the run's live log: valid once, for one minute, as ?ticket= of GET /api/sync-runs/:runId/events",
          params: RunParams,
          response: { 200: Type.Object({ ticket: Type.String(), expiresAt: Type.String() }) },
        },
      },
      async (req, reply) => {
        const run = await sync.getRun(req.actor, req.params.runId);
        reply.header("cache-control", "no-store");
        return sync.streamTickets.issue(req.actor, run.id);
      },
    );

    app.get(
      "/api/sync-runs/:runId/events",
      {
        schema: {
          tags: ["sync"],
          summary:
            "Server-sent events: the run's log lines as they happen (line), its progress (progress: phase, done, total, phaseStartedAt, counts), then its final status. EventSource cannot send headers: pass ?ticket= from POST /api/sync-runs/:runId/stream-ticket",
          params: RunParams,
          querystring: Type.Object({ ticket: Type.Optional(Type.String({ maxLength: 200 })) }),
        },
        config: {
          // Without an Authorization header, a stream ticket for this run authenticates (once).
          authenticate: async (req) => {
            const ticket = rawField(req.query, "ticket");
            const runId = Number(rawField(req.params, "runId"));
            return typeof ticket === "string" && Number.isSafeInteger(runId)
              ? sync.streamTickets.redeem(ticket, runId)
              : null;
          },
        },
      },
      async (req, reply) => {
        const run = await sync.getRun(req.actor, req.params.runId);
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          "content-type": "text/event-stream",
          "cache-control": "no-store",
          connection: "keep-alive",
        });
        const send = (event: string, data: unknown) =>
          res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
        let ended = false;
        const end = () => {
          if (ended) return;
          ended = true;
          off();
          open.delete(end);
          res.end();
        };
        // The feed gives the log from its first line, then what the run writes (in whichever process
        // it executes); a status other than running ends the stream.
        const off = sync.subscribe(run.id, (e: RunEvent) => {
          if (ended) return;
          if (e.type === "line") send("line", { text: e.text, at: e.at });
          else if (e.type === "progress") {
            const { type: _t, runId: _r, ...progress } = e;
            send("progress", progress);
          } else if (e.status !== "running") {
            send("status", { status: e.status });
            end();
          }
        });
        open.add(end);
        res.on("close", end);
      },
    );
  };
