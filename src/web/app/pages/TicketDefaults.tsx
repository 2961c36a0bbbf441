import { Field } from "../components";
import { optionsWith, optionText } from "../pick";
import type { Integration, PsaOption, PsaOptions } from "../types";

/** The ticket defaults as typed: ids as text ("" = not sent). */
export interface TicketDefaultsDraft {
  ticketCategoryId: string;
  ticketTypeId: string;
  issueTypeId: string;
  subIssueTypeId: string;
  sourceId: string;
  dueDateOffsetHours: string;
  internalNotePublish: "2" | "4";
}

const text = (n: number | null) => (n === null ? "" : String(n));

export function ticketDefaultsDraft(i: Integration): TicketDefaultsDraft {
  const t = i.ticketing;
  return {
    ticketCategoryId: text(t.ticketCategoryId),
    ticketTypeId: text(t.ticketTypeId),
    issueTypeId: text(t.issueTypeId),
    subIssueTypeId: text(t.subIssueTypeId),
    sourceId: text(t.sourceId),
    dueDateOffsetHours: text(t.dueDateOffsetHours),
    internalNotePublish: t.internalNotePublish === 4 ? "4" : "2",
  };
}

/** "" → null; an integer (negative for Autotask's system sources) → the number; else as typed, so the API names the field. */
function value(s: string): number | string | null {
  const t = s.trim();
  if (t === "") return null;
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

export function ticketDefaultsBody(d: TicketDefaultsDraft) {
  return {
    ticketCategoryId: value(d.ticketCategoryId),
    ticketTypeId: value(d.ticketTypeId),
    issueTypeId: value(d.issueTypeId),
    subIssueTypeId: value(d.subIssueTypeId),
    sourceId: value(d.sourceId),
    dueDateOffsetHours: value(d.dueDateOffsetHours),
    internalNotePublish: Number(d.internalNotePublish),
  };
}

/** The settings fields this part of the form shows (for the form's error banner). */
export const TICKET_DEFAULT_FIELDS = [
  "ticketCategoryId",
  "ticketTypeId",
  "issueTypeId",
  "subIssueTypeId",
  "sourceId",
  "dueDateOffsetHours",
  "internalNotePublish",
].map((f) => `ticketing.${f}`);

function Pick({
  label,
  options,
  value: v,
  onChange,
  disabled,
  error,
  hint,
}: {
  label: string;
  options: PsaOption[] | undefined;
  value: string;
  onChange(v: string): void;
  disabled: boolean;
  error: string | undefined;
  hint?: string;
}) {
  const current = /^-?\d+$/.test(v) ? Number(v) : null;
  return (
    <Field label={label} error={error} {...(hint ? { hint } : {})}>
      {(a) =>
        options ? (
          <select
            {...a}
            value={current === null ? "" : String(current)}
            disabled={disabled}
            onChange={(e) => onChange(e.target.value)}
          >
            <option value="">— Autotask's default —</option>
            {optionsWith(options, current).map((o) => (
              <option key={o.id} value={o.id}>
                {optionText(o)}
              </option>
            ))}
          </select>
        ) : (
          <input
            {...a}
            inputMode="numeric"
            value={v}
            disabled={disabled}
            onChange={(e) => onChange(e.target.value)}
          />
        )
      }
    </Field>
  );
}

/**
 * What every ticket created in Autotask carries: the fields a partner's ticket category may require
 * (chosen from the live pick-lists; sub-issue types follow the chosen issue type), and how internal
 * notes are published.
 */
export function TicketDefaultsFields({
  d,
  set,
  options,
  disabled,
  fe,
}: {
  d: TicketDefaultsDraft;
  set<K extends keyof TicketDefaultsDraft>(k: K, v: TicketDefaultsDraft[K]): void;
  options: PsaOptions | undefined;
  disabled: boolean;
  fe(field: string): string | undefined;
}) {
  const issue = /^\d+$/.test(d.issueTypeId) ? Number(d.issueTypeId) : null;
  const subIssues = options?.subIssueTypes.filter((s) => s.parentId === null || s.parentId === issue);
  return (
    <>
      <h3 className="form-subtitle">Ticket defaults</h3>
      <p className="hint">
        Sent with every ticket the NOC creates in Autotask. Set what the ticket category makes required
        (Validate lists what is missing).
      </p>
      <div className="grid-form">
        <Pick
          label="Ticket Category"
          options={options?.ticketCategories}
          value={d.ticketCategoryId}
          onChange={(v) => set("ticketCategoryId", v)}
          disabled={disabled}
          error={fe("ticketing.ticketCategoryId")}
        />
        <Pick
          label="Ticket Type"
          options={options?.ticketTypes}
          value={d.ticketTypeId}
          onChange={(v) => set("ticketTypeId", v)}
          disabled={disabled}
          error={fe("ticketing.ticketTypeId")}
        />
        <Pick
          label="Issue Type"
          options={options?.issueTypes}
          value={d.issueTypeId}
          onChange={(v) => {
            set("issueTypeId", v);
            set("subIssueTypeId", "");
          }}
          disabled={disabled}
          error={fe("ticketing.issueTypeId")}
        />
        <Pick
          label="Sub-Issue Type"
          options={subIssues}
          value={d.subIssueTypeId}
          onChange={(v) => set("subIssueTypeId", v)}
          disabled={disabled || d.issueTypeId === ""}
          error={fe("ticketing.subIssueTypeId")}
        />
        <Pick
          label="Source"
          options={options?.sources}
          value={d.sourceId}
          onChange={(v) => set("sourceId", v)}
          disabled={disabled}
          error={fe("ticketing.sourceId")}
        />
        <Field
          label="Due date (hours after creation)"
          error={fe("ticketing.dueDateOffsetHours")}
          hint="Empty: no due date is sent."
        >
          {(a) => (
            <input
              {...a}
              inputMode="numeric"
              value={d.dueDateOffsetHours}
              disabled={disabled}
              onChange={(e) => set("dueDateOffsetHours", e.target.value)}
            />
          )}
        </Field>
        <Field label="Internal notes are published to" error={fe("ticketing.internalNotePublish")}>
          {(a) => (
            <select
              {...a}
              value={d.internalNotePublish}
              disabled={disabled}
              onChange={(e) => set("internalNotePublish", e.target.value === "4" ? "4" : "2")}
            >
              <option value="2">Internal Project Team</option>
              <option value="4">Internal &amp; Co-Managed</option>
            </select>
          )}
        </Field>
      </div>
    </>
  );
}
