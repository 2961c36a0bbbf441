/**
 * What a portal ticket says about where it came from, in the PSA's description: its alerts (device,
 * message, time) as a block after the description. Built here, PSA-neutrally; the connector fits the
 * result to its PSA's length limit (`TicketPort.descriptionAsStored`).
 *
 * The portal keeps the description alone; the PSA holds the description and the block. So the
 * engine compares like with like: the portal side of the pair is the description *with* the block
 * (`portalDescription`), the PSA side is what the PSA holds, and a PSA edit brings back only the
 * part before the block (`portalPart`). An edit on either side then crosses once and never returns.
 */
import { TRUNCATION_MARK } from "../../psa/text.js";

/** The heading of the alerts block; the portal's part of a PSA description is what comes before it. */
export const ALERTS_HEADING = "--- Alerts from the NOC portal ---";

/** One alert as the block shows it. */
export interface AlertLine {
  deviceId: number;
  hostname: string;
  message: string;
  /** ISO 8601. */
  createdAt: string;
}

/** "2026-11-28 09:14 UTC": the time of an alert, the same for every reader whatever their zone. */
function when(iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** The alerts block ("" when the ticket has no alerts). */
export function alertsBlock(alerts: readonly AlertLine[]): string {
  if (alerts.length === 0) return "";
  const lines = alerts.map(
    (a) => `${when(a.createdAt)} · ${a.hostname || `device ${a.deviceId}`} · ${a.message}`,
  );
  return [ALERTS_HEADING, ...lines].join("\n");
}

/** The description as it goes to the PSA: the portal's description, then the alerts block. */
export function portalDescription(description: string, alerts: readonly AlertLine[]): string {
  const block = alertsBlock(alerts);
  if (block === "") return description;
  return description.trim() === "" ? block : `${description}\n\n${block}`;
}

/**
 * The portal's part of a PSA description: the text before the alerts block (all of it when the block
 * is not there), without the separator and without a cut marker. A PSA that keeps line breaks as
 * spaces is read the same way: the heading is found wherever it is.
 */
export function portalPart(psaDescription: string): string {
  let text = psaDescription;
  const at = text.indexOf(ALERTS_HEADING);
  if (at >= 0) text = text.slice(0, at).replace(/\s+$/, "");
  else {
    // A description cut inside the portal's own part: the marker is the connector's, not the author's.
    const mark = TRUNCATION_MARK.trim();
    const m = text.lastIndexOf(mark);
    if (m >= 0 && m + mark.length === text.length) text = text.slice(0, m).replace(/\s+$/, "");
  }
  return text;
}
