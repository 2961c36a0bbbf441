import { isPsaError } from "../../../src/psa/errors.js";
import { type FakeTenant, fakeError } from "./psa.js";

/**
 * A session's way into the fake PSA: every call is one request (counted, authenticated, maybe
 * faulted). Creates go through `idempotent`: after an ambiguous failure the record is looked up
 * before it would be sent again — never a blind second create (docs/reliability.md, Idempotent
 * creates).
 */
export class FakeClient {
  requests = 0;

  constructor(
    readonly tenant: FakeTenant,
    readonly creds: { username: string; secret: string },
  ) {}

  /** One request; `fn` reads or writes the tenant's rows. */
  async call<T>(op: string, fn: (rows: FakeTenant["rows"]) => T): Promise<T> {
    this.requests++;
    // Answer on a later turn, as a network call would.
    await Promise.resolve();
    return this.tenant.request(this.creds, op, () => fn(this.tenant.rows));
  }

  async idempotent(create: () => Promise<number>, lookup: () => Promise<number | null>): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await create();
      } catch (e) {
        if (!isPsaError(e) || !e.ambiguous) throw e;
        let found: number | null;
        try {
          found = await lookup();
        } catch {
          // The create's outcome is still unknown: that is what the caller must learn.
          throw e;
        }
        if (found !== null) return found;
        if (attempt >= 3) throw e;
      }
    }
  }
}

/** A refusal of a write: what is wrong, as the PSA words it (final, not retryable). */
export const refuse = (op: string, message: string) => fakeError("INVALID_REQUEST", message, op);
/** A write to a record that is not there (Autotask: "No matching records found", docs/autotask.md, Writes). */
export const notFound = (op: string, what: string) =>
  fakeError("NOT_FOUND", `No matching records found: ${what}`, op);
