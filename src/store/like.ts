/**
 * Escapes a text for use inside a LIKE pattern written with `ESCAPE '!'`: its %, _ and ! match
 * themselves instead of acting as wildcards. SQLite and PostgreSQL read the clause alike.
 */
export function escapeLike(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`);
}
