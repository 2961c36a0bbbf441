import { type ReactNode, useId } from "react";

/** Shared building blocks: labelled fields with their error, banners, badges. */

/** Which form field an API error names (`field` of a 400 answer), and its message. */
export interface FieldError {
  field: string;
  message: string;
}

export function errorFor(err: FieldError | null | undefined, field: string): string | undefined {
  return err && err.field === field ? err.message : undefined;
}

interface FieldProps {
  label: ReactNode;
  /** The input; receives the id, aria-invalid and aria-describedby through the render function. */
  children: (a: {
    id: string;
    "aria-invalid": boolean | undefined;
    "aria-describedby": string | undefined;
    "aria-required": boolean | undefined;
  }) => ReactNode;
  error?: string | undefined;
  hint?: ReactNode;
  required?: boolean;
  className?: string;
}

/** A label, its input, a hint and the field's error message (announced, linked by aria-describedby). */
export function Field({ label, children, error, hint, required, className }: FieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errId = `${id}-error`;
  const describedBy = [hint ? hintId : "", error ? errId : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " field-invalid" : ""}${className ? ` ${className}` : ""}`}>
      <label htmlFor={id}>
        {label}
        {required ? (
          <span className="req" aria-hidden="true">
            {" "}
            *
          </span>
        ) : null}
      </label>
      {children({
        id,
        "aria-invalid": error ? true : undefined,
        "aria-describedby": describedBy,
        "aria-required": required ? true : undefined,
      })}
      {hint ? (
        <div className="hint" id={hintId}>
          {hint}
        </div>
      ) : null}
      {error ? (
        <div className="field-error" id={errId} role="alert">
          {error}
        </div>
      ) : null}
    </div>
  );
}

/** A checkbox with its label to the right. */
export function Check({
  label,
  checked,
  onChange,
  disabled,
  error,
  hint,
}: {
  label: ReactNode;
  checked: boolean;
  onChange: (v: boolean) => void;
  disabled?: boolean;
  error?: string | undefined;
  hint?: ReactNode;
}) {
  const id = useId();
  return (
    <div className={`field check${error ? " field-invalid" : ""}`}>
      <input
        id={id}
        type="checkbox"
        checked={checked}
        disabled={disabled}
        onChange={(e) => onChange(e.target.checked)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : hint ? `${id}-hint` : undefined}
      />
      <label htmlFor={id}>{label}</label>
      {hint ? (
        <div className="hint" id={`${id}-hint`}>
          {hint}
        </div>
      ) : null}
      {error ? (
        <div className="field-error" id={`${id}-error`} role="alert">
          {error}
        </div>
      ) : null}
    </div>
  );
}

export function Banner({
  kind,
  children,
  title,
}: {
  kind: "error" | "warning" | "success" | "info";
  children: ReactNode;
  title?: string;
}) {
  return (
    <div className={`banner banner-${kind}`} role={kind === "error" ? "alert" : "status"}>
      {title ? <strong className="banner-title">{title}</strong> : null}
      <div>{children}</div>
    </div>
  );
}

export type Tone = "ok" | "bad" | "warn" | "neutral" | "busy";

export function Badge({ tone, children }: { tone: Tone; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function runTone(status: string | null | undefined): Tone {
  switch (status) {
    case "succeeded":
      return "ok";
    case "failed":
      return "bad";
    case "partial":
    case "awaiting-approval":
      return "warn";
    case "running":
      return "busy";
    default:
      return "neutral";
  }
}

/** Sync state of a portal ticket (`psa.state`). */
export function syncTone(state: string | undefined): Tone {
  switch (state) {
    case "synced":
      return "ok";
    case "error":
      return "bad";
    case "pending":
      return "busy";
    case "out-of-queue":
      return "warn";
    default:
      return "neutral";
  }
}

export const SYNC_STATE_TEXT: Record<string, string> = {
  synced: "Synced",
  pending: "Pending",
  error: "Error",
  "out-of-queue": "Out of NOC queue",
  "not-synced": "Not synced",
};

export function PageHeader({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1>{title}</h1>
      {children ? <div className="page-actions">{children}</div> : null}
    </div>
  );
}

export function Loading({ what = "Loading…" }: { what?: string }) {
  return (
    <p className="muted" aria-live="polite">
      {what}
    </p>
  );
}

export function Section({
  title,
  children,
  description,
  actions,
  id,
}: {
  title: ReactNode;
  children: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
  id?: string;
}) {
  const hid = useId();
  return (
    <section className="card" aria-labelledby={hid} id={id}>
      <div className="card-head">
        <h2 id={hid}>{title}</h2>
        {actions ? <div className="card-actions">{actions}</div> : null}
      </div>
      {description ? <p className="card-desc">{description}</p> : null}
      {children}
    </section>
  );
}

/** Previous / next for `{items, total, limit, offset}` pages. */
export function Pager({
  total,
  limit,
  offset,
  onOffset,
}: {
  total: number;
  limit: number;
  offset: number;
  onOffset: (o: number) => void;
}) {
  if (total <= limit) return null;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - limit))}>
        Previous
      </button>
      <span>
        {offset + 1}–{Math.min(total, offset + limit)} of {total}
      </span>
      <button type="button" disabled={offset + limit >= total} onClick={() => onOffset(offset + limit)}>
        Next
      </button>
    </nav>
  );
}

/** The `<option>`s of a list of `{id, name}` (portal statuses, priorities …). */
export function NamedOptions({ items }: { items: ReadonlyArray<{ id: number; name: string }> | undefined }) {
  return (
    <>
      {items?.map((s) => (
        <option key={s.id} value={s.id}>
          {s.name}
        </option>
      ))}
    </>
  );
}
