import { useCallback, useEffect, useRef, useState } from "react";
import { usePartner } from "../App";
import { get } from "../api";
import { loadCatalog } from "../catalog";
import { Banner, Loading, PageHeader } from "../components";
import { useResource, useTitle } from "../hooks";
import { usePsa } from "../psa";
import { Link, useHash } from "../router";
import { can, useMe } from "../session";
import type { Catalog, DriftItem, MappingKind, PsaOptions } from "../types";
import { MappingTable } from "./MappingTable";
import { specsFor } from "./mapping-spec";
import { ResourceMapSection } from "./ResourceMap";

/**
 * The three mapping tables (the seed's Figures 10–12) and the time entries' resource map. A
 * `#status-reverse` (any table's kind, or `#resource-map`) in the address scrolls to that table once
 * the tables above it are shown.
 */
export function Mappings() {
  const { partner } = usePartner();
  const { me } = useMe();
  useTitle(`Mappings — ${partner.name}`);
  const writable = can(me, "mapping:write");
  const catalog = useResource(loadCatalog, []);
  const { psa, error: psaError } = usePsa();
  const creds = psa?.hasCredentials ?? false;
  // Live pick-lists are read only by roles that may change settings (they spend the partner's API budget).
  const live = creds && can(me, "integration:write");
  const options = useResource(
    () => (live ? get<PsaOptions>(`/api/partners/${partner.id}/psa/options`) : Promise.resolve(undefined)),
    [partner.id, live],
  );
  const drift = useResource(
    () => get<{ items: DriftItem[] }>(`/api/partners/${partner.id}/mappings/drift`),
    [partner.id],
  );
  const specs = psa ? specsFor(psa.label) : [];
  const [loaded, setLoaded] = useState<ReadonlySet<MappingKind>>(new Set());
  const onLoaded = useCallback(
    (kind: MappingKind) => setLoaded((s) => (s.has(kind) ? s : new Set([...s, kind]))),
    [],
  );
  useScrollToSection(specs.length > 0 && loaded.size === specs.length);

  return (
    <>
      <PageHeader title="Ticket status and priority mapping">
        <span className="muted">{partner.name}</span>
      </PageHeader>
      {catalog.error ? <Banner kind="error">{catalog.error}</Banner> : null}
      {psaError ? <Banner kind="error">{psaError}</Banner> : null}
      {psa && !creds ? (
        <Banner kind="info">
          {psa.label}'s statuses and priorities are offered as pick-lists once the API credentials are saved
          in <Link to={`/p/${partner.id}/setup`}>Setup</Link>. Until then, type the {psa.label} ids and names.
        </Banner>
      ) : null}
      {psa?.statusScope ? (
        <Banner kind="info">
          {psa.label}'s statuses belong to a {psa.statusScope.label.toLowerCase()}: the status tables offer
          those of{" "}
          {psa.statusScope.id === null
            ? `the ${psa.statusScope.label.toLowerCase()} chosen in Setup (none yet)`
            : `"${psa.statusScope.name || psa.statusScope.id}" (${psa.statusScope.id}), chosen in Setup`}
          , and their rows keep it.
        </Banner>
      ) : null}
      {options.error && psa ? (
        <Banner kind="warning" title={`${psa.label}'s pick-lists could not be read`}>
          {options.error}
        </Banner>
      ) : null}
      {!catalog.data || !psa ? (
        psaError ? null : (
          <Loading />
        )
      ) : (
        <>
          <nav className="section-links" aria-label="Mapping tables">
            {specs.map((s) => (
              <Link key={s.kind} to={`/p/${partner.id}/mappings#${s.kind}`}>
                {s.title}
              </Link>
            ))}
            <Link to={`/p/${partner.id}/mappings#resource-map`}>Time entries</Link>
          </nav>
          {specs.map((spec) => (
            <MappingTable
              key={spec.kind}
              spec={spec}
              psa={psa}
              catalog={catalog.data as Catalog}
              options={options.data}
              drift={(drift.data?.items ?? []).filter((d) => d.kind === spec.kind)}
              writable={writable}
              onSaved={() => void drift.reload(true)}
              onLoaded={onLoaded}
            />
          ))}
          <ResourceMapSection psa={psa} options={options.data} writable={writable} />
        </>
      )}
    </>
  );
}

/**
 * Scrolls to the section the address names (`#status-reverse`) once `ready` (the tables above it have
 * their rows, so it does not move after the scroll); again whenever the section named changes.
 */
function useScrollToSection(ready: boolean): void {
  const hash = useHash();
  const done = useRef("");
  useEffect(() => {
    if (!ready || !hash || done.current === hash) return;
    const el = document.getElementById(decodeURIComponent(hash.slice(1)));
    if (!el) return;
    done.current = hash;
    el.scrollIntoView({ block: "start" });
  }, [ready, hash]);
}
