/** Saving the emulator's state to a file (store.ts). */
import { rename, writeFile } from "node:fs/promises";
import type { EmulatorStore } from "./store.js";

/**
 * Saves the state to a file after writes: the first write of a burst schedules a save `delayMs`
 * later and the writes that follow ride along, so a burst costs one save. The gap grows with the
 * time a save takes (10× its duration), so a large tenant under a steady stream of writes does not
 * spend its time serialising. `flush()` saves now (on close). Writes go to a temporary file that is
 * renamed over the target, so a crash never leaves half a file.
 */
export class StatePersister {
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private gapMs: number;

  constructor(
    private readonly store: EmulatorStore,
    private readonly file: string,
    private readonly delayMs = 250,
  ) {
    this.gapMs = delayMs;
  }

  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.saving = this.saving.then(() => this.write()).catch(() => undefined);
    }, this.gapMs);
    this.timer.unref();
  }

  /** Writes now (cancelling a scheduled save) and waits for it. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.saving;
    await this.write();
  }

  private async write(): Promise<void> {
    const started = performance.now();
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(this.store.toState()));
    await rename(tmp, this.file);
    this.gapMs = Math.max(this.delayMs, Math.round((performance.now() - started) * 10));
  }
}
