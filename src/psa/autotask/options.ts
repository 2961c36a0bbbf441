import type { PsaOptions } from "../connector.js";
import type { AutotaskApi } from "./api.js";

// PLACEHOLDER: replaced by the options work. Until then, the ticket statuses and priorities only
// (what the mapping drift check reads), from the Tickets picklists.
export async function autotaskOptions(api: AutotaskApi): Promise<PsaOptions> {
  const fields = await api.fieldInfo("Tickets");
  const pick = (name: string) =>
    (fields.find((f) => f.name.toLowerCase() === name)?.picklistValues ?? []).map((v) => ({
      id: Number(v.value),
      label: v.label,
      isActive: v.isActive,
    }));
  return { statuses: pick("status"), priorities: pick("priority") };
}
