import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { DEFAULT_ATTACHMENT_MAX_BYTES } from "../src/portal/attachments.js";

const base = { NOCBRIDGE_MASTER_KEY: "x".repeat(64) };

describe("attachment settings", () => {
  it("default to 6 MB, the built-in type list and the database", () => {
    const c = loadConfig(base);
    expect(c.attachmentMaxBytes).toBe(DEFAULT_ATTACHMENT_MAX_BYTES);
    expect(DEFAULT_ATTACHMENT_MAX_BYTES).toBe(6 * 1024 * 1024);
    expect(c.attachmentTypes).toContain("application/pdf");
    expect(c.attachmentTypes).not.toContain("text/html");
    expect(c.attachmentDir).toBeUndefined();
  });

  it("read the limit, the types (a family with /*) and the directory", () => {
    const c = loadConfig({
      ...base,
      NOCBRIDGE_ATTACHMENT_MAX_BYTES: "1000",
      NOCBRIDGE_ATTACHMENT_TYPES: "image/*, Text/Plain",
      NOCBRIDGE_ATTACHMENT_DIR: "files",
    });
    expect(c.attachmentMaxBytes).toBe(1000);
    expect(c.attachmentTypes).toEqual(["image/*", "text/plain"]);
    expect(c.attachmentDir).toMatch(/\/files$/);
  });

  it("name every bad value", () => {
    expect(() =>
      loadConfig({ ...base, NOCBRIDGE_ATTACHMENT_MAX_BYTES: "6MB", NOCBRIDGE_ATTACHMENT_TYPES: "pdf" }),
    ).toThrow(/NOCBRIDGE_ATTACHMENT_MAX_BYTES[\s\S]*NOCBRIDGE_ATTACHMENT_TYPES: "pdf"/);
  });
});
