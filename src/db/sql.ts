/** True when a database error is a UNIQUE (or primary key) violation, on SQLite and PostgreSQL. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string } | null;
  if (!e) return false;
  if (e.code === '23505') return true; // PostgreSQL unique_violation
  // node-sqlite3 says SQLITE_CONSTRAINT (errno 19); better-sqlite3 the extended SQLITE_CONSTRAINT_UNIQUE.
  if (e.code?.startsWith('SQLITE_CONSTRAINT') || e.errno === 19) {
    return /UNIQUE constraint failed|PRIMARY KEY/i.test(e.message ?? '');
  }
  return false;
}
