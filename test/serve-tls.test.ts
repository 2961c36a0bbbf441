import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { type Server, startServer } from "../src/main.js";
import { openTestServices, STORES, type TestEnv } from "./helpers/services.js";

/** A self-signed certificate for 127.0.0.1, made by Debian's openssl for this test only. */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  return { cert, key };
}

/** GET over https trusting only the test's certificate. */
function get(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("TLS configuration", () => {
  it("needs both NOCBRIDGE_TLS_CERT and NOCBRIDGE_TLS_KEY, or neither", () => {
    expect(() => loadConfig({ NOCBRIDGE_TLS_CERT: "/x/cert.pem" })).toThrow(
      /NOCBRIDGE_TLS_CERT and NOCBRIDGE_TLS_KEY must be set together/,
    );
    expect(() => loadConfig({ NOCBRIDGE_TLS_KEY: "/x/key.pem" })).toThrow(/set together/);
    expect(loadConfig({}).tlsCert).toBeUndefined();
  });

  it("reads NOCBRIDGE_ALLOW_HTTP_WEBHOOKS as 1 or 0 only", () => {
    expect(loadConfig({ NOCBRIDGE_ALLOW_HTTP_WEBHOOKS: "1" }).allowHttpWebhooks).toBe(true);
    expect(loadConfig({}).allowHttpWebhooks).toBe(false);
    expect(() => loadConfig({ NOCBRIDGE_ALLOW_HTTP_WEBHOOKS: "yes" })).toThrow(
      /NOCBRIDGE_ALLOW_HTTP_WEBHOOKS must be 1 or 0/,
    );
  });
});

describe.each(STORES)("serve with TLS on %s", (kind) => {
  let dir = "";
  let env: TestEnv;
  let server: Server | undefined;
  let pem: { cert: string; key: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nb-tls-"));
    pem = selfSigned(dir);
    env = await openTestServices(kind, { allowHttpWebhooks: false });
    env.services.config = {
      ...env.services.config,
      host: "127.0.0.1",
      port: 0,
      tlsCert: pem.cert,
      tlsKey: pem.key,
    };
    server = await startServer(env.services);
  });
  afterAll(async () => {
    await server?.close();
    await env?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers https /healthz, and its listening URL is https", async () => {
    expect(server?.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await get(`${server?.url}/healthz`, readFileSync(pem.cert));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ ok: true });
  });
});
