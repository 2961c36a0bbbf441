import type { AssetPort } from "../connector.js";
import type { AutotaskApi } from "./api.js";
import type { AutotaskSettings } from "./settings.js";

// PLACEHOLDER: replaced by the assets work (the planner's Autotask side). A session opens with it;
// only its use throws.
export function autotaskAssets(_api: AutotaskApi, _s: AutotaskSettings): AssetPort {
  const notYet = (): never => {
    throw new Error("autotaskAssets: not built yet");
  };
  return {
    listByCompany: notYet,
    get: notYet,
    desired: notYet,
    diff: notYet,
    sameWanted: notYet,
    deactivates: notYet,
    deactivation: notYet,
    create: notYet,
    update: notYet,
  };
}
