/** What changed: ticket_outbox rows were written, or integration_events rows. */
export type SignalKind = "outbox" | "integration";

export interface Signal {
  kind: SignalKind;
  partnerId: number;
}

/**
 * An in-process, data-free wake-up: a writer fires it after its transaction commits, so that a
 * consumer in the same process looks at the rows now instead of at its next beat. It carries no data
 * and promises nothing: the rows are the truth, and a consumer in another process (or one that was
 * not listening) finds them on its next beat anyway.
 */
export class Signals {
  readonly #listeners = new Set<(s: Signal) => void>();

  /** Listens until the returned function is called. */
  on(listener: (s: Signal) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Tells every listener; a listener that throws does not stop the others, nor the writer. */
  fire(s: Signal): void {
    for (const listener of this.#listeners) {
      try {
        listener(s);
      } catch {
        // A wake-up is a hint: the rows stay, and the listener's next beat finds them.
      }
    }
  }
}
