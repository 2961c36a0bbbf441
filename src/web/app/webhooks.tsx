import { get } from "./api";
import { Banner } from "./components";
import { useInterval, useResource } from "./hooks";
import type { WebhookState } from "./types";

/**
 * How Autotask changes reach nocbridge for this partner: by webhook, or by polling only and why
 * (no permission to create webhooks, the maximum reached, a public URL that is not https on port 443).
 * Reloaded quietly every few seconds: saving the settings registers the webhooks in the background.
 */
export function WebhookStatus({ partnerId }: { partnerId: number }) {
  const state = useResource(() => get<WebhookState>(`/api/partners/${partnerId}/webhooks`), [partnerId]);
  useInterval(() => void state.reload(true), 5_000);
  const s = state.data;
  if (!s || s.mode === "off") return null;
  const fields =
    s.unsubscribedFields.length > 0 ? (
      <p>Not subscribed (polling covers them): {s.unsubscribedFields.join("; ")}</p>
    ) : null;
  if (s.mode === "polling")
    return (
      <Banner kind="warning" title="Autotask webhooks">
        <p data-testid="webhook-state">
          Polling only, every {s.pollIntervalMinutes} minutes, because{" "}
          {s.reason ?? "the webhooks are not registered"}.
        </p>
        {fields}
      </Banner>
    );
  return (
    <Banner kind="info" title="Autotask webhooks">
      <p data-testid="webhook-state">
        Webhooks registered ({s.webhooks.map((w) => `${w.entity} #${w.psaWebhookId}`).join(", ")}): Autotask
        changes arrive at once; polling every {s.pollIntervalMinutes} minutes is the safety net.
      </p>
      {fields}
    </Banner>
  );
}
