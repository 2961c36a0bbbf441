import { describe, expect, it } from "vitest";
import {
  classify,
  classifyNetworkError,
  parseRetryAfter,
  sanitizeVendorText,
  vendorErrors,
} from "./errors.js";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const errors = (...e: string[]) => ({ errors: e });
const THREAD_TEXT =
  "Thread Threshold Exceeded — The Autotask API thread threshold of 3 threads has been exceeded.";

describe("classify", () => {
  it("recognises the thread-limit text whatever the status, as retryable and never ambiguous", () => {
    for (const status of [429, 500, 503, 400, 403]) {
      const e = classify(status, errors(THREAD_TEXT), undefined, { write: true, operation: "POST Tickets" });
      expect(e.code).toBe("THREAD_LIMIT");
      expect(e.retryable).toBe(true);
      expect(e.ambiguous).toBe(false);
      expect(e.status).toBe(status);
    }
    expect(classify(500, errors("Itgenatr005: too many threads")).code).toBe("THREAD_LIMIT");
  });

  it("retries 429 and parses Retry-After in seconds or as an HTTP date", () => {
    const a = classify(429, errors("Too many requests"), { "Retry-After": "3" }, { nowMs: NOW });
    expect(a).toMatchObject({ code: "RATE_LIMITED", retryable: true, ambiguous: false, retryAfterMs: 3000 });
    const date = new Date(NOW + 7000).toUTCString();
    const b = classify(429, undefined, new Headers({ "retry-after": date }), { nowMs: NOW, write: true });
    expect(b.retryAfterMs).toBe(7000);
    expect(b.ambiguous).toBe(false);
    expect(classify(429, undefined, {}).retryAfterMs).toBeUndefined();
  });

  it("never retries other 4xx", () => {
    const cases: [number, string][] = [
      [400, "INVALID_REQUEST"],
      [401, "AUTH"],
      [403, "AUTH"],
      [404, "NOT_FOUND"],
      [405, "METHOD_NOT_ALLOWED"],
      [408, "INVALID_REQUEST"],
      [409, "INVALID_REQUEST"],
      [422, "INVALID_REQUEST"],
    ];
    for (const [status, code] of cases) {
      const e = classify(status, errors("nope"), { "Retry-After": "1" }, { write: true });
      expect(e.code, `HTTP ${status}`).toBe(code);
      expect(e.retryable, `HTTP ${status}`).toBe(false);
      expect(e.ambiguous, `HTTP ${status}`).toBe(false);
    }
  });

  it("reads Autotask's 500s: integration code, zone, impersonation, no match, validation", () => {
    expect(classify(500, errors("IntegrationCode is invalid.")).code).toBe("INTEGRATION_CODE");
    expect(classify(500, errors("Zone information could not be determined")).code).toBe("ZONE");
    expect(
      classify(500, errors("Resource 12 does not have the adequate permissions to be impersonated.")).code,
    ).toBe("AUTH");
    const gone = classify(500, errors("No matching records found."), undefined, { write: true });
    expect(gone).toMatchObject({ code: "NOT_FOUND", retryable: false, ambiguous: false });
    for (const text of [
      "Missing Required Field: productID.",
      "Invalid value for field status: 99 is not a valid integer.",
      "Value does not reference an existing entity for companyID.",
      "companyID cannot be changed after the ConfigurationItem is created.",
      "User-defined field 'Nope' does not exist for ConfigurationItems.",
    ]) {
      const e = classify(500, errors(text), undefined, { write: true });
      expect(e.code, text).toBe("INVALID_REQUEST");
      expect(e.retryable, text).toBe(false);
      expect(e.ambiguous, text).toBe(false);
    }
    for (const e of [
      classify(500, errors("IntegrationCode is invalid.")),
      classify(500, errors("Zone information could not be determined")),
    ]) {
      expect(e.retryable).toBe(false);
    }
  });

  it("retries other 5xx, ambiguous only for writes", () => {
    const read = classify(500, errors("An unexpected error has occurred."), undefined, { write: false });
    expect(read).toMatchObject({ code: "SERVER", retryable: true, ambiguous: false });
    const write = classify(503, "<html>Service Unavailable</html>", undefined, { write: true });
    expect(write).toMatchObject({ code: "SERVER", retryable: true, ambiguous: true });
    // An upstream body that is not the vendor's error shape is never quoted.
    expect(write.errors).toEqual([]);
    expect(write.message).not.toContain("html");
    expect(write.message).toContain("HTTP 503");
  });

  it("says what was expected and what came, with the vendor's errors", () => {
    const e = classify(500, errors("Missing Required Field: productID."), undefined, {
      operation: "POST ConfigurationItems",
    });
    expect(e.message).toBe(
      'POST ConfigurationItems: expected a valid request, got HTTP 500: "Missing Required Field: productID."',
    );
    expect(e.errors).toEqual(["Missing Required Field: productID."]);
    expect(e.operation).toBe("POST ConfigurationItems");
    expect(classify(401, undefined).message).toBe(
      "expected the API user's UserName and Secret to be accepted, got HTTP 401 with no error text",
    );
  });
});

describe("vendorErrors", () => {
  it("accepts string arrays, {message} objects and ASP.NET's Message; nothing else", () => {
    expect(vendorErrors({ errors: ["a", "b"] })).toEqual(["a", "b"]);
    expect(vendorErrors({ errors: [{ message: "m", field: "f", code: 1 }] })).toEqual(["m"]);
    expect(vendorErrors({ Message: "asp.net" })).toEqual(["asp.net"]);
    expect(vendorErrors("  text ")).toEqual([]);
    expect(vendorErrors({ error: "other shape" })).toEqual([]);
    expect(vendorErrors(undefined)).toEqual([]);
    expect(vendorErrors(42)).toEqual([]);
  });
});

describe("parseRetryAfter", () => {
  it("parses delta-seconds and HTTP dates, and ignores junk", () => {
    expect(parseRetryAfter("0", NOW)).toBe(0);
    expect(parseRetryAfter("1.5", NOW)).toBe(1500);
    expect(parseRetryAfter(" 120 ", NOW)).toBe(120_000);
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter("-1", NOW)).toBeUndefined();
    expect(parseRetryAfter("soon", NOW)).toBeUndefined();
    expect(parseRetryAfter("", NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
  });
});

describe("classifyNetworkError", () => {
  const withCode = (code: string) =>
    new TypeError("fetch failed", { cause: Object.assign(new Error(code), { code }) });

  it("treats a refused connection as never sent, other failures as ambiguous for writes", () => {
    expect(classifyNetworkError(withCode("ECONNREFUSED"), { write: true })).toMatchObject({
      code: "NETWORK",
      retryable: true,
      ambiguous: false,
    });
    expect(classifyNetworkError(withCode("UND_ERR_SOCKET"), { write: true })).toMatchObject({
      code: "NETWORK",
      retryable: true,
      ambiguous: true,
    });
    expect(classifyNetworkError(withCode("ECONNRESET"), { write: false }).ambiguous).toBe(false);
  });

  it("reports our own timeout as TIMEOUT, ambiguous for writes", () => {
    const e = classifyNetworkError(new DOMException("x", "TimeoutError"), {
      timedOut: true,
      timeoutMs: 250,
      write: true,
      operation: "POST Tickets",
    });
    expect(e).toMatchObject({ code: "TIMEOUT", retryable: true, ambiguous: true });
    expect(e.message).toBe("POST Tickets: expected an answer within 250 ms, got none");
  });
});

describe("final and transient 5xx by the shape of the answer", () => {
  it("a 500 in Autotask's errors shape is final, whatever its wording, unless it reads as a server fault", () => {
    for (const text of [
      "When assigning a Resource, you must assign both a assignedResourceID and assignedResourceRoleID.",
      "Reference value on field: companyID does not exist or is invalid.",
      "Some rule nobody listed.",
    ]) {
      const e = classify(500, errors(text), undefined, { write: true });
      expect(e, text).toMatchObject({ code: "INVALID_REQUEST", retryable: false, ambiguous: false });
    }
    for (const text of [
      "An unexpected error has occurred.",
      "Timeout expired.",
      "Transaction deadlock, try again",
    ]) {
      expect(classify(500, errors(text), undefined, { write: true }), text).toMatchObject({
        code: "SERVER",
        retryable: true,
        ambiguous: true,
      });
    }
  });

  it("ASP.NET's {Message} is final on 404/405 and a server fault on 500", () => {
    expect(
      classify(404, { Message: "No HTTP resource was found that matches the request URI 'x'." }),
    ).toMatchObject({
      code: "NOT_FOUND",
      retryable: false,
    });
    expect(
      classify(405, { Message: "The requested resource does not support http method 'GET'." }),
    ).toMatchObject({
      code: "METHOD_NOT_ALLOWED",
      retryable: false,
    });
    expect(classify(500, { Message: "An error has occurred." })).toMatchObject({
      code: "SERVER",
      retryable: true,
    });
  });

  it("an unknown API user on a normal call (500) is AUTH, not a validation refusal", () => {
    expect(classify(500, errors("Unauthorized: the API user is unknown."))).toMatchObject({
      code: "AUTH",
      retryable: false,
    });
    expect(classify(500, errors("User-defined field 'X' does not exist for Tickets.")).code).toBe(
      "INVALID_REQUEST",
    );
  });

  it("sanitises vendor messages: control characters stripped, each one truncated", () => {
    expect(sanitizeVendorText("bad\u0000\u001b[31m value\r\n\u202eevil")).toBe("bad [31m value evil");
    const long = sanitizeVendorText("x".repeat(5000));
    expect(long.length).toBe(300);
    const e = classify(500, errors(`Missing Required Field: ${"y".repeat(1000)}`));
    expect(e.message.length).toBeLessThan(450);
  });
});
