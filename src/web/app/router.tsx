import { type AnchorHTMLAttributes, type MouseEvent, useSyncExternalStore } from "react";

/** A small history-API router: the server answers index.html for every UI path (SPA fallback). */

const NAVIGATE = "nocbridge:navigate";

function subscribe(fn: () => void): () => void {
  window.addEventListener("popstate", fn);
  window.addEventListener(NAVIGATE, fn);
  window.addEventListener("hashchange", fn);
  return () => {
    window.removeEventListener("popstate", fn);
    window.removeEventListener(NAVIGATE, fn);
    window.removeEventListener("hashchange", fn);
  };
}

const snapshot = () => window.location.pathname + window.location.search;

/** The current path and query string; re-renders on navigation. */
export function useLocation(): { path: string; search: URLSearchParams; href: string } {
  const href = useSyncExternalStore(subscribe, snapshot);
  const i = href.indexOf("?");
  return {
    path: i < 0 ? href : href.slice(0, i),
    search: new URLSearchParams(i < 0 ? "" : href.slice(i + 1)),
    href,
  };
}

/**
 * Goes to `to` (a path, optional query and `#section`). Leaving the page (another path) asks the
 * leave guards first (`force`: not). A `#section` scrolls to that element when it is shown.
 */
export function navigate(to: string, opts: { replace?: boolean; force?: boolean } = {}): void {
  if (to === here()) {
    scrollToHash(to);
    return;
  }
  if (!opts.force && pathOf(to) !== pathOf(here()) && !confirmLeave()) return;
  if (opts.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  shown = here();
  window.dispatchEvent(new Event(NAVIGATE));
  if (to.includes("#")) scrollToHash(to);
  else if (!opts.replace) window.scrollTo(0, 0);
}

// ---------------------------------------------------------------- sections and leave guards

const here = () => window.location.pathname + window.location.search + window.location.hash;
const pathOf = (href: string) => href.replace(/[?#].*$/, "");

function scrollToHash(href: string): void {
  const i = href.indexOf("#");
  if (i < 0) return;
  const id = decodeURIComponent(href.slice(i + 1));
  requestAnimationFrame(() => document.getElementById(id)?.scrollIntoView({ block: "start" }));
}

const hashSnapshot = () => window.location.hash;

/** The current `#section` ("" when none); re-renders on navigation. */
export function useHash(): string {
  return useSyncExternalStore(subscribe, hashSnapshot);
}

/** What a page with unsaved edits says when the user would leave it; null: nothing to lose. */
export type LeaveGuard = () => string | null;
const guards = new Set<LeaveGuard>();

/** Registers a leave guard; returns its removal. */
export function addLeaveGuard(guard: LeaveGuard): () => void {
  guards.add(guard);
  return () => {
    guards.delete(guard);
  };
}

/** Whether the user may leave the page: nothing pending, or they confirm leaving it. */
export function confirmLeave(): boolean {
  for (const guard of guards) {
    const message = guard();
    if (message) return window.confirm(message);
  }
  return true;
}

/** The address the app shows (a Back or Forward the user declines goes back to it). */
let shown = typeof window === "undefined" ? "" : here();

// Registered when the module loads, so before any component's listener: a Back or Forward that
// would leave a page with unsaved edits is undone (the address restored) unless the user confirms.
if (typeof window !== "undefined")
  window.addEventListener("popstate", (e) => {
    if (pathOf(here()) !== pathOf(shown) && !confirmLeave()) {
      e.stopImmediatePropagation();
      window.history.pushState(null, "", shown);
      return;
    }
    shown = here();
  });

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, "href"> & { to: string };

/** An <a> that navigates without a page load (a modified click still opens a new tab). */
export function Link({ to, onClick, ...rest }: LinkProps) {
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={click} {...rest} />;
}

/** Matches `/p/:partnerId/tickets` style patterns; returns the parameters or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/").filter(Boolean);
  const s = path.split("/").filter(Boolean);
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const a = p[i] as string;
    const b = s[i] as string;
    if (a.startsWith(":")) out[a.slice(1)] = decodeURIComponent(b);
    else if (a !== b) return null;
  }
  return out;
}
