import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { App } from "../../src/api/app.js";
import { DEMO_IDS } from "../../src/emulators/autotask/seed.js";
import { SYSTEM_ACTOR } from "../../src/portal/access.js";
import type { TicketPatch } from "../../src/portal/service.js";
import type { MappingEntry } from "../../src/portal/types.js";
import type { AutotaskApi } from "../../src/psa/autotask/api.js";
import type { AutotaskCredentials as PsaCredentials } from "../../src/psa/autotask/client.js";
import { toPsaTicket } from "../../src/psa/autotask/tickets.js";
import type { Ticket as AtTicketRow } from "../../src/psa/autotask/types.js";
import { portalSide, psaSide, type Shadow } from "../../src/sync/tickets/shadow.js";
import {
  demoTicketing,
  fastClient,
  startTestEmulator,
  type TestEmulator,
  tenant,
} from "../helpers/autotask.js";
import { openTestServices, STORES, type StoreKind, type TestEnv, testApp } from "../helpers/services.js";

/**
 * Model-based property test of the two-way ticket sync (docs/reliability.md, Echo prevention; How this is
 * tested): random interleavings of edits and notes on both sides, worker drains, webhook flushes, polls,
 * request faults on Autotask writes (429, 500, timeout after apply) and delivery faults (webhooks dropped,
 * duplicated, delayed, reordered). The worker is paused, so the interleaving is the generator's. Each run
 * then settles (faults off, flush, poll, drains, parked errors retried) and must end:
 *  (a) converged: every linked pair agrees on title, description, status and priority (see `agree`),
 *      and its last synced state (shadow) is what both sides hold;
 *  (b) with one Autotask ticket per portal ticket (externalID unique) and one portal ticket per
 *      Autotask ticket;
 *  (c) with every note once on each side, with its visibility;
 *  (d) with at most one write on one side per edit or note on the other;
 *  and quiet: one more round of deliveries, poll and drain writes nothing.
 *
 * One emulator and one services instance per store; each run uses fresh tickets of one partner.
 * NOCBRIDGE_PROPERTY_RUNS lowers the number of runs for local work (default 200 per store). A failure
 * prints fast-check's seed, path and replayPath; NOCBRIDGE_PROPERTY_SEED, NOCBRIDGE_PROPERTY_PATH and
 * NOCBRIDGE_PROPERTY_REPLAY_PATH run that counterexample again; NOCBRIDGE_PROPERTY_VERBOSE=1 prints how
 * many runs reached each hard case.
 */
const RUNS = Number(process.env.NOCBRIDGE_PROPERTY_RUNS ?? 200);
const replaySeed = process.env.NOCBRIDGE_PROPERTY_SEED;
const replayPath = process.env.NOCBRIDGE_PROPERTY_PATH ?? "";
const replayCommands = process.env.NOCBRIDGE_PROPERTY_REPLAY_PATH;

type Creds = { username: string; secret: string; integrationCode: string };
type AtTicket = AtTicketRow & { id: number; title: string; status: number; priority: number };
interface AtNote {
  id: number;
  ticketID: number;
  title: string;
  description: string;
  publish: number;
}

// The values the generator uses. Portal statuses with a forward row (New 1, Handed Over to MSP 9) and
// Autotask statuses with a reverse row (Information 29, Action Required 28, Assigned to NOC 30,
// Complete 5): every edit is mappable, so every run must converge.
const PORTAL_STATUSES = [1, 9] as const;
const AT_STATUSES = [29, 28, 30, 5] as const;
const PORTAL_PRIORITIES = [8, 9, 10, 11] as const;
const AT_PRIORITIES = [4, 1, 2, 7, 8] as const;
const TITLES = ["Disk full", "CPU high", "Backup failed", "Link down"] as const;
const DESCRIPTIONS = ["", "first look", "checked the logs", "waiting on vendor"] as const;

/** Writes nocbridge asks its Autotask client for (one per write, however often it is retried). */
const atCalls = { createTicket: 0, updateTicket: 0, createNote: 0 };
/** Portal writes the sync applies (origin "psa"); system notes are its own log lines (conflicts). */
const portalCalls = { createTicket: 0, updateTicket: 0, pulledNote: 0, systemNote: 0 };

/** The test client with fast retries, wrapped so that every write nocbridge makes is counted. */
function countingClient(creds: PsaCredentials): AutotaskApi {
  const client = fastClient(creds);
  return new Proxy(client, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== "function") return v;
      const fn = v as (...a: unknown[]) => unknown;
      return (...args: unknown[]) => {
        // Calls made inside the client (createIdempotent → create) reach the target, not this proxy.
        const creates = prop === "create" || prop === "createIdempotent";
        const childCreates = prop === "createChild" || prop === "createChildIdempotent";
        if (creates && args[0] === "Tickets") atCalls.createTicket++;
        if (prop === "update" && args[0] === "Tickets") atCalls.updateTicket++;
        if (childCreates && args[0] === "Tickets" && args[2] === "Notes") atCalls.createNote++;
        return fn.apply(target, args);
      };
    },
  });
}

// ------------------------------------------------------------------ actions

/** One step of a run, as plain data: what the generator produces and what a regression example lists. */
type Action =
  | { t: "portalEdit"; pair: number; patch: TicketPatch }
  | { t: "atEdit"; pair: number; patch: Record<string, string | number> }
  | { t: "portalNote"; pair: number; published: boolean }
  | { t: "atNote"; pair: number; published: boolean }
  /** The same field edited on both sides between two drains, in the order given. */
  | {
      t: "conflict";
      pair: number;
      portal: TicketPatch;
      at: Record<string, string | number>;
      portalFirst: boolean;
    }
  | { t: "drain" }
  | { t: "flush" }
  | { t: "poll" }
  | { t: "requestFaults"; share429: number; share500: number; shareTimeoutAfterApply: number }
  | {
      t: "deliveryFaults";
      deliveryDrop: number;
      deliveryDuplicate: number;
      deliveryDelay: number;
      deliveryReorder: number;
    };

const ZERO_FAULTS = {
  share429: 0,
  share500: 0,
  shareTimeoutAfterApply: 0,
  deliveryDrop: 0,
  deliveryDuplicate: 0,
  deliveryDelay: 0,
  deliveryReorder: 0,
};

const pairArb = fc.nat({ max: 2 });
/** Per field, a portal edit and an Autotask edit of it. */
const FIELD_EDITS = [
  [
    fc.constantFrom(...TITLES).map((title): TicketPatch => ({ title })),
    fc.constantFrom(...TITLES).map((title) => ({ title })),
  ],
  [
    fc.constantFrom(...DESCRIPTIONS).map((description): TicketPatch => ({ description })),
    fc.constantFrom(...DESCRIPTIONS).map((description) => ({ description })),
  ],
  [
    fc.constantFrom(...PORTAL_STATUSES).map((statusId): TicketPatch => ({ statusId })),
    fc.constantFrom(...AT_STATUSES).map((status) => ({ status })),
  ],
  [
    fc.constantFrom(...PORTAL_PRIORITIES).map((priorityId): TicketPatch => ({ priorityId })),
    fc.constantFrom(...AT_PRIORITIES).map((priority) => ({ priority })),
  ],
] as const;
const requestFaultsArb = fc.record({
  share429: fc.constantFrom(0, 0.25),
  share500: fc.constantFrom(0, 0.25),
  shareTimeoutAfterApply: fc.constantFrom(0, 0.25),
});
const deliveryFaultsArb = fc.record({
  deliveryDrop: fc.constantFrom(0, 0.5),
  deliveryDuplicate: fc.constantFrom(0, 0.5),
  deliveryDelay: fc.constantFrom(0, 0.5),
  deliveryReorder: fc.constantFrom(0, 0.5, 1),
});
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    t: fc.constant("portalEdit" as const),
    pair: pairArb,
    patch: fc.oneof(...FIELD_EDITS.map(([portal]) => portal)),
  }),
  fc.record({
    t: fc.constant("atEdit" as const),
    pair: pairArb,
    patch: fc.oneof(...FIELD_EDITS.map(([, at]) => at)),
  }),
  fc
    .tuple(pairArb, fc.oneof(...FIELD_EDITS.map(([portal, at]) => fc.tuple(portal, at))), fc.boolean())
    .map(([pair, [portal, at], portalFirst]): Action => ({ t: "conflict", pair, portal, at, portalFirst })),
  fc.record({ t: fc.constant("portalNote" as const), pair: pairArb, published: fc.boolean() }),
  fc.record({ t: fc.constant("atNote" as const), pair: pairArb, published: fc.boolean() }),
  fc.constant({ t: "drain" as const }),
  fc.constant({ t: "flush" as const }),
  fc.constant({ t: "poll" as const }),
  requestFaultsArb.map((f): Action => ({ t: "requestFaults", ...f })),
  deliveryFaultsArb.map((f): Action => ({ t: "deliveryFaults", ...f })),
);

/** What a run starts from: tickets made in the portal and in Autotask, linked by a first drain or not. */
interface Setup {
  portal: Array<{ title: string; statusId: number; priorityId: number }>;
  autotask: Array<{ title: string; status: number; priority: number }>;
  linked: boolean;
  /** Request faults in force from the start (the creates face them too), or none. */
  faults: { share429: number; share500: number; shareTimeoutAfterApply: number } | null;
  /** Webhook delivery faults in force from the start, or none. */
  deliveries: {
    deliveryDrop: number;
    deliveryDuplicate: number;
    deliveryDelay: number;
    deliveryReorder: number;
  } | null;
  /** Seed of the emulator's fault streams, so a failing run replays with the same faults. */
  faultSeed: number;
}

const setupArb: fc.Arbitrary<Setup> = fc.record({
  portal: fc.array(
    fc.record({
      title: fc.constantFrom(...TITLES),
      statusId: fc.constantFrom(...PORTAL_STATUSES),
      priorityId: fc.constantFrom(...PORTAL_PRIORITIES),
    }),
    { minLength: 1, maxLength: 2 },
  ),
  autotask: fc.array(
    fc.record({
      title: fc.constantFrom(...TITLES),
      status: fc.constantFrom(30, 28, 29),
      priority: fc.constantFrom(...AT_PRIORITIES),
    }),
    { maxLength: 1 },
  ),
  linked: fc.nat({ max: 3 }).map((n) => n > 0),
  faults: fc.option(requestFaultsArb, { nil: null, freq: 2 }),
  deliveries: fc.option(deliveryFaultsArb, { nil: null, freq: 4 }),
  faultSeed: fc.nat(),
});

// ------------------------------------------------------------------ the systems under test

interface Harness {
  env: TestEnv;
  at: TestEmulator;
  app: App;
  partnerId: number;
  clientId: number;
  tech: Creds;
  maps: { fwd: MappingEntry[]; rev: MappingEntry[]; pri: MappingEntry[] };
}

interface Pair {
  origin: "portal" | "psa";
  portalId: number | null;
  psaId: number | null;
  portalNotes: Array<{ text: string; published: boolean }>;
  atNotes: Array<{ text: string; published: boolean }>;
}

interface RunState {
  pairs: Pair[];
  counts: { portalEdits: number; portalNotes: number; atEdits: number; atNotes: number; techWrites: number };
  tag: string;
  seq: number;
  /** The request faults in force (the technician's writes lift them for a moment). */
  requestFaults: Record<string, number> | null;
}

type Model = { pairs: number };
type Cmd = fc.AsyncCommand<Model, RunState>;

/** The command that carries out one action (the model only knows the number of pairs). */
function command(h: Harness, a: Action): Cmd {
  return { check: () => true, run: (_m, r) => act(h, r, a), toString: () => JSON.stringify(a) };
}

async function act(h: Harness, r: RunState, a: Action): Promise<void> {
  const { at, env } = h;
  const pair = "pair" in a ? r.pairs[a.pair % r.pairs.length] : undefined;
  // The technician's own writes go out with request faults lifted: the faults are for nocbridge's writes.
  const asTech = async (method: string, path: string, body: unknown): Promise<void> => {
    if (r.requestFaults)
      await at.admin("PUT", "/faults", { share429: 0, share500: 0, shareTimeoutAfterApply: 0 });
    try {
      r.counts.techWrites++;
      await at.api(method, path, body, h.tech);
    } finally {
      if (r.requestFaults) await at.admin("PUT", "/faults", r.requestFaults);
    }
  };
  switch (a.t) {
    case "portalEdit":
      return act(h, r, { t: "conflict", pair: a.pair, portal: a.patch, at: {}, portalFirst: true });
    case "atEdit":
      return act(h, r, { t: "conflict", pair: a.pair, portal: {}, at: a.patch, portalFirst: false });
    case "conflict": {
      const { portalId, psaId } = await resolvePair(h, pair!);
      const portalEdit = async () => {
        if (portalId === null || Object.keys(a.portal).length === 0) return; // not in the portal yet
        await env.services.portal.updateTicket(SYSTEM_ACTOR, portalId, a.portal);
        r.counts.portalEdits++;
      };
      const atEdit = async () => {
        if (psaId === null || Object.keys(a.at).length === 0) return; // not in Autotask yet
        await asTech("PATCH", "Tickets", { id: psaId, ...a.at });
        r.counts.atEdits++;
      };
      for (const edit of a.portalFirst ? [portalEdit, atEdit] : [atEdit, portalEdit]) await edit();
      return;
    }
    case "portalNote": {
      const id = (await resolvePair(h, pair!)).portalId;
      if (id === null) return;
      const text = `portal note ${r.tag}.${r.seq++}`;
      await env.services.portal.addNote(SYSTEM_ACTOR, id, { text, published: a.published });
      pair!.portalNotes.push({ text, published: a.published });
      r.counts.portalNotes++;
      return;
    }
    case "atNote": {
      const id = (await resolvePair(h, pair!)).psaId;
      if (id === null) return;
      const text = `autotask note ${r.tag}.${r.seq++}`;
      await asTech("POST", `Tickets/${id}/Notes`, {
        ticketID: id,
        title: "Partner",
        description: text,
        noteType: 1,
        publish: a.published ? 1 : 2,
      });
      pair!.atNotes.push({ text, published: a.published });
      r.counts.atNotes++;
      return;
    }
    case "drain":
      return drainOnce(h);
    case "flush":
      await at.admin("POST", "/webhooks/flush");
      return;
    case "poll":
      await env.services.sync.pollTickets(h.partnerId);
      return;
    case "requestFaults": {
      const f = {
        share429: a.share429,
        share500: a.share500,
        shareTimeoutAfterApply: a.shareTimeoutAfterApply,
      };
      r.requestFaults = f.share429 + f.share500 + f.shareTimeoutAfterApply > 0 ? f : null;
      await at.admin("PUT", "/faults", f);
      return;
    }
    case "deliveryFaults": {
      const { t: _, ...f } = a;
      await at.admin("PUT", "/faults", f);
      return;
    }
  }
}

/** Fills in a pair's other side once the sync has linked it. */
async function resolvePair(h: Harness, p: Pair): Promise<Pair> {
  const k = h.env.services.db.kysely;
  if (p.portalId === null && p.psaId !== null)
    p.portalId =
      (
        await k
          .selectFrom("ticket_links")
          .select("ticket_id")
          .where("partner_id", "=", h.partnerId)
          .where("psa_ticket_id", "=", p.psaId)
          .executeTakeFirst()
      )?.ticket_id ?? null;
  if (p.psaId === null && p.portalId !== null)
    p.psaId =
      (
        await k
          .selectFrom("ticket_links")
          .select("psa_ticket_id")
          .where("partner_id", "=", h.partnerId)
          .where("ticket_id", "=", p.portalId)
          .where("state", "!=", "creating")
          .executeTakeFirst()
      )?.psa_ticket_id ?? null;
  return p;
}

/** One drain of the paused worker: resumed and paused again at once (no webhook starts another), awaited. */
async function drainOnce(h: Harness): Promise<void> {
  const t = h.env.services.sync.tickets;
  const done = t.resume(h.partnerId);
  t.pause(h.partnerId);
  await done;
  await t.idle(h.partnerId);
}

/** Faults off, deliveries done, one poll, then drains (parked tickets retried) until nothing is left. */
async function settle(h: Harness): Promise<void> {
  const { at, env, partnerId } = h;
  const t = env.services.sync.tickets;
  await at.admin("PUT", "/faults", ZERO_FAULTS);
  await at.admin("POST", "/webhooks/flush");
  await env.services.sync.pollTickets(partnerId);
  for (let i = 0; i < 20; i++) {
    await drainOnce(h);
    const open = await t.errors(partnerId);
    if (open.length === 0 && !(await pending(h))) return;
    // Parked tickets, or tickets waiting out their backoff, are retried, as an operator would.
    for (const e of open) await t.retry(e.id);
  }
  throw new Error(`the sync did not settle: ${JSON.stringify(await t.errors(partnerId))}`);
}

/** Whether an outbox or inbox event of the partner is still unprocessed. */
async function pending(h: Harness): Promise<boolean> {
  const k = h.env.services.db.kysely;
  for (const table of ["ticket_outbox", "ticket_inbox"] as const) {
    const row = await k
      .selectFrom(table)
      .select("id")
      .where("partner_id", "=", h.partnerId)
      .where("processed_at", "is", null)
      .executeTakeFirst();
    if (row) return true;
  }
  return false;
}

async function emuStats(at: TestEmulator) {
  return (await at.stats()) as unknown as {
    byOperation: Record<string, number>;
    rejected: { fault: number; thread: number; threshold: number };
    afterApply: { timeout: number; error500: number };
  };
}

/**
 * A portal value and an Autotask value agree when either table says so: the portal value maps to the
 * Autotask one (forward, or priority read right to left with the first row winning), or the Autotask
 * value maps back to the portal one (reverse, or priority). The tables are not inverses (New →
 * Information but Information → Response due; Assigned to NOC → Response due, which has no forward
 * row; Low and Project → P3 but P3 → Low), so after the portal's value was sent only the first can
 * hold, and after Autotask's value was applied only the second: requiring both, or always the same
 * one, would reject correct states. A pair that disagrees both ways (New ↔ Action Required) fails.
 */
function agree(toPsa: MappingEntry[], toPortal: MappingEntry[], portalValue: number, psaValue: number) {
  const forward = toPsa.find((m) => m.portalId === portalValue)?.psaId;
  const back = toPortal.find((m) => m.psaId === psaValue)?.portalId;
  return forward === psaValue || back === portalValue;
}

// ------------------------------------------------------------------ one run

let runNo = 0;
/** How many runs went through each hard case; a property that never reached one would prove little. */
const tally = {
  runs: 0,
  conflicts: 0,
  refusedWrites: 0,
  unansweredWrites: 0,
  patches: 0,
  notesBothWays: 0,
  webhooksDropped: 0,
  webhooksDuplicated: 0,
  webhooksDelayed: 0,
  webhooksReordered: 0,
};
type HookStats = { dropped: number; duplicated: number; delayed: number; reordered: number };

async function oneRun(h: Harness, setup: Setup, cmds: Iterable<Cmd>): Promise<void> {
  const { at, env, partnerId } = h;
  const portal = env.services.portal;
  const k = env.services.db.kysely;
  const tag = `r${++runNo}`;
  clock.offsetMs += RUN_GAP_MS;
  // Whatever an earlier (failed) run left behind is finished first, so that it is not counted here.
  if ((await pending(h)) || (await env.services.sync.tickets.errors(partnerId)).length > 0) await settle(h);
  // A poll at the new time, so that the server's own timer finds the partner polled and does not poll
  // in the middle of the run: the polls are the generator's.
  await env.services.sync.pollTickets(partnerId);
  // Request faults hit nocbridge's writes only (onlyWrites), so refused requests are refused writes.
  await at.admin("PUT", "/faults", {
    ...ZERO_FAULTS,
    seed: setup.faultSeed,
    retryAfterSeconds: 0,
    onlyWrites: true,
  });
  const statsBefore = await emuStats(at);
  const hooksBefore = await at.admin<HookStats>("GET", "/webhooks");
  const startIso = new Date(clock.now().getTime() - 1).toISOString();
  const ticketsBefore = Number(
    (
      await k
        .selectFrom("tickets")
        .select((eb) => eb.fn.max("id").as("m"))
        .executeTakeFirst()
    )?.m ?? 0,
  );
  for (const key of Object.keys(atCalls)) atCalls[key as keyof typeof atCalls] = 0;
  for (const key of Object.keys(portalCalls)) portalCalls[key as keyof typeof portalCalls] = 0;

  const state: RunState = {
    pairs: [],
    counts: { portalEdits: 0, portalNotes: 0, atEdits: 0, atNotes: 0, techWrites: 0 },
    tag,
    seq: 0,
    requestFaults: null,
  };
  for (const t of setup.portal) {
    const created = await portal.createTicket(SYSTEM_ACTOR, partnerId, {
      clientId: h.clientId,
      title: t.title,
      description: "",
      statusId: t.statusId,
      priorityId: t.priorityId,
    });
    state.counts.portalEdits++;
    state.pairs.push({ origin: "portal", portalId: created.id, psaId: null, portalNotes: [], atNotes: [] });
  }
  for (const t of setup.autotask) {
    const { itemId } = await at.api<{ itemId: number }>(
      "POST",
      "Tickets",
      {
        companyID: DEMO_IDS.companies.AT1,
        queueID: DEMO_IDS.nocQueue,
        description: "",
        issueType: DEMO_IDS.issueType,
        subIssueType: DEMO_IDS.subIssueType,
        ...t,
      },
      h.tech,
    );
    state.counts.techWrites++;
    state.counts.atEdits++;
    state.pairs.push({ origin: "psa", portalId: null, psaId: itemId, portalNotes: [], atNotes: [] });
  }
  if (setup.faults) await act(h, state, { t: "requestFaults", ...setup.faults });
  if (setup.deliveries) await act(h, state, { t: "deliveryFaults", ...setup.deliveries });
  if (setup.linked) {
    await at.admin("POST", "/webhooks/flush");
    await drainOnce(h);
  }

  await fc.asyncModelRun(() => ({ model: { pairs: state.pairs.length }, real: state }), cmds);

  await settle(h);
  const stats = await emuStats(at);
  const delta = (key: string) => (stats.byOperation[key] ?? 0) - (statsBefore.byOperation[key] ?? 0);
  const refused =
    stats.rejected.fault -
    statsBefore.rejected.fault +
    (stats.rejected.thread - statsBefore.rejected.thread) +
    (stats.rejected.threshold - statsBefore.rejected.threshold);
  const unanswered = stats.afterApply.timeout - statsBefore.afterApply.timeout;

  // ---- (b) one ticket on each side per ticket
  for (const p of state.pairs) {
    await resolvePair(h, p);
    expect(p.portalId, `${JSON.stringify(p)} has a portal ticket`).not.toBeNull();
    expect(p.psaId, `${JSON.stringify(p)} has an Autotask ticket`).not.toBeNull();
  }
  const byId = (a: number, b: number) => a - b;
  const portalMade = await k
    .selectFrom("tickets")
    .select("id")
    .where("partner_id", "=", partnerId)
    .where("id", ">", ticketsBefore)
    .execute();
  expect(portalMade.map((t) => t.id).sort(byId), "portal tickets made in the run").toEqual(
    state.pairs.map((p) => p.portalId!).sort(byId),
  );
  const atMade = (
    await at.api<{ items: AtTicket[] }>("POST", "Tickets/query", {
      filter: [
        { op: "gte", field: "createDate", value: startIso },
        { op: "eq", field: "companyID", value: DEMO_IDS.companies.AT1 },
      ],
    })
  ).items;
  expect(atMade.map((t) => t.id).sort(byId), "Autotask tickets made in the run").toEqual(
    state.pairs.map((p) => p.psaId!).sort(byId),
  );
  for (const p of state.pairs.filter((x) => x.origin === "portal"))
    expect(atMade.filter((t) => t.externalID === String(p.portalId))).toHaveLength(1);

  for (const p of state.pairs) {
    // ---- (a) converged
    const t = await portal.getTicket(SYSTEM_ACTOR, p.portalId!);
    const a = (await at.api<{ item: AtTicket }>("GET", `Tickets/${p.psaId}`)).item;
    const where = `portal ticket ${t.id} ↔ Autotask ${a.id}`;
    expect(a.queueID, where).toBe(DEMO_IDS.nocQueue);
    expect(t.title, where).toBe(a.title);
    expect(t.description, where).toBe(a.description ?? "");
    expect(
      agree(h.maps.fwd, h.maps.rev, t.statusId, a.status),
      `${where}: status ${t.statusId} ↔ ${a.status}`,
    ).toBe(true);
    expect(
      agree(h.maps.pri, h.maps.pri, t.priorityId, a.priority),
      `${where}: priority ${t.priorityId} ↔ ${a.priority}`,
    ).toBe(true);
    const link = await k
      .selectFrom("ticket_links")
      .selectAll()
      .where("ticket_id", "=", t.id)
      .executeTakeFirstOrThrow();
    expect(link.state, where).toBe("linked");
    const shadow = JSON.parse(link.shadow) as Shadow;
    expect(shadow.portal, `${where}: portal side = last synced`).toEqual(portalSide(t));
    expect(shadow.psa, `${where}: Autotask side = last synced`).toEqual(
      psaSide(toPsaTicket(a, DEMO_IDS.nocQueue)),
    );

    // ---- (c) every note once on each side, with its visibility
    const pNotes = (await portal.listNotes(SYSTEM_ACTOR, t.id, { limit: 500 })).items;
    const aNotes = (
      await at.api<{ items: AtNote[] }>("POST", "TicketNotes/query", {
        filter: [{ op: "eq", field: "ticketID", value: a.id }],
      })
    ).items;
    for (const n of p.portalNotes) {
      expect(
        pNotes.filter((x) => x.text === n.text),
        `${where}: "${n.text}" in the portal`,
      ).toHaveLength(1);
      const there = aNotes.filter((x) => x.description === n.text);
      expect(there, `${where}: "${n.text}" in Autotask`).toHaveLength(1);
      expect(there[0]!.publish, `${where}: "${n.text}" visibility`).toBe(n.published ? 1 : 2);
    }
    for (const n of p.atNotes) {
      expect(
        aNotes.filter((x) => x.description === n.text),
        `${where}: "${n.text}" in Autotask`,
      ).toHaveLength(1);
      const here = pNotes.filter((x) => x.text === `Partner\n${n.text}`);
      expect(here, `${where}: "${n.text}" in the portal`).toHaveLength(1);
      expect(here[0]!.published, `${where}: "${n.text}" visibility`).toBe(n.published);
    }
    // Everything else crossed too, except nocbridge's own log lines, which stay in the portal.
    const own = pNotes.filter((n) => n.author === "nocbridge");
    expect(aNotes.length, `${where}: notes in Autotask = users' notes in the portal`).toBe(
      pNotes.length - own.length,
    );
  }

  // ---- (d) at most one write on one side per edit or note on the other (ticket creates count as edits)
  const c = state.counts;
  const summary = JSON.stringify({ counts: c, atCalls, portalCalls, refused, unanswered });
  const hooks = await at.admin<HookStats>("GET", "/webhooks");
  tally.runs++;
  if (portalCalls.systemNote > 0) tally.conflicts++;
  if (refused > 0) tally.refusedWrites++;
  if (unanswered > 0) tally.unansweredWrites++;
  if (atCalls.updateTicket > 0) tally.patches++;
  if (portalCalls.pulledNote > 0 && atCalls.createNote > 0) tally.notesBothWays++;
  if (hooks.dropped > hooksBefore.dropped) tally.webhooksDropped++;
  if (hooks.duplicated > hooksBefore.duplicated) tally.webhooksDuplicated++;
  if (hooks.delayed > hooksBefore.delayed) tally.webhooksDelayed++;
  if (hooks.reordered > hooksBefore.reordered) tally.webhooksReordered++;
  const logical = atCalls.createTicket + atCalls.updateTicket + atCalls.createNote;
  expect(logical, `Autotask writes ≤ portal edits + notes: ${summary}`).toBeLessThanOrEqual(
    c.portalEdits + c.portalNotes,
  );
  // The emulator's own count: write requests, minus the technician's, minus those refused before being
  // applied (injected 429/500). A write applied but never answered may be sent once more (a PATCH of
  // absolute values is retried as it is), so each of those is allowed one extra request.
  const requests =
    delta("create Tickets") + delta("update Tickets") + delta("create TicketNotes") - c.techWrites - refused;
  expect(requests - unanswered, `emulator-counted writes: ${summary}`).toBeLessThanOrEqual(
    c.portalEdits + c.portalNotes,
  );
  const toPortal = portalCalls.createTicket + portalCalls.updateTicket + portalCalls.pulledNote;
  expect(toPortal, `portal writes ≤ Autotask edits + notes: ${summary}`).toBeLessThanOrEqual(
    c.atEdits + c.atNotes,
  );

  // A conflict log line needs an edit of the same field on both sides.
  expect(portalCalls.systemNote, `conflict notes: ${summary}`).toBeLessThanOrEqual(
    Math.min(c.portalEdits, c.atEdits),
  );

  // ---- quiet: one more round of deliveries, poll and drain writes nothing on either side
  const calls = JSON.stringify({ atCalls, portalCalls });
  const emuBefore = await emuStats(at);
  await at.admin("POST", "/webhooks/flush");
  await env.services.sync.pollTickets(partnerId);
  await drainOnce(h);
  const emuAfter = await emuStats(at);
  expect(JSON.stringify({ atCalls, portalCalls }), "a settled run stays quiet").toBe(calls);
  for (const key of ["create Tickets", "update Tickets", "create TicketNotes"])
    expect(emuAfter.byOperation[key] ?? 0, `${key} after settling`).toBe(emuBefore.byOperation[key] ?? 0);
}

// ------------------------------------------------------------------ the suites

/**
 * Both systems' clock: real time plus an offset that grows by 10 minutes before each run, as if runs
 * were 10 minutes apart. The poll looks back to its cursor minus a 2-minute overlap, so it sees the
 * current run's tickets only, and each run costs the same however many ran before.
 */
const clock = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs) };
const RUN_GAP_MS = 10 * 60_000;

async function harness(kind: StoreKind): Promise<Harness> {
  // The hourly request budget is lifted (a run makes about 20 requests; NOCBRIDGE_PROPERTY_RUNS=1000
  // would exceed 10,000 an hour); the thread limit stays.
  const at = await startTestEmulator({ now: clock.now, limits: { requestThreshold: 100_000_000 } });
  // A reordered event waits for the next one of its webhook up to this long (200 ms here; a flush
  // cuts the wait): with the default 1 ms an edit rarely follows in time and nothing is ever swapped.
  await at.admin("PUT", "/webhooks", { reorderHoldMs: 200_000 });
  const env = await openTestServices(kind, {
    clock,
    autotask: countingClient,
    ticketRetry: { maxAttempts: 3, baseMs: 1 },
    psaOrigins: [at.emu.url],
  });
  const app = await testApp(env);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const addr = app.server.address();
  env.services.setListeningUrl(`http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`);
  const portal = env.services.portal;
  const tech = await at.admin<Creds>("POST", tenant("/actAs"), { resourceId: DEMO_IDS.technicians[0] });
  const partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Property VAR" })).id;
  const clientId = (
    await portal.createClient(SYSTEM_ACTOR, partnerId, {
      code: "AT1",
      name: "Acme",
      psaCompanyId: DEMO_IDS.companies.AT1,
    })
  ).id;
  await portal.putIntegration(SYSTEM_ACTOR, partnerId, {
    ticketing: demoTicketing(at.emu.baseUrl),
    devices: { enabled: false, productId: null, configurationItemTypeId: null, advanced: false },
  });
  await env.services.sync.ticketSetup(partnerId);
  env.services.sync.tickets.pause(partnerId);
  const maps = {
    fwd: await portal.getMappings(SYSTEM_ACTOR, partnerId, "status-forward"),
    rev: await portal.getMappings(SYSTEM_ACTOR, partnerId, "status-reverse"),
    pri: await portal.getMappings(SYSTEM_ACTOR, partnerId, "priority"),
  };
  // Count the portal writes the sync applies (origin "psa"); the calls themselves go through unchanged.
  const origin = (a: unknown[]) => a[3] as { origin?: string; author?: string } | undefined;
  const createTicket = portal.createTicket.bind(portal);
  vi.spyOn(portal, "createTicket").mockImplementation((...a) => {
    if (origin(a)?.origin === "psa") portalCalls.createTicket++;
    return createTicket(...a);
  });
  const updateTicket = portal.updateTicket.bind(portal);
  vi.spyOn(portal, "updateTicket").mockImplementation((...a) => {
    if (origin(a)?.origin === "psa") portalCalls.updateTicket++;
    return updateTicket(...a);
  });
  const addNote = portal.addNote.bind(portal);
  vi.spyOn(portal, "addNote").mockImplementation((...a) => {
    const o = origin(a);
    if (o?.origin === "psa") {
      if (o.author === "nocbridge") portalCalls.systemNote++;
      else portalCalls.pulledNote++;
    }
    return addNote(...a);
  });
  return { env, at, app, partnerId, clientId, tech, maps };
}

/** Counterexamples the property found, kept as regression runs (see the report of each fix). */
const REGRESSIONS: Array<{ name: string; setup: Setup; actions: Action[] }> = [
  {
    // Edited on both sides, the portal's edit later: the portal wins, one PATCH. The conflict's log
    // note used to be copied to Autotask as well, a second write for the one edit.
    name: "a conflict the portal wins is logged in the portal only: one Autotask write for the edit",
    setup: {
      portal: [{ title: "Disk full", statusId: 1, priorityId: 8 }],
      autotask: [],
      linked: true,
      faults: null,
      deliveries: null,
      faultSeed: 2,
    },
    actions: [
      { t: "atEdit", pair: 0, patch: { status: 30 } },
      { t: "portalEdit", pair: 0, patch: { statusId: 9 } },
      { t: "drain" },
    ],
  },
];

describe.each(STORES)("ticket sync property: random interleavings converge (%s)", (kind) => {
  let h: Harness;

  beforeAll(async () => {
    h = await harness(kind);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await h?.app.close();
    await h?.env.close();
    await h?.at.close();
  });

  it.each(REGRESSIONS)("regression: $name", async ({ setup, actions }) => {
    await oneRun(
      h,
      setup,
      actions.map((a) => command(h, a)),
    );
  });

  it(`converges with no duplicate and at most one write per edit (${RUNS} runs)`, async () => {
    for (const key of Object.keys(tally)) tally[key as keyof typeof tally] = 0;
    await fc.assert(
      fc.asyncProperty(
        setupArb,
        fc.commands([actionArb.map((a) => command(h, a))], {
          maxCommands: 24,
          ...(replayCommands ? { replayPath: replayCommands } : {}),
        }),
        (setup, cmds) => oneRun(h, setup, cmds),
      ),
      replaySeed ? { seed: Number(replaySeed), path: replayPath, endOnFailure: true } : { numRuns: RUNS },
    );
    // 200 runs reach every hard case many times over (about 1 run in 10 or more each, measured); a
    // generator change that stopped reaching one fails here rather than passing vacuously.
    if (process.env.NOCBRIDGE_PROPERTY_VERBOSE) console.log(JSON.stringify(tally));
    if (RUNS >= 100) for (const [what, n] of Object.entries(tally)) expect(n, what).toBeGreaterThan(0);
  }, 600_000);
});
