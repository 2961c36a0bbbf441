/** State persistence: `--state <file>` is loaded at start and saved after writes. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { newTicket, startTestEmulator } from "./helpers.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "nocbridge-emu-"));
  dirs.push(dir);
  return join(dir, "autotask.json");
}

describe("state file", () => {
  it("saves after writes (debounced) and on close, and loads it at the next start", async () => {
    const file = stateFile();
    const first = await startTestEmulator({ state: file, stateSaveDelayMs: 20 });
    const id = (await first.api("POST", "Tickets", newTicket({ title: "survives a restart" }))).body.itemId;
    await vi.waitFor(() => expect(readFileSync(file, "utf8")).toContain("survives a restart"));
    await first.admin("POST", `tenants/${first.emu.tenantId}/statuses`, {
      value: 31,
      label: "Waiting Vendor",
    });
    await first.close();
    expect(readFileSync(file, "utf8")).toContain("Waiting Vendor");

    // The file wins over the seed option: the state is what was saved.
    const second = await startTestEmulator({ state: file, seed: "empty" });
    try {
      const item = (await second.api("GET", `Tickets/${id}`)).body.item;
      expect(item.title).toBe("survives a restart");
      const next = (await second.api("POST", "Tickets", newTicket({ status: 31 }))).body.itemId;
      expect(next).toBe(id + 1);
    } finally {
      await second.close();
    }
  });

  it("keeps the state in memory when no file is given: a new emulator starts from the seed", async () => {
    const a = await startTestEmulator();
    const id = (await a.api("POST", "Tickets", newTicket())).body.itemId;
    await a.close();
    const b = await startTestEmulator();
    try {
      expect((await b.api("GET", `Tickets/${id}`)).body.item).toBeNull();
    } finally {
      await b.close();
    }
  });
});
