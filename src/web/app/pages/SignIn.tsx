import { type FormEvent, useState } from "react";
import { ApiError, api, messageOf } from "../api";
import { Banner, Field } from "../components";
import { useTitle } from "../hooks";
import { useSession } from "../session";

type Method = "password" | "token";

/** Sign in with a username and password (a session token) or with an API token. */
export function SignIn() {
  useTitle("Sign in");
  const { signIn, expired } = useSession();
  const [method, setMethod] = useState<Method>("password");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [token, setToken] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      if (method === "password") {
        const r = await api<{ token: string }>("POST", "/api/session", { username, password }, null);
        await signIn(r.token, "password");
      } else {
        await signIn(token.trim(), "token");
      }
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? method === "password"
            ? "The username or password is not right."
            : "That token is not valid (or it was revoked)."
          : messageOf(err),
      );
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <div className="signin-card">
        <div className="signin-brand">
          <span className="logo" aria-hidden="true">
            N
          </span>
          <div>
            <h1>nocbridge</h1>
            <p className="muted">NOC portal ⇄ PSA (Autotask, ConnectWise)</p>
          </div>
        </div>
        {expired ? <Banner kind="info">Your session has ended. Sign in again.</Banner> : null}
        <form onSubmit={submit} noValidate>
          <fieldset className="segmented">
            <legend>Sign in with</legend>
            <label className={method === "password" ? "on" : ""}>
              <input
                type="radio"
                name="method"
                value="password"
                checked={method === "password"}
                onChange={() => setMethod("password")}
              />
              Account
            </label>
            <label className={method === "token" ? "on" : ""}>
              <input
                type="radio"
                name="method"
                value="token"
                checked={method === "token"}
                onChange={() => setMethod("token")}
              />
              API token
            </label>
          </fieldset>
          {method === "password" ? (
            <>
              <Field label="Username">
                {(a) => (
                  <input
                    {...a}
                    name="username"
                    autoComplete="username"
                    value={username}
                    onChange={(e) => setUsername(e.target.value)}
                    required
                  />
                )}
              </Field>
              <Field label="Password">
                {(a) => (
                  <input
                    {...a}
                    name="password"
                    type="password"
                    autoComplete="current-password"
                    value={password}
                    onChange={(e) => setPassword(e.target.value)}
                    required
                  />
                )}
              </Field>
            </>
          ) : (
            <Field
              label="Your API token"
              hint="The token printed by `nocbridge users create` or POST /api/users."
            >
              {(a) => (
                <input
                  {...a}
                  name="token"
                  type="password"
                  autoComplete="off"
                  spellCheck={false}
                  value={token}
                  onChange={(e) => setToken(e.target.value)}
                  required
                />
              )}
            </Field>
          )}
          {error ? <Banner kind="error">{error}</Banner> : null}
          <button
            type="submit"
            className="primary wide"
            disabled={busy || (method === "password" ? !username || !password : !token.trim())}
          >
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </form>
      </div>
    </main>
  );
}
