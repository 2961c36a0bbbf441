import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { IMPORT_MAX_ROWS, importTooLarge } from "../../portal/device-import.js";
import type { Portal } from "../../portal/service.js";
import type { SyncEngine } from "../../sync/engine.js";
import { chunkedArrayBody } from "../import-validation.js";
import {
  Client,
  ClientCreate,
  ClientPatch,
  Device,
  DeviceCreate,
  DeviceImport,
  DeviceImportResult,
  DevicePatch,
  DeviceState,
  IdParams,
  PageOf,
  PageQuery,
} from "../schemas.js";

export const clientRoutes =
  (portal: Portal, sync?: SyncEngine): FastifyPluginAsyncTypebox =>
  async (app) => {
    const importRows = chunkedArrayBody(DeviceCreate);
    /** Adds the linked PSA asset id (Autotask CI, ConnectWise configuration; `psaCiId`, null when not synced) to devices. */
    const withCi = async <D extends { id: number; partnerId: number }>(
      devices: D[],
    ): Promise<Array<D & { psaCiId: number | null }>> => {
      const ids =
        sync && devices.length > 0
          ? await sync.links.psaIds(
              devices[0]!.partnerId,
              "device",
              devices.map((d) => d.id),
            )
          : new Map<number, number>();
      return devices.map((d) => ({ ...d, psaCiId: ids.get(d.id) ?? null }));
    };
    const oneWithCi = async <D extends { id: number; partnerId: number }>(device: D) => {
      const ids = sync
        ? await sync.links.psaIds(device.partnerId, "device", [device.id])
        : new Map<number, number>();
      return { ...device, psaCiId: ids.get(device.id) ?? null };
    };
    const PartnerParams = IdParams("partnerId");
    const ClientParams = IdParams("clientId");
    const DeviceParams = IdParams("deviceId");

    app.post(
      "/api/partners/:partnerId/clients",
      {
        schema: { tags: ["clients"], params: PartnerParams, body: ClientCreate, response: { 201: Client } },
        config: { permission: "data:write" },
      },
      async (req, reply) => {
        const { partnerId } = req.params;
        const id = req.body.psaCompanyId;
        // The company must exist in the partner's PSA; its name is kept with the id.
        const psaCompanyName =
          sync && typeof id === "number"
            ? await sync.companies.check(req.actor, partnerId, req.body.code.trim(), id)
            : null;
        return reply
          .code(201)
          .send(await portal.createClient(req.actor, partnerId, { ...req.body, psaCompanyName }));
      },
    );
    app.get(
      "/api/partners/:partnerId/clients",
      {
        schema: {
          tags: ["clients"],
          params: PartnerParams,
          querystring: Type.Object(PageQuery),
          response: { 200: PageOf(Client) },
        },
      },
      async (req) => portal.listClients(req.actor, req.params.partnerId, req.query),
    );
    app.get(
      "/api/clients/:clientId",
      { schema: { tags: ["clients"], params: ClientParams, response: { 200: Client } } },
      async (req) => portal.getClient(req.actor, req.params.clientId),
    );
    app.patch(
      "/api/clients/:clientId",
      { schema: { tags: ["clients"], params: ClientParams, body: ClientPatch, response: { 200: Client } } },
      async (req) => {
        const id = req.body.psaCompanyId;
        if (!sync || typeof id !== "number")
          return portal.updateClient(req.actor, req.params.clientId, req.body);
        // The company must exist in the partner's PSA; its name is kept with the id.
        const client = await portal.getClient(req.actor, req.params.clientId);
        const psaCompanyName = await sync.companies.check(req.actor, client.partnerId, client.code, id);
        return portal.updateClient(req.actor, req.params.clientId, { ...req.body, psaCompanyName });
      },
    );

    app.post(
      "/api/clients/:clientId/devices",
      { schema: { tags: ["devices"], params: ClientParams, body: DeviceCreate, response: { 201: Device } } },
      async (req, reply) =>
        reply
          .code(201)
          .send(await oneWithCi(await portal.createDevice(req.actor, req.params.clientId, req.body))),
    );
    app.get(
      "/api/clients/:clientId/devices",
      {
        schema: {
          tags: ["devices"],
          params: ClientParams,
          querystring: Type.Object({
            ...PageQuery,
            state: Type.Optional(DeviceState),
            search: Type.Optional(Type.String({ maxLength: 200 })),
          }),
          response: { 200: PageOf(Device) },
        },
      },
      async (req) => {
        const page = await portal.listDevices(req.actor, req.params.clientId, req.query);
        return { ...page, items: await withCi(page.items) };
      },
    );
    app.post(
      "/api/clients/:clientId/devices/import",
      {
        schema: {
          tags: ["devices"],
          summary:
            "Upsert a discovery feed (JSON array), matched by hostname + serial number; all or nothing",
          params: ClientParams,
          body: DeviceImport,
          response: { 200: DeviceImportResult },
        },
        // Before any row is looked at: a feed over the per-request maximum is refused outright.
        preValidation: async (req) => {
          if (Array.isArray(req.body) && req.body.length > IMPORT_MAX_ROWS)
            throw importTooLarge(req.body.length);
        },
        // The rows are checked in chunks (a 5,000-row feed in one go would stall other requests).
        validatorCompiler: importRows.validatorCompiler,
      },
      async (req) => {
        await importRows.check(req.body);
        return portal.importDevices(req.actor, req.params.clientId, req.body);
      },
    );
    app.get(
      "/api/devices/:deviceId",
      { schema: { tags: ["devices"], params: DeviceParams, response: { 200: Device } } },
      async (req) => oneWithCi(await portal.getDevice(req.actor, req.params.deviceId)),
    );
    app.patch(
      "/api/devices/:deviceId",
      { schema: { tags: ["devices"], params: DeviceParams, body: DevicePatch, response: { 200: Device } } },
      async (req) => oneWithCi(await portal.updateDevice(req.actor, req.params.deviceId, req.body)),
    );
  };
