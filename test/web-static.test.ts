import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, buildApp } from "../src/api/app.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { openTestServices, type TestEnv } from "./helpers/services.js";

describe("web UI serving", () => {
  let env: TestEnv;
  let app: App;
  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), "nb-web-"));
    writeFileSync(join(root, "index.html"), '<!doctype html><title>nocbridge</title><div id="root"></div>');
    writeFileSync(join(root, "app.js"), "console.log(1)");
    env = await openTestServices("sqlite");
    app = await buildApp({ portal: env.services.portal, sync: env.services.sync, webRoot: root });
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  it("serves the UI at /, its assets, and index.html for client-side routes; the API keeps its 404s", async () => {
    const home = await app.inject({ method: "GET", url: "/" });
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain('<div id="root">');
    expect((await app.inject({ method: "GET", url: "/app.js" })).body).toBe("console.log(1)");
    const deep = await app.inject({ method: "GET", url: "/partners/1/setup" });
    expect(deep.statusCode).toBe(200);
    expect(deep.headers["content-type"]).toContain("text/html");
    expect((await app.inject({ method: "GET", url: "/api/nothing-here" })).statusCode).toBe(401);
    const { token } = await env.services.portal.createUser(SYSTEM_ACTOR, { name: "n", role: "noc-admin" });
    const api = await app.inject({
      method: "GET",
      url: "/api/nothing-here",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(api.statusCode).toBe(404);
    expect(api.json().code).toBe("NOT_FOUND");
  });
});
