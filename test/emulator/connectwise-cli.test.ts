/**
 * `nocbridge emulator connectwise` as a real process with the fixed flags: it listens over HTTPS,
 * writes the certificate to --ca-out, and a separate Node process that trusts it through
 * NODE_EXTRA_CA_CERTS can call the API with the given company id, keys and clientId.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpsCall } from "./connectwise-helpers.js";

const CLI = ["--import", "tsx", join(import.meta.dirname, "..", "..", "src", "cli.ts")];
const CLIENT_ID = "3f1c2a9e-5b7d-4c1a-9e2f-0a1b2c3d4e5f";
const run = promisify(execFile);

let proc: ChildProcess | undefined;
let dir: string;
let url: string;
let caFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cwemu-"));
  caFile = join(dir, "ca.pem");
  const args = [
    ...CLI,
    "emulator",
    "connectwise",
    ...["--port", "0", "--company-id", "acme", "--public-key", "pubKEY", "--private-key", "privKEY"],
    ...["--client-id", CLIENT_ID, "--seed", "empty", "--ca-out", caFile],
  ];
  const child = spawn("node", args, { stdio: ["ignore", "pipe", "pipe"] });
  proc = child;
  url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening on (https:\/\/\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once("exit", (code) => reject(new Error(`emulator exited with ${code}: ${out}`)));
  });
}, 60_000);

afterAll(async () => {
  proc?.kill("SIGTERM");
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("nocbridge emulator connectwise", () => {
  it("serves HTTPS with the certificate written to --ca-out and the given credentials", async () => {
    const agent = new Agent({ ca: await readFile(caFile, "utf8") });
    const info = await httpsCall(agent, "GET", `${url}/login/companyinfo/acme`);
    expect(info.body.CompanyID).toBe("acme");
    const auth = `Basic ${Buffer.from("acme+pubKEY:privKEY").toString("base64")}`;
    const ok = await httpsCall(agent, "GET", `${url}/v4_6_release/apis/3.0/company/companies`, undefined, {
      authorization: auth,
      clientId: CLIENT_ID,
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual([]);
    const wrongClient = await httpsCall(
      agent,
      "GET",
      `${url}/v4_6_release/apis/3.0/company/companies`,
      undefined,
      {
        authorization: auth,
        clientId: "00000000-0000-0000-0000-000000000000",
      },
    );
    expect(wrongClient.status).toBe(401);
    await expect(httpsCall(new Agent(), "GET", `${url}/login/companyinfo/acme`)).rejects.toThrow();
    agent.destroy();
  });

  it("is trusted by a child process through NODE_EXTRA_CA_CERTS", async () => {
    const script = `fetch(${JSON.stringify(`${url}/login/companyinfo/acme`)}).then(async (r) => console.log(r.status, (await r.json()).CompanyID))`;
    const { stdout } = await run("node", ["-e", script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
    });
    expect(stdout.trim()).toBe("200 acme");
  });
});
