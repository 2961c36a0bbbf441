import { type FormEvent, useEffect, useRef, useState } from "react";
import { usePartner } from "../App";
import { ApiError, api, get, messageOf } from "../api";
import { Banner, Check, errorFor, Field, type FieldError, Loading, PageHeader, Section } from "../components";
import { formatDateTime } from "../format";
import { useResource, useTitle } from "../hooks";
import { fieldMessage } from "../pick";
import { loadSystems, usePsa, wordsOf } from "../psa";
import { Link } from "../router";
import { can, useMe } from "../session";
import type { Integration, PsaField, PsaOptions, PsaSystem } from "../types";
import { WebhookStatus } from "../webhooks";
import {
  ConnectorFields,
  type FieldValues,
  fieldName,
  fieldValues,
  hasCredentials,
  sectionBody,
} from "./ConnectorFields";
import { ClientsSection } from "./SetupClients";
import { PickListNote, SecretField } from "./SetupFields";

const DEFAULT_SCHEDULE = "0 2 10,25 * *";

/** The form's state: the common switches, the new secret ("" keeps the stored one), the PSA's fields as typed. */
interface Draft {
  system: string;
  ticketingEnabled: boolean;
  nocMayEnterTickets: boolean;
  secret: string;
  clearSecret: boolean;
  fields: FieldValues;
  devicesEnabled: boolean;
  advanced: boolean;
  schedule: string;
}

function draftOf(i: Integration, system: PsaSystem): Draft {
  return {
    system: system.system,
    ticketingEnabled: i.ticketing.enabled,
    nocMayEnterTickets: i.ticketing.nocMayEnterTickets,
    secret: "",
    clearSecret: false,
    fields: fieldValues(system, i),
    devicesEnabled: i.devices.enabled,
    advanced: i.devices.advanced,
    schedule: i.devices.schedule === DEFAULT_SCHEDULE ? "" : i.devices.schedule,
  };
}

function bodyOf(d: Draft, system: PsaSystem) {
  return {
    ticketing: {
      enabled: d.ticketingEnabled,
      nocMayEnterTickets: d.nocMayEnterTickets,
      system: d.system,
      ...(d.clearSecret ? { secret: null } : d.secret !== "" ? { secret: d.secret } : {}),
      ...sectionBody(system, "ticketing", d.fields),
    },
    devices: {
      enabled: d.devicesEnabled,
      ...sectionBody(system, "devices", d.fields),
      advanced: d.advanced,
      schedule: d.schedule.trim() === "" ? null : d.schedule.trim(),
    },
  };
}

/** The PSA system of the stored settings (the first known one if it is not known). */
const systemOf = (systems: PsaSystem[], i: Integration) =>
  systems.find((s) => s.system === i.ticketing.system) ?? systems[0];

/**
 * Setup → Partner details → "Service Center and Ticketing System Details" (the seed's Figure 9). The
 * PSA's own fields come from its connector's manifest (GET /api/psa/systems).
 */
export function Setup() {
  const { partner } = usePartner();
  const { me } = useMe();
  useTitle(`Setup — ${partner.name}`);
  const writable = can(me, "integration:write");
  const integration = useResource(
    () => get<Integration>(`/api/partners/${partner.id}/integration`),
    [partner.id],
  );
  const systems = useResource(loadSystems, []);
  const stored = usePsa();
  const [optionsKey, setOptionsKey] = useState(0);
  const system = integration.data && systems.data ? systemOf(systems.data, integration.data) : undefined;
  const creds = integration.data ? hasCredentials(system, integration.data) : false;
  const options = useResource(
    () =>
      creds && writable
        ? get<PsaOptions>(`/api/partners/${partner.id}/psa/options`)
        : Promise.resolve(undefined),
    [partner.id, creds, writable, optionsKey],
  );

  return (
    <>
      <PageHeader title={partner.name}>
        <span className="muted">Setup › Partner details</span>
      </PageHeader>
      {integration.error ? <Banner kind="error">{integration.error}</Banner> : null}
      {systems.error ? <Banner kind="error">{systems.error}</Banner> : null}
      <WebhookStatus partnerId={partner.id} />
      {!integration.data || !systems.data || !system ? (
        <Loading />
      ) : (
        <IntegrationForm
          key={partner.id}
          integration={integration.data}
          systems={systems.data}
          initialSystem={system}
          writable={writable}
          options={options.data}
          optionsError={creds && writable ? options.error : undefined}
          optionsLoading={creds && writable && options.loading}
          onSaved={(i) => {
            integration.setData(i);
            setOptionsKey((k) => k + 1);
            void stored.reload();
          }}
          onReloadOptions={() => setOptionsKey((k) => k + 1)}
        />
      )}
      {stored.psa ? <ClientsSection psa={stored.psa} live={creds} /> : null}
    </>
  );
}

interface FormProps {
  integration: Integration;
  systems: PsaSystem[];
  initialSystem: PsaSystem;
  writable: boolean;
  options: PsaOptions | undefined;
  optionsError: string | undefined;
  optionsLoading: boolean;
  onSaved(i: Integration): void;
  onReloadOptions(): void;
}

function IntegrationForm({
  integration,
  systems,
  initialSystem,
  writable,
  options,
  optionsError,
  optionsLoading,
  onSaved,
  onReloadOptions,
}: FormProps) {
  const { partner } = usePartner();
  const { me } = useMe();
  const [d, setD] = useState<Draft>(() => draftOf(integration, initialSystem));
  const [err, setErr] = useState<FieldError | null>(null);
  const [saved, setSaved] = useState<string>();
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const system = systems.find((s) => s.system === d.system) ?? initialSystem;
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => {
    setD((x) => ({ ...x, [k]: v }));
    setSaved(undefined);
  };
  const setField = (name: string, v: string) => {
    setD((x) => ({ ...x, fields: { ...x.fields, [name]: v } }));
    setSaved(undefined);
  };
  const chooseSystem = (key: string) => {
    const next = systems.find((s) => s.system === key);
    if (next) setD((x) => ({ ...x, system: key, fields: fieldValues(next, integration) }));
  };
  const fe = (field: string) => errorFor(err, field);
  const sameSystem = integration.ticketing.system === d.system;
  const hasSecret = sameSystem && integration.ticketing.secret !== "";
  const label = system.label;
  const words = wordsOf(system.system);

  useEffect(() => {
    if (err?.field) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [err]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    setSaved(undefined);
    try {
      const wasOnboarded = integration.devices.enabled;
      const i = await api<Integration>("PUT", `/api/partners/${partner.id}/integration`, bodyOf(d, system));
      setSaved(
        i.devices.enabled && !wasOnboarded
          ? "Saved. Device integration is on: the onboarding asset sync has started (see Validate & sync)."
          : "Saved.",
      );
      setD(draftOf(i, systems.find((s) => s.system === i.ticketing.system) ?? system));
      onSaved(i);
    } catch (x) {
      if (x instanceof ApiError && x.field)
        setErr({ field: x.field, message: fieldMessage(x.message, x.field) });
      else setErr({ field: "", message: messageOf(x) });
    } finally {
      setBusy(false);
    }
  };

  const known = new Set([
    ...["enabled", "nocMayEnterTickets", "system", "secret"].map((f) => `ticketing.${f}`),
    ...["enabled", "advanced", "schedule"].map((f) => `devices.${f}`),
    ...system.fields.map(fieldName),
  ]);
  const off = !writable;
  const secret = (f: PsaField) => (
    <SecretField
      key={f.key}
      label={f.label}
      value={d.secret}
      onChange={(v) => set("secret", v)}
      clear={d.clearSecret}
      onClear={(v) => set("clearSecret", v)}
      hasSecret={hasSecret}
      disabled={off}
      mayView={can(me, "secret:read") && sameSystem}
      error={fe(fieldName(f))}
    />
  );
  const note = (
    <PickListNote
      label={label}
      writable={writable}
      hasCredentials={sameSystem && hasCredentials(system, integration)}
      options={options}
      error={optionsError}
      loading={optionsLoading}
      onReload={onReloadOptions}
    />
  );
  const fields = {
    system,
    values: d.fields,
    set: setField,
    options: sameSystem ? options : undefined,
    fe,
    secret,
    note,
  };

  return (
    <form ref={formRef} onSubmit={submit} noValidate aria-label="Service Center and Ticketing System Details">
      <h2 className="form-title">Service Center and Ticketing System Details</h2>
      {saved ? <Banner kind="success">{saved}</Banner> : null}
      {err && !known.has(err.field) ? (
        <Banner kind="error" title="Nothing was saved">
          {err.message}
        </Banner>
      ) : err ? (
        <Banner kind="error" title="Nothing was saved">
          Correct the field marked below and save again.
        </Banner>
      ) : null}
      {!writable ? (
        <Banner kind="info">Your role can view these settings; a partner admin changes them.</Banner>
      ) : null}

      <Section
        title="Ticketing System (ConnectWise/Autotask/Others) Information"
        description={`Setup to configure two-way ticket integration between ${label} PSA and the NOC portal.`}
      >
        <fieldset className="radio-row" disabled={off}>
          <legend>Ticketing Module</legend>
          <label>
            <input
              type="radio"
              name="ticketing-module"
              checked={d.ticketingEnabled}
              onChange={() => set("ticketingEnabled", true)}
            />
            Yes
          </label>
          <label>
            <input
              type="radio"
              name="ticketing-module"
              checked={!d.ticketingEnabled}
              onChange={() => set("ticketingEnabled", false)}
            />
            No
          </label>
        </fieldset>
        <Check
          label="Enable NOC to enter Tickets in VAR Ticketing System"
          checked={d.nocMayEnterTickets}
          onChange={(v) => set("nocMayEnterTickets", v)}
          disabled={off}
          error={fe("ticketing.nocMayEnterTickets")}
        />
        <div className="grid-form">
          <Field label="Ticketing System Type" required error={fe("ticketing.system")}>
            {(a) => (
              <select {...a} value={d.system} disabled={off} onChange={(e) => chooseSystem(e.target.value)}>
                {systems.map((s) => (
                  <option key={s.system} value={s.system}>
                    {s.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <ConnectorFields {...fields} section="ticketing" disabled={off} />
      </Section>

      <Section
        title="Device Integration Details"
        description={`Setup to configure one-way asset integration between ${label} PSA and the NOC portal.`}
      >
        <Check
          label="Enable Device Integration"
          checked={d.devicesEnabled}
          onChange={(v) => set("devicesEnabled", v)}
          disabled={off}
          error={fe("devices.enabled")}
          hint={
            integration.devices.enabled
              ? undefined
              : `The first time it is enabled, the onboarding sync sends every device to ${label}.`
          }
        />
        <ConnectorFields {...fields} section="devices" disabled={off || !d.devicesEnabled} />
        <Check
          label="Advanced Device Integration"
          checked={d.advanced}
          onChange={(v) => set("advanced", v)}
          disabled={off || !d.devicesEnabled}
          error={fe("devices.advanced")}
          hint={`Also fills the 13 ${words.customFields} on each ${words.assetLong}; create them in ${label} first.`}
        />
        <div className="grid-form">
          <Field
            label="Schedule"
            error={fe("devices.schedule")}
            hint={`Cron expression in ${partner.timeZone}. Empty: the 10th and 25th of each month at 02:00 (${DEFAULT_SCHEDULE}).`}
          >
            {(a) => (
              <input
                {...a}
                spellCheck={false}
                placeholder={DEFAULT_SCHEDULE}
                value={d.schedule}
                disabled={off || !d.devicesEnabled}
                onChange={(e) => set("schedule", e.target.value)}
              />
            )}
          </Field>
        </div>
      </Section>

      {writable ? (
        <div className="form-actions form-footer">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Saving…" : "Save"}
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={() => {
              setD(draftOf(integration, initialSystem));
              setErr(null);
              setSaved(undefined);
            }}
          >
            Discard changes
          </button>
          <span className="muted small">
            Last saved {formatDateTime(integration.updatedAt, partner.timeZone)}
          </span>
          <span className="spacer" />
          <Link to={`/p/${partner.id}/mappings`}>Mapping tables</Link>
          <Link to={`/p/${partner.id}/sync`}>Validate &amp; sync</Link>
        </div>
      ) : null}
    </form>
  );
}
