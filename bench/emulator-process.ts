import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

/** The Autotask emulator in a child process (so a benchmark measures nocbridge's memory alone). */
export interface EmulatorProcess {
  process: ChildProcess;
  /** Origin, e.g. http://127.0.0.1:41234 */
  url: string;
  /** REST base: `${url}/ATServicesRest/` */
  restBase: string;
  /** Calls the admin API under /_emulator. */
  admin<T>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): void;
}

/** Starts `nocbridge emulator autotask --port 0 <args>` and waits for its URL. */
export async function startEmulatorProcess(args: string[]): Promise<EmulatorProcess> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(import.meta.dirname, "..", "src", "cli.ts"),
      "emulator",
      "autotask",
      "--port",
      "0",
      ...args,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (b) => {
      out += String(b);
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`emulator exited ${code}`)));
  });
  return {
    process: child,
    url,
    restBase: `${url}/ATServicesRest/`,
    async admin<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${url}/_emulator${path}`, {
        method,
        headers: { "content-type": "application/json" },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    stop: () => {
      child.kill("SIGTERM");
    },
  };
}
