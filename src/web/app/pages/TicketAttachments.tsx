import { type ChangeEvent, useState } from "react";
import { usePartner } from "../App";
import { ApiError, get, messageOf, tokenStore } from "../api";
import { Badge, Banner, Section } from "../components";
import { formatDateTime } from "../format";
import { useResource } from "../hooks";

interface Attachment {
  id: number;
  fileName: string;
  contentType: string;
  size: number;
  origin: string;
  createdBy: string;
  createdAt: string;
}

const sizeText = (n: number) =>
  n < 1024
    ? `${n} B`
    : n < 1024 * 1024
      ? `${(n / 1024).toFixed(1)} KB`
      : `${(n / 1024 / 1024).toFixed(1)} MB`;

async function send(path: string, init: RequestInit): Promise<Response> {
  const token = tokenStore.get();
  const res = await fetch(path, {
    ...init,
    headers: { ...(init.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  if (!res.ok) {
    const e = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    throw new ApiError(res.status, e.code ?? "HTTP", e.message ?? `${res.status} ${res.statusText}`);
  }
  return res;
}

/** A ticket's files: listed, downloaded (with the signed-in token), and added by the NOC. */
export function TicketAttachments({ ticketId, writable }: { ticketId: number; writable: boolean }) {
  const { partner } = usePartner();
  const files = useResource(
    () => get<{ items: Attachment[] }>(`/api/tickets/${ticketId}/attachments`),
    [ticketId],
  );
  const [msg, setMsg] = useState<{ kind: "success" | "error"; text: string }>();
  const [busy, setBusy] = useState(false);
  const upload = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = "";
    if (!file) return;
    setBusy(true);
    setMsg(undefined);
    try {
      const form = new FormData();
      form.append("file", file, file.name);
      const res = await send(`/api/tickets/${ticketId}/attachments`, { method: "POST", body: form });
      setMsg({
        kind: "success",
        text: res.status === 200 ? `"${file.name}" is already on this ticket.` : `"${file.name}" added.`,
      });
      await files.reload(true);
    } catch (x) {
      setMsg({ kind: "error", text: messageOf(x) });
    } finally {
      setBusy(false);
    }
  };
  const download = async (a: Attachment) => {
    try {
      const blob = await (await send(`/api/attachments/${a.id}`, { method: "GET" })).blob();
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = a.fileName;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (x) {
      setMsg({ kind: "error", text: messageOf(x) });
    }
  };
  const items = files.data?.items ?? [];
  return (
    <Section title={`Attachments (${items.length})`}>
      {files.error ? <Banner kind="error">{files.error}</Banner> : null}
      {items.length === 0 ? (
        <p className="muted">No files yet.</p>
      ) : (
        <ul className="attachments">
          {items.map((a) => (
            <li key={a.id}>
              <button type="button" className="link" onClick={() => void download(a)}>
                {a.fileName}
              </button>{" "}
              <span className="muted small">
                {sizeText(a.size)} · {a.createdBy} · {formatDateTime(a.createdAt, partner.timeZone)}
              </span>{" "}
              {a.origin === "psa" ? <Badge tone="neutral">from the PSA</Badge> : null}
            </li>
          ))}
        </ul>
      )}
      {writable ? (
        <label className="file-input">
          Add a file{" "}
          <input type="file" disabled={busy} onChange={(e) => void upload(e)} aria-label="Add a file" />
        </label>
      ) : null}
      {msg ? <Banner kind={msg.kind}>{msg.text}</Banner> : null}
    </Section>
  );
}
