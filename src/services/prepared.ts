/**
 * Hot-path statements, built once. drizzle turns a query builder into SQL text on every execution
 * (entity checks, chunk merging: about half of the chat path's CPU in a profile of the send path);
 * a prepared query keeps that text and takes its values as placeholders. A prepared query belongs
 * to the session it was built on, so they are kept per `Database`; a transaction (a new session
 * each time) builds its own on first use.
 */
import type { Database, Tx } from "../../db/client.ts";

type Queryable = Database | Tx;

const bySession = new WeakMap<Queryable, Map<string, unknown>>();

/** The statement `key` of `db`, built by `build` the first time. */
export function prepared<T>(db: Queryable, key: string, build: () => T): T {
  let statements = bySession.get(db);
  if (statements === undefined) {
    statements = new Map();
    bySession.set(db, statements);
  }
  let statement = statements.get(key) as T | undefined;
  if (statement === undefined) {
    statement = build();
    statements.set(key, statement);
  }
  return statement;
}
