import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Portal } from "../../portal/service.js";
import { type DeviceCiView, readDeviceCi } from "../../sync/device-ci.js";
import type { SyncEngine } from "../../sync/engine.js";
import { IdParams } from "../schemas.js";
import { DeviceListPage, DeviceListQuery, DeviceOverview } from "../schemas-devices.js";

/**
 * A partner's devices across its clients (search, sort and paging in the database) and the device
 * page: attributes, the alerts that name it, its tickets with their PSA numbers, and its PSA asset.
 */
export const deviceViewRoutes =
  (portal: Portal, sync?: SyncEngine): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      "/api/partners/:partnerId/devices",
      {
        schema: {
          tags: ["devices"],
          summary: "The partner's devices across all its clients: filter, search, sort, page",
          params: IdParams("partnerId"),
          querystring: DeviceListQuery,
          response: { 200: DeviceListPage },
        },
      },
      async (req) => portal.deviceViews.list(req.actor, req.params.partnerId, req.query),
    );
    app.get(
      "/api/devices/:deviceId/overview",
      {
        schema: {
          tags: ["devices"],
          summary: "One device with its client, alerts, tickets and linked PSA asset (read live)",
          params: IdParams("deviceId"),
          response: { 200: DeviceOverview },
        },
      },
      async (req) => {
        const o = await portal.deviceViews.overview(req.actor, req.params.deviceId);
        const d = o.device;
        const views = sync ? await sync.ticketViews(o.tickets.map((t) => t.id)) : new Map();
        let ci: DeviceCiView | null = null;
        if (d.psaCiId !== null) {
          const link = { psaId: d.psaCiId, syncedAt: d.lastSyncedAt };
          const company = { id: d.client.psaCompanyId, name: d.client.psaCompanyName };
          ci = sync
            ? await readDeviceCi(sync.sessions, d.partnerId, link, company)
            : {
                ...link,
                live: "unavailable",
                name: null,
                active: null,
                serialNumber: null,
                companyId: null,
                companyName: null,
                problem: "The sync engine is not running.",
                customFields: [],
              };
        }
        return { ...o, tickets: o.tickets.map((t) => ({ ...t, psa: views.get(t.id) })), ci };
      },
    );
  };
