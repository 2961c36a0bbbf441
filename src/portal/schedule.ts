import { Cron } from "croner";

/**
 * Checks an asset-sync schedule: a standard five-field cron expression (minute hour day-of-month
 * month day-of-week) that fires at most once an hour. An asset run reads every CI of every client,
 * so anything more frequent would spend the partner's hourly API budget on runs that find nothing
 * new. Returns what is wrong, or null when the expression is acceptable.
 */
export function scheduleProblem(expr: string): string | null {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5)
    return `"${expr}" has ${fields.length} field${fields.length === 1 ? "" : "s"}; a schedule is exactly five: minute hour day-of-month month day-of-week`;
  try {
    new Cron(expr, { paused: true });
  } catch (e) {
    return `"${expr}" is not a cron expression (${(e as Error).message})`;
  }
  // Once an hour at most: the minute field names exactly one minute. Any list, range or step there
  // fires two or more times within each matching hour.
  const minute = fields[0] as string;
  if (!/^\d{1,2}$/.test(minute) || Number(minute) > 59)
    return `"${expr}" fires more than once an hour; the minute field must be one minute (0–59), e.g. "0 2 10,25 * *"`;
  return null;
}
