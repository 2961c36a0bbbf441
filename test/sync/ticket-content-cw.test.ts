import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { App } from "../../src/api/app.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { MappingRowInput } from "../../src/portal/mappings.js";
import type { DeviceInput } from "../../src/portal/service.js";
import { ALERTS_HEADING } from "../../src/sync/tickets/content.js";
import {
  CW_IDS,
  type CwSyncFixture,
  cwIntegration,
  openCwSync,
  type WireRequest,
} from "../helpers/connectwise.js";
import { STORES, testApp } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

/**
 * Where a ticket came from reaches ConnectWise (issue 15, point 7) over HTTPS against its emulator:
 * the alerts block in the initial description (ConnectWise keeps line breaks as spaces: that is not
 * an edit), the configuration of the first alert device that has one, note authors by name both
 * ways, and errors that name tickets and statuses.
 */

const NOC = CW_IDS.nocBoard;
const S = CW_IDS.statuses;
const P = CW_IDS.priorities;
const FORWARD: MappingRowInput[] = [
  { portalId: 1, psaId: S.new, psaLabel: "New", scope: NOC },
  { portalId: 3, psaId: S.closed, psaLabel: "Closed", scope: NOC },
];
/** No row for Waiting Customer: a ticket the technician moves there parks with a named error. */
const REVERSE: MappingRowInput[] = [
  { portalId: 1, psaId: S.new, psaLabel: "New", scope: NOC },
  { portalId: 3, psaId: S.closed, psaLabel: "Closed", scope: NOC },
];
const PRIORITY: MappingRowInput[] = [{ portalId: 9, psaId: P.medium, psaLabel: "Priority 3 - Medium" }];

const device = (i: number, over: Partial<DeviceInput> = {}): DeviceInput => ({
  state: "managed",
  hostname: `CWC-${i}`,
  serialNumber: `CWCSN-${i}`,
  ...over,
});
const isWrite = (r: WireRequest) =>
  r.method === "PATCH" || r.method === "DELETE" || (r.method === "POST" && !r.path.endsWith("/search"));

interface CwNoteRec {
  id: number;
  ticketId: number;
  text: string;
  detailDescriptionFlag: boolean;
}

describe.each(STORES)("ticket content against the ConnectWise emulator on %s", (kind) => {
  let cw: CwSyncFixture;
  let app: App;
  let partnerId = 0;
  let clientA = 0;
  let noCi = 0;
  let withCi = 0;
  let nocToken = "";

  const services = () => cw.env.services;
  const portal = () => services().portal;
  const tickets = () => services().sync.tickets;
  const tenant = () => {
    const t = cw.f.emu.store.tenant(cw.f.emu.credentials.companyId);
    if (!t) throw new Error("no tenant");
    return t;
  };
  const cwNotes = (id: number) =>
    (tenant().rows("notes") as unknown as CwNoteRec[])
      .filter((n) => n.ticketId === id)
      .sort((a, b) => a.id - b.id);
  const cwLinks = (id: number) => tenant().ticketConfigurations.get(id) ?? [];
  const writesSince = (from: number) => cw.wire.slice(from).filter(isWrite).length;
  const settle = async () => {
    await cw.admin("POST", "callbacks/flush");
    await tickets().notify(partnerId);
    await tickets().idle(partnerId);
  };
  const pollAndSettle = async () => {
    await services().sync.pollTickets(partnerId);
    await settle();
  };
  const get = async (url: string) =>
    (await app.inject({ method: "GET", url, headers: { authorization: `Bearer ${nocToken}` } })).json();
  const linked = async (ticketId: number) => {
    const id = (await tickets().view(ticketId)).ticketId;
    if (id === null) throw new Error(`ticket ${ticketId} has no ConnectWise ticket`);
    return id;
  };
  const ticketOf = (
    title: string,
    alerts: Array<{ deviceId: number; message: string }>,
    description = "Seen",
  ) =>
    portal().createTicket(SYSTEM_ACTOR, partnerId, {
      clientId: clientA,
      title,
      description,
      statusId: 1,
      priorityId: 9,
      alerts,
    });

  beforeAll(async () => {
    cw = await openCwSync(kind, { services: { ticketRetry: { maxAttempts: 2, baseMs: 10 } } });
    app = await testApp(cw.env);
    await app.listen({ port: 0, host: "127.0.0.1" });
    const addr = app.server.address();
    services().setListeningUrl(`http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`);
    nocToken = (await portal().createUser(SYSTEM_ACTOR, { name: "NOC", role: "noc-admin" })).token;
    partnerId = (await portal().createPartner(SYSTEM_ACTOR, { name: "CW content VAR" })).id;
    clientA = (
      await portal().createClient(SYSTEM_ACTOR, partnerId, {
        code: "CW1",
        name: "Acme Dental Group",
        psaCompanyId: CW_IDS.companies.acme,
      })
    ).id;
    noCi = (await portal().createDevice(SYSTEM_ACTOR, clientA, device(1, { state: "unmanaged" }))).id;
    withCi = (await portal().createDevice(SYSTEM_ACTOR, clientA, device(2))).id;
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "status-forward", FORWARD);
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "status-reverse", REVERSE);
    await portal().putMappings(SYSTEM_ACTOR, partnerId, "priority", PRIORITY);
    await portal().putIntegration(
      SYSTEM_ACTOR,
      partnerId,
      cwIntegration(cw.f, { ticketing: true, devices: true }),
    );
    await services().sync.settingsSaved(partnerId);
    await services().sync.ticketSetup(partnerId);
    const [onboarding] = (await services().sync.runs.list(partnerId, "assets")).items;
    expect((await services().sync.wait(onboarding!.id)).status).toBe("succeeded");
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await app?.close();
    await cw?.close();
  });

  it("the initial description carries the alerts; the configuration is the first alert device's that has one; nothing echoes", async () => {
    const config = (await services().sync.links.psaIds(partnerId, "device", [withCi])).get(withCi);
    expect(config).toBeGreaterThan(0);
    const t = await ticketOf("Disk full on CWC-1", [
      { deviceId: noCi, message: "Disk C: 95 % full" },
      { deviceId: withCi, message: "Backup failed" },
    ]);
    await settle();
    const id = await linked(t.id);
    expect(cwLinks(id)).toEqual([config]);
    const [description] = cwNotes(id);
    // ConnectWise keeps line breaks as spaces.
    expect(description?.text).toMatch(
      new RegExp(
        `^Seen  ${ALERTS_HEADING} \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC · CWC-1 · Disk C: 95 % full .* · CWC-2 · Backup failed$`,
      ),
    );
    expect((await get(`/api/tickets/${t.id}`)).psa).toMatchObject({ ciMissing: false, ciDeviceId: withCi });
    const from = cw.wire.length;
    await pollAndSettle();
    expect(writesSince(from)).toBe(0);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).description).toBe("Seen");
  });

  it("a multi-line portal edit crosses once and its line breaks coming back as spaces are no edit; a ConnectWise edit comes back without the block", async () => {
    const t = await ticketOf("Edits on CW", [{ deviceId: withCi, message: "Ping lost" }]);
    await settle();
    const id = await linked(t.id);
    const from = cw.wire.length;
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { description: "Rebooted.\nWatching it." });
    await settle();
    expect(writesSince(from)).toBe(1);
    await pollAndSettle();
    await pollAndSettle();
    expect(writesSince(from)).toBe(1);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).description).toBe("Rebooted.\nWatching it.");

    const note = cwNotes(id)[0]!;
    await cw.asTech("PATCH", `service/tickets/${id}/notes/${note.id}`, [
      {
        op: "replace",
        path: "text",
        value: note.text.replace("Rebooted. Watching it.", "Partner: new switch"),
      },
    ]);
    await until(async () => {
      await pollAndSettle();
      return (await portal().getTicket(SYSTEM_ACTOR, t.id)).description === "Partner: new switch";
    }, "the ConnectWise edit in the portal");
    const again = cw.wire.length;
    await pollAndSettle();
    expect(writesSince(again)).toBe(0);
  });

  it("a ticket whose devices have no configuration links none, and the portal ticket says so", async () => {
    const t = await ticketOf("No config", [{ deviceId: noCi, message: "Fan failure" }]);
    await settle();
    expect(cwLinks(await linked(t.id))).toEqual([]);
    expect((await get(`/api/tickets/${t.id}`)).psa).toMatchObject({ ciMissing: true, ciDeviceId: null });
  });

  it("a portal note leads with its author's name in ConnectWise; a ConnectWise note is credited to the member's name", async () => {
    const nina = await portal().createUser(SYSTEM_ACTOR, {
      name: "Nina Tech",
      role: "technician",
      partnerId,
    });
    const t = await ticketOf("Notes on CW", [{ deviceId: withCi, message: "Service stopped" }]);
    await settle();
    const id = await linked(t.id);
    const actor = (await services().portal.forSync.activeUser(nina.user.id))!;
    await portal().addNote(actor, t.id, { text: "Restarted the service", published: true });
    await settle();
    expect(
      cwNotes(id)
        .slice(1)
        .map((n) => n.text),
    ).toEqual(["Note from Nina Tech (NOC): Restarted the service"]);
    await cw.asTech("POST", `service/tickets/${id}/notes`, {
      text: "Approved the restart",
      detailDescriptionFlag: true,
    });
    await settle();
    const got = await until(
      async () =>
        (await portal().listNotes(SYSTEM_ACTOR, t.id)).items.find((n) => n.text === "Approved the restart"),
      "the ConnectWise note",
    );
    expect(got.author).toBe("Alice Smith");
  });

  it("a status with no reverse row is named in the sync error, with the ticket's title and number", async () => {
    const t = await ticketOf("Waiting on the customer", [{ deviceId: withCi, message: "Disk D: 99 %" }]);
    await settle();
    const id = await linked(t.id);
    await cw.asTech("PATCH", `service/tickets/${id}`, [
      { op: "replace", path: "status", value: { id: S.waitingCustomer } },
    ]);
    const err = await until(async () => {
      await settle();
      return (
        (await get(`/api/partners/${partnerId}/sync/errors`)).items as Array<Record<string, unknown>>
      ).find((e) => e.ticketId === t.id);
    }, "the parked error");
    expect(err).toMatchObject({
      code: "MAPPING",
      codeText: "Missing mapping row",
      ticketTitle: "Waiting on the customer",
      ticketNumber: String(id),
      error: `ConnectWise status Waiting Customer (${S.waitingCustomer}) has no row in the reverse status mapping table`,
    });
  });
});
