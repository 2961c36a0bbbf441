import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hashToken, loadOrCreateKeyFile, newToken, parseMasterKey, SecretBox } from "./crypto.js";

const box = new SecretBox(randomBytes(32));

/** Flips one bit of one base64url part of a sealed secret. */
function flip(sealed: string, part: number): string {
  const parts = sealed.split(".");
  const bytes = Buffer.from(parts[part]!, "base64url");
  bytes[0] = bytes[0]! ^ 0x01;
  parts[part] = bytes.toString("base64url");
  return parts.join(".");
}

describe("SecretBox", () => {
  it("round-trips a secret for the same partner", () => {
    const sealed = box.encrypt("p@ss wörd ☃", 7);
    expect(sealed).not.toContain("p@ss");
    expect(box.decrypt(sealed, 7)).toBe("p@ss wörd ☃");
  });

  it("refuses a ciphertext moved to another partner (partner id is associated data)", () => {
    const sealed = box.encrypt("secret", 7);
    expect(() => box.decrypt(sealed, 8)).toThrow(/failed authentication/);
    expect(() => box.decrypt(sealed, 7, "other-purpose")).toThrow(/failed authentication/);
  });

  it.each([
    ["IV", 2],
    ["tag", 3],
    ["ciphertext", 4],
  ])("detects a changed byte in the %s", (_name, part) => {
    const sealed = box.encrypt("secret value", 3);
    expect(() => box.decrypt(flip(sealed, part), 3)).toThrow();
  });

  it("refuses a secret sealed with another key", () => {
    const other = new SecretBox(randomBytes(32));
    expect(() => other.decrypt(box.encrypt("x", 1), 1)).toThrow(/sealed with key/);
  });

  it("uses a fresh IV every time (10^5 encryptions, no repeat)", () => {
    const ivs = new Set<string>();
    for (let i = 0; i < 100_000; i++) ivs.add(box.encrypt("x", 1).split(".")[2]!);
    expect(ivs.size).toBe(100_000);
  });

  it("rejects keys that are not 32 bytes", () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32 bytes/);
    expect(() => parseMasterKey("abcd")).toThrow(/NOCBRIDGE_MASTER_KEY/);
    expect(parseMasterKey("00".repeat(32))).toHaveLength(32);
    expect(parseMasterKey(randomBytes(32).toString("base64"))).toHaveLength(32);
  });

  it("creates a key file once (mode 0600) and reads the same key back", () => {
    const path = join(mkdtempSync(join(tmpdir(), "nb-key-")), "sub", "master.key");
    const a = loadOrCreateKeyFile(path);
    const b = loadOrCreateKeyFile(path);
    expect(a.equals(b)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, "utf8").trim()).toBe(a.toString("hex"));
  });
});

describe("tokens", () => {
  it("are random and stored as a SHA-256 hash", () => {
    const t = newToken();
    expect(t).toMatch(/^nbt_[A-Za-z0-9_-]{43}$/);
    expect(newToken()).not.toBe(t);
    expect(hashToken(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(t)).toBe(hashToken(t));
  });
});
