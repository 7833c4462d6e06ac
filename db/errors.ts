/**
 * Telling "the database is unreachable right now" (retry later: 503) from a bug (500). postgres.js
 * reports lost or refused connections with its own codes, PostgreSQL with SQLSTATE classes 08
 * (connection exception) and 57P (operator intervention: terminated, shutting down, starting up) or
 * a FATAL severity at connect time; Drizzle wraps them in an error whose `cause` is the original.
 */

const CLIENT_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
]);

interface MaybeDbError {
  code?: unknown;
  severity?: unknown;
  cause?: unknown;
}

export function isDatabaseUnavailable(err: unknown): boolean {
  for (
    let e = err as MaybeDbError | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as MaybeDbError, depth++
  ) {
    if (typeof e !== "object") return false;
    const code = typeof e.code === "string" ? e.code : "";
    if (CLIENT_CODES.has(code) || code.startsWith("08") || code.startsWith("57P")) return true;
    if (e.severity === "FATAL" || e.severity === "PANIC") return true;
  }
  return false;
}

/** True for a unique-constraint violation (SQLSTATE 23505), however the driver wraps it. */
export function isUniqueViolation(err: unknown): boolean {
  for (
    let e = err as MaybeDbError | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as MaybeDbError, depth++
  ) {
    if (typeof e !== "object") return false;
    if (e.code === "23505") return true;
  }
  return false;
}
