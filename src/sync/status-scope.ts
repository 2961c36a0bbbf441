import type { IntegrationView, MappingEntry } from "../portal/types.js";
import type { ConnectorManifest } from "../psa/connector.js";

/**
 * The status mapping rows that apply to a partner's settings. Where the PSA's statuses belong to a
 * scope (a ConnectWise status belongs to its service board: the manifest's `statusScope`), a table may
 * hold rows of several scopes; only the unscoped rows and those of the scope the settings choose (the
 * partner's board) are used, so that a status of another board is never sent or read as this one's.
 */
export function statusRowsInScope(
  rows: MappingEntry[],
  manifest: Pick<ConnectorManifest, "statusScope">,
  view: IntegrationView,
): MappingEntry[] {
  const key = manifest.statusScope?.settingKey;
  if (!key) return rows;
  const v = (view.ticketing as Record<string, unknown>)[key];
  const scope = typeof v === "number" ? v : null;
  return rows.filter((m) => m.scope === null || m.scope === scope);
}
