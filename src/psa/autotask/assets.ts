import type { AssetPort } from "../connector.js";
import type { AutotaskApi } from "./api.js";
import type { AutotaskSettings } from "./settings.js";

// PLACEHOLDER: replaced by the assets work (the planner's Autotask side).
export function autotaskAssets(_api: AutotaskApi, _s: AutotaskSettings): AssetPort {
  throw new Error("autotaskAssets: not built yet");
}
