/**
 * The ranges of numbers and dates accepted from outside (query parameters, cursors, provider
 * timestamps): what the database columns can hold, checked before any query so an out-of-range
 * value is a 400 with a code, never a database error. Browser-safe: no imports.
 */

/** The largest value of a PostgreSQL `integer` column (message seq, last_seq). */
export const PG_INT_MAX = 2_147_483_647;

/** 1970-01-01T00:00:00Z: nothing Switchboard stores is older than the unix epoch. */
export const MIN_DATE_MS = 0;
/**
 * 9999-12-31T23:59:59.999Z. A Date reaches the year 275760, but beyond 9999 its ISO string has a
 * six-digit signed year ("+275760-09-13T…") that PostgreSQL's timestamptz input refuses.
 */
export const MAX_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** True for a finite number of epoch milliseconds within [MIN_DATE_MS, MAX_DATE_MS]. */
export const isStorableDate = (ms: number): boolean =>
  Number.isFinite(ms) && ms >= MIN_DATE_MS && ms <= MAX_DATE_MS;
