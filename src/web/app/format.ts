/** Dates in the partner's time zone (the seed's Figure 13 shows "Last Sync Date: 02-29-12 15:06 IST"). */
export function formatDateTime(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const opts: Intl.DateTimeFormatOptions = {
    year: "numeric",
    month: "short",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  };
  try {
    return new Intl.DateTimeFormat("en-GB", { ...opts, ...(timeZone ? { timeZone } : {}) }).format(d);
  } catch {
    return new Intl.DateTimeFormat("en-GB", opts).format(d);
  }
}

/** "3 min ago" style, for history rows and polling. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (Number.isNaN(s)) return iso;
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function duration(startIso: string, endIso: string | null): string {
  if (!endIso) return "—";
  const ms = new Date(endIso).getTime() - new Date(startIso).getTime();
  if (Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export const RUN_STATUS_TEXT: Record<string, string> = {
  running: "Running",
  succeeded: "Success",
  partial: "Partial success",
  failed: "Failed",
  "awaiting-approval": "Awaiting approval",
};

/** The Autotask web UI's base URL from the REST API URL: webservices5.autotask.net → ww5.autotask.net. */
export function autotaskWebUrl(apiUrl: string): string | null {
  if (!apiUrl) return null;
  try {
    const u = new URL(apiUrl);
    const m = /^webservices(\d+)\.autotask\.net$/i.exec(u.hostname);
    if (m) return `https://ww${m[1]}.autotask.net`;
    return u.origin;
  } catch {
    return null;
  }
}

export function autotaskTicketUrl(webUrl: string | null, ticketId: number): string | null {
  return webUrl
    ? `${webUrl}/Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenTicketDetail&TicketID=${ticketId}`
    : null;
}

export function autotaskCiUrl(webUrl: string | null, ciId: number): string | null {
  return webUrl
    ? `${webUrl}/Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenInstalledProduct&InstalledProductID=${ciId}`
    : null;
}
