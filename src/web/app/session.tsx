import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { api, type SignInMode, setUnauthorizedHandler, tokenStore } from "./api";
import type { Me, Role } from "./types";

export interface Session {
  me: Me;
  token: string;
  mode: SignInMode;
}

interface SessionApi {
  session: Session | null;
  /** Signs in with a token (from POST /api/session, or an API token pasted by the user). */
  signIn(token: string, mode: SignInMode): Promise<void>;
  signOut(): Promise<void>;
  /** Set when the server ended the session (401). */
  expired: boolean;
}

const Ctx = createContext<SessionApi | null>(null);

export function useSession(): SessionApi {
  const s = useContext(Ctx);
  if (!s) throw new Error("useSession outside SessionProvider");
  return s;
}

/** The signed-in session; only call below the sign-in gate. */
export function useMe(): Session {
  const { session } = useSession();
  if (!session) throw new Error("not signed in");
  return session;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(() => tokenStore.get() !== null);
  const [expired, setExpired] = useState(false);

  const signIn = useCallback(async (token: string, mode: SignInMode) => {
    const me = await api<Me>("GET", "/api/me", undefined, token);
    tokenStore.set(token, mode);
    setExpired(false);
    setSession({ me, token, mode });
  }, []);

  const signOut = useCallback(async () => {
    const token = tokenStore.get();
    const mode = tokenStore.mode();
    tokenStore.clear();
    setSession(null);
    // A password session's token is revoked; a pasted API token belongs to the user and is kept.
    if (token && mode === "password") await api("DELETE", "/api/session", undefined, token).catch(() => {});
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      tokenStore.clear();
      setSession(null);
      setExpired(true);
    });
    const token = tokenStore.get();
    if (!token) return;
    // A token kept from earlier in this tab: check it is still good (a 401 clears it).
    signIn(token, tokenStore.mode())
      .catch(() => tokenStore.clear())
      .finally(() => setChecking(false));
  }, [signIn]);

  const value = useMemo(() => ({ session, signIn, signOut, expired }), [session, signIn, signOut, expired]);
  if (checking)
    return (
      <p className="loading-page" aria-live="polite">
        Loading…
      </p>
    );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

/** What each role may do in the UI (mirrors src/portal/access.ts; the API enforces it). */
export type UiPermission =
  | "integration:write"
  | "secret:read"
  | "mapping:write"
  | "data:write"
  | "partners"
  | "users";

const GRANTS: Record<Role, UiPermission[]> = {
  "noc-admin": ["integration:write", "secret:read", "mapping:write", "data:write", "partners", "users"],
  "partner-admin": ["integration:write", "secret:read", "mapping:write", "data:write", "users"],
  technician: ["data:write"],
  "read-only": [],
};

export function can(me: Me, p: UiPermission): boolean {
  return GRANTS[me.role].includes(p);
}

export const ROLE_NAMES: Record<Role, string> = {
  "noc-admin": "NOC admin",
  "partner-admin": "Partner admin",
  technician: "Technician",
  "read-only": "Read-only",
};
