import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Row } from "./hooks.js";
import type { EmulatorStore, Tenant } from "./store.js";

/**
 * Autotask's web links, answered with a small read-only page of the record, so that a ticket or
 * configuration item link in the demo opens something instead of a 404. Real Autotask opens these
 * after its own sign-in (the ExecuteCommand API, https://autotask.net/help/developerhelp/content/apis/ExecuteCommand/ExecuteCommandAPIIntro.htm):
 * - `/Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenTicketDetail&TicketID=…` (or `TicketNumber=…`)
 * - `/Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenInstalledProduct&InstalledProductID=…`
 * - `/Mvc/ServiceDesk/TicketDetail.mvc?workItemId=…` (the ticket page's own address)
 * The emulator has no web sign-in: the page shows the record of whichever tenant holds it.
 */
export function registerWebPages(app: FastifyInstance, store: EmulatorStore): void {
  app.get("/Autotask/AutotaskExtend/ExecuteCommand.aspx", async (req, reply) => {
    const q = query(req);
    const code = (q["code"] ?? "").toLowerCase();
    if (code === "openticketdetail") {
      const byNumber = q["ticketnumber"];
      const found = byNumber
        ? find(
            store,
            "Tickets",
            (r) => String(r["ticketNumber"] ?? "").toLowerCase() === byNumber.toLowerCase(),
          )
        : byId(store, "Tickets", Number(q["ticketid"]));
      return found ? ticketPage(reply, found.tenant, found.row) : notFound(reply, "ticket");
    }
    if (code === "openinstalledproduct") {
      const id = Number(q["installedproductid"]);
      const found = byId(store, "ConfigurationItems", id);
      return found ? ciPage(reply, found.tenant, found.row) : notFound(reply, "configuration item");
    }
    return page(
      reply,
      400,
      "Unknown command",
      `<p>The emulator answers OpenTicketDetail and OpenInstalledProduct.</p>`,
    );
  });
  app.get("/Mvc/ServiceDesk/TicketDetail.mvc", async (req, reply) => {
    const id = Number(query(req)["workitemid"]);
    const found = byId(store, "Tickets", id);
    return found ? ticketPage(reply, found.tenant, found.row) : notFound(reply, "ticket");
  });
}

/** Query parameters by lower-cased name (Autotask's command parameters are case-insensitive). */
function query(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.query as Record<string, unknown>))
    if (typeof v === "string") out[k.toLowerCase()] = v;
  return out;
}

/** The record with this id, from the tenant that holds it (ids are looked up, not scanned). */
function byId(store: EmulatorStore, entity: string, id: number): { tenant: Tenant; row: Row } | undefined {
  for (const tenant of store.tenants.values()) {
    const row = tenant.table(entity).get(id);
    if (row) return { tenant, row };
  }
  return undefined;
}

/** The first record that matches (for look-ups by a field that has no index, the ticket number). */
function find(
  store: EmulatorStore,
  entity: string,
  match: (r: Row) => boolean,
): { tenant: Tenant; row: Row } | undefined {
  for (const tenant of store.tenants.values())
    for (const row of tenant.table(entity).rows.values()) if (match(row)) return { tenant, row };
  return undefined;
}

function ticketPage(reply: FastifyReply, tenant: Tenant, t: Row): FastifyReply {
  const company = name(tenant, "Companies", t["companyID"], "companyName");
  const ci = name(tenant, "ConfigurationItems", t["configurationItemID"], "referenceTitle");
  const rows: Array<[string, string]> = [
    ["Ticket number", text(t["ticketNumber"])],
    ["Title", text(t["title"])],
    ["Company", company],
    ["Status", label(tenant, "Tickets", "status", t["status"])],
    ["Priority", label(tenant, "Tickets", "priority", t["priority"])],
    ["Queue", label(tenant, "Tickets", "queueID", t["queueID"])],
    ["Configuration item", ci],
    ["Created", text(t["createDate"])],
    ["Last activity", text(t["lastActivityDate"])],
  ];
  const notesTable = tenant.table("TicketNotes");
  const notes = notesTable
    .lookup("ticketID", t["id"] as number)
    .map((id) => notesTable.get(id) as Row)
    .map(
      (n) =>
        `<li><strong>${esc(text(n["title"]))}</strong> ${esc(text(n["createDateTime"]))}<br>${esc(text(n["description"]))}</li>`,
    )
    .join("");
  const body = `${table(rows)}<h2>Description</h2><p class="pre">${esc(text(t["description"]))}</p>${
    notes ? `<h2>Notes</h2><ul>${notes}</ul>` : ""
  }`;
  return page(reply, 200, `Ticket ${text(t["ticketNumber"])}: ${text(t["title"])}`, body);
}

function ciPage(reply: FastifyReply, tenant: Tenant, c: Row): FastifyReply {
  const rows: Array<[string, string]> = [
    ["Reference title", text(c["referenceTitle"])],
    ["Company", name(tenant, "Companies", c["companyID"], "companyName")],
    ["Active", c["isActive"] ? "yes" : "no"],
    ["Serial number", text(c["serialNumber"])],
    ["Reference number", text(c["referenceNumber"])],
    ["Warranty expiration", text(c["warrantyExpirationDate"])],
    ["Last modified", text(c["lastModifiedTime"])],
  ];
  return page(reply, 200, `Configuration item ${text(c["referenceTitle"])}`, table(rows));
}

function name(tenant: Tenant, entity: string, id: unknown, field: string): string {
  if (typeof id !== "number") return "—";
  const row = tenant.table(entity).get(id);
  return row ? `${text(row[field])} (${id})` : String(id);
}

function label(tenant: Tenant, entity: string, field: string, value: unknown): string {
  if (value === null || value === undefined) return "—";
  const v = tenant.picklist(entity, field).find((p) => String(p.value) === String(value));
  return v ? `${v.label} (${String(value)})` : String(value);
}

function text(v: unknown): string {
  return v === null || v === undefined || v === "" ? "—" : String(v);
}

function table(rows: Array<[string, string]>): string {
  return `<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>`;
}

function notFound(reply: FastifyReply, what: string): FastifyReply {
  return page(reply, 404, `No such ${what}`, `<p>The emulator has no ${esc(what)} with that id.</p>`);
}

function page(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .code(status)
    .header("content-type", "text/html; charset=utf-8")
    .header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'")
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)} · Autotask emulator</title>` +
        `<style>body{font:15px system-ui,sans-serif;margin:2rem;max-width:60rem}th{text-align:left;padding-right:1rem;color:#555}` +
        `td,th{padding:.2rem .5rem .2rem 0;vertical-align:top}.pre{white-space:pre-wrap}.note{color:#666}</style></head>` +
        `<body><p class="note">Autotask emulator · read-only view</p><h1>${esc(title)}</h1>${body}</body></html>`,
    );
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
