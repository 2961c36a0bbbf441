import { get } from "./api";
import type { Catalog } from "./types";

let cached: Promise<Catalog> | null = null;

/** The portal's statuses, priorities and device states (fixed lists; read once). */
export function loadCatalog(): Promise<Catalog> {
  if (!cached) {
    cached = get<Catalog>("/api/catalog");
    cached.catch(() => {
      cached = null;
    });
  }
  return cached;
}
