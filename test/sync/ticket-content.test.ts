import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { DeviceInput } from "../../src/portal/service.js";
import { fitText, TRUNCATION_MARK } from "../../src/psa/text.js";
import { ALERTS_HEADING, portalDescription, portalPart } from "../../src/sync/tickets/content.js";
import {
  demoTicketing,
  fastClient,
  startTestEmulator,
  type TestEmulator,
  tenant,
} from "../helpers/autotask.js";
import { openTestServices, STORES, type TestEnv, testApp } from "../helpers/services.js";
import { until } from "../helpers/wait.js";

/**
 * Where a ticket came from reaches Autotask (issue 15, point 7): the alerts block in the PSA
 * description (never echoed back as an edit), the configuration item of the first alert device that
 * has one, the portal's flag for a ticket with none, note authors by name both ways, and errors and
 * log lines that name tickets and statuses.
 */

describe("the alerts block and the portal's part of a PSA description", () => {
  const alerts = [
    { deviceId: 1, hostname: "SRV01", message: "Disk C: 95 % full", createdAt: "2026-11-28T09:14:05.000Z" },
    { deviceId: 2, hostname: "SRV02", message: "CPU 99 %", createdAt: "2026-11-28T09:20:00.000Z" },
  ];

  it("puts the alerts after the description, one line each, with the time in UTC", () => {
    expect(portalDescription("Disk filling up", alerts)).toBe(
      `Disk filling up\n\n${ALERTS_HEADING}\n2026-11-28 09:14 UTC · SRV01 · Disk C: 95 % full\n2026-11-28 09:20 UTC · SRV02 · CPU 99 %`,
    );
    expect(portalDescription("", alerts).startsWith(ALERTS_HEADING)).toBe(true);
    expect(portalDescription("No alerts here", [])).toBe("No alerts here");
  });

  it("reads back the portal's part: before the block, also when line breaks came back as spaces or the text was cut", () => {
    const sent = portalDescription("Disk filling up", alerts);
    expect(portalPart(sent)).toBe("Disk filling up");
    expect(portalPart(sent.replace(/\n/g, " "))).toBe("Disk filling up");
    expect(portalPart("Edited in the PSA, block removed")).toBe("Edited in the PSA, block removed");
    const max = TRUNCATION_MARK.length + 20;
    expect(portalPart(fitText(`${"x".repeat(50)}\n\n${ALERTS_HEADING}\nmore`, max))).toBe("x".repeat(20));
  });
});

interface AtTicket {
  id: number;
  ticketNumber: string;
  title: string;
  description: string;
  status: number;
  configurationItemID: number | null;
}
type Creds = { username: string; secret: string; integrationCode: string };

const device = (i: number, over: Partial<DeviceInput> = {}): DeviceInput => ({
  state: "managed",
  hostname: `TC-${i}`,
  serialNumber: `TCSN-${i}`,
  ...over,
});

describe.each(STORES)("ticket content against the Autotask emulator on %s", (kind) => {
  let env: TestEnv;
  let at: TestEmulator;
  let app: App;
  let partnerId = 0;
  let acme = 0;
  let cedar = 0;
  /** An unmanaged device (never a CI), a managed one (a CI), another unmanaged one. */
  let noCiA = 0;
  let withCi = 0;
  let noCiB = 0;
  let tech: Creds;
  let nocToken = "";

  const portal = () => env.services.portal;
  const tickets = () => env.services.sync.tickets;
  const drain = () => tickets().notify(partnerId);
  const atGet = async (id: number) => (await at.api<{ item: AtTicket }>("GET", `Tickets/${id}`)).item;
  const asTech = (method: string, path: string, body?: unknown) => at.api(method, path, body, tech);
  const ticketWrites = async () => {
    const ops = ((await at.stats()) as unknown as { byOperation: Record<string, number> }).byOperation;
    return (ops["create Tickets"] ?? 0) + (ops["update Tickets"] ?? 0) + (ops["create TicketNotes"] ?? 0);
  };
  const get = async (url: string) =>
    (await app.inject({ method: "GET", url, headers: { authorization: `Bearer ${nocToken}` } })).json();
  const ticketOf = async (title: string, alerts: Array<{ deviceId: number; message: string }>, over = {}) =>
    portal().createTicket(SYSTEM_ACTOR, partnerId, {
      clientId: acme,
      title,
      description: "Seen by the NOC",
      statusId: 1,
      priorityId: 9,
      alerts,
      ...over,
    });
  const atIdOf = async (ticketId: number) => {
    const id = (await tickets().view(ticketId)).ticketId;
    if (id === null) throw new Error(`ticket ${ticketId} has no Autotask ticket`);
    return id;
  };
  /** A poll and a drain: what would bring back our own write, if anything did. */
  const settle = async () => {
    await env.services.sync.pollTickets(partnerId);
    await drain();
  };

  beforeAll(async () => {
    at = await startTestEmulator();
    env = await openTestServices(kind, {
      autotask: fastClient,
      ticketRetry: { maxAttempts: 2, baseMs: 10 },
      psaOrigins: [at.emu.url],
    });
    app = await testApp(env);
    await app.listen({ port: 0, host: "127.0.0.1" });
    const addr = app.server.address();
    env.services.setListeningUrl(`http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`);
    nocToken = (await portal().createUser(SYSTEM_ACTOR, { name: "NOC", role: "noc-admin" })).token;
    tech = await at.admin<Creds>("POST", tenant("/actAs"), { resourceId: DEMO_IDS.technicians[0] });
    partnerId = (await portal().createPartner(SYSTEM_ACTOR, { name: "Content VAR" })).id;
    acme = (
      await portal().createClient(SYSTEM_ACTOR, partnerId, {
        code: "AT1",
        name: "Acme",
        psaCompanyId: DEMO_IDS.companies.AT1,
      })
    ).id;
    cedar = (
      await portal().createClient(SYSTEM_ACTOR, partnerId, { code: "AT3", name: "Cedar", psaCompanyId: null })
    ).id;
    noCiA = (await portal().createDevice(SYSTEM_ACTOR, acme, device(1, { state: "unmanaged" }))).id;
    withCi = (await portal().createDevice(SYSTEM_ACTOR, acme, device(2))).id;
    noCiB = (await portal().createDevice(SYSTEM_ACTOR, acme, device(3, { state: "unmanaged" }))).id;
    await portal().putIntegration(SYSTEM_ACTOR, partnerId, {
      ticketing: demoTicketing(at.emu.baseUrl),
      devices: {
        enabled: true,
        productId: DEMO_IDS.product,
        configurationItemTypeId: DEMO_IDS.ciType,
        advanced: true,
        schedule: null,
      },
    });
    await env.services.sync.ticketSetup(partnerId);
    const [onboarding] = (await env.services.sync.runs.list(partnerId, "assets")).items;
    await env.services.sync.wait(onboarding!.id);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await app?.close();
    await env?.close();
    await at?.close();
  });

  it("the Autotask description carries the alerts, the CI is the first alert device's that has one, and nothing comes back as an edit", async () => {
    const ci = (await env.services.sync.links.psaIds(partnerId, "device", [withCi])).get(withCi);
    expect(ci).toBeGreaterThan(0);
    const t = await ticketOf("Disk full on TC-1", [
      { deviceId: noCiA, message: "Disk C: 95 % full" },
      { deviceId: withCi, message: "Backup failed" },
    ]);
    await drain();
    const a = await atGet(await atIdOf(t.id));
    expect(a.configurationItemID).toBe(ci);
    const [head, block] = a.description.split(`\n\n${ALERTS_HEADING}\n`);
    expect(head).toBe("Seen by the NOC");
    const lines = block!.split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC · TC-1 · Disk C: 95 % full$/);
    expect(lines[1]).toMatch(/ · TC-2 · Backup failed$/);

    const v = await get(`/api/tickets/${t.id}`);
    expect(v.psa).toMatchObject({ ciMissing: false, ciDeviceId: withCi });

    // Our own write read back by a poll is no edit: nothing is written on either side.
    const writes = await ticketWrites();
    await settle();
    expect(await ticketWrites()).toBe(writes);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).description).toBe("Seen by the NOC");
  });

  it("an edit of the description in the portal crosses once, with the block; an edit in Autotask comes back without it; neither ping-pongs", async () => {
    const t = await ticketOf("Edits", [{ deviceId: withCi, message: "Ping lost" }]);
    await drain();
    const atId = await atIdOf(t.id);

    let writes = await ticketWrites();
    await portal().updateTicket(SYSTEM_ACTOR, t.id, { description: "Rebooted, watching" });
    await drain();
    expect(await ticketWrites()).toBe(writes + 1);
    const after = (await atGet(atId)).description;
    expect(after.startsWith(`Rebooted, watching\n\n${ALERTS_HEADING}\n`)).toBe(true);
    expect(after).toContain("Ping lost");
    await settle();
    expect(await ticketWrites()).toBe(writes + 1);

    // The partner rewrites the text above the block in Autotask.
    await asTech("PATCH", "Tickets", {
      id: atId,
      description: after.replace("Rebooted, watching", "Partner: replace the switch"),
    });
    await until(
      async () =>
        (await portal().getTicket(SYSTEM_ACTOR, t.id)).description === "Partner: replace the switch",
      "the Autotask edit in the portal",
    );
    writes = await ticketWrites();
    await settle();
    await settle();
    expect(await ticketWrites()).toBe(writes);
    expect((await atGet(atId)).description).toContain("Partner: replace the switch");
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).description).toBe("Partner: replace the switch");
  });

  it("a description over Autotask's 8,000 characters is cut with a marker, and the cut text is not taken for an edit", async () => {
    const long = `${"Log excerpt. ".repeat(700)}end`;
    const t = await ticketOf("Long description", [{ deviceId: withCi, message: "Event log flood" }], {
      description: long,
    });
    await drain();
    const atId = await atIdOf(t.id);
    const a = await atGet(atId);
    expect(a.description).toHaveLength(8000);
    expect(a.description.endsWith(TRUNCATION_MARK)).toBe(true);
    const writes = await ticketWrites();
    await settle();
    expect(await ticketWrites()).toBe(writes);
    expect((await portal().getTicket(SYSTEM_ACTOR, t.id)).description).toBe(long);
    expect((await tickets().view(t.id)).state).toBe("synced");
  });

  it("a ticket whose devices have no CI references none in Autotask, and the portal ticket says so", async () => {
    const t = await ticketOf("No CI anywhere", [
      { deviceId: noCiA, message: "Fan failure" },
      { deviceId: noCiB, message: "Fan failure" },
    ]);
    await drain();
    expect((await atGet(await atIdOf(t.id))).configurationItemID).toBeNull();
    const v = await get(`/api/tickets/${t.id}`);
    expect(v.psa).toMatchObject({ state: "synced", ciMissing: true, ciDeviceId: null });
    const list = await get(`/api/partners/${partnerId}/tickets?limit=500`);
    expect(list.items.find((x: { id: number }) => x.id === t.id).psa.ciMissing).toBe(true);
  });

  it("a portal note reaches Autotask titled with its author; an Autotask note is credited to the resource's name", async () => {
    const nina = await portal().createUser(SYSTEM_ACTOR, {
      name: "Nina Tech",
      role: "technician",
      partnerId,
    });
    const t = await ticketOf("Notes with names", [{ deviceId: withCi, message: "Service stopped" }]);
    await drain();
    const atId = await atIdOf(t.id);
    const ninaActor = (await env.services.portal.forSync.activeUser(nina.user.id))!;
    await portal().addNote(ninaActor, t.id, { text: "Restarted the service", published: true });
    await drain();
    const notes = await at.api<{ items: Array<{ title: string; description: string }> }>(
      "POST",
      "TicketNotes/query",
      { filter: [{ op: "eq", field: "ticketID", value: atId }] },
    );
    expect(notes.items.map((n) => [n.title, n.description])).toEqual([
      ["Note from Nina Tech (NOC)", "Restarted the service"],
    ]);

    await asTech("POST", `Tickets/${atId}/Notes`, {
      ticketID: atId,
      title: "Partner",
      description: "Approved the restart",
      noteType: 1,
      publish: 1,
    });
    const got = await until(
      async () =>
        (await portal().listNotes(SYSTEM_ACTOR, t.id)).items.find((n) =>
          n.text.includes("Approved the restart"),
        ),
      "the Autotask note",
    );
    expect(got.author).toBe("Alex Morgan");
  });

  it("a note author whose name cannot be read is 'Autotask user <id>', and by name once Resources answer again", async () => {
    const t = await ticketOf("Nameless author", [{ deviceId: withCi, message: "Service stopped" }]);
    await drain();
    const atId = await atIdOf(t.id);
    const sam = DEMO_IDS.technicians[1];
    const asSam = await at.admin<Creds>("POST", tenant("/actAs"), { resourceId: sam });
    const note = (description: string) =>
      at.api(
        "POST",
        `Tickets/${atId}/Notes`,
        { ticketID: atId, title: "Partner", description, noteType: 1, publish: 1 },
        asSam,
      );
    const authorOf = (text: string) =>
      until(
        async () => (await portal().listNotes(SYSTEM_ACTOR, t.id)).items.find((n) => n.text.includes(text)),
        text,
      );
    await at.admin("PUT", "/faults", { seed: 3, share500: 1, onlyEntities: ["Resources"] });
    try {
      await note("While Resources fail");
      expect((await authorOf("While Resources fail")).author).toBe(`Autotask user ${sam}`);
    } finally {
      await at.admin("PUT", "/faults", { share500: 0, onlyEntities: null });
    }
    await note("Resources answer again");
    expect((await authorOf("Resources answer again")).author).toBe("Sam Rivera");
  });

  it("sync errors name the ticket, its Autotask number and the status, with the code as readable text", async () => {
    const t = await ticketOf("Disk full on SRV01", [{ deviceId: withCi, message: "Disk D: 99 %" }]);
    await drain();
    const atId = await atIdOf(t.id);
    const number = (await atGet(atId)).ticketNumber;
    const warn = vi.spyOn(env.services.logger, "warn");
    await asTech("PATCH", "Tickets", { id: atId, status: 8 }); // In Progress: no reverse row
    const err = await until(
      async () =>
        ((await get(`/api/partners/${partnerId}/sync/errors`)).items as Array<Record<string, unknown>>).find(
          (e) => e.ticketId === t.id,
        ),
      "the parked error",
    );
    expect(err).toMatchObject({
      code: "MAPPING",
      codeText: "Missing mapping row",
      ticketTitle: "Disk full on SRV01",
      ticketNumber: number,
      error: "Autotask status In Progress (8) has no row in the reverse status mapping table",
    });
    // The error row is stored before the worker logs the failure: wait for the log line too.
    const line = await until(
      async () =>
        warn.mock.calls.map((c) => String(c[1] ?? c[0])).find((m) => m.includes("ticket sync failed")),
      "the failure's log line",
    );
    expect(line).toBe(
      `ticket sync failed for “Disk full on SRV01” (${number}) (parked): Autotask status In Progress (8) has no row in the reverse status mapping table`,
    );
    expect(JSON.stringify(warn.mock.calls)).not.toMatch(/ticket \d+ /);
    warn.mockRestore();
  });

  it("a ticket of a client with no Autotask company is named with its client; the code stays for machines", async () => {
    const t = await portal().createTicket(SYSTEM_ACTOR, partnerId, {
      clientId: cedar,
      title: "Printer jam",
      statusId: 1,
      priorityId: 9,
    });
    await drain();
    const err = (
      (await get(`/api/partners/${partnerId}/sync/errors`)).items as Array<Record<string, unknown>>
    ).find((e) => e.ticketId === t.id);
    expect(err).toMatchObject({
      code: "UNMAPPED_COMPANY",
      codeText: "Client not mapped to a company in the PSA",
      ticketTitle: "Printer jam",
      ticketNumber: null,
      parked: true,
    });
    expect(err?.error).toBe(
      "“Printer jam” cannot go to Autotask: client “AT3 — Cedar” is not mapped to an Autotask company; map it under Setup → Clients",
    );
  });
});
