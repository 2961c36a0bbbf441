/**
 * The path of the first string (or key) holding U+0000 in a parsed JSON value, "" for the value
 * itself, or null when there is none. Raw bodies (Buffers) are not looked into.
 */
export function nulField(value: unknown, path: string): string | null {
  if (typeof value === "string") return value.includes("\u0000") ? path : null;
  if (value === null || typeof value !== "object" || Buffer.isBuffer(value)) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const f = nulField(value[i], `${path}[${i}]`);
      if (f !== null) return f;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    const p = path ? `${path}.${k}` : k;
    if (k.includes("\u0000")) return path;
    const f = nulField(v, p);
    if (f !== null) return f;
  }
  return null;
}
