import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/api/app.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import { CW_IDS, type CwSyncFixture, cwIntegration, openCwSync } from "../helpers/connectwise.js";
import { STORES, sharedTestDatabase, type TestDatabase, type TestEnv, testApp } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

/**
 * A ConnectWise callback is verified with the partner's connection (its signing key is read through
 * it). The process a callback reaches may have done no sync work for the partner: on PostgreSQL the
 * API process (`nocbridge serve`) never does, the workers do. Such a process used to refuse every
 * callback (401: no open connection), so the fast path never worked in the scale-out and ConnectWise
 * would turn the entry off after days of failures; only polling synced. Found by the two-worker
 * property suite (test/sync/tickets-property.test.ts).
 */
describe.each(STORES)(
  "a ConnectWise callback reaching a process that has not worked for the partner (%s)",
  (kind) => {
    let db: TestDatabase;
    let cw: CwSyncFixture;
    /** The process the callbacks reach: it has opened nothing for the partner. */
    let api: TestEnv;
    let app: App;
    let partnerId = 0;

    beforeAll(async () => {
      db = sharedTestDatabase(kind);
      // The worker (A) sets the partner up; the API process serves the URL ConnectWise calls.
      cw = await openCwSync(kind, {
        services: { database: db, jobs: kind === "postgres" ? "shared" : "memory" },
      });
      api = await cw.another({
        database: db,
        jobs: kind === "postgres" ? "shared" : "memory",
        background: false,
      });
      app = await testApp(api);
      await app.listen({ port: 0, host: "127.0.0.1" });
      const addr = app.server.address();
      const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
      for (const env of [cw.env, api]) env.services.setListeningUrl(url);
      const portal = cw.env.services.portal;
      partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "CW VAR" })).id;
      await portal.createClient(SYSTEM_ACTOR, partnerId, {
        code: "CW1",
        name: "Acme Dental Group",
        psaCompanyId: CW_IDS.companies.acme,
      });
      const noc = CW_IDS.nocBoard;
      const statuses = [{ portalId: 1, psaId: CW_IDS.statuses.new, psaLabel: "New", scope: noc }];
      await portal.putMappings(SYSTEM_ACTOR, partnerId, "status-forward", statuses);
      await portal.putMappings(SYSTEM_ACTOR, partnerId, "status-reverse", statuses);
      await portal.putMappings(SYSTEM_ACTOR, partnerId, "priority", [
        { portalId: 9, psaId: CW_IDS.priorities.medium, psaLabel: "Priority 3 - Medium" },
      ]);
      await portal.putIntegration(
        SYSTEM_ACTOR,
        partnerId,
        cwIntegration(cw.f, { ticketing: true, devices: false }),
      );
      await cw.env.services.sync.ticketSetup(partnerId);
      // On PostgreSQL the set-up is a job: wait until ConnectWise holds the callback entry.
      const tenant = cw.f.emu.store.tenant(cw.f.emu.credentials.companyId);
      await until(async () => (tenant?.rows("callbacks").length ?? 0) > 0, "the callback entry");
    }, 60_000);
    afterAll(async () => {
      await app?.close();
      await api?.close();
      await cw?.close();
      await db?.drop();
    });

    it("is verified there, stored, and the ticket reaches the portal", async () => {
      const made = await cw.asTech<{ id: number }>("POST", "service/tickets", {
        summary: "Printer offline",
        board: { id: CW_IDS.nocBoard },
        company: { id: CW_IDS.companies.acme },
        status: { id: CW_IDS.statuses.new },
        priority: { id: CW_IDS.priorities.medium },
        initialDescription: "since this morning",
      });
      await cw.admin("POST", "callbacks/flush");
      const log = await cw.admin<{
        deliveries: Array<{ recordId: number; attempts: number[]; outcome: string }>;
      }>("GET", "callbacks");
      expect(log.deliveries.filter((d) => d.recordId === made.id)).toEqual([
        expect.objectContaining({ attempts: [200], outcome: "delivered" }),
      ]);
      // No poll is due: the callback is what brings the ticket in.
      const ticket = await until(
        async () =>
          (await cw.env.services.portal.listTickets(SYSTEM_ACTOR, partnerId, { limit: 50 })).items.find(
            (t) => t.title === "Printer offline",
          ),
        "the ConnectWise ticket in the portal",
      );
      // The portal ticket is made before its link is saved: wait for the link too.
      const linked = await until(
        async () => (await cw.env.services.sync.tickets.view(ticket.id)).ticketId,
        "the portal ticket's link",
      );
      expect(linked).toBe(made.id);
    });
  },
);
