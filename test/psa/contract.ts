/**
 * The connector contract: what every PSA connector must do for the engine, as vitest blocks any
 * connector's test file registers with its own setup (a live emulator, an in-memory fake …). It
 * speaks only the seam (src/psa/connector.ts); what is PSA-specific — how to change a record "in the
 * PSA", how to lose a create's answer, how a delivery is signed — comes from the setup.
 *
 * Where the vendor's behaviour is not confirmed (docs/autotask.md, docs/autotask-errors.md) the
 * contract pins only what the engine relies on: a note added under a missing ticket is a final
 * PsaError (NOT_FOUND or INVALID_REQUEST), not which of the two.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  AssetSource,
  Connector,
  IntegrationSettings,
  NewTicket,
  PsaAsset,
  PsaSession,
  SessionContext,
  ValidateInput,
  WebhookReceiver,
  WebhookRef,
} from "../../src/psa/connector.js";
import { PORTAL_DEVICE_ID_FIELD } from "../../src/psa/connector.js";
import { PsaError, type PsaErrorCode } from "../../src/psa/errors.js";
import { contractCompanies } from "./contract-companies.js";

export interface ContractIds {
  /** A company that has assets, and one that has none (both active). */
  companyWithAssets: number;
  companyWithoutAssets: number;
  /** An id no company has. */
  missingCompany: number;
  /** Two active ticket statuses and two active priorities. */
  status: number;
  otherStatus: number;
  priority: number;
  otherPriority: number;
  /** Ids no record has. */
  missingTicket: number;
  missingNote: number;
  missingAsset: number;
}

/** What the contract does "in the PSA", as a technician or the vendor's side would. */
export interface ContractPsa {
  /** A note written by a technician; returns its id. */
  addNote(ticketId: number, text: string, published: boolean): Promise<number>;
  /** Moves a ticket out of the NOC queue (board). */
  moveOutOfQueue(ticketId: number): Promise<void>;
  /**
   * The next create of this kind is carried out but its answer is lost. The returned function undoes
   * the arrangement, and throws when no create's answer was lost (the test would prove nothing).
   */
  loseNextCreate(kind: "ticket" | "note" | "asset"): Promise<() => Promise<void>>;
}

/** The PSA's side of webhooks: where it delivers, how it signs, what its deliveries look like. */
export interface ContractDeliveries {
  /** The URL subscriptions are registered at. */
  url: string;
  sign(raw: Buffer, secret: string): Record<string, string>;
  ticketEvent(ticketId: number): Record<string, unknown>;
  noteEvent(noteId: number, ticketId: number): Record<string, unknown>;
  /** Bodies that are not deliveries, each with the field that makes it so. */
  invalid: Array<{ body: Record<string, unknown>; field: string }>;
  /** The subscriptions the PSA holds at `url` (to count copies; compared by id), when the setup can read them. */
  subscriptions?(): Promise<WebhookRef[]>;
  /**
   * The PSA signs with a key of its own, not with the secret we registered (ConnectWise): `sign`
   * ignores the secret, and a delivery verifies with any secret on record (none: refused).
   */
  ownSigningKey?: boolean;
  /** The PSA reports a note change as an event of its ticket (ConnectWise has no note callbacks). */
  notesAsTicketEvents?: boolean;
}

export interface ContractEnv {
  connector: Connector;
  /** Working settings (devices in simple mode), and the same in advanced mode. */
  settings: IntegrationSettings;
  advancedSettings: IntegrationSettings;
  secret: string;
  ctx: SessionContext;
  ids: ContractIds;
  psa: ContractPsa;
  deliveries: ContractDeliveries;
  teardown(): Promise<void>;
}

/** What the contract's blocks share: the environment, a session, and makers of unique records. */
export interface ContractKit {
  env(): ContractEnv;
  session(): PsaSession;
  advanced(): PsaSession;
  ticket(over?: Partial<NewTicket>): NewTicket;
  device(over?: Partial<AssetSource>): AssetSource;
}

/** Awaits a rejection and checks it is a PsaError with one of the codes. */
export async function rejectsWith(p: Promise<unknown>, codes: PsaErrorCode[]): Promise<PsaError> {
  const e = await p.then(
    () => new Error("expected a rejection, the call succeeded"),
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(PsaError);
  expect(codes).toContain((e as PsaError).code);
  return e as PsaError;
}

/** A device id and name space of its own per run, so reruns against a kept PSA do not collide. */
const RUN = Math.floor(Math.random() * 90_000) + 10_000;

export function connectorContract(name: string, setup: () => Promise<ContractEnv>): void {
  describe(`connector contract: ${name}`, () => {
    let env: ContractEnv | undefined;
    let session: PsaSession;
    let advanced: PsaSession;
    let seq = 0;
    const kit: ContractKit = {
      env: () => env as ContractEnv,
      session: () => session,
      advanced: () => advanced,
      ticket: (over = {}) => {
        seq++;
        return {
          companyId: kit.env().ids.companyWithAssets,
          title: `Contract ticket ${RUN}-${seq}`,
          description: "Opened by the connector contract.",
          status: kit.env().ids.status,
          priority: kit.env().ids.priority,
          assetId: null,
          externalRef: String(RUN * 1000 + seq),
          ...over,
        };
      },
      device: (over = {}) => {
        seq++;
        const id = RUN * 1000 + seq;
        return {
          id,
          hostname: `contract-${RUN}-${seq}`,
          deviceType: "Server",
          ipAddress: "10.0.0.5",
          gateway: "10.0.0.1",
          make: "Dell",
          model: "R650",
          operatingSystem: "Windows Server 2022",
          ram: "64 GB",
          biosName: "Dell BIOS",
          biosVersion: "2.1.3",
          driveInfo: "C: 500 GB",
          lastLoggedUser: "admin",
          serialNumber: `SN-${RUN}-${seq}`,
          warrantyEndDate: "2028-06-30",
          state: "managed",
          ...over,
        };
      },
    };

    beforeAll(async () => {
      env = await setup();
      session = env.connector.open(env.settings, env.secret, env.ctx);
      advanced = env.connector.open(env.advancedSettings, env.secret, env.ctx);
    });
    afterAll(async () => {
      await env?.teardown();
    });

    describe("the connector", () => {
      it("names itself in its manifest, with unique settings fields", () => {
        const c = kit.env().connector;
        expect(c.manifest.system).toBe(c.system);
        expect(c.manifest.label).toBe(c.label);
        const keys = c.manifest.fields.map((f) => `${f.section}.${f.key}`);
        expect(new Set(keys).size).toBe(keys.length);
        // A pick-list is offered live (`options`) or has fixed `choices`.
        for (const f of c.manifest.fields.filter((x) => x.kind === "picklist"))
          expect(Boolean(f.options) || (f.choices?.length ?? 0) > 0, f.key).toBe(true);
        expect(session.system).toBe(c.system);
        expect(session.label).toBe(c.label);
      });

      it("opens a session with the settings and a secret; without a secret the credentials check fails", () => {
        const { connector, settings } = kit.env();
        expect(connector.missing(settings, true)).toBeNull();
        const check = connector.missing(settings, false);
        expect(check).toMatchObject({ name: "credentials", ok: false });
        expect(check?.message).toBeTruthy();
      });

      it("keys a session by its credentials", () => {
        const { connector, settings, secret, ctx } = kit.env();
        expect(connector.open(settings, secret, ctx).key).toBe(session.key);
        expect(connector.open(settings, `${secret}-other`, ctx).key).not.toBe(session.key);
      });

      it("counts the requests it makes", async () => {
        const before = session.stats().requests;
        await session.tickets.get(kit.env().ids.missingTicket);
        expect(session.stats().requests).toBeGreaterThan(before);
      });

      it("answers a wrong secret with a PsaError AUTH on every port", async () => {
        const { connector, settings, secret, ctx, ids } = kit.env();
        const wrong = connector.open(settings, `${secret}-wrong`, ctx);
        await rejectsWith(wrong.tickets.get(ids.missingTicket), ["AUTH"]);
        await rejectsWith(wrong.assets.listByCompany(ids.companyWithAssets), ["AUTH"]);
        await rejectsWith(wrong.options(), ["AUTH"]);
      });
    });

    contractTickets(kit);
    contractNotes(kit);
    contractAssets(kit);
    contractWebhooks(kit);
    contractOptionsAndValidate(kit);
    contractCompanies(kit);
  });
}

function contractTickets(kit: ContractKit): void {
  describe("tickets", () => {
    it("creates a ticket in the NOC queue and reads it back as sent", async () => {
      const t = kit.ticket();
      const id = await kit.session().tickets.create(t);
      expect(Number.isInteger(id) && id > 0).toBe(true);
      const got = await kit.session().tickets.get(id);
      expect(got).toMatchObject({
        id,
        title: t.title,
        description: t.description,
        status: t.status,
        priority: t.priority,
        assetId: null,
        companyId: t.companyId,
        inNocQueue: true,
        externalRef: t.externalRef,
      });
      expect(got?.number).toBeTruthy();
      expect(Number.isNaN(Date.parse(got?.lastActivity ?? ""))).toBe(false);
    });

    it("gives each create its own id", async () => {
      const a = await kit.session().tickets.create(kit.ticket());
      const b = await kit.session().tickets.create(kit.ticket());
      expect(a).not.toBe(b);
    });

    it("keeps the asset a ticket is about", async () => {
      const { ids } = kit.env();
      const d = kit.device();
      const assetId = await kit
        .session()
        .assets.create(ids.companyWithAssets, kit.session().assets.desired(d), d);
      const id = await kit.session().tickets.create(kit.ticket({ assetId }));
      expect((await kit.session().tickets.get(id))?.assetId).toBe(assetId);
    });

    it("answers null for a ticket that does not exist", async () => {
      expect(await kit.session().tickets.get(kit.env().ids.missingTicket)).toBeNull();
    });

    it("finds a ticket by its external reference, and null for an unknown one", async () => {
      const t = kit.ticket();
      const id = await kit.session().tickets.create(t);
      expect((await kit.session().tickets.findByExternalRef(t.externalRef))?.id).toBe(id);
      expect(await kit.session().tickets.findByExternalRef(`${t.externalRef}999`)).toBeNull();
    });

    it("updates only the fields it is given", async () => {
      const { ids } = kit.env();
      const t = kit.ticket();
      const id = await kit.session().tickets.create(t);
      const before = await kit.session().tickets.get(id);
      await kit.session().tickets.update(id, { status: ids.otherStatus, priority: ids.otherPriority });
      const after = await kit.session().tickets.get(id);
      expect(after).toMatchObject({
        title: t.title,
        description: t.description,
        status: ids.otherStatus,
        priority: ids.otherPriority,
      });
      expect(Date.parse(after?.lastActivity ?? "")).toBeGreaterThanOrEqual(
        Date.parse(before?.lastActivity ?? ""),
      );
      await kit.session().tickets.update(id, { title: `${t.title} (edited)`, description: "Edited." });
      expect(await kit.session().tickets.get(id)).toMatchObject({
        title: `${t.title} (edited)`,
        description: "Edited.",
        status: ids.otherStatus,
      });
    });

    it("refuses an update of a ticket that does not exist with NOT_FOUND", async () => {
      const e = await rejectsWith(kit.session().tickets.update(kit.env().ids.missingTicket, { title: "x" }), [
        "NOT_FOUND",
      ]);
      expect(e.retryable).toBe(false);
    });

    it("refuses a create in a company that does not exist, finally and without creating", async () => {
      const t = kit.ticket({ companyId: kit.env().ids.missingCompany });
      const e = await rejectsWith(kit.session().tickets.create(t), ["INVALID_REQUEST"]);
      expect(e.retryable).toBe(false);
      expect(e.ambiguous).toBe(false);
      expect(await kit.session().tickets.findByExternalRef(t.externalRef)).toBeNull();
    });

    it("refuses a create without a required field or with an unknown status", async () => {
      const noTitle = { ...kit.ticket(), title: undefined } as unknown as NewTicket;
      expect((await rejectsWith(kit.session().tickets.create(noTitle), ["INVALID_REQUEST"])).retryable).toBe(
        false,
      );
      const noStatus = kit.ticket({ status: 987_654 });
      await rejectsWith(kit.session().tickets.create(noStatus), ["INVALID_REQUEST"]);
      expect(await kit.session().tickets.findByExternalRef(noStatus.externalRef)).toBeNull();
    });

    it("lists tickets changed since a time, and the ones asked for that left the NOC queue", async () => {
      const s = kit.session();
      const id = await s.tickets.create(kit.ticket());
      const created = await s.tickets.get(id);
      const since = new Date(Date.parse(created?.lastActivity as string));
      const changed = await s.tickets.changedSince(since, []);
      const mine = changed.find((c) => c.id === id);
      expect(mine).toBeDefined();
      expect(Date.parse(mine?.lastActivity as string)).toBe(Date.parse(created?.lastActivity as string));
      // A listing that carries the ticket carries it as `get` reads it (a poll compares it with the shadow).
      if (mine?.ticket) expect(mine.ticket).toEqual(created);
      const later = new Date(since.getTime() + 3_600_000);
      expect((await s.tickets.changedSince(later, [id])).map((c) => c.id)).not.toContain(id);

      await kit.env().psa.moveOutOfQueue(id);
      expect((await s.tickets.get(id))?.inNocQueue).toBe(false);
      expect((await s.tickets.changedSince(since, [])).map((c) => c.id)).not.toContain(id);
      expect((await s.tickets.changedSince(since, [id])).map((c) => c.id)).toContain(id);
    });

    it("does not duplicate a create whose answer was lost after it was applied", async () => {
      const s = kit.session();
      const t = kit.ticket();
      const since = new Date(Date.now() - 60_000);
      const undo = await kit.env().psa.loseNextCreate("ticket");
      let id: number;
      try {
        id = await s.tickets.create(t);
      } finally {
        await undo();
      }
      expect((await s.tickets.findByExternalRef(t.externalRef))?.id).toBe(id);
      const withRef: number[] = [];
      for (const c of await s.tickets.changedSince(since, [])) {
        const got = await s.tickets.get(c.id);
        if (got?.externalRef === t.externalRef) withRef.push(c.id);
      }
      expect(withRef).toEqual([id]);
    });
  });
}

function contractNotes(kit: ContractKit): void {
  describe("notes", () => {
    it("adds published and internal notes that read back with their text and visibility", async () => {
      const s = kit.session();
      const ticketId = await s.tickets.create(kit.ticket());
      const published = await s.tickets.addNote(
        ticketId,
        { text: "Published update.", published: true },
        new Set(),
      );
      const internal = await s.tickets.addNote(
        ticketId,
        { text: "Internal remark.", published: false },
        new Set(),
      );
      expect(published).not.toBe(internal);
      const notes = await s.tickets.notes(ticketId);
      expect(notes.find((n) => n.id === published)).toMatchObject({
        ticketId,
        text: "Published update.",
        published: true,
      });
      expect(notes.find((n) => n.id === internal)).toMatchObject({
        ticketId,
        text: "Internal remark.",
        published: false,
      });
      for (const n of notes) expect(typeof n.author).toBe("string");
    });

    it("reads notes written in the PSA", async () => {
      const s = kit.session();
      const ticketId = await s.tickets.create(kit.ticket());
      const a = await kit.env().psa.addNote(ticketId, "Technician: rebooted the server.", true);
      const b = await kit.env().psa.addNote(ticketId, "Technician: internal detail.", false);
      const notes = await s.tickets.notes(ticketId);
      expect(notes.find((n) => n.id === a)?.text).toContain("Technician: rebooted the server.");
      expect(notes.find((n) => n.id === a)?.published).toBe(true);
      expect(notes.find((n) => n.id === b)?.published).toBe(false);
      expect(notes.find((n) => n.id === a)?.author).toBeTruthy();
    });

    it("has no notes for a new ticket", async () => {
      const ticketId = await kit.session().tickets.create(kit.ticket());
      expect(await kit.session().tickets.notes(ticketId)).toEqual([]);
    });

    it("names a note's ticket, and null for a note that does not exist", async () => {
      const s = kit.session();
      const ticketId = await s.tickets.create(kit.ticket());
      const noteId = await s.tickets.addNote(
        ticketId,
        { text: "Which ticket?", published: false },
        new Set(),
      );
      expect(await s.tickets.noteTicket(noteId)).toBe(ticketId);
      expect(await s.tickets.noteTicket(kit.env().ids.missingNote)).toBeNull();
    });

    it("refuses a note on a ticket that does not exist, finally", async () => {
      const e = await rejectsWith(
        kit
          .session()
          .tickets.addNote(kit.env().ids.missingTicket, { text: "Nowhere.", published: false }, new Set()),
        ["NOT_FOUND", "INVALID_REQUEST"],
      );
      expect(e.retryable).toBe(false);
    });

    it("after a lost answer takes the note sent, not a known one with the same text, and never duplicates", async () => {
      const s = kit.session();
      const ticketId = await s.tickets.create(kit.ticket());
      const text = "Same words twice.";
      const first = await s.tickets.addNote(ticketId, { text, published: false }, new Set());
      const undo = await kit.env().psa.loseNextCreate("note");
      let second: number;
      try {
        second = await s.tickets.addNote(ticketId, { text, published: false }, new Set([first]));
      } finally {
        await undo();
      }
      expect(second).not.toBe(first);
      const same = (await s.tickets.notes(ticketId)).filter((n) => n.text === text).map((n) => n.id);
      expect(same.sort((a, b) => a - b)).toEqual([first, second].sort((a, b) => a - b));
    });
  });
}

function contractOptionsAndValidate(kit: ContractKit): void {
  describe("options", () => {
    it("offers statuses and priorities with ids and labels", async () => {
      const o = await kit.session().options();
      const { ids } = kit.env();
      for (const list of [o.statuses, o.priorities]) {
        expect(list.length).toBeGreaterThan(0);
        for (const v of list) {
          expect(Number.isInteger(v.id)).toBe(true);
          expect(typeof v.label).toBe("string");
          expect(v.label).not.toBe("");
          expect(typeof v.isActive).toBe("boolean");
        }
      }
      expect(o.statuses.map((v) => v.id)).toEqual(expect.arrayContaining([ids.status, ids.otherStatus]));
      expect(o.priorities.map((v) => v.id)).toEqual(
        expect.arrayContaining([ids.priority, ids.otherPriority]),
      );
    });

    it("reads the ticket statuses and priorities alone as the full pick-lists have them", async () => {
      const o = await kit.session().options();
      const t = await kit.session().ticketValues();
      const { ids } = kit.env();
      expect(t.priorities).toEqual(o.priorities);
      expect(t.statuses.length).toBeGreaterThan(0);
      for (const v of t.statuses) expect(o.statuses).toContainEqual(v);
      expect(t.statuses.map((v) => v.id)).toEqual(expect.arrayContaining([ids.status, ids.otherStatus]));
    });

    it("offers every live pick-list its manifest names", async () => {
      const o = await kit.session().options();
      for (const f of kit.env().connector.manifest.fields.filter((x) => x.kind === "picklist" && !x.choices))
        expect(Object.keys(o), `options for ${f.key}`).toContain(f.options);
    });
  });

  describe("validate", () => {
    const input = async (over: Partial<ValidateInput> = {}): Promise<ValidateInput> => {
      const { ids } = kit.env();
      const o = await kit.session().options();
      const label = (list: typeof o.statuses, id: number) => list.find((v) => v.id === id)?.label ?? "";
      return {
        scope: "all",
        ticketingEnabled: true,
        devicesEnabled: true,
        advanced: false,
        clients: [
          { code: "C1", name: "Contract client", psaCompanyId: ids.companyWithAssets, deviceCount: 1 },
        ],
        mappings: {
          statuses: [{ table: "status-forward", psaId: ids.status, psaLabel: label(o.statuses, ids.status) }],
          priorities: [{ psaId: ids.priority, psaLabel: label(o.priorities, ids.priority) }],
        },
        refusals: [],
        ...over,
      };
    };

    it("passes with working settings, the credentials check first", async () => {
      const r = await kit.session().validate(await input());
      expect(r.checks.filter((c) => !c.ok)).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.checks[0]).toMatchObject({ name: "credentials", ok: true });
    });

    it("fails a check, with a fix, for a client mapped to a company that does not exist", async () => {
      const { ids } = kit.env();
      const r = await kit.session().validate(
        await input({
          clients: [{ code: "C9", name: "Gone", psaCompanyId: ids.missingCompany, deviceCount: 3 }],
        }),
      );
      expect(r.ok).toBe(false);
      const failed = r.checks.filter((c) => !c.ok);
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((c) => c.name !== "credentials")).toBe(true);
      expect(failed.some((c) => c.fix)).toBe(true);
    });

    it("fails a check for a status mapping row the PSA does not have", async () => {
      const r = await kit.session().validate(
        await input({
          mappings: {
            statuses: [{ table: "status-forward", psaId: 987_654, psaLabel: "Gone" }],
            priorities: [],
          },
        }),
      );
      expect(r.ok).toBe(false);
      expect(r.checks.some((c) => !c.ok && c.name !== "credentials")).toBe(true);
    });

    it("turns a wrong secret into a failed credentials check, not a throw", async () => {
      const { connector, settings, secret, ctx } = kit.env();
      const wrong = connector.open(settings, `${secret}-wrong`, ctx);
      const r = await wrong.validate(await input());
      expect(r.ok).toBe(false);
      expect(r.checks.find((c) => c.name === "credentials")).toMatchObject({ ok: false });
    });
  });
}

function contractAssets(kit: ContractKit): void {
  describe("assets", () => {
    const create = async (s: PsaSession, d: AssetSource) =>
      s.assets.create(kit.env().ids.companyWithAssets, s.assets.desired(d), d);

    it("lists a company's assets, and none for a company without", async () => {
      const { ids } = kit.env();
      const list = await kit.session().assets.listByCompany(ids.companyWithAssets);
      expect(list.length).toBeGreaterThan(0);
      expect(new Set(list.map((a) => a.id)).size).toBe(list.length);
      for (const a of list) {
        expect(a.companyId).toBe(ids.companyWithAssets);
        expect(typeof a.active).toBe("boolean");
      }
      expect(await kit.session().assets.listByCompany(ids.companyWithoutAssets)).toEqual([]);
    });

    it("reads an asset by id as it is listed, and null for one that does not exist", async () => {
      const s = kit.session();
      const d = kit.device();
      const id = await create(s, d);
      const listed = (await s.assets.listByCompany(kit.env().ids.companyWithAssets)).find((a) => a.id === id);
      const got = await s.assets.get(id);
      expect(listed).toBeDefined();
      const pick = (a: PsaAsset | null | undefined) =>
        a && [a.id, a.companyId, a.name, a.serialNumber, a.active, a.portalDeviceId];
      expect(pick(got)).toEqual(pick(listed));
      const other = s.assets.desired(kit.device());
      expect(s.assets.diff(got!, other)).toEqual(s.assets.diff(listed!, other));
      expect(await s.assets.get(kit.env().ids.missingAsset)).toBeNull();
    });

    it("creates a device's asset that then has nothing to change", async () => {
      const s = kit.session();
      const d = kit.device();
      const id = await create(s, d);
      const got = await s.assets.get(id);
      expect(got).toMatchObject({
        id,
        companyId: kit.env().ids.companyWithAssets,
        name: d.hostname,
        serialNumber: d.serialNumber,
        active: true,
      });
      expect(s.assets.diff(got!, s.assets.desired(d))).toEqual({});
    });

    it("in advanced mode carries the portal device id and the device's details", async () => {
      const a = kit.advanced();
      const d = kit.device();
      const desired = a.assets.desired(d);
      expect(desired).not.toEqual(kit.session().assets.desired(d));
      const id = await create(a, d);
      const got = await a.assets.get(id);
      expect(got?.portalDeviceId).toBe(d.id);
      expect(got?.custom[PORTAL_DEVICE_ID_FIELD]).toBe(String(d.id));
      expect(a.assets.diff(got!, desired)).toEqual({});
      const listed = await a.assets.listByCompany(kit.env().ids.companyWithAssets);
      expect(listed.find((x) => x.id === id)?.portalDeviceId).toBe(d.id);
    });

    it("describes the desired asset purely, as JSON that gives the same diff", async () => {
      for (const s of [kit.session(), kit.advanced()]) {
        const d = kit.device();
        const x = s.assets.desired(d);
        expect(s.assets.desired(d)).toEqual(x);
        const stored = JSON.parse(JSON.stringify(x)) as typeof x;
        expect(stored).toEqual(x);
        const asset = (await s.assets.listByCompany(kit.env().ids.companyWithAssets))[0]!;
        expect(s.assets.diff(asset, stored)).toEqual(s.assets.diff(asset, x));
      }
    });

    it("writes a diff, after which the asset wants nothing (simple and advanced)", async () => {
      for (const s of [kit.session(), kit.advanced()]) {
        const d1 = kit.device();
        const id = await create(s, d1);
        const d2 = {
          ...d1,
          hostname: `${d1.hostname}-renamed`,
          serialNumber: `${d1.serialNumber}-B`,
          ram: "128 GB",
          warrantyEndDate: "2029-01-31",
        };
        const diff = s.assets.diff((await s.assets.get(id))!, s.assets.desired(d2));
        expect(Object.keys(diff).length).toBeGreaterThan(0);
        await s.assets.update(id, diff);
        const after = await s.assets.get(id);
        expect(after).toMatchObject({ name: d2.hostname, serialNumber: d2.serialNumber, active: true });
        expect(s.assets.diff(after!, s.assets.desired(d2))).toEqual({});
      }
    });

    it("tells whether the portal wants a differing value the same as before", async () => {
      const s = kit.advanced();
      const d1 = kit.device();
      const d2 = { ...d1, hostname: `${d1.hostname}-x`, ram: "8 GB" };
      const id = await create(s, d1);
      const [a, b] = [s.assets.desired(d1), s.assets.desired(d2)];
      const keys = Object.keys(s.assets.diff((await s.assets.get(id))!, b));
      expect(keys.length).toBeGreaterThanOrEqual(2);
      for (const k of keys) {
        expect(s.assets.sameWanted(k, a, b), k).toBe(false);
        expect(s.assets.sameWanted(k, a, a), k).toBe(true);
      }
    });

    it("sets an asset inactive through its deactivation, and knows when a diff does", async () => {
      const s = kit.session();
      const d = kit.device();
      const id = await create(s, d);
      const asset = (await s.assets.get(id))!;
      const off = s.assets.deactivation(asset);
      expect(s.assets.deactivates(asset, off)).toBe(true);
      expect(s.assets.deactivates(asset, {})).toBe(false);
      for (const state of ["unmanaged", "discovered"])
        expect(s.assets.deactivates(asset, s.assets.diff(asset, s.assets.desired({ ...d, state })))).toBe(
          true,
        );
      expect(s.assets.deactivates(asset, s.assets.diff(asset, s.assets.desired(d)))).toBe(false);
      await s.assets.update(id, off);
      const after = (await s.assets.get(id))!;
      expect(after.active).toBe(false);
      expect(s.assets.deactivates(after, s.assets.deactivation(after))).toBe(false);
      expect(s.assets.diff(after, s.assets.desired({ ...d, state: "unmanaged" }))).toEqual({});
    });

    it("refuses an update of an asset that does not exist with NOT_FOUND", async () => {
      const s = kit.session();
      const asset = (await s.assets.listByCompany(kit.env().ids.companyWithAssets))[0]!;
      const e = await rejectsWith(s.assets.update(kit.env().ids.missingAsset, s.assets.deactivation(asset)), [
        "NOT_FOUND",
      ]);
      expect(e.retryable).toBe(false);
    });

    it("refuses a create in a company that does not exist, finally", async () => {
      const s = kit.session();
      const d = kit.device();
      const e = await rejectsWith(s.assets.create(kit.env().ids.missingCompany, s.assets.desired(d), d), [
        "INVALID_REQUEST",
      ]);
      expect(e.retryable).toBe(false);
    });

    it("does not duplicate a create whose answer was lost after it was applied (simple and advanced)", async () => {
      for (const s of [kit.session(), kit.advanced()]) {
        const d = kit.device();
        const undo = await kit.env().psa.loseNextCreate("asset");
        let id: number;
        try {
          id = await create(s, d);
        } finally {
          await undo();
        }
        const same = (await s.assets.listByCompany(kit.env().ids.companyWithAssets)).filter(
          (a) => a.name === d.hostname,
        );
        expect(same.map((a) => a.id)).toEqual([id]);
      }
    });
  });
}

function contractWebhooks(kit: ContractKit): void {
  describe("webhooks", () => {
    const secret = "contract-webhook-secret-0123456789abcdef";
    const sorted = (hooks: WebhookRef[]) =>
      [...hooks].sort((a, b) => a.entity.localeCompare(b.entity) || a.id - b.id);
    const idsOf = (hooks: WebhookRef[]) => hooks.map((h) => h.id).sort((a, b) => a - b);
    /** Headers as Node hands them to the route: names in lower case. */
    const received = (raw: Buffer) =>
      Object.fromEntries(
        Object.entries(kit.env().deliveries.sign(raw, secret)).map(([k, v]) => [k.toLowerCase(), v]),
      );
    let hooks: WebhookRef[] = [];

    it("registers one subscription per entity; registering again keeps the same ones", async () => {
      const w = kit.session().webhooks;
      const { deliveries, ctx } = kit.env();
      const o = { partnerId: ctx.partnerId, url: deliveries.url, secret };
      const first = await w.register({ ...o, known: [] });
      expect(first.failures).toEqual([]);
      expect(first.hooks.length).toBeGreaterThan(0);
      const entities = first.hooks.map((h) => h.entity);
      expect(new Set(entities).size).toBe(entities.length);
      hooks = first.hooks;
      const again = await w.register({ ...o, known: first.hooks });
      expect(again.failures).toEqual([]);
      expect(sorted(again.hooks)).toEqual(sorted(first.hooks));
      // Forgotten ids: found again by URL or name, not copied.
      const forgotten = await w.register({ ...o, known: [] });
      expect(sorted(forgotten.hooks)).toEqual(sorted(first.hooks));
      if (deliveries.subscriptions)
        expect(idsOf(await deliveries.subscriptions())).toEqual(idsOf(first.hooks));
    });

    it("unregisters the subscriptions", async () => {
      expect(hooks.length).toBeGreaterThan(0);
      expect(await kit.session().webhooks.unregister(hooks)).toEqual([]);
      const { deliveries } = kit.env();
      if (deliveries.subscriptions) expect(await deliveries.subscriptions()).toEqual([]);
    });

    // Deliveries are verified and read by a session's port and, without credentials, by the connector.
    const receivers: Array<[string, () => WebhookReceiver]> = [
      ["the session", () => kit.session().webhooks],
      ["the connector, without a session", () => kit.env().connector.webhooks],
    ];
    for (const [where, receiver] of receivers) {
      describe(where, () => {
        it("verifies a signature over the exact bytes, with any of the secrets", async () => {
          const w = receiver();
          const raw = Buffer.from(JSON.stringify(kit.env().deliveries.ticketEvent(42)));
          const headers = received(raw);
          expect(await w.verify(raw, headers, [secret])).toEqual({ ok: true });
          expect((await w.verify(raw, headers, ["an-older-secret", secret])).ok).toBe(true);
          if (!kit.env().deliveries.ownSigningKey) {
            const wrong = await w.verify(raw, headers, ["another-secret"]);
            expect(wrong.ok).toBe(false);
            expect(wrong.ok ? "" : wrong.error).toBeTruthy();
          }
          expect((await w.verify(Buffer.concat([raw, Buffer.from(" ")]), headers, [secret])).ok).toBe(false);
          expect((await w.verify(raw, {}, [secret])).ok).toBe(false);
          expect((await w.verify(raw, headers, [])).ok).toBe(false);
        });

        it("parses ticket and note deliveries into events, the same key for the same delivery", () => {
          const w = receiver();
          const { deliveries } = kit.env();
          const body = JSON.parse(JSON.stringify(deliveries.ticketEvent(101))) as Record<string, unknown>;
          const t = w.parse(body);
          expect(t.kind).toBe("events");
          const [ev] = t.kind === "events" ? t.events : [];
          expect(ev).toMatchObject({ entityType: "Ticket", psaId: 101, psaTicketId: 101 });
          expect(ev?.dedupKey).toBeTruthy();
          const twice = w.parse(body);
          expect(twice.kind === "events" ? twice.events[0]?.dedupKey : null).toBe(ev?.dedupKey);
          const n = w.parse(
            JSON.parse(JSON.stringify(deliveries.noteEvent(202, 101))) as Record<string, unknown>,
          );
          expect(n.kind === "events" ? n.events[0] : n).toMatchObject(
            deliveries.notesAsTicketEvents
              ? { entityType: "Ticket", psaId: 101, psaTicketId: 101 }
              : { entityType: "TicketNote", psaId: 202, psaTicketId: 101 },
          );
        });

        it("names the field that makes a body invalid", () => {
          const w = receiver();
          const { invalid } = kit.env().deliveries;
          expect(invalid.length).toBeGreaterThan(0);
          for (const { body, field } of invalid) {
            const p = w.parse(body);
            expect(p, JSON.stringify(body)).toMatchObject({ kind: "invalid", field });
            expect(p.kind === "invalid" ? p.error : "").toBeTruthy();
          }
        });

        it("says why a base URL cannot receive deliveries", () => {
          const w = receiver();
          expect(w.urlProblem(undefined, false)).toBeTruthy();
          expect(w.urlProblem("https://nocbridge.example.com", false)).toBeNull();
        });
      });
    }

    it("reports its Validate items", async () => {
      const checks = await kit.session().webhooks.checks(
        {
          mode: "polling",
          reason: "there is no public URL",
          url: null,
          webhooks: [],
          unsubscribedFields: [],
          pollIntervalMinutes: 5,
          checkedAt: null,
        },
        "there is no public URL",
      );
      expect(Array.isArray(checks)).toBe(true);
      for (const c of checks) {
        expect(typeof c.name).toBe("string");
        expect(typeof c.ok).toBe("boolean");
        expect(c.message).toBeTruthy();
      }
    });
  });
}
