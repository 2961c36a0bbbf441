import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { RunningConnectWiseEmulator, TenantData } from "../emulators/connectwise/index.js";
import type { Logger } from "../lib/logger.js";

/** How often the demo's ConnectWise emulator state is written when it changed. */
const SAVE_EVERY_MS = 2_000;

/**
 * Keeps the demo's ConnectWise emulator state in a file beside the database, as the Autotask emulator
 * keeps its own: the tenants are read back at start (so the configurations and tickets nocbridge
 * linked are still there) and written when they change, and once more at close.
 */
export function keepConnectWiseState(
  emu: RunningConnectWiseEmulator,
  file: string,
  logger: Logger,
): { close(): Promise<void> } {
  if (existsSync(file)) {
    try {
      const saved = JSON.parse(readFileSync(file, "utf8")) as { tenants?: TenantData[] };
      for (const t of saved.tenants ?? []) emu.store.replace(t);
    } catch (err) {
      logger.warn({ err, file }, "the ConnectWise emulator's saved state could not be read; starting afresh");
    }
  }
  let last = "";
  const save = () => {
    const text = JSON.stringify({ tenants: emu.store.tenants().map((t) => t.toData()) });
    if (text === last) return;
    try {
      // The first start saves before the database has made the data directory.
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
      last = text;
    } catch (err) {
      logger.warn({ err, file }, "the ConnectWise emulator's state could not be saved");
    }
  };
  save();
  const timer = setInterval(save, SAVE_EVERY_MS);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      save();
    },
  };
}
