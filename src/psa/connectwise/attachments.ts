import type { AttachmentPort, PsaAttachment } from "../connector.js";
import { type ConnectWiseApi, formBody } from "./api.js";

/**
 * A document on a ConnectWise record (docs/connectwise.md, Documents): `fileName` the file's name,
 * `title` what the document list shows; `size` where the answer carries it; `linkFlag` marks a link
 * to a URL, not a file.
 */
interface CwDocument {
  id: number;
  title?: string | null;
  fileName?: string | null;
  linkFlag?: boolean | null;
  size?: number | null;
}

const PATH = "system/documents";

const nameOf = (d: CwDocument) => String(d.fileName || d.title || `document-${d.id}`);

/**
 * Files on service tickets as ConnectWise documents: listed by recordType "Ticket" and recordId,
 * uploaded as multipart/form-data to `system/documents`, read from `system/documents/{id}/download`.
 * The file's content type is not part of the document record: it comes with the download.
 */
export function connectwiseAttachments(api: ConnectWiseApi): AttachmentPort {
  const list = async (ticketId: number): Promise<PsaAttachment[]> => {
    const docs = await api.all<CwDocument>(PATH, {
      params: { recordType: "Ticket", recordId: String(ticketId) },
    });
    return docs
      .filter((d) => typeof d.id === "number" && d.linkFlag !== true)
      .sort((a, b) => a.id - b.id)
      .map((d) => ({
        id: d.id,
        ticketId,
        name: nameOf(d),
        size: typeof d.size === "number" ? d.size : null,
        contentType: "application/octet-stream",
      }));
  };
  return {
    list,

    async get(id) {
      const doc = await api.get<CwDocument>(`${PATH}/${id}`);
      if (!doc) return null;
      const file = await api.download(`${PATH}/${id}/download`);
      if (!file) return null;
      return { name: nameOf(doc), contentType: file.contentType, data: file.data };
    },

    async add(ticketId, file, known) {
      const form = new FormData();
      form.set("recordType", "Ticket");
      form.set("recordId", String(ticketId));
      form.set("title", file.name);
      form.set("file", new Blob([file.data], { type: file.contentType }), file.name);
      // After an ambiguous failure, a document of this ticket with the same name and size that is not
      // one we know is the one sent.
      const made = await api.createIdempotent<CwDocument>(PATH, await formBody(form), async () => {
        for (const f of await list(ticketId)) {
          if (f.name !== file.name || known.has(f.id)) continue;
          // A record without a size: the download's length decides.
          const size = f.size ?? (await api.download(`${PATH}/${f.id}/download`))?.data.length ?? null;
          if (size === file.data.length) return { id: f.id };
        }
        return null;
      });
      return made.id;
    },
  };
}
