import type { PsaOptions } from "../connector.js";
import type { AutotaskApi } from "./api.js";

// PLACEHOLDER: replaced by the options work.
export async function autotaskOptions(_api: AutotaskApi): Promise<PsaOptions> {
  throw new Error("autotaskOptions: not built yet");
}
