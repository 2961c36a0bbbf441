import { get } from "./api";
import { Banner } from "./components";
import { useInterval, useResource } from "./hooks";
import { usePsa } from "./psa";
import type { WebhookState } from "./types";

/**
 * How the PSA's changes reach nocbridge for this partner: by webhook (ConnectWise: callback), or by
 * polling only and why (no permission to create webhooks, the maximum reached, a public URL the PSA
 * does not deliver to).
 * Reloaded quietly every few seconds: saving the settings registers the webhooks in the background.
 */
export function WebhookStatus({ partnerId }: { partnerId: number }) {
  const state = useResource(() => get<WebhookState>(`/api/partners/${partnerId}/webhooks`), [partnerId]);
  useInterval(() => void state.reload(true), 5_000);
  const { psa } = usePsa();
  const s = state.data;
  if (!s || s.mode === "off" || !psa) return null;
  const hooks = psa.hooks;
  const title = `${psa.label} ${hooks}`;
  const fields =
    s.unsubscribedFields.length > 0 ? (
      <p>Not subscribed (polling covers them): {s.unsubscribedFields.join("; ")}</p>
    ) : null;
  if (s.mode === "polling")
    return (
      <Banner kind="warning" title={title}>
        <p data-testid="webhook-state">
          Polling only, every {s.pollIntervalMinutes} minutes, because{" "}
          {s.reason ?? `the ${hooks} are not registered`}.
        </p>
        {fields}
      </Banner>
    );
  return (
    <Banner kind="info" title={title}>
      <p data-testid="webhook-state">
        {`${hooks.charAt(0).toUpperCase()}${hooks.slice(1)} registered (${s.webhooks
          .map((w) => `${w.entity} #${w.psaWebhookId}`)
          .join(
            ", ",
          )}): ${psa.label} changes arrive at once; polling every ${s.pollIntervalMinutes} minutes is the safety net.`}
      </p>
      {fields}
    </Banner>
  );
}
