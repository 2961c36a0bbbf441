import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Portal } from "../../portal/service.js";
import type { EffortLine } from "../../portal/time-entries.js";
import type { SyncEngine } from "../../sync/engine.js";
import {
  EffortQuery,
  EffortReport,
  IdParams,
  PageOf,
  PageQuery,
  TimeEntry,
  TimeEntryCreate,
  TimeEntryPatch,
} from "../schemas.js";

/** One CSV field: quoted when needed, and a leading formula character defused for spreadsheets. */
function csvField(v: string | number): string {
  let s = String(v);
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The effort report as CSV (RFC 4180: CRLF line ends, a header row). */
export function effortCsv(lines: EffortLine[]): string {
  const rows: Array<Array<string | number>> = [
    ["client_code", "client", "month", "entries", "minutes", "billable_minutes"],
    ...lines.map((l) => [l.clientCode, l.clientName, l.month, l.entries, l.minutes, l.billableMinutes]),
  ];
  return `${rows.map((r) => r.map(csvField).join(",")).join("\r\n")}\r\n`;
}

/**
 * Time entries on tickets, and the effort report per client and month. With the sync engine, a
 * ticket's list says how each entry stands with the PSA (`psa`: kept back as unmapped or refused,
 * with the reason).
 */
export const timeEntryRoutes =
  (portal: Portal, sync?: SyncEngine): FastifyPluginAsyncTypebox =>
  async (app) => {
    const TicketParams = IdParams("ticketId");
    const EntryParams = IdParams("timeEntryId");
    const PartnerParams = IdParams("partnerId");

    app.post(
      "/api/tickets/:ticketId/time-entries",
      {
        schema: {
          tags: ["time entries"],
          summary:
            "Log time on a ticket (as the caller): startedAt and endedAt, or startedAt and durationMinutes",
          params: TicketParams,
          body: TimeEntryCreate,
          response: { 201: TimeEntry },
        },
        config: { permission: "data:write" },
      },
      async (req, reply) =>
        reply.code(201).send(await portal.addTimeEntry(req.actor, req.params.ticketId, req.body)),
    );
    app.get(
      "/api/tickets/:ticketId/time-entries",
      {
        schema: {
          tags: ["time entries"],
          params: TicketParams,
          querystring: Type.Object(PageQuery),
          response: { 200: PageOf(TimeEntry) },
        },
      },
      async (req) => {
        const page = await portal.listTimeEntries(req.actor, req.params.ticketId, req.query);
        if (!sync) return page;
        const views = await sync.timeEntryViews(page.items.map((e) => e.id));
        return {
          ...page,
          items: page.items.map((e) => {
            const psa = views.get(e.id);
            return psa ? { ...e, psa } : e;
          }),
        };
      },
    );
    app.patch(
      "/api/time-entries/:timeEntryId",
      {
        schema: {
          tags: ["time entries"],
          summary: "Change a time entry (technicians their own; partner and NOC admins any)",
          params: EntryParams,
          body: TimeEntryPatch,
          response: { 200: TimeEntry },
        },
        config: { permission: "data:write" },
      },
      async (req) => portal.updateTimeEntry(req.actor, req.params.timeEntryId, req.body),
    );
    app.delete(
      "/api/time-entries/:timeEntryId",
      {
        schema: { tags: ["time entries"], summary: "Delete a time entry (204)", params: EntryParams },
        config: { permission: "data:write" },
      },
      async (req, reply) => {
        await portal.deleteTimeEntry(req.actor, req.params.timeEntryId);
        return reply.code(204).send();
      },
    );
    app.get(
      "/api/partners/:partnerId/reports/effort",
      {
        schema: {
          tags: ["time entries"],
          summary:
            "Effort per client and month (UTC) of entries started in [from, to); ?format=csv or Accept: text/csv for a CSV download",
          params: PartnerParams,
          querystring: EffortQuery,
          response: { 200: EffortReport },
        },
      },
      async (req, reply) => {
        const { partnerId } = req.params;
        const range = {
          ...(req.query.from !== undefined ? { from: req.query.from } : {}),
          ...(req.query.to !== undefined ? { to: req.query.to } : {}),
        };
        const lines = await portal.effortReport(req.actor, partnerId, range);
        const csv =
          req.query.format === "csv" ||
          (req.query.format === undefined && /\btext\/csv\b/i.test(req.headers.accept ?? ""));
        if (csv) {
          const name = `effort-partner-${partnerId}${range.from ? `-from-${range.from}` : ""}${range.to ? `-to-${range.to}` : ""}.csv`;
          return (
            reply
              .type("text/csv; charset=utf-8")
              .header("content-disposition", `attachment; filename="${name}"`)
              // A string with a non-JSON type is sent as it is (the response schema describes the JSON answer).
              .send(effortCsv(lines) as never)
          );
        }
        const total = { entries: 0, minutes: 0, billableMinutes: 0 };
        for (const l of lines) {
          total.entries += l.entries;
          total.minutes += l.minutes;
          total.billableMinutes += l.billableMinutes;
        }
        return { partnerId, from: range.from ?? null, to: range.to ?? null, lines, total };
      },
    );
  };
