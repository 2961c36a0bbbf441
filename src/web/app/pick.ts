import type { PsaOption } from "./types";

/** Options of a live PSA pick-list for a <select>, keeping a stored id that the PSA (`psa`) no longer offers. */
export function optionsWith(
  options: PsaOption[],
  current: number | null | undefined,
  psa: string,
): PsaOption[] {
  const list = [...options].sort(
    (a, b) => Number(b.isActive) - Number(a.isActive) || a.label.localeCompare(b.label),
  );
  if (current !== null && current !== undefined && !options.some((o) => o.id === current))
    list.unshift({ id: current, label: `#${current} — not found in ${psa}`, isActive: false });
  return list;
}

export function optionText(o: PsaOption): string {
  return `${o.label} (${o.id})${o.isActive ? "" : " — inactive"}`;
}

/** "ticketing.queueId: the NOC queue id is required…" → "the NOC queue id is required…" */
export function fieldMessage(message: string, field: string): string {
  const prefix = `${field}: `;
  const m = message.startsWith(prefix) ? message.slice(prefix.length) : message;
  return m.charAt(0).toUpperCase() + m.slice(1);
}
