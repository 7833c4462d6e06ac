/**
 * Telling "the database is unreachable right now" (retry later: 503) from a bug (500). Bun's SQL
 * client reports lost, refused or timed-out connections as `ERR_POSTGRES_CONNECTION_*` (and idle or
 * lifetime timeouts), PostgreSQL with SQLSTATE classes 08 (connection exception) and 57P (operator
 * intervention: terminated, shutting down, starting up) or a FATAL severity at connect time; Bun
 * puts the SQLSTATE in `errno`, other drivers in `code`. Drizzle wraps them all in an error whose
 * `cause` is the original. Socket-level codes cover drivers that surface them directly.
 */

const CLIENT_CODES = new Set([
  "ERR_POSTGRES_CONNECTION_CLOSED",
  "ERR_POSTGRES_CONNECTION_REFUSED",
  "ERR_POSTGRES_CONNECTION_TIMEOUT",
  "ERR_POSTGRES_IDLE_TIMEOUT",
  "ERR_POSTGRES_LIFETIME_TIMEOUT",
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
  errno?: unknown;
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
    const sqlState = typeof e.errno === "string" ? e.errno : code;
    if (CLIENT_CODES.has(code) || sqlState.startsWith("08") || sqlState.startsWith("57P")) return true;
    if (e.severity === "FATAL" || e.severity === "PANIC") return true;
  }
  return false;
}
