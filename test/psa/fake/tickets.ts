import type {
  NewNote,
  NewTicket,
  PsaNote,
  PsaTicket,
  TicketFields,
  TicketPort,
} from "../../../src/psa/connector.js";
import { type FakeClient, notFound, refuse } from "./client.js";
import type { FakeSettings } from "./manifest.js";
import type { FakeNote, FakeTenant, FakeTicket } from "./psa.js";

/** Who the fake names as the author of the notes our API user writes. */
export const API_AUTHOR = "nocbridge (API)";

const TICKET_FIELDS: ReadonlySet<string> = new Set(["title", "description", "status", "priority", "assetId"]);

/** The fake's tickets and notes: as strict as a real PSA about ids, required fields and references. */
export function fakeTickets(client: FakeClient, s: FakeSettings): TicketPort {
  const view = (t: FakeTicket): PsaTicket => ({
    id: t.id,
    number: t.number,
    title: t.title,
    description: t.description,
    status: t.status,
    priority: t.priority,
    assetId: t.assetId,
    companyId: t.companyId,
    inNocQueue: s.queueId !== null && t.queueId === s.queueId,
    externalRef: t.externalRef,
    lastActivity: t.lastActivity,
  });
  const note = (n: FakeNote): PsaNote => ({
    id: n.id,
    ticketId: n.ticketId,
    text: n.text,
    published: n.published,
    author: n.author,
  });
  const tenant = client.tenant;

  const findByExternalRef = async (ref: string): Promise<PsaTicket | null> => {
    const t = await client.call(
      "tickets.query",
      (rows) =>
        [...rows.tickets.values()].filter((x) => x.externalRef === ref).sort((a, b) => a.id - b.id)[0],
    );
    return t ? view(t) : null;
  };

  return {
    async get(id) {
      const t = await client.call("tickets.get", (rows) => rows.tickets.get(id));
      return t ? view(t) : null;
    },

    async changedSince(since, alsoIds) {
      const also = new Set(alsoIds);
      const from = since.getTime();
      return client.call("tickets.query", (rows) =>
        [...rows.tickets.values()]
          .filter((t) => Date.parse(t.lastActivity) >= from && (t.queueId === s.queueId || also.has(t.id)))
          .sort((a, b) => a.id - b.id)
          .map((t) => ({ id: t.id, lastActivity: t.lastActivity })),
      );
    },

    findByExternalRef,

    async create(t: NewTicket) {
      const op = "tickets.create";
      return client.idempotent(
        () =>
          client.call(op, () => {
            checkTicket(tenant, op, t, true);
            if (s.queueId === null) throw refuse(op, "Missing Required Field: queue.");
            return tenant.addTicket({
              title: t.title,
              description: t.description ?? "",
              status: t.status,
              priority: t.priority,
              assetId: t.assetId ?? null,
              companyId: t.companyId,
              queueId: s.queueId,
              externalRef: t.externalRef,
            }).id;
          }),
        async () => (await findByExternalRef(t.externalRef))?.id ?? null,
      );
    },

    async update(id, fields: Partial<TicketFields>) {
      const op = "tickets.update";
      await client.call(op, (rows) => {
        const row = rows.tickets.get(id);
        if (!row) throw notFound(op, `ticket ${id}`);
        for (const k of Object.keys(fields))
          if (!TICKET_FIELDS.has(k)) throw refuse(op, `${k} is not a ticket field that can be written.`);
        checkTicket(tenant, op, { ...row, ...fields }, false);
        Object.assign(row, fields, { lastActivity: tenant.stamp() });
      });
      return undefined;
    },

    async notes(ticketId) {
      const list = await client.call("notes.query", (rows) =>
        [...rows.notes.values()].filter((n) => n.ticketId === ticketId).sort((a, b) => a.id - b.id),
      );
      return list.map(note);
    },

    async addNote(ticketId, n: NewNote, known) {
      const op = "notes.create";
      return client.idempotent(
        () =>
          client.call(op, (rows) => {
            // A child record under a parent that is not there: a reference to a missing record, which
            // Autotask refuses like any other (docs/autotask.md, Errors; the emulator's wording).
            if (!rows.tickets.has(ticketId))
              throw refuse(op, "Value does not reference an existing entity for ticketID.");
            if (typeof n.text !== "string" || n.text.trim() === "")
              throw refuse(op, "Missing Required Field: description.");
            return tenant.addNote(ticketId, {
              text: n.text,
              published: n.published === true,
              author: API_AUTHOR,
            }).id;
          }),
        () =>
          client.call(
            "notes.query",
            (rows) =>
              [...rows.notes.values()]
                .filter((x) => x.ticketId === ticketId && x.text === n.text && !known.has(x.id))
                .sort((a, b) => a.id - b.id)[0]?.id ?? null,
          ),
      );
    },

    async noteTicket(noteId) {
      return client.call("notes.get", (rows) => rows.notes.get(noteId)?.ticketId ?? null);
    },
  };
}

/** Required fields and references of a ticket write (a create needs company, title, status, priority). */
function checkTicket(
  tenant: FakeTenant,
  op: string,
  t: Partial<Pick<NewTicket, "companyId" | "title" | "status" | "priority" | "assetId">>,
  create: boolean,
): void {
  if (create) {
    for (const f of ["companyId", "title", "status", "priority"] as const)
      if (t[f] === undefined || t[f] === null) throw refuse(op, `Missing Required Field: ${f}.`);
    const company = tenant.companies.get(t.companyId as number);
    if (!company) throw refuse(op, "Value does not reference an existing entity for companyId.");
    if (!company.active)
      throw refuse(op, "Reference value on field: companyId does not exist or is invalid.");
  }
  if (typeof t.title !== "string" || t.title.trim() === "") throw refuse(op, "title must not be empty.");
  if (t.title.length > 255) throw refuse(op, "title exceeds the maximum length of 255.");
  if (!tenant.statuses.some((v) => v.id === t.status && v.isActive))
    throw refuse(op, `Value does not reference an existing entity for status (${String(t.status)}).`);
  if (!tenant.priorities.some((v) => v.id === t.priority && v.isActive))
    throw refuse(op, `Value does not reference an existing entity for priority (${String(t.priority)}).`);
  if (t.assetId !== undefined && t.assetId !== null && !tenant.rows.assets.has(t.assetId))
    throw refuse(op, "Value does not reference an existing entity for assetId.");
}
