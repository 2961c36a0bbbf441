/**
 * Waits until `fn` returns a truthy value: events cross asynchronously (webhooks, the sync worker, a
 * restarted server). A generous deadline, not a timing assertion.
 */
export async function until<T>(
  fn: () => Promise<T | undefined | null | false>,
  what: string,
  ms = 10_000,
  everyMs = 20,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
