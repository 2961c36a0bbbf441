import { describe, expect, it } from "vitest";
import { readShadow } from "../../src/sync/tickets/shadow.js";

const portal = { title: "t", description: "d", statusId: 1, priorityId: 9, deviceId: 4 };

describe("a link's stored shadow", () => {
  it("reads the PSA side as stored", () => {
    const psa = { title: "t", description: "d", status: 29, priority: 1, assetId: 77 };
    const s = readShadow(JSON.stringify({ portal, psa, portalAt: "a", psaAt: "b" }));
    expect(s).toEqual({ portal, psa, portalAt: "a", psaAt: "b" });
  });

  it("reads a shadow saved before the engine spoke PSA-neutral terms: the asset under Autotask's field name", () => {
    const psa = { title: "t", description: "d", status: 29, priority: 1, configurationItemID: 77 };
    expect(readShadow(JSON.stringify({ portal, psa, portalAt: "a", psaAt: "b" })).psa).toEqual({
      title: "t",
      description: "d",
      status: 29,
      priority: 1,
      assetId: 77,
    });
    const none = { ...psa, configurationItemID: null };
    expect(
      readShadow(JSON.stringify({ portal, psa: none, portalAt: "a", psaAt: "b" })).psa.assetId,
    ).toBeNull();
  });
});
