import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { type Static, Type } from "@sinclair/typebox";
import {
  DEVICE_STATES,
  MAPPING_KINDS,
  type MappingKind,
  PORTAL_PRIORITIES,
  PORTAL_STATUSES,
} from "../../portal/catalog.js";
import { type MappingRowInput, mappingFieldNames, type Portal } from "../../portal/service.js";
import type { MappingEntry } from "../../portal/types.js";
import type { SyncEngine } from "../../sync/engine.js";
import {
  Audit,
  Id,
  IdParams,
  Integration,
  IntegrationPut,
  MappingRowIn,
  MappingTable,
  PageOf,
  PageQuery,
  Partner,
  PartnerCreate,
  PartnerPatch,
  SecretView,
} from "../schemas.js";

const PartnerParams = IdParams("partnerId");

/**
 * Partners, their integration settings, mapping tables and audit log. With the sync engine, a
 * settings save answers once the engine has taken it in (schedule current, onboarding started).
 */
export const partnerRoutes =
  (portal: Portal, sync?: Pick<SyncEngine, "settingsSaved">): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      "/api/catalog",
      { schema: { tags: ["portal"], summary: "Portal statuses, priorities and device states" } },
      async () => ({
        statuses: PORTAL_STATUSES,
        priorities: PORTAL_PRIORITIES,
        deviceStates: DEVICE_STATES,
        mappingKinds: MAPPING_KINDS,
      }),
    );

    app.post(
      "/api/partners",
      {
        schema: { tags: ["partners"], body: PartnerCreate, response: { 201: Partner } },
        config: { permission: "partner:create" },
      },
      async (req, reply) => reply.code(201).send(await portal.createPartner(req.actor, req.body)),
    );
    app.get(
      "/api/partners",
      {
        schema: {
          tags: ["partners"],
          querystring: Type.Object(PageQuery),
          response: { 200: PageOf(Partner) },
        },
      },
      async (req) => portal.listPartners(req.actor, req.query),
    );
    app.get(
      "/api/partners/:partnerId",
      { schema: { tags: ["partners"], params: PartnerParams, response: { 200: Partner } } },
      async (req) => portal.getPartner(req.actor, req.params.partnerId),
    );
    app.patch(
      "/api/partners/:partnerId",
      {
        schema: { tags: ["partners"], params: PartnerParams, body: PartnerPatch, response: { 200: Partner } },
        config: { permission: "partner:update" },
      },
      async (req) => portal.updatePartner(req.actor, req.params.partnerId, req.body),
    );

    // ------------------------------------------------------------ integration settings
    app.get(
      "/api/partners/:partnerId/integration",
      { schema: { tags: ["integration"], params: PartnerParams, response: { 200: Integration } } },
      async (req) => portal.getIntegration(req.actor, req.params.partnerId),
    );
    app.put(
      "/api/partners/:partnerId/integration",
      {
        schema: {
          tags: ["integration"],
          summary:
            'Replace the settings. secret: omitted or "********" keeps the stored one; null or "" clears it',
          params: PartnerParams,
          body: IntegrationPut,
          response: { 200: Integration },
        },
        config: { permission: "integration:write" },
      },
      async (req) => {
        const saved = await portal.putIntegration(req.actor, req.params.partnerId, req.body);
        // The save left an integration_events row: the engine acts on it before the answer goes out.
        await sync?.settingsSaved(req.params.partnerId);
        return saved;
      },
    );
    app.get(
      "/api/partners/:partnerId/integration/secret",
      {
        schema: {
          tags: ["integration"],
          summary: "Read the PSA secret (partner admins and NOC admins; every read is audited)",
          params: PartnerParams,
          response: { 200: SecretView },
        },
        config: { permission: "secret:read" },
      },
      async (req, reply) => {
        reply.header("cache-control", "no-store");
        return portal.readSecret(req.actor, req.params.partnerId);
      },
    );

    // ------------------------------------------------------------ mapping tables
    for (const kind of MAPPING_KINDS) {
      const Row = MappingRowIn[kind];
      const base = `/api/partners/:partnerId/mappings/${kind}`;
      app.get(
        base,
        { schema: { tags: ["mappings"], params: PartnerParams, response: { 200: MappingTable } } },
        async (req) => table(kind, await portal.getMappings(req.actor, req.params.partnerId, kind)),
      );
      app.put(
        base,
        {
          schema: {
            tags: ["mappings"],
            summary: "Replace the whole table: a JSON array of rows, or {rows: [...]}",
            params: PartnerParams,
            body: Type.Union([
              Type.Array(Row, { maxItems: 500 }),
              Type.Object({ rows: Type.Array(Row, { maxItems: 500 }) }, { additionalProperties: false }),
            ]),
            response: { 200: MappingTable },
          },
          config: { permission: "mapping:write" },
        },
        async (req) => {
          const rows: MappingRowBody[] = Array.isArray(req.body) ? req.body : req.body.rows;
          return table(
            kind,
            await portal.putMappings(req.actor, req.params.partnerId, kind, rows.map(rowIn)),
          );
        },
      );
      app.post(
        base,
        {
          schema: {
            tags: ["mappings"],
            summary: "Add one row at the end (add mapping)",
            params: PartnerParams,
            body: Row,
            response: { 201: MappingTable },
          },
          config: { permission: "mapping:write" },
        },
        async (req, reply) =>
          reply
            .code(201)
            .send(
              table(kind, await portal.addMapping(req.actor, req.params.partnerId, kind, rowIn(req.body))),
            ),
      );
      app.delete(
        `${base}/:rowId`,
        {
          schema: {
            tags: ["mappings"],
            summary: "Remove one row",
            params: Type.Object({ partnerId: Id, rowId: Id }),
            response: { 200: MappingTable },
          },
          config: { permission: "mapping:write" },
        },
        async (req) =>
          table(kind, await portal.removeMapping(req.actor, req.params.partnerId, kind, req.params.rowId)),
      );
    }

    // ------------------------------------------------------------ audit
    app.get(
      "/api/partners/:partnerId/audit",
      {
        schema: {
          tags: ["audit"],
          params: PartnerParams,
          querystring: Type.Object({ ...PageQuery, action: Type.Optional(Type.String({ maxLength: 100 })) }),
          response: { 200: PageOf(Audit) },
        },
      },
      async (req) => portal.listAudit(req.actor, req.params.partnerId, req.query),
    );
  };

/** One mapping row as the API receives it, for any of the tables. */
type MappingRowBody = Static<(typeof MappingRowIn)[MappingKind]>;

/** API row shape (portalStatusId/psaStatusId or portalPriorityId/psaPriorityId) → service row. */
function rowIn(r: MappingRowBody): MappingRowInput {
  const [portalId, psaId, label] =
    "portalPriorityId" in r
      ? [r.portalPriorityId, r.psaPriorityId, r.psaPriorityName]
      : [r.portalStatusId, r.psaStatusId, r.psaStatusName];
  return {
    portalId,
    psaId,
    ...(label !== undefined ? { psaLabel: label } : {}),
    ...(r.scope !== undefined ? { scope: r.scope } : {}),
  };
}

function table(kind: MappingKind, entries: MappingEntry[]) {
  const n = mappingFieldNames(kind);
  const portalName = kind === "priority" ? "portalPriorityName" : "portalStatusName";
  return {
    kind,
    rows: entries.map((e) => ({
      id: e.id,
      [n.portal]: e.portalId,
      [portalName]: e.portalName,
      [n.psa]: e.psaId,
      [n.psaLabel]: e.psaLabel,
      scope: e.scope,
    })),
  };
}
