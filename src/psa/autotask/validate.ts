import type { ValidateInput, ValidationResult } from "../connector.js";
import type { AutotaskApi } from "./api.js";
import type { AutotaskSettings } from "./settings.js";

// PLACEHOLDER: replaced by the validate work.
export async function validateAutotask(
  _api: AutotaskApi,
  _s: AutotaskSettings,
  _input: ValidateInput,
): Promise<ValidationResult> {
  throw new Error("validateAutotask: not built yet");
}
