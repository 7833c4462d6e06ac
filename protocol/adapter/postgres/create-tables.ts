/**
 * Creates tables on first use, safely when several nodes start at once. `CREATE TABLE IF NOT
 * EXISTS` is not safe under concurrency in PostgreSQL: two sessions that both see no table both
 * create one, and the later fails with a duplicate type or relation ("type … already exists"),
 * aborting the rest of its statements. Every creator therefore takes one transaction-scoped
 * advisory lock first, so the statements of one caller run after the other's have committed and
 * find the tables there.
 */
import type postgres from "postgres";

/** One lock for every table Switchboard creates at runtime (a constant, arbitrary but fixed). */
const CREATE_TABLES_LOCK = 0x5357_4244; // "SWBD"

/** Runs `ddl` (one or more statements) once per process, serialized with every other node's. */
export function createTablesOnce(sql: postgres.Sql, ddl: string): () => Promise<void> {
  let ready: Promise<void> | undefined;
  return () => {
    ready ??= sql
      .unsafe(`SELECT pg_advisory_xact_lock(${CREATE_TABLES_LOCK}); ${ddl}`)
      .simple()
      .then(
        () => {},
        (err: unknown) => {
          ready = undefined;
          throw err;
        },
      );
    return ready;
  };
}
