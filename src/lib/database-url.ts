/** Whether a DATABASE_URL names PostgreSQL (postgres:// or postgresql://); anything else is a SQLite path. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}
