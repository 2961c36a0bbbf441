import { PORTAL_PRIORITY_IDS, PORTAL_STATUS_IDS } from "./catalog.js";
import { invalid } from "./errors.js";
import { scheduleProblem } from "./schedule.js";

/** Input checks shared by the portal's modules; each throws a 400 naming the field. */

export function checkText(field: string, value: string): void {
  if (value.trim() === "") throw invalid(field, "must not be empty");
}

export function checkStatus(field: string, id: number): void {
  if (!PORTAL_STATUS_IDS.has(id)) throw invalid(field, `${id} is not a portal status id`);
}

export function checkPriority(field: string, id: number): void {
  if (!PORTAL_PRIORITY_IDS.has(id)) throw invalid(field, `${id} is not a portal priority id`);
}

export function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    throw invalid("timeZone", `"${tz}" is not an IANA time zone (e.g. "Asia/Kolkata", "UTC")`);
  }
}

export function checkCron(field: string, expr: string): void {
  const problem = scheduleProblem(expr);
  if (problem) throw invalid(field, problem);
}

export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

export function isIsoDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
}
