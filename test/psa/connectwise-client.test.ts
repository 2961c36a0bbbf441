/**
 * The ConnectWise client against the emulator over HTTPS (real HTTP through the guarded transport):
 * companyinfo discovery, auth, both paging modes by the Link header, counts, /search for long
 * conditions, 429 with Retry-After, retries of reads but not of ambiguous creates, errors as
 * PsaErrors that quote only ConnectWise's sanitised messages, and no secret in logs or messages.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { classifyConnectWise } from "../../src/psa/connectwise/classify.js";
import { ConnectWiseClient } from "../../src/psa/connectwise/client.js";
import { and, date, inList, nextLink, or, str } from "../../src/psa/connectwise/query.js";
import { apiOrigin, siteOrigin } from "../../src/psa/connectwise/site.js";
import { isPsaError, type PsaError } from "../../src/psa/errors.js";
import { type CwFixture, startCwFixture } from "./connectwise-helpers.js";

let f: CwFixture;
beforeAll(async () => {
  f = await startCwFixture();
});
afterAll(async () => {
  await f?.close();
});
beforeEach(async () => {
  await f.admin("POST", "reset");
});

const caught = async (p: Promise<unknown>): Promise<PsaError> => {
  try {
    await p;
  } catch (e) {
    if (isPsaError(e)) return e;
    throw e;
  }
  throw new Error("expected a PsaError");
};

describe("site and query helpers", () => {
  it("normalises the site and uses the api- twin of a cloud site for versioned codebases", () => {
    expect(siteOrigin("na.myconnectwise.net")).toBe("https://na.myconnectwise.net");
    expect(siteOrigin("https://na.myconnectwise.net/v4_6_release/ConnectWise.aspx")).toBe(
      "https://na.myconnectwise.net",
    );
    expect(() => siteOrigin("http://cw.example.com")).toThrow(/https/);
    expect(() => siteOrigin("https://u:p@cw.example.com")).toThrow(/without user name/);
    expect(apiOrigin("https://na.myconnectwise.net", "v2025_1/")).toBe("https://api-na.myconnectwise.net");
    expect(apiOrigin("https://api-eu.myconnectwise.net", "v2025_1/")).toBe(
      "https://api-eu.myconnectwise.net",
    );
    expect(apiOrigin("https://staging.connectwisedev.com", "v2025_1/")).toBe(
      "https://api-staging.connectwisedev.com",
    );
    expect(apiOrigin("https://cw.example.com", "v2025_1/")).toBe("https://cw.example.com");
    expect(apiOrigin("https://na.myconnectwise.net", "v4_6_release/")).toBe("https://na.myconnectwise.net");
  });

  it("writes literals the way the conditions grammar reads them", () => {
    expect(str('say "hi"')).toBe(`'say "hi"'`);
    expect(str("a[1]")).toBe('"a[[]1]"');
    expect(date(new Date("2026-01-05T10:00:00.987Z"))).toBe("[2026-01-05T10:00:00Z]");
    expect(and("a = 1", or("b = 2", inList("id", [3, 4])))).toBe("(a = 1) and ((b = 2) or (id in (3, 4)))");
    expect(() => inList("id", [1.5])).toThrow(/integer/);
    expect(nextLink('<https://h/x?page=2>; rel="next", <https://h/x?page=4>; rel="last"')).toBe(
      "https://h/x?page=2",
    );
    expect(nextLink('<https://h/x?page=1>; rel="first"')).toBeNull();
  });

  it("classifies ConnectWise's answers and quotes only their sanitised messages", () => {
    const rl = classifyConnectWise(
      429,
      { error: "ConnectWiseAPI", message: "Too many requests." },
      { "Retry-After": "30" },
    );
    expect(rl).toMatchObject({ code: "RATE_LIMITED", retryable: true, retryAfterMs: 30_000 });
    const bad = classifyConnectWise(400, {
      code: "InvalidObject",
      message: "ticket object is invalid",
      errors: [
        { code: "MissingRequiredField", message: "The summary field is\u0007 required.", field: "summary" },
      ],
    });
    expect(bad).toMatchObject({ code: "INVALID_REQUEST", retryable: false });
    expect(bad.errors).toEqual(["ticket object is invalid", "summary: The summary field is required."]);
    expect(
      classifyConnectWise(500, "<html>stack trace with secrets</html>", undefined, { write: true }),
    ).toMatchObject({
      code: "SERVER",
      retryable: true,
      ambiguous: true,
      errors: [],
    });
    expect(classifyConnectWise(500, "<html>x</html>").message).not.toMatch(/html/);
    expect(classifyConnectWise(403, { code: "Forbidden", message: "no" }).code).toBe("AUTH");
    expect(classifyConnectWise(409, { code: "Conflict", message: "in use" })).toMatchObject({
      retryable: true,
      ambiguous: false,
    });
    expect(classifyConnectWise(404, { code: "NotFound", message: "Ticket 5 not found" }).code).toBe(
      "NOT_FOUND",
    );
  });
});

describe("ConnectWise client", () => {
  it("discovers the codebase and reads, pages (forward-only and ordered) and counts", async () => {
    const c = f.client();
    for (let i = 0; i < 7; i++)
      await c.create("service/tickets", { summary: `t${i}`, company: { id: 2 }, board: { id: 1 } });
    f.emu.stats.reset();
    const pages: number[][] = [];
    for await (const p of c.pages<{ id: number }>("service/tickets", { pageSize: 3, fields: ["summary"] }))
      pages.push(p.map((t) => t.id));
    expect(pages).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    // Three pages, three requests: a short page ends the read.
    expect(f.emu.stats.snapshot().byOperation).toEqual({ "list service/tickets": 3 });
    const ordered = await c.all<{ id: number }>("service/tickets", {
      orderBy: "id desc",
      pageSize: 2,
      limit: 5,
    });
    expect(ordered.map((t) => t.id)).toEqual([7, 6, 5, 4, 3]);
    expect(await c.count("service/tickets", 'summary like "t%"')).toBe(7);
    expect(await c.get("service/tickets/999")).toBeNull();
    expect((await c.get<Record<string, unknown>>("service/tickets/1", ["summary"])) ?? {}).toEqual({
      id: 1,
      summary: "t0",
    });
    expect(c.stats().discoveries).toBe(1);
  });

  it("ends a forward-only read on a page without a Link", async () => {
    await f.admin("PUT", "options", { forwardOnlyLinkOnLastPage: false });
    const c = f.client();
    const all = await c.all<{ id: number }>("service/boards/1/statuses", { pageSize: 2 });
    expect(all.map((s) => s.id)).toEqual([1, 2, 3, 4, 5]);
  });

  it("refuses credentials ConnectWise does not accept, also when the site answers like cloud (404)", async () => {
    const creds = { ...f.emu.credentials, siteUrl: f.emu.url };
    const wrong = f.client({ credentials: { ...creds, privateKey: "nope" } });
    expect(await caught(wrong.count("service/boards"))).toMatchObject({
      code: "AUTH",
      status: 401,
      retryable: false,
    });
    await f.admin("PUT", "options", { authFailureStatus: 404 });
    const e = await caught(wrong.get("service/boards/1"));
    expect(e).toMatchObject({ code: "NOT_FOUND", status: 404 });
    expect(e.message).toMatch(/bad credentials/);
    const unknown = f.client({ credentials: { ...creds, companyId: "nosuchco" } });
    expect(await caught(unknown.count("service/boards"))).toMatchObject({
      code: "AUTH",
      operation: "GET login/companyinfo",
    });
    const noClient = f.client({
      credentials: { ...creds, clientId: "11111111-1111-4111-8111-111111111111" },
    });
    expect((await caught(noClient.count("service/boards"))).code).toBe("AUTH");
  });

  it("waits as long as Retry-After asks after a 429, and gives up with RATE_LIMITED when it never ends", async () => {
    const waits: number[] = [];
    const c = f.client({
      sleep: async (ms) => {
        waits.push(ms);
      },
      retry: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 12, timeBudgetMs: 60_000 },
    });
    await c.count("service/boards");
    f.emu.faults.configure({ share429: 0.5, retryAfterSeconds: 2, seed: 7 });
    for (let i = 0; i < 5; i++) expect(await c.count("service/boards")).toBe(2);
    expect(c.stats().rateLimited).toBeGreaterThan(0);
    expect(waits.length).toBe(c.stats().rateLimited);
    expect(waits.every((w) => w >= 2000)).toBe(true);
    f.emu.faults.configure({ share429: 1 });
    const e = await caught(c.count("service/boards"));
    expect(e).toMatchObject({ code: "RATE_LIMITED", retryAfterMs: 2000, attempts: 12 });
  });

  it("retries reads and PATCHes after a 500, but never sends a create again after an ambiguous failure", async () => {
    const c = f.client({ sleep: async () => undefined });
    await c.count("service/boards");
    f.emu.faults.configure({ share500: 1 });
    expect(await caught(c.count("service/boards"))).toMatchObject({ code: "SERVER", attempts: 5 });
    f.emu.faults.configure({ share500: 0, share500AfterApply: 1, onlyWrites: true });
    const e = await caught(c.create("service/tickets", { summary: "once", company: { id: 2 } }));
    expect(e).toMatchObject({ code: "SERVER", ambiguous: true, attempts: 1 });
    const t = f.emu.store.tenant(f.emu.credentials.companyId);
    expect(t?.rows("tickets").filter((x) => x["summary"] === "once")).toHaveLength(1);
    const id = t?.rows("tickets")[0]?.id as number;
    expect(
      await caught(c.patch(`service/tickets/${id}`, [{ op: "replace", path: "summary", value: "x" }])),
    ).toMatchObject({
      attempts: 5,
    });
    // A delete whose first answer was lost and that finds the record gone succeeded.
    f.emu.faults.configure({ share500AfterApply: 0.5, seed: 3 });
    await c.delete(`service/tickets/${id}`);
    expect(t?.get("tickets", id)).toBeUndefined();
  });

  it("sends nothing outside the allow-list, follows no redirect and reads no oversized answer", async () => {
    const creds = { ...f.emu.credentials, siteUrl: f.emu.url };
    const strict = new ConnectWiseClient({ credentials: creds });
    expect(await caught(strict.count("service/boards"))).toMatchObject({ code: "URL_NOT_ALLOWED" });
    expect(f.emu.stats.snapshot().requests).toBe(0);
    const redirecting = new ConnectWiseClient({
      credentials: { ...creds, siteUrl: "https://na.myconnectwise.net" },
      fetch: async () => new Response(null, { status: 302, headers: { location: "https://evil.example/x" } }),
      retry: { maxAttempts: 1 },
    });
    expect(await caught(redirecting.count("service/boards"))).toMatchObject({ code: "REDIRECT" });
    const big = f.client({ maxResponseBytes: 200 });
    expect(await caught(big.all("service/boards/1/statuses"))).toMatchObject({ code: "TOO_LARGE" });
  });

  it("never puts the keys in a log line or an error message", async () => {
    const lines: unknown[] = [];
    const logger = {
      debug: (o: object, m: string) => lines.push([o, m]),
      warn: (o: object, m: string) => lines.push([o, m]),
    };
    const c = f.client({ logger, sleep: async () => undefined });
    f.emu.faults.configure({ share500: 0.5, share500AfterApply: 0.5, seed: 11 });
    const errors: string[] = [];
    for (let i = 0; i < 6; i++) {
      await c
        .create("service/tickets", { summary: `s${i}`, company: { id: 2 } })
        .catch((e: Error) => errors.push(e.message));
      await c
        .createIdempotent("service/tickets", { summary: `i${i}`, company: { id: 2 } }, async () => null)
        .catch((e: Error) => errors.push(e.message));
    }
    expect(lines.length).toBeGreaterThan(0);
    const text = JSON.stringify([lines, errors]);
    const { privateKey, publicKey } = f.emu.credentials;
    const basic = Buffer.from(`${f.emu.credentials.companyId}+${publicKey}:${privateKey}`).toString("base64");
    for (const secret of [privateKey, basic, f.emu.url]) expect(text).not.toContain(secret);
  });
});
