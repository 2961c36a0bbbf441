/**
 * Two-way ticket sync under steady load: BENCH_TICKETS linked tickets, edits
 * alternating between the portal and the PSA at BENCH_RATE edits per second for BENCH_SECONDS, against
 * the PSA's emulator in its own process with webhooks on and real timing (time scale 1). Autotask
 * (the default): the real limits (10,000 requests/hour, 3 threads per endpoint). ConnectWise
 * (`--system connectwise`): its emulator over HTTPS with callbacks on; see tickets-connectwise.ts for
 * its request limit. Prints human lines, then one JSON object:
 *
 *   {"edits", "toPsa": {"p50Ms", "p99Ms"}, "toPortal": {"p50Ms", "p99Ms"}, "writesPerEdit", "apiCalls",
 *    "apiCallsPerEdit", "http429"}
 *
 *   npm run bench:tickets                          (BENCH_TICKETS=200, BENCH_RATE=20, BENCH_SECONDS=60)
 *   npm run bench:tickets -- --system connectwise
 *
 * The PSA's side (emulator, technician, settings, observing nocbridge's ticket writes, the emulator's
 * counts) is in tickets-autotask.ts and tickets-connectwise.ts; the load and the figures are the same.
 *
 * Optional, off by default (the defaults are the issue's benchmark):
 *   BENCH_LATENCY_MS=n    every PSA request takes n ms more (the emulator's --fault-latency; no
 *                         failures): the emulator answers in ~1 ms, a real tenant in tens to hundreds.
 *   BENCH_POLL_AT_S=s     runs one poll cycle s seconds into the load, as the 5-minute safety-net
 *                         poll would when it falls inside the window.
 *   BENCH_SETTLE_SECONDS  how long to wait after the load for edits still crossing (default 30).
 *
 * Load. Edit k (k = 0, 1, …) is started at t0 + k / RATE by a drift-free scheduler (each edit is
 * fired on time whatever the previous one is doing: no bursts, no back-pressure from the system
 * under test). It goes to ticket k mod TICKETS, on the portal when (k + round) is even and on
 * the PSA otherwise (round = ⌊k / TICKETS⌋), so both sides get RATE/2 edits per second and every
 * ticket is edited on alternating sides every TICKETS / RATE seconds (10 s by default: each edit
 * crosses before the ticket's next one, so no edit is a conflict). Every edit sets a new, unique
 * title; every third one also flips the priority (portal P1 ↔ P2, PSA High ↔ Medium).
 *   - Portal edits go through the Portal service (`portal.updateTicket`, what the REST API calls),
 *     which commits the change and its outbox row in one transaction and wakes the worker.
 *   - PSA edits are PATCHes of the ticket sent over HTTP(S) as a partner technician, with credentials
 *     of their own (so they neither share nocbridge's limits nor are excluded from its webhooks).
 *
 * Latency, per edit, over every edit (nearest-rank percentiles):
 *   - toPsa: from just before `portal.updateTicket` is called (so the commit itself is included)
 *     until nocbridge's PATCH carrying the edit's title has been answered by the PSA — the moment
 *     the PSA ticket carries the new value. Observed by wrapping the ticket update of the PSA client
 *     nocbridge uses (the only way a field reaches the PSA): no polling, no extra API call.
 *   - toPortal: from the moment the technician's PATCH response has been read until
 *     `portal.updateTicket` applied by the sync (origin "psa") with the edit's title has returned
 *     (its transaction committed; the ticket re-read that follows it is included, well under 1 ms).
 *     Observed by wrapping the Portal service the sync writes through. Were the portal ticket
 *     updated before the bench has read the PATCH response (possible: the webhook is sent on
 *     commit), the latency counts as 0 and the case is reported.
 *
 * Writes per edit = (W_psa + W_portal) / edits, where
 *   - W_psa = PSA writes by nocbridge in the window = the emulator's byOperation counts of ticket and
 *     note writes (Autotask: "create Tickets" + "update Tickets" + "create TicketNotes" + "update
 *     TicketNotes"; ConnectWise: creates, updates and deletes of service/tickets and its notes and
 *     configuration links), minus the technician's own PATCHes (counted here; the technician writes
 *     nothing else);
 *   - W_portal = portal writes applied by the sync in the window: createTicket, updateTicket and
 *     addNote with origin "psa" (counted by the Portal wrapper; conflict-resolution notes would be
 *     counted here too).
 * 1.00 means each edit caused exactly one write on the other side and no echo wrote anything back.
 *
 * apiCallsPerEdit = nocbridge's own PSA requests per edit: those its client sent in the window plus
 * those of one poll cycle run right after it (listing, drift check, and every ticket it re-reads, up
 * to the worker being idle again), over the edits. The technician's requests are not counted.
 *
 * apiCalls = every API request the emulator counted in the window (nocbridge's and the technician's;
 * both shares are printed). http429 = requests the emulator refused in the window (limit and
 * injected-fault rejections, whoever sent them) — or, should it ever be larger, the 429/thread-limit
 * answers seen by nocbridge's client plus the technician's 429s; the two count the same events, so
 * they are not added.
 *
 * The window opens after set-up (tickets created and linked, emulator stats zeroed) and closes when
 * every edit has crossed (or after BENCH_SETTLE_SECONDS more), the worker is idle and the emulator's
 * webhook queue is empty. A final read of all tickets on both sides (after the window) checks that
 * they converged; an edit that never crossed, a failed edit or a diverged ticket makes the exit code 1.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { buildApp } from "../src/api/app.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/lib/logger.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { benchSystem } from "./system.js";
import type { ClientCounters } from "./tickets-psa.js";

const TICKETS = Number(process.env["BENCH_TICKETS"] ?? 200);
const RATE = Number(process.env["BENCH_RATE"] ?? 20);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 60);
const SETTLE_SECONDS = Number(process.env["BENCH_SETTLE_SECONDS"] ?? 30);
const TOTAL = Math.round(RATE * SECONDS);
for (const [name, v] of [
  ["BENCH_TICKETS", TICKETS],
  ["BENCH_RATE", RATE],
  ["BENCH_SECONDS", SECONDS],
] as const)
  if (!(v > 0)) throw new Error(`${name} must be a positive number`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const round1 = (x: number) => Math.round(x * 10) / 10;
function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

// ---- the emulator, in its own process: webhooks on, time scale 1
const LATENCY_MS = process.env["BENCH_LATENCY_MS"];
const POLL_AT_S = process.env["BENCH_POLL_AT_S"];
const psa =
  benchSystem() === "connectwise"
    ? await (await import("./tickets-connectwise.js")).connectwiseTickets({ latencyMs: LATENCY_MS })
    : await (await import("./tickets-autotask.js")).autotaskTickets({ latencyMs: LATENCY_MS });
const label = psa.label;
const PSA_PRIORITY = psa.psaPriority;
const PORTAL_PRIORITY = psa.portalPriority;

// ---- what the bench observes
interface PortalEdit {
  k: number;
  ticket: number;
  title: string;
  psaPriority: number | null;
  t0: number;
  doneAt: number | null;
}
interface PsaEdit {
  k: number;
  ticket: number;
  title: string;
  portalPriority: number | null;
  respondedAt: number | null;
  appliedAt: number | null;
}
/** Outstanding edits by PSA ticket id (toPsa) and by portal ticket id (toPortal). */
const waitingPsa = new Map<number, PortalEdit[]>();
const waitingPortal = new Map<number, PsaEdit[]>();
const toPsa: number[] = [];
const toPortal: number[] = [];
let measuring = false;
let appliedBeforeResponse = 0;
let priorityMismatches = 0;
const counts = { psaTicketWrites: 0, portalWrites: 0, portalNotes: 0, portalCreates: 0 };

/** Called when nocbridge's PSA client has had a ticket update answered (the sync's only way to change one). */
const observe = (psaTicketId: number, title: unknown, priority: unknown) => {
  const at = performance.now();
  if (!measuring) return;
  counts.psaTicketWrites++;
  const list = waitingPsa.get(psaTicketId);
  const i = list?.findIndex((e) => e.title === title) ?? -1;
  if (list && i >= 0) {
    const e = list[i] as PortalEdit;
    if (e.psaPriority !== null && priority !== e.psaPriority) priorityMismatches++;
    e.doneAt = at;
    toPsa.push(at - e.t0);
    list.splice(i, 1);
  }
};

const dir = mkdtempSync(join(tmpdir(), "nb-bench-tickets-"));
// The emulator's origin is an exact entry of the PSA URL allow-list.
const config = loadConfig(
  { LOG_LEVEL: "silent", NOCBRIDGE_ALLOW_HTTP_WEBHOOKS: "1", NOCBRIDGE_PSA_URL_ALLOWLIST: psa.origin },
  { dataDir: dir, databaseUrl: join(dir, "bench.sqlite") },
);
const logger = createLogger("silent");
const services = await psa.open(config, { logger, background: true, jobs: "memory" }, observe);
const { portal, sync } = services;
const app = await buildApp({ portal, sync, logger });

// The Portal service the sync writes through, observed: writes it applies have origin "psa".
const updateTicket = portal.updateTicket.bind(portal);
portal.updateTicket = async (actor, ticketId, patch, o = {}) => {
  const r = await updateTicket(actor, ticketId, patch, o);
  const at = performance.now();
  if (measuring && o.origin === "psa") {
    counts.portalWrites++;
    const list = waitingPortal.get(ticketId);
    const i = list?.findIndex((e) => e.title === patch.title) ?? -1;
    if (list && i >= 0) {
      const e = list[i] as PsaEdit;
      if (e.portalPriority !== null && patch.priorityId !== e.portalPriority) priorityMismatches++;
      e.appliedAt = at;
      list.splice(i, 1);
      if (e.respondedAt !== null) toPortal.push(at - e.respondedAt);
    }
  }
  return r;
};
const createTicket = portal.createTicket.bind(portal);
portal.createTicket = async (actor, partnerId, input, o = {}) => {
  const r = await createTicket(actor, partnerId, input, o);
  if (measuring && o.origin === "psa") {
    counts.portalWrites++;
    counts.portalCreates++;
  }
  return r;
};
const addNote = portal.addNote.bind(portal);
portal.addNote = async (actor, ticketId, input, o = {}) => {
  const r = await addNote(actor, ticketId, input, o);
  if (measuring && o.origin === "psa") {
    counts.portalWrites++;
    counts.portalNotes++;
  }
  return r;
};

// Its samples include the 1 ms sampling interval; the figures printed subtract it.
const loop = monitorEventLoopDelay({ resolution: 1 });
let exitCode = 0;
try {
  await app.listen({ port: 0, host: "127.0.0.1" });
  const addr = app.server.address();
  services.setListeningUrl(`http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`);

  // ---- the technician: credentials of their own, acting as a partner technician
  await psa.technician();

  // ---- set-up: a partner, two clients, ticketing on (webhooks registered), TICKETS linked tickets
  const partner = await portal.createPartner(SYSTEM_ACTOR, { name: "Bench VAR" });
  const clientIds: number[] = [];
  for (const [code, company] of psa.companies)
    clientIds.push(
      (
        await portal.createClient(SYSTEM_ACTOR, partner.id, {
          code,
          name: `Bench ${code}`,
          psaCompanyId: company,
        })
      ).id,
    );
  await portal.putIntegration(SYSTEM_ACTOR, partner.id, psa.integration());
  await psa.configure(portal, partner.id);
  await sync.ticketSetup(partner.id);
  const hooks = await sync.tickets.registered(partner.id);
  if (hooks.length !== psa.hooks)
    throw new Error(`expected ${psa.hooks} ${psa.hook}s registered, got ${hooks.length}`);

  const setupStart = performance.now();
  const ticketIds: number[] = [];
  const title = new Map<number, string>();
  const portalPriority = new Map<number, number>();
  for (let i = 0; i < TICKETS; i++) {
    const t = await portal.createTicket(SYSTEM_ACTOR, partner.id, {
      clientId: clientIds[i % clientIds.length] as number,
      title: `Bench ticket ${i}`,
      description: `Benchmark ticket ${i}`,
      statusId: 1,
      priorityId: 9,
    });
    ticketIds.push(t.id);
    title.set(t.id, t.title);
    portalPriority.set(t.id, 9);
  }
  await sync.tickets.notify(partner.id);
  await sync.tickets.idle(partner.id);
  const links = await services.db.kysely
    .selectFrom("ticket_links")
    .select(["ticket_id", "psa_ticket_id", "state"])
    .where("partner_id", "=", partner.id)
    .execute();
  const psaOf = new Map(links.filter((l) => l.state === "linked").map((l) => [l.ticket_id, l.psa_ticket_id]));
  const unlinked = ticketIds.filter((id) => !psaOf.has(id));
  if (unlinked.length > 0) throw new Error(`${unlinked.length} tickets did not link during set-up`);
  await psa.flush();
  console.log(
    `set-up: ${TICKETS} portal tickets created and linked in ${((performance.now() - setupStart) / 1000).toFixed(1)} s; ` +
      (await psa.setupNote()),
  );

  await psa.beforeWindow?.();

  // ---- the window opens: stats zeroed, counters snapshotted
  await psa.resetStats();
  const hooksBefore = await psa.hookStats();
  const clientStart = psa.clientCounters();
  measuring = true;
  loop.enable();

  const portalEdits: PortalEdit[] = [];
  const psaEdits: PsaEdit[] = [];
  const failures: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let maxLateMs = 0;
  let techPatches = 0;
  const t0 = performance.now();
  console.log(
    `load: ${TOTAL} edits at ${RATE}/s for ${SECONDS} s over ${TICKETS} tickets, alternating portal (Portal service) and ${label} (${psa.editVia})`,
  );
  let poll: Promise<void> = Promise.resolve();
  if (POLL_AT_S !== undefined && Number(POLL_AT_S) < SECONDS)
    poll = sleep(Number(POLL_AT_S) * 1000).then(async () => {
      const start = performance.now();
      const n = await sync.pollTickets(partner.id);
      const ms = (performance.now() - start).toFixed(0);
      console.log(`poll at ${POLL_AT_S} s: ${n} tickets enqueued; the drain it started ended after ${ms} ms`);
    });
  for (let k = 0; k < TOTAL; k++) {
    const due = t0 + (k * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    maxLateMs = Math.max(maxLateMs, performance.now() - due);
    const i = k % TICKETS;
    const round = Math.floor(k / TICKETS);
    const ticketId = ticketIds[i] as number;
    const psaId = psaOf.get(ticketId) as number;
    const newTitle = `Bench ticket ${i} · edit ${k}`;
    const flip = k % 3 === 0;
    const nextPriority = portalPriority.get(ticketId) === 9 ? 10 : 9;
    title.set(ticketId, newTitle);
    if (flip) portalPriority.set(ticketId, nextPriority);
    let p: Promise<void>;
    if ((k + round) % 2 === 0) {
      const e: PortalEdit = {
        k,
        ticket: ticketId,
        title: newTitle,
        psaPriority: flip ? (PSA_PRIORITY[nextPriority] as number) : null,
        t0: performance.now(),
        doneAt: null,
      };
      portalEdits.push(e);
      const list = waitingPsa.get(psaId) ?? [];
      list.push(e);
      waitingPsa.set(psaId, list);
      p = updateTicket(SYSTEM_ACTOR, ticketId, {
        title: newTitle,
        ...(flip ? { priorityId: nextPriority } : {}),
      }).then(() => undefined);
    } else {
      const e: PsaEdit = {
        k,
        ticket: ticketId,
        title: newTitle,
        portalPriority: flip ? nextPriority : null,
        respondedAt: null,
        appliedAt: null,
      };
      psaEdits.push(e);
      const list = waitingPortal.get(ticketId) ?? [];
      list.push(e);
      waitingPortal.set(ticketId, list);
      techPatches++;
      p = psa.techEdit(psaId, newTitle, flip ? (PSA_PRIORITY[nextPriority] as number) : null).then(() => {
        e.respondedAt = performance.now();
        if (e.appliedAt !== null) {
          appliedBeforeResponse++;
          toPortal.push(0);
        }
      });
    }
    const tracked = p
      .catch((err: unknown) => {
        failures.push(`edit ${k}: ${err instanceof Error ? err.message : String(err)}`);
      })
      .finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  const loadSeconds = (performance.now() - t0) / 1000;
  await Promise.all([...inFlight, poll]);

  // ---- settle: every edit crossed (or the deadline), worker idle, webhook queue empty
  const outstanding = () =>
    [...waitingPsa.values()].reduce((n, l) => n + l.length, 0) +
    [...waitingPortal.values()].reduce((n, l) => n + l.length, 0);
  const settleEnd = performance.now() + SETTLE_SECONDS * 1000;
  while (outstanding() > 0 && performance.now() < settleEnd) await sleep(20);
  await psa.flush();
  await sync.tickets.idle(partner.id);
  loop.disable();
  const stats = await psa.stats();
  const hooksAfter = await psa.hookStats();
  measuring = false;
  const windowSeconds = (performance.now() - t0) / 1000;
  const client = psa.clientCounters();
  const ours: ClientCounters = {
    requests: client.requests - clientStart.requests,
    rateLimited: client.rateLimited - clientStart.rateLimited,
    threadLimited: client.threadLimited - clientStart.threadLimited,
    retries: client.retries - clientStart.retries,
    throttledMs: client.throttledMs - clientStart.throttledMs,
  };

  // ---- the next poll (the safety net's cycle after the edits), on its own: its PSA calls count
  // towards the cost of an edit too, since every edit it re-reads is read again there
  const pollBefore = psa.clientCounters().requests;
  const pollStart = performance.now();
  const polled = await sync.pollTickets(partner.id);
  await sync.tickets.idle(partner.id);
  const pollMs = performance.now() - pollStart;
  const pollCalls = psa.clientCounters().requests - pollBefore;

  // ---- convergence, read after the window closed (not counted): both sides hold the last edit
  const psaRows = await psa.read(ticketIds.map((id) => psaOf.get(id) as number));
  const psaById = new Map(psaRows.map((r) => [r.id, r]));
  let diverged = 0;
  for (const id of ticketIds) {
    const pt = await portal.getTicket(SYSTEM_ACTOR, id);
    const at = psaById.get(psaOf.get(id) as number);
    const want = title.get(id);
    if (
      pt.title !== want ||
      at?.title !== want ||
      pt.priorityId !== portalPriority.get(id) ||
      PORTAL_PRIORITY[at.priority] !== pt.priorityId
    )
      diverged++;
  }

  // ---- figures
  // W_psa: PSA writes by nocbridge = every ticket/note write the emulator saw minus the technician's PATCHes.
  const emuWrites = psa.writes(stats.byOperation);
  const psaWrites = emuWrites.total - techPatches;
  // W_portal: portal writes applied by the sync (origin "psa"), counted by the Portal wrapper.
  const portalWrites = counts.portalWrites;
  const edits = portalEdits.length + psaEdits.length - failures.length;
  const writesPerEdit = edits > 0 ? (psaWrites + portalWrites) / edits : Number.NaN;
  // nocbridge's own PSA calls per edit: the window's and the next poll's (the technician's are not counted).
  const apiCallsPerEdit = edits > 0 ? (ours.requests + pollCalls) / edits : Number.NaN;
  const rejected = Object.values(stats.rejected).reduce((a, n) => a + n, 0);
  const http429 = Math.max(rejected, ours.rateLimited + ours.threadLimited + psa.tech429());
  const lostToPsa = portalEdits.filter((e) => e.doneAt === null).length;
  const lostToPortal = psaEdits.filter((e) => e.appliedAt === null).length;
  toPsa.sort((a, b) => a - b);
  toPortal.sort((a, b) => a - b);
  const summary = (xs: number[]) =>
    `p50 ${round1(pct(xs, 50))} ms, p90 ${round1(pct(xs, 90))} ms, p99 ${round1(pct(xs, 99))} ms, max ${round1(xs.at(-1) ?? Number.NaN)} ms (n=${xs.length})`;

  console.log(
    `load issued in ${loadSeconds.toFixed(1)} s (scheduler lateness max ${maxLateMs.toFixed(1)} ms); window closed after ${windowSeconds.toFixed(1)} s`,
  );
  console.log(
    `edits: ${edits} (${portalEdits.length} portal, ${psaEdits.length} ${label}, ${failures.length} failed)`,
  );
  for (const f of failures.slice(0, 5)) console.log(`  failed: ${f}`);
  console.log(`portal → ${label}: ${summary(toPsa)}; not crossed: ${lostToPsa}`);
  console.log(
    `${label} → portal (${psa.hook}): ${summary(toPortal)}; not crossed: ${lostToPortal}; applied before the PATCH response was read: ${appliedBeforeResponse}`,
  );
  console.log(
    `writes: ${psaWrites} ${label} writes by nocbridge (emulator ${JSON.stringify(emuWrites.shown)} − ${techPatches} technician PATCHes; client wrapper saw ${counts.psaTicketWrites} ticket PATCHes) + ` +
      `${portalWrites} portal writes by the sync (${counts.portalCreates} creates, ${counts.portalNotes} notes) = ${((psaWrites + portalWrites) / Math.max(1, edits)).toFixed(2)} per edit`,
  );
  console.log(
    `API calls in the window: ${stats.requests} (nocbridge ${ours.requests}, technician ${techPatches}); by operation ${JSON.stringify(stats.byOperation)}`,
  );
  console.log(
    `next poll: ${polled} tickets queued, ${pollCalls} ${label} calls, ${(pollMs / 1000).toFixed(1)} s with its drain; ` +
      `API calls per edit (nocbridge's in the window + the next poll's) ${apiCallsPerEdit.toFixed(2)}`,
  );
  console.log(
    `rejections: emulator ${JSON.stringify(stats.rejected)}; nocbridge client 429 ${ours.rateLimited}, ${psa.threads ? `thread limit ${ours.threadLimited}, ` : ""}retries ${ours.retries}, throttled ${ours.throttledMs} ms; technician 429 ${psa.tech429()}`,
  );
  console.log(
    `emulator ${psa.hook}s: before ${JSON.stringify(hooksBefore)} after ${JSON.stringify(hooksAfter)}`,
  );
  console.log(
    `event loop delay (bench + nocbridge process): p50 ${(loop.percentile(50) / 1e6 - 1).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6 - 1).toFixed(1)} ms, max ${(loop.max / 1e6 - 1).toFixed(1)} ms`,
  );
  console.log(
    `convergence after the window: ${TICKETS - diverged}/${TICKETS} tickets equal on both sides; priority mismatches in writes: ${priorityMismatches}`,
  );
  console.log(
    `targets: portal → ${label} p99 ≤ 1000 ms, ${psa.hook} → portal p99 ≤ 250 ms, writes per edit 1.00, 0 × 429`,
  );
  if (lostToPsa + lostToPortal + diverged + failures.length > 0) exitCode = 1;
  console.log(
    JSON.stringify({
      edits,
      toPsa: { p50Ms: round1(pct(toPsa, 50)), p99Ms: round1(pct(toPsa, 99)) },
      toPortal: { p50Ms: round1(pct(toPortal, 50)), p99Ms: round1(pct(toPortal, 99)) },
      writesPerEdit: Number(writesPerEdit.toFixed(2)),
      apiCalls: stats.requests,
      apiCallsPerEdit: Number(apiCallsPerEdit.toFixed(2)),
      http429,
    }),
  );
} finally {
  await app.close();
  await services.close();
  psa.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = exitCode;
