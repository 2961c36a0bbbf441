import { createContext, type ReactNode, useContext, useEffect } from "react";
import { get } from "./api";
import { Banner, Loading } from "./components";
import { useResource } from "./hooks";
import { DeviceDetailPage } from "./pages/DeviceDetail";
import { Devices } from "./pages/Devices";
import { Mappings } from "./pages/Mappings";
import { Partners } from "./pages/Partners";
import { Queue } from "./pages/Queue";
import { Reconciliation } from "./pages/Reconciliation";
import { Setup } from "./pages/Setup";
import { SignIn } from "./pages/SignIn";
import { SyncPage } from "./pages/Sync";
import { SyncErrors } from "./pages/SyncErrors";
import { TicketDetailPage } from "./pages/TicketDetail";
import { Tickets } from "./pages/Tickets";
import { Users } from "./pages/Users";
import { PsaScope } from "./psa";
import { confirmLeave, Link, match, navigate, useLocation } from "./router";
import { can, ROLE_NAMES, type Session, useMe, useSession } from "./session";
import type { Me, Page, Partner } from "./types";

/** The partner whose pages are shown (from the URL: /p/:partnerId/…). */
interface PartnerCtx {
  partner: Partner;
  reload(): Promise<void>;
}
const PartnerContext = createContext<PartnerCtx | null>(null);

export function usePartner(): PartnerCtx {
  const p = useContext(PartnerContext);
  if (!p) throw new Error("usePartner outside a partner page");
  return p;
}

interface NavItem {
  section: string;
  label: string;
  show(me: Me): boolean;
}

/** Role-aware navigation: admins set up the integration; technicians and read-only users work the views. */
const PARTNER_NAV: NavItem[] = [
  { section: "setup", label: "Setup", show: (me) => can(me, "integration:write") },
  { section: "mappings", label: "Mappings", show: (me) => can(me, "mapping:write") },
  { section: "sync", label: "Validate & sync", show: (me) => can(me, "integration:write") },
  { section: "reconciliation", label: "Reconciliation", show: (me) => can(me, "integration:write") },
  { section: "tickets", label: "Tickets", show: () => true },
  { section: "devices", label: "Devices", show: () => true },
  { section: "sync-errors", label: "Sync errors", show: () => true },
  { section: "users", label: "Users", show: (me) => can(me, "users") },
];

/** Where a user lands after sign-in: technicians and NOC admins on the ticket queue (pages/Queue.tsx). */
export function homeOf(me: Me): string {
  if (me.role === "technician" || me.role === "noc-admin") return "/queue";
  if (me.partnerId === null) return "/partners";
  return me.role === "partner-admin" ? `/p/${me.partnerId}/setup` : `/p/${me.partnerId}/tickets`;
}

export function App() {
  const { session } = useSession();
  if (!session) return <SignIn />;
  return <SignedIn session={session} />;
}

function SignedIn({ session }: { session: Session }) {
  const { path, search } = useLocation();
  const me = session.me;
  const home = homeOf(me);

  useEffect(() => {
    if (path === "/" || path === "/signin") navigate(home, { replace: true });
  }, [path, home]);

  const pm = /^\/p\/(\d+)(?:\/([^/]+))?/.exec(path);
  // The queue filtered by one partner is that partner's context too (the picker and its pages).
  const queuePartner = path === "/queue" ? Number(search.get("partnerId")) || null : null;
  const partnerId = pm ? Number(pm[1]) : (queuePartner ?? me.partnerId);
  const section = pm?.[2] ?? (path.startsWith("/partners") ? "partners" : path === "/queue" ? "queue" : "");

  let content: ReactNode;
  if (path === "/partners") {
    content = me.partnerId === null ? <Partners /> : <NotFound />;
  } else if (path === "/queue") {
    content = <Queue />;
  } else if (pm) {
    content = (
      <PartnerScope partnerId={Number(pm[1])}>
        <PartnerRoutes path={path} />
      </PartnerScope>
    );
  } else if (path === "/" || path === "/signin") {
    content = <Loading />;
  } else {
    content = <NotFound />;
  }

  return (
    <div className="shell">
      <Header partnerId={partnerId} section={section} />
      <main className="content" id="main">
        {content}
      </main>
    </div>
  );
}

function PartnerRoutes({ path }: { path: string }) {
  const me = useMe().me;
  const routes: Array<[string, () => ReactNode, boolean]> = [
    ["/p/:pid/setup", () => <Setup />, true],
    ["/p/:pid/mappings", () => <Mappings />, true],
    ["/p/:pid/sync", () => <SyncPage />, can(me, "integration:write")],
    ["/p/:pid/reconciliation", () => <Reconciliation />, can(me, "integration:write")],
    ["/p/:pid/tickets", () => <Tickets />, true],
    ["/p/:pid/devices", () => <Devices />, true],
    ["/p/:pid/sync-errors", () => <SyncErrors />, true],
    ["/p/:pid/users", () => <Users />, can(me, "users")],
  ];
  for (const [pattern, render, allowed] of routes) {
    if (match(pattern, path)) return allowed ? render() : <NotAllowed />;
  }
  const dv = match("/p/:pid/devices/:deviceId", path);
  if (dv) return <DeviceDetailPage deviceId={Number(dv.deviceId)} />;
  const t = match("/p/:pid/tickets/:ticketId", path);
  if (t) return <TicketDetailPage ticketId={Number(t.ticketId)} />;
  const pid = /^\/p\/(\d+)\/?$/.exec(path);
  if (pid) {
    navigate(homeFor(me, Number(pid[1])), { replace: true });
    return <Loading />;
  }
  return <NotFound />;
}

function homeFor(me: Me, partnerId: number): string {
  return can(me, "integration:write") ? `/p/${partnerId}/setup` : `/p/${partnerId}/tickets`;
}

function PartnerScope({ partnerId, children }: { partnerId: number; children: ReactNode }) {
  const res = useResource(() => get<Partner>(`/api/partners/${partnerId}`), [partnerId]);
  if (res.error)
    return (
      <Banner kind="error" title="This partner cannot be shown">
        {res.error}
      </Banner>
    );
  if (!res.data) return <Loading />;
  return (
    <PartnerContext.Provider value={{ partner: res.data, reload: () => res.reload(true) }}>
      <PsaScope partnerId={partnerId}>{children}</PsaScope>
    </PartnerContext.Provider>
  );
}

function Header({ partnerId, section }: { partnerId: number | null; section: string }) {
  const { me } = useMe();
  const { signOut } = useSession();
  const nocWide = me.partnerId === null;
  const partners = useResource(
    () => (nocWide ? get<Page<Partner>>("/api/partners?limit=500") : Promise.resolve(null)),
    [nocWide],
  );
  const items = PARTNER_NAV.filter((n) => n.show(me));
  const list = partners.data?.items ?? [];
  const current = list.find((p) => p.id === partnerId);

  return (
    <header className="topbar">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <div className="topbar-row">
        <Link to={homeOf(me)} className="brand" aria-label="nocbridge home">
          <span className="logo" aria-hidden="true">
            N
          </span>
          <span>nocbridge</span>
        </Link>
        {nocWide ? (
          <div className="partner-pick">
            <label htmlFor="partner-pick">Partner</label>
            <select
              id="partner-pick"
              value={current ? String(current.id) : ""}
              onChange={(e) => {
                const id = e.target.value;
                if (section === "queue") navigate(id ? `/queue?partnerId=${id}` : "/queue");
                else if (!id) navigate("/partners");
                else if (section && section !== "partners") navigate(`/p/${id}/${section}`);
                else navigate(homeFor(me, Number(id)));
              }}
            >
              <option value="">All partners</option>
              {list.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </div>
        ) : null}
        <div className="who">
          <span className="who-name">{me.name}</span>
          <span className="who-role">{ROLE_NAMES[me.role]}</span>
          <button
            type="button"
            className="ghost"
            onClick={() => confirmLeave() && void signOut().then(() => navigate("/", { force: true }))}
          >
            Sign out
          </button>
        </div>
      </div>
      <nav className="mainnav" aria-label="Main">
        <ul>
          <li>
            <Link to="/queue" aria-current={section === "queue" ? "page" : undefined}>
              Queue
            </Link>
          </li>
          {nocWide ? (
            <li>
              <Link to="/partners" aria-current={section === "partners" ? "page" : undefined}>
                Partners
              </Link>
            </li>
          ) : null}
          {partnerId !== null
            ? items.map((n) => (
                <li key={n.section}>
                  <Link
                    to={`/p/${partnerId}/${n.section}`}
                    aria-current={section === n.section ? "page" : undefined}
                  >
                    {n.label}
                  </Link>
                </li>
              ))
            : null}
        </ul>
      </nav>
    </header>
  );
}

function NotFound() {
  return (
    <Banner kind="warning" title="Page not found">
      There is nothing at this address. <Link to="/">Go to the start page</Link>.
    </Banner>
  );
}

function NotAllowed() {
  return (
    <Banner kind="warning" title="Not available for your role">
      Your role cannot use this page. <Link to="/">Go to the start page</Link>.
    </Banner>
  );
}
