import { type DependencyList, useEffect, useState } from "react";
import { messageOf } from "../api";
import { Badge, type Tone } from "../components";
import type { DeviceListItem } from "../types";

/**
 * What the device list and the device page share: the sync state of a device, its client's PSA
 * company by name, and its warranty end.
 */

/**
 * What the asset sync does with a device in this state, and whether it has happened (a linked asset:
 * `asset` is the PSA's word for it, an Autotask "CI", a ConnectWise "configuration").
 */
export function syncStateOf(
  d: Pick<DeviceListItem, "psaCiId" | "state">,
  asset: string,
): { tone: Tone; text: string } {
  if (d.psaCiId !== null)
    return d.state === "managed"
      ? { tone: "ok", text: `Synced (active ${asset})` }
      : { tone: "ok", text: `Synced (inactive ${asset})` };
  if (d.state === "unmanaged") return { tone: "neutral", text: `No ${asset} (unmanaged)` };
  return { tone: "warn", text: "Not synced yet" };
}

/**
 * A PSA company by its name with the id as secondary text; the id alone, said so, when the name is
 * not known; `none` when there is no company.
 */
export function CompanyName({
  id,
  name,
  none = "not mapped — set it in Setup › Clients",
}: {
  id: number | null;
  name: string | null;
  none?: string;
}) {
  if (id === null) return <span className="muted">{none}</span>;
  if (name === null)
    return (
      <span>
        {id} <span className="muted small">(name not known)</span>
      </span>
    );
  return (
    <span>
      {name} <span className="muted small">({id})</span>
    </span>
  );
}

/** Today as YYYY-MM-DD in the browser's time zone (warranty dates are plain dates). */
function today(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** A warranty end date, marked when it has passed. */
export function Warranty({ date }: { date: string | null }) {
  if (date === null) return <span className="muted">—</span>;
  return date < today() ? (
    <span>
      {date} <Badge tone="warn">expired</Badge>
    </span>
  ) : (
    <span>{date}</span>
  );
}

/**
 * Loads data when the dependencies change and keeps the last answer on screen meanwhile (a list that
 * follows the search box must not blink at every key); a stale answer never overwrites a newer one.
 */
export function useKeptResource<T>(
  load: () => Promise<T>,
  deps: DependencyList,
): { data: T | undefined; error: string | undefined; loading: boolean } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  useEffect(() => {
    let current = true;
    setLoading(true);
    load().then(
      (d) => {
        if (!current) return;
        setData(d);
        setError(undefined);
        setLoading(false);
      },
      (e: unknown) => {
        if (!current) return;
        setError(messageOf(e));
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
    // biome-ignore lint/correctness/useExhaustiveDependencies: the caller's deps decide when to reload
  }, deps);
  return { data, error, loading };
}
