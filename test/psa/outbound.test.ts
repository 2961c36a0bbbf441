import { lookup as dnsLookup } from "node:dns";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningAutotaskEmulator } from "../../src/emulators/autotask/index.js";
import { AutotaskClient } from "../../src/psa/autotask/client.js";
import { PsaError } from "../../src/psa/errors.js";
import { guardedFetch } from "../../src/psa/transport.js";
import { isInternalAddress, PsaUrlPolicy } from "../../src/psa/url-policy.js";
import { admin, clientFor, emulatorStats, fastTime, startDiscoveryHost, startEmulator } from "./helpers.js";

/** A plain HTTP server on a free loopback port. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const caught = async (p: Promise<unknown>): Promise<PsaError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof PsaError) return e;
    throw e;
  }
  throw new Error("expected a PsaError");
};

const fast = { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2, timeBudgetMs: 5_000 }, ...fastTime() };

describe("the allow-list of PSA URLs", () => {
  it("parses host patterns and exact origins, and names every bad entry", () => {
    const p = PsaUrlPolicy.parse("https://*.autotask.net, http://127.0.0.1:8081");
    expect(p.refusal("https://webservices5.autotask.net/ATServicesRest/")).toBeNull();
    expect(p.refusal("http://127.0.0.1:8081/ATServicesRest/")).toBeNull();
    expect(p.refusal("http://127.0.0.1:8082/")).toMatch(/not in the operator's allow-list/);
    expect(p.refusal("https://autotask.net.evil.example/")).not.toBeNull();
    expect(p.refusal("http://webservices5.autotask.net/")).not.toBeNull(); // scheme is part of the entry
    expect(p.refusal("https://user:pw@webservices5.autotask.net/")).not.toBeNull();
    expect(() => PsaUrlPolicy.parse("ftp://x.example, https://*.com, *.autotask.net")).toThrow(
      /ftp:\/\/x\.example.*https:\/\/\*\.com.*\*\.autotask\.net/,
    );
    expect(() => PsaUrlPolicy.parse(" , ")).toThrow(/empty/);
  });

  it("treats loopback, private, link-local, CGNAT and unspecified addresses as internal, in every spelling", () => {
    for (const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "100.64.0.1",
      "169.254.169.254",
      "0.0.0.0",
      "::1",
      "::",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "fc00::1",
      "fd12:3456::1",
      "fe80::1",
    ])
      expect(isInternalAddress(a), a).toBe(true);
    for (const a of ["8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"])
      expect(isInternalAddress(a), a).toBe(false);
  });
});

describe("outbound PSA calls", () => {
  let emu: RunningAutotaskEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ limits: false });
  });
  afterAll(async () => emu?.close());

  it("refuses at call time a URL outside the allow-list, sending nothing", async () => {
    const before = (await emulatorStats(emu)).requests;
    const client = new AutotaskClient({
      credentials: { apiUrl: emu.baseUrl, ...emu.credentials },
      budget: false,
      ...fast,
    }); // default allow-list: Autotask's hosts only
    const e = await caught(client.get("Companies", 174));
    expect(e).toMatchObject({ code: "URL_NOT_ALLOWED", retryable: false });
    expect((await emulatorStats(emu)).requests).toBe(before);
  });

  it("refuses a zone that discovery answers outside the allow-list", async () => {
    const discovery = await startDiscoveryHost("https://evil.example/ATServicesRest/");
    try {
      const client = new AutotaskClient({
        credentials: { apiUrl: "", ...emu.credentials },
        zoneDiscoveryUrl: discovery.url,
        urlPolicy: PsaUrlPolicy.default.withOrigins(new URL(discovery.url).origin),
        budget: false,
        ...fast,
      });
      const e = await caught(client.get("Companies", 174));
      expect(e.code).toBe("URL_NOT_ALLOWED");
      expect(e.message).toMatch(/zone URL/);
      expect(discovery.calls()).toBe(1);
    } finally {
      await discovery.close();
    }
  });

  it("discovers an allowed zone and re-discovers it when the tenant moved (500 for an unknown user there)", async () => {
    const oldZone = await startEmulator({ limits: false });
    const newZone = await startEmulator({ limits: false });
    const discovery = await startDiscoveryHost(oldZone.baseUrl);
    try {
      const client = new AutotaskClient({
        credentials: { apiUrl: "", ...oldZone.credentials },
        zoneDiscoveryUrl: discovery.url,
        urlPolicy: PsaUrlPolicy.default.withOrigins(oldZone.url, newZone.url, new URL(discovery.url).origin),
        budget: false,
        ...fast,
      });
      expect((await client.get<{ id: number }>("Companies", 174))?.id).toBe(174);
      // The old zone forgets the user (it answers 500, as Autotask does), discovery names the new zone.
      await admin(oldZone, "DELETE", "tenants/default");
      const res = await fetch(`${oldZone.baseUrl}V1.0/Companies/174`, {
        headers: {
          UserName: oldZone.credentials.username,
          Secret: oldZone.credentials.secret,
          ApiIntegrationCode: oldZone.credentials.integrationCode,
        },
      });
      expect(res.status).toBe(500);
      discovery.setZone(newZone.baseUrl);
      expect((await client.get<{ id: number }>("Companies", 175))?.id).toBe(175);
      expect(await client.zoneUrl()).toBe(newZone.baseUrl);
      expect(discovery.calls()).toBe(2);
    } finally {
      await Promise.all([oldZone.close(), newZone.close(), discovery.close()]);
    }
  });

  it("refuses a host that resolves to a loopback address when only a pattern allows it", async () => {
    const before = (await emulatorStats(emu)).requests;
    // A name that resolves to 127.0.0.1 (an attacker's DNS); the check is on the address connected to.
    const fakeDns = ((host: string, options: object, cb: (...a: unknown[]) => void) =>
      host === "tenant.autotask.test"
        ? dnsLookup("127.0.0.1", options, cb as never)
        : dnsLookup(host, options, cb as never)) as unknown as typeof dnsLookup;
    const url = `http://tenant.autotask.test:${emu.port}/ATServicesRest/`;
    const pattern = PsaUrlPolicy.parse(`https://*.autotask.net,http://*.autotask.test:${emu.port}`);
    const client = new AutotaskClient({
      credentials: { apiUrl: url, ...emu.credentials },
      urlPolicy: pattern,
      fetch: guardedFetch(pattern, { lookup: fakeDns }),
      budget: false,
      ...fast,
    });
    const e = await caught(client.get("Companies", 174));
    expect(e).toMatchObject({ code: "URL_NOT_ALLOWED", retryable: false });
    expect(e.message).toMatch(/tenant\.autotask\.test.*internal/);
    expect((await emulatorStats(emu)).requests).toBe(before);

    // The same name named by an exact-origin entry reaches it (the demo's and the tests' emulator).
    const exact = pattern.withOrigins(`http://tenant.autotask.test:${emu.port}`);
    const allowed = new AutotaskClient({
      credentials: { apiUrl: url, ...emu.credentials },
      urlPolicy: exact,
      fetch: guardedFetch(exact, { lookup: fakeDns }),
      budget: false,
      ...fast,
    });
    expect((await allowed.get<{ id: number }>("Companies", 174))?.id).toBe(174);
  });

  it("follows no redirect: the error names the target host, which sees no request", async () => {
    const target = await serve((_req, res) => res.end("{}"));
    const redirector = await serve((_req, res) => {
      res.writeHead(302, { Location: `http://localhost:${target.port}/ATServicesRest/V1.0/Companies/174` });
      res.end();
    });
    try {
      const { client } = clientFor(emu, {
        credentials: { apiUrl: `${redirector.origin}/ATServicesRest/`, ...emu.credentials },
        urlPolicy: PsaUrlPolicy.default.withOrigins(redirector.origin, target.origin),
        budget: false,
      });
      const e = await caught(client.get("Companies", 174));
      expect(e).toMatchObject({ code: "REDIRECT", status: 302, retryable: false });
      expect(e.message).toContain(`localhost:${target.port}`);
      expect(redirector.requests()).toBe(1);
      expect(target.requests()).toBe(0);
    } finally {
      await Promise.all([target.close(), redirector.close()]);
    }
  });

  it("stops reading a 50 MB answer at the size cap and keeps memory flat", async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let written = 0;
    let closedEarly = false;
    const big = await serve((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.on("close", () => {
        closedEarly = written < 50 * 1024 * 1024;
      });
      const pump = () => {
        while (written < 50 * 1024 * 1024 && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once("drain", pump);
            return;
          }
        }
        if (!res.destroyed) res.end();
      };
      pump();
    });
    try {
      const cap = 1024 * 1024;
      const { client } = clientFor(emu, {
        credentials: { apiUrl: `${big.origin}/ATServicesRest/`, ...emu.credentials },
        urlPolicy: PsaUrlPolicy.default.withOrigins(big.origin),
        budget: false,
        maxResponseBytes: cap,
      });
      const heapBefore = process.memoryUsage().heapUsed;
      const e = await caught(client.get("Companies", 174));
      const heapAfter = process.memoryUsage().heapUsed;
      expect(e).toMatchObject({ code: "TOO_LARGE", retryable: false });
      expect(big.requests()).toBe(1);
      // The connection was closed long before the 50 MB were sent: reading stopped at the cap.
      await new Promise((r) => setTimeout(r, 50));
      expect(closedEarly).toBe(true);
      expect(written).toBeLessThan(50 * 1024 * 1024);
      expect(heapAfter - heapBefore).toBeLessThan(40 * 1024 * 1024);
    } finally {
      await big.close();
    }
  });

  it("never quotes an upstream body that is not Autotask's error shape", async () => {
    const html = await serve((_req, res) => {
      res.writeHead(502, { "Content-Type": "text/html" });
      res.end("<html><body>internal-proxy-7 SECRET-UPSTREAM-TEXT</body></html>");
    });
    try {
      const { client } = clientFor(emu, {
        credentials: { apiUrl: `${html.origin}/ATServicesRest/`, ...emu.credentials },
        urlPolicy: PsaUrlPolicy.default.withOrigins(html.origin),
        budget: false,
        ...fast,
      });
      const e = await caught(client.get("Companies", 174));
      expect(e).toMatchObject({ code: "SERVER", status: 502, errors: [] });
      expect(e.message).toContain("HTTP 502");
      expect(e.message).not.toMatch(/SECRET|html|proxy/i);
    } finally {
      await html.close();
    }
  });

  it("retries a transient 500 and sends a create refused with Autotask's errors array exactly once", async () => {
    const { client } = clientFor(emu, { budget: false, ...fast });
    await admin(emu, "PUT", "faults", { share500: 1 });
    let before = (await emulatorStats(emu)).requests;
    try {
      const e = await caught(client.get("Companies", 174));
      expect(e).toMatchObject({ code: "SERVER", retryable: true });
      expect((await emulatorStats(emu)).requests - before).toBe(3);
    } finally {
      await admin(emu, "PUT", "faults", { share500: 0 });
    }
    before = (await emulatorStats(emu)).requests;
    const refused = await caught(
      client.create("Tickets", { companyID: 174, title: "x\u0007", status: 1, priority: 2, queueID: 1 }),
    );
    expect(refused).toMatchObject({ code: "INVALID_REQUEST", retryable: false, ambiguous: false });
    expect(refused.errors[0]).toMatch(/queueID/);
    expect((await emulatorStats(emu)).requests - before).toBe(1);
  });
});
