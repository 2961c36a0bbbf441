import { describe, expect, it } from "vitest";
import { ENV_DOC, loadConfig } from "./config.js";

describe("NOCBRIDGE_PSA_URL_ALLOWLIST", () => {
  it("defaults to Autotask's and ConnectWise's cloud hosts and is documented", () => {
    const c = loadConfig({});
    expect(c.psaUrls.toString()).toBe(
      "https://*.autotask.net,https://*.myconnectwise.net,https://*.connectwisedev.com",
    );
    expect(c.psaUrls.refusal("https://webservices14.autotask.net/ATServicesRest/")).toBeNull();
    expect(c.psaUrls.refusal("https://na.myconnectwise.net")).toBeNull();
    expect(c.psaUrls.refusal("https://api-na.myconnectwise.net/v2025_1/apis/3.0/")).toBeNull();
    expect(c.psaUrls.refusal("https://api-staging.connectwisedev.com/")).toBeNull();
    expect(c.psaUrls.refusal("http://na.myconnectwise.net")).not.toBeNull();
    expect(c.psaUrls.refusal("https://myconnectwise.net.example.com")).not.toBeNull();
    expect(c.psaUrls.refusal("http://127.0.0.1:8081/")).not.toBeNull();
    expect(ENV_DOC.map(([name]) => name)).toContain("NOCBRIDGE_PSA_URL_ALLOWLIST");
  });

  it("takes patterns and exact origins, and a bad entry stops the start naming the variable", () => {
    const c = loadConfig({ NOCBRIDGE_PSA_URL_ALLOWLIST: "https://*.autotask.net,http://127.0.0.1:8081" });
    expect(c.psaUrls.refusal("http://127.0.0.1:8081/ATServicesRest/")).toBeNull();
    expect(() => loadConfig({ NOCBRIDGE_PSA_URL_ALLOWLIST: "https://*.autotask.net,127.0.0.1" })).toThrow(
      /NOCBRIDGE_PSA_URL_ALLOWLIST: "127\.0\.0\.1" is not a scheme and host/,
    );
    expect(() => loadConfig({ NOCBRIDGE_PSA_URL_ALLOWLIST: "" })).toThrow(/NOCBRIDGE_PSA_URL_ALLOWLIST/);
  });
});
