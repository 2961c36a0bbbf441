/**
 * The connector and the public npm client `connectwise-rest` against the same emulator: what the
 * connector writes, connectwise-rest reads the same way (and the reverse), through every kind of
 * call the connector relies on — tickets with externalXRef conditions, notes and their flags,
 * configuration links, counts, board statuses, configurations with customFieldConditions and whole
 * customFields arrays, callback entries, and the callback signature (connectwise-rest's own
 * verifyMessage accepts what the connector accepts).
 */

import { createServer, type Server } from "node:http";
import { Agent } from "node:https";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { ManageAPI, utils } from "connectwise-rest";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_IDS } from "../../src/emulators/connectwise/index.js";
import type { AssetSource, PsaSession } from "../../src/psa/connector.js";
import { type CwFixture, openSession, startCwFixture } from "./connectwise-helpers.js";

const require = createRequire(import.meta.url);
// The CommonJS axios instance connectwise-rest requires (not the ESM build an `import` would load).
const axios = require(require.resolve("axios", { paths: [require.resolve("connectwise-rest")] })) as {
  defaults: { httpsAgent?: unknown };
};

// biome-ignore lint/suspicious/noExplicitAny: the client's generated types are wider than the test needs
type Any = any;

let f: CwFixture;
let cwm: ManageAPI;
let previousAgent: unknown;
let receiver: Server;
let hookUrl: string;
const received: Array<{ raw: Buffer; headers: Record<string, string | string[] | undefined> }> = [];

beforeAll(async () => {
  f = await startCwFixture();
  previousAgent = axios.defaults.httpsAgent;
  axios.defaults.httpsAgent = new Agent({ ca: f.emu.caPem });
  const c = f.emu.credentials;
  cwm = new ManageAPI({
    companyId: c.companyId,
    publicKey: c.publicKey,
    privateKey: c.privateKey,
    clientId: c.clientId,
    companyUrl: `127.0.0.1:${f.emu.port}`,
    entryPoint: "v4_6_release",
    logger: () => undefined,
  });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (x: Buffer) => chunks.push(x));
    req.on("end", () => {
      received.push({ raw: Buffer.concat(chunks), headers: req.headers });
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/connectwise/1`;
});
afterAll(async () => {
  axios.defaults.httpsAgent = previousAgent;
  await new Promise((r) => receiver?.close(r));
  await f?.close();
});

let s: PsaSession;
beforeEach(async () => {
  await f.admin("POST", "reset");
  received.length = 0;
  s = openSession(f).session;
});

const device: AssetSource = {
  id: 41,
  hostname: "ACME-PC-41",
  deviceType: "Workstation",
  ipAddress: "10.0.0.41",
  gateway: "10.0.0.1",
  make: "Dell",
  model: "OptiPlex",
  operatingSystem: "Windows 11",
  ram: "16 GB",
  biosName: "BIOS",
  biosVersion: "1.0",
  driveInfo: "C:",
  lastLoggedUser: "jdoe",
  serialNumber: "SN-41",
  warrantyEndDate: null,
  state: "managed",
};

describe("the connector and connectwise-rest agree on the emulator", () => {
  it("tickets, their ref, device link, description, notes and counts", async () => {
    const cfg = await s.assets.create(DEMO_IDS.companies.acme, s.assets.desired(device), device);
    const id = await s.tickets.create({
      title: "Printer offline",
      description: "Since 8:00",
      status: DEMO_IDS.statuses.new,
      priority: DEMO_IDS.priorities.low,
      assetId: cfg,
      companyId: DEMO_IDS.companies.acme,
      externalRef: "88",
    });
    await s.tickets.addNote(id, { text: "Told the customer", published: true }, new Set());
    await s.tickets.addNote(id, { text: "Spooler restarted", published: false }, new Set());
    const t: Any = await cwm.ServiceAPI.getServiceTicketsById(id);
    expect(t).toMatchObject({
      summary: "Printer offline",
      board: { id: DEMO_IDS.nocBoard },
      company: { id: DEMO_IDS.companies.acme },
      priority: { id: DEMO_IDS.priorities.low },
      externalXRef: "nocbridge:88",
    });
    const byRef: Any[] = await cwm.ServiceAPI.getServiceTickets({
      conditions: 'externalXRef = "nocbridge:88"',
    });
    expect(byRef.map((x) => x.id)).toEqual([id]);
    const links: Any[] = await cwm.ServiceAPI.getServiceTicketsByParentIdConfigurations(id);
    expect(links.map((l) => l.id)).toEqual([cfg]);
    const notes: Any[] = await cwm.ServiceAPI.getServiceTicketsByParentIdNotes(id, { orderBy: "id asc" });
    expect(notes.map((n) => [n.text, n.detailDescriptionFlag, n.internalAnalysisFlag])).toEqual([
      ["Since 8:00", true, false],
      ["Told the customer", true, false],
      ["Spooler restarted", false, true],
    ]);
    const count: Any = await cwm.ServiceAPI.getServiceTicketsCount({
      conditions: `board/id = ${DEMO_IDS.nocBoard} and lastUpdated >= [2000-01-01T00:00:00Z]`,
    });
    expect(count.count).toBe((await s.tickets.changedSince(new Date("2000-01-01T00:00:00Z"), [])).length);

    // connectwise-rest writes, the connector reads.
    await cwm.ServiceAPI.patchServiceTicketsById(id, [
      { op: "replace", path: "status", value: { id: DEMO_IDS.statuses.waitingCustomer } },
    ] as Any);
    await cwm.ServiceAPI.postServiceTicketsByParentIdNotes(id, {
      text: "From the other client",
      internalAnalysisFlag: true,
    } as Any);
    expect((await s.tickets.get(id))?.status).toBe(DEMO_IDS.statuses.waitingCustomer);
    expect((await s.tickets.notes(id)).map((n) => [n.text, n.published])).toEqual([
      ["Told the customer", true],
      ["Spooler restarted", false],
      ["From the other client", false],
    ]);
  });

  it("configurations: customFieldConditions and whole customFields arrays", async () => {
    const id = await s.assets.create(DEMO_IDS.companies.acme, s.assets.desired(device), device);
    const found: Any[] = await cwm.CompanyAPI.getCompanyConfigurations("", {
      conditions: `company/id = ${DEMO_IDS.companies.acme}`,
      customFieldConditions: 'caption = "Partner Portal Device Id" and value = "41"',
    });
    expect(found.map((c) => c.id)).toEqual([id]);
    const c: Any = await cwm.CompanyAPI.getCompanyConfigurationsById(id);
    const fields = c.customFields.map((x: Any) => (x.caption === "RAM" ? { ...x, value: "8 GB" } : x));
    await cwm.CompanyAPI.patchCompanyConfigurationsById(id, [
      { op: "replace", path: "customFields", value: fields },
    ] as Any);
    const [a] = await s.assets.listByCompany(DEMO_IDS.companies.acme);
    expect(s.assets.diff(a!, s.assets.desired(device))).toEqual({
      "custom:RAM": { from: "8 GB", to: "16 GB" },
    });
    await s.assets.update(id, s.assets.diff(a!, s.assets.desired(device)));
    const after: Any = await cwm.CompanyAPI.getCompanyConfigurationsById(id);
    expect(Object.fromEntries(after.customFields.map((x: Any) => [x.caption, x.value]))).toMatchObject({
      RAM: "16 GB",
      Make: "Dell",
      "Partner Portal Device Id": "41",
    });
  });

  it("board statuses and callback entries, and the callback signature", async () => {
    const statuses: Any[] = await cwm.ServiceAPI.getServiceBoardsByParentIdStatuses(DEMO_IDS.nocBoard);
    const options = await s.options();
    expect(options.statuses.filter((o) => o.scope === DEMO_IDS.nocBoard).map((o) => [o.id, o.label])).toEqual(
      statuses.map((x) => [x.id, x.name]),
    );
    const reg = await s.webhooks.register({ partnerId: 1, url: hookUrl, secret: "x", known: [] });
    const listed: Any[] = await cwm.SystemAPI.getSystemCallbacks();
    expect(listed.map((e) => [e.id, e.type, e.level, e.objectId, e.isSelfSuppressedFlag])).toEqual([
      [reg.hooks[0]?.id, "ticket", "board", DEMO_IDS.nocBoard, true],
    ]);
    // A technician's change (connectwise-rest acting as the technician) is delivered and verified both ways.
    const tech = await f.admin("POST", `tenants/${f.emu.credentials.companyId}/actAs`, { member: "asmith" });
    const { publicKey, privateKey } = tech.body as { publicKey: string; privateKey: string };
    const asTech = new ManageAPI({
      companyId: f.emu.credentials.companyId,
      publicKey,
      privateKey,
      clientId: f.emu.credentials.clientId,
      companyUrl: `127.0.0.1:${f.emu.port}`,
      entryPoint: "v4_6_release",
      logger: () => undefined,
    });
    await asTech.ServiceAPI.postServiceTickets({
      summary: "Raised by a technician",
      board: { id: DEMO_IDS.nocBoard },
      company: { id: DEMO_IDS.companies.birch },
    } as Any);
    await f.emu.callbacks.flush();
    expect(received).toHaveLength(1);
    const d = received[0]!;
    expect(await s.webhooks.verify(d.raw, d.headers, ["x"])).toEqual({ ok: true });
    const body = JSON.parse(d.raw.toString("utf8"));
    const key = await f.client().signingKey(body.Metadata.key_url);
    expect(utils.Callback.verifyMessage(body, String(d.headers["x-content-signature"]), key)).toBe(true);
    expect(utils.Callback.verifyMessage(body, String(d.headers["x-content-signature"]), `${key}x`)).toBe(
      false,
    );
  });
});
