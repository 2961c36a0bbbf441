import type { Connector } from "./connector.js";

/** The connectors this nocbridge knows, by their `system` key ("autotask", "connectwise"). */
export class ConnectorRegistry {
  readonly #byKey = new Map<string, Connector>();

  constructor(connectors: Connector[]) {
    for (const c of connectors) {
      if (this.#byKey.has(c.system)) throw new Error(`two connectors claim the system "${c.system}"`);
      this.#byKey.set(c.system, c);
    }
  }

  has(system: string): boolean {
    return this.#byKey.has(system);
  }

  /** The connector of `system`; an unknown system is a programming or data error, named. */
  get(system: string): Connector {
    const c = this.#byKey.get(system);
    if (!c) throw new Error(`no PSA connector for the system "${system}"`);
    return c;
  }

  list(): Connector[] {
    return [...this.#byKey.values()];
  }

  systems(): string[] {
    return [...this.#byKey.keys()];
  }
}
