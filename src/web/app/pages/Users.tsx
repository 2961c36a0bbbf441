import { type FormEvent, useState } from "react";
import { usePartner } from "../App";
import { ApiError, api, get, messageOf, qs } from "../api";
import {
  Badge,
  Banner,
  errorFor,
  Field,
  type FieldError,
  Loading,
  PageHeader,
  Pager,
  Section,
} from "../components";
import { formatDateTime } from "../format";
import { useResource, useTitle } from "../hooks";
import { ROLE_NAMES, useMe } from "../session";
import type { Page, Role, User, UserCreated } from "../types";

const LIMIT = 50;
/** Roles a partner's user may have (NOC admins are not tied to a partner). */
const PARTNER_ROLES: Role[] = ["partner-admin", "technician", "read-only"];
const EXPIRY_CHOICES: Array<[string, string]> = [
  ["", "Never"],
  ["30", "30 days"],
  ["90", "90 days"],
  ["365", "1 year"],
];

/** What the panel under the table is doing for one user. */
type Action = { kind: "password" | "token" | "delete"; user: User };

const toFieldError = (x: unknown): FieldError => ({
  field: x instanceof ApiError && x.field ? x.field : "",
  message: messageOf(x),
});

/** A partner's users: create, disable/enable, delete, a new API token (shown once), set a password. */
export function Users() {
  const { partner } = usePartner();
  useTitle(`Users · ${partner.name}`);
  const { me } = useMe();
  const [offset, setOffset] = useState(0);
  const users = useResource(
    () => get<Page<User>>(`/api/users${qs({ partnerId: partner.id, limit: LIMIT, offset })}`),
    [partner.id, offset],
  );
  const [action, setAction] = useState<Action | null>(null);
  const [shown, setShown] = useState<{ name: string; token: string } | null>(null);
  const [rowErr, setRowErr] = useState<{ userId: number; message: string } | null>(null);

  const setDisabled = async (u: User, disabled: boolean) => {
    setRowErr(null);
    try {
      await api<User>("PATCH", `/api/users/${u.id}`, { disabled });
      await users.reload(true);
    } catch (x) {
      setRowErr({ userId: u.id, message: messageOf(x) });
    }
  };
  const done = async (token?: { name: string; token: string }) => {
    setAction(null);
    if (token) setShown(token);
    await users.reload(true);
  };

  return (
    <>
      <PageHeader title="Users" />
      {users.error ? <Banner kind="error">{users.error}</Banner> : null}
      {shown ? <ShownToken {...shown} onClose={() => setShown(null)} /> : null}
      <Section
        title={`Users of ${partner.name}`}
        description="Disabling a user or setting a new password ends its sessions at once; a new token replaces the old one at once."
      >
        {!users.data ? (
          <Loading />
        ) : users.data.items.length === 0 ? (
          <p className="muted">No user yet.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Username</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Token expires</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {users.data.items.map((u) => {
                  const self = u.id === me.userId;
                  return (
                    <tr key={u.id}>
                      <td data-label="Name">
                        {u.name}
                        {self ? <span className="muted"> (you)</span> : null}
                      </td>
                      <td data-label="Username">
                        {u.username ?? <span className="muted">API token only</span>}
                      </td>
                      <td data-label="Role">{ROLE_NAMES[u.role]}</td>
                      <td data-label="Status">
                        {u.disabled ? <Badge tone="bad">Disabled</Badge> : <Badge tone="ok">Active</Badge>}
                      </td>
                      <td data-label="Token expires">
                        {u.tokenExpiresAt ? formatDateTime(u.tokenExpiresAt) : "Never"}
                      </td>
                      <td className="actions">
                        <div className="links">
                          <button
                            type="button"
                            className="link"
                            disabled={self}
                            aria-label={`${u.disabled ? "Enable" : "Disable"} ${u.name}`}
                            onClick={() => void setDisabled(u, !u.disabled)}
                          >
                            {u.disabled ? "Enable" : "Disable"}
                          </button>
                          <button
                            type="button"
                            className="link"
                            aria-label={`New token for ${u.name}`}
                            onClick={() => setAction({ kind: "token", user: u })}
                          >
                            New token
                          </button>
                          <button
                            type="button"
                            className="link"
                            aria-label={`Set password of ${u.name}`}
                            onClick={() => setAction({ kind: "password", user: u })}
                          >
                            Set password
                          </button>
                          <button
                            type="button"
                            className="link danger"
                            disabled={self}
                            aria-label={`Delete ${u.name}`}
                            onClick={() => setAction({ kind: "delete", user: u })}
                          >
                            Delete
                          </button>
                        </div>
                        {rowErr?.userId === u.id ? (
                          <div className="field-error" role="alert">
                            {rowErr.message}
                          </div>
                        ) : null}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        {users.data ? (
          <Pager total={users.data.total} limit={LIMIT} offset={offset} onOffset={setOffset} />
        ) : null}
      </Section>
      {action ? <ActionPanel key={`${action.kind}-${action.user.id}`} action={action} onDone={done} /> : null}
      <NewUser partnerId={partner.id} onCreated={done} />
    </>
  );
}

function ShownToken({ name, token, onClose }: { name: string; token: string; onClose: () => void }) {
  return (
    <Banner kind="success" title={`API token of ${name}`}>
      <p>Copy it now: it is shown only this once.</p>
      <label htmlFor="shown-token" className="sr-only">
        The new API token
      </label>
      <input
        id="shown-token"
        readOnly
        value={token}
        onFocus={(e) => e.target.select()}
        data-testid="shown-token"
      />
      <div className="form-actions">
        <button type="button" onClick={onClose}>
          Done
        </button>
      </div>
    </Banner>
  );
}

/** Confirm a delete, choose the expiry of a new token, or type a new password. */
function ActionPanel({
  action,
  onDone,
}: {
  action: Action;
  onDone: (token?: { name: string; token: string }) => Promise<void>;
}) {
  const { kind, user } = action;
  const [password, setPassword] = useState("");
  const [expiry, setExpiry] = useState("");
  const [err, setErr] = useState<FieldError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      if (kind === "delete") {
        await api("DELETE", `/api/users/${user.id}`);
        await onDone();
      } else if (kind === "password") {
        await api<User>("PATCH", `/api/users/${user.id}`, { password });
        await onDone();
      } else {
        const r = await api<UserCreated>(
          "POST",
          `/api/users/${user.id}/token`,
          expiry ? { expiresInDays: Number(expiry) } : {},
        );
        await onDone({ name: user.name, token: r.token });
      }
    } catch (x) {
      setErr(toFieldError(x));
      setBusy(false);
    }
  };
  const title =
    kind === "delete"
      ? `Delete ${user.name}?`
      : kind === "password"
        ? `Set the password of ${user.name}`
        : `New API token for ${user.name}`;
  const known = kind === "password" ? ["password", "username"] : ["expiresInDays"];

  return (
    <Section title={title}>
      <form className="grid-form" onSubmit={submit} noValidate aria-label={title}>
        {kind === "delete" ? (
          <p className="span-2">
            The user, its API token and its sessions are removed. This cannot be undone.
          </p>
        ) : kind === "password" ? (
          <Field
            label="New password"
            required
            hint={user.username ? "At least 8 characters. The user's sessions end." : undefined}
            error={errorFor(err, "password") ?? errorFor(err, "username")}
          >
            {(a) => (
              <input
                {...a}
                type="password"
                autoComplete="new-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
            )}
          </Field>
        ) : (
          <Field
            label="Expires"
            hint="The old token stops working at once."
            error={errorFor(err, "expiresInDays")}
          >
            {(a) => <ExpirySelect a={a} value={expiry} onChange={setExpiry} />}
          </Field>
        )}
        {kind === "password" && !user.username ? (
          <Banner kind="warning">
            This user has no username: give it one before it can sign in with a password.
          </Banner>
        ) : null}
        {err && !known.includes(err.field) ? <Banner kind="error">{err.message}</Banner> : null}
        <div className="form-actions">
          <button
            type="submit"
            className="primary"
            disabled={busy || (kind === "password" && password.length === 0)}
          >
            {kind === "delete" ? "Yes, delete" : kind === "password" ? "Set password" : "Create new token"}
          </button>
          <button type="button" className="ghost" onClick={() => void onDone()}>
            Cancel
          </button>
        </div>
      </form>
    </Section>
  );
}

function ExpirySelect({
  a,
  value,
  onChange,
}: {
  a: Record<string, unknown>;
  value: string;
  onChange: (v: string) => void;
}) {
  return (
    <select {...a} value={value} onChange={(e) => onChange(e.target.value)}>
      {EXPIRY_CHOICES.map(([v, label]) => (
        <option key={v} value={v}>
          {label}
        </option>
      ))}
    </select>
  );
}

function NewUser({
  partnerId,
  onCreated,
}: {
  partnerId: number;
  onCreated: (token: { name: string; token: string }) => Promise<void>;
}) {
  const empty = { name: "", role: "technician" as Role, username: "", password: "", expiry: "" };
  const [d, setD] = useState(empty);
  const [err, setErr] = useState<FieldError | null>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof typeof empty>(k: K, v: (typeof empty)[K]) => setD((p) => ({ ...p, [k]: v }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const r = await api<UserCreated>("POST", "/api/users", {
        name: d.name,
        role: d.role,
        partnerId,
        ...(d.username ? { username: d.username } : {}),
        ...(d.password ? { password: d.password } : {}),
        ...(d.expiry ? { expiresInDays: Number(d.expiry) } : {}),
      });
      setD(empty);
      await onCreated({ name: r.user.name, token: r.token });
    } catch (x) {
      setErr(toFieldError(x));
    } finally {
      setBusy(false);
    }
  };
  const known = ["name", "role", "username", "password", "expiresInDays"];

  return (
    <Section title="New user" description="The user's API token is shown once after creation.">
      <form className="grid-form" onSubmit={submit} noValidate aria-label="New user">
        <Field label="Name" required error={errorFor(err, "name")}>
          {(a) => <input {...a} value={d.name} onChange={(e) => set("name", e.target.value)} />}
        </Field>
        <Field label="Role" required error={errorFor(err, "role")}>
          {(a) => (
            <select {...a} value={d.role} onChange={(e) => set("role", e.target.value as Role)}>
              {PARTNER_ROLES.map((r) => (
                <option key={r} value={r}>
                  {ROLE_NAMES[r]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Username" hint="For signing in to this UI; optional" error={errorFor(err, "username")}>
          {(a) => (
            <input
              {...a}
              autoComplete="off"
              value={d.username}
              onChange={(e) => set("username", e.target.value)}
            />
          )}
        </Field>
        <Field
          label="Password"
          hint="At least 8 characters; needs a username"
          error={errorFor(err, "password")}
        >
          {(a) => (
            <input
              {...a}
              type="password"
              autoComplete="new-password"
              value={d.password}
              onChange={(e) => set("password", e.target.value)}
            />
          )}
        </Field>
        <Field label="Token expires" error={errorFor(err, "expiresInDays")}>
          {(a) => <ExpirySelect a={a} value={d.expiry} onChange={(v) => set("expiry", v)} />}
        </Field>
        {err && !known.includes(err.field) ? <Banner kind="error">{err.message}</Banner> : null}
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy || !d.name.trim()}>
            Create user
          </button>
        </div>
      </form>
    </Section>
  );
}
