import { Command } from "commander";
import { describe, expect, it } from "vitest";
import {
  type AutotaskEmulatorCliOptions,
  registerAutotaskEmulatorCommand,
  startOptionsFromCli,
} from "./cli.js";
import { DEFAULT_CREDENTIALS } from "./seed.js";
import { startAutotaskEmulator } from "./server.js";

/** Parses `nocbridge emulator autotask …` without running the server. */
function parse(args: string[]): AutotaskEmulatorCliOptions {
  const program = new Command("nocbridge").exitOverride().configureOutput({ writeErr: () => {} });
  const cmd = registerAutotaskEmulatorCommand(program);
  let opts: AutotaskEmulatorCliOptions | undefined;
  cmd.action((o: AutotaskEmulatorCliOptions) => {
    opts = o;
  });
  program.parse(["emulator", "autotask", ...args], { from: "user" });
  if (!opts) throw new Error("action not run");
  return opts;
}

describe("nocbridge emulator autotask", () => {
  it("defaults to the demo seed, loopback, port 8787 and the default credentials", () => {
    const o = startOptionsFromCli(parse([]));
    expect(o).toMatchObject({ port: 8787, host: "127.0.0.1", seed: "demo", ...DEFAULT_CREDENTIALS });
    expect(o.limits).toEqual({});
    expect(o.webhooks).toBeUndefined();
  });

  it("maps credentials, state, time scale, limits and faults", () => {
    const o = startOptionsFromCli(
      parse([
        "--port=0",
        "--username=u@example.com",
        "--secret=s",
        "--integration-code=C",
        "--seed=empty",
        "--state=at.json",
        "--time-scale=0.01",
        "--threshold=500",
        "--max-threads=5",
        "--fault-429=0.1",
        "--fault-timeout=0.05",
        "--fault-latency=200",
        "--webhook-drop=0.2",
        "--random-seed=42",
        "--faults-json",
        '{"share500":0.3}',
        "--no-webhooks",
      ]),
    );
    expect(o).toMatchObject({
      port: 0,
      username: "u@example.com",
      secret: "s",
      integrationCode: "C",
      seed: "empty",
      state: "at.json",
      timeScale: 0.01,
      limits: { requestThreshold: 500, maxThreads: 5 },
      faults: {
        share429: 0.1,
        shareTimeoutAfterApply: 0.05,
        latencyMs: 200,
        deliveryDrop: 0.2,
        share500: 0.3,
      },
      randomSeed: "42",
      webhooks: false,
    });
    expect(startOptionsFromCli(parse(["--no-limits"])).limits).toBe(false);
  });

  it("rejects out-of-range values and unknown seeds", () => {
    expect(() => parse(["--fault-500=2"])).toThrow();
    expect(() => parse(["--seed=full"])).toThrow();
    expect(() => parse(["--faults-json=[1]"])).toThrow();
  });

  it("starts an emulator that serves the given credentials", async () => {
    const emu = await startAutotaskEmulator(
      startOptionsFromCli(parse(["--port=0", "--username=cli@example.com"])),
    );
    try {
      const zone = await fetch(`${emu.baseUrl}V1.0/ZoneInformation?user=cli%40example.com`);
      expect(((await zone.json()) as { url: string }).url).toBe(emu.baseUrl);
    } finally {
      await emu.close();
    }
  });
});
