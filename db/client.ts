/**
 * The one database client factory: DATABASE_URL → PostgreSQL through postgres.js; otherwise an
 * embedded PGlite persisted in a directory (or in memory), so a fresh checkout runs with no setup.
 * Both give the same Drizzle API; callers only see `Database`.
 */
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { acquirePgliteLock } from "./pglite-lock.ts";
import * as schema from "./schema.ts";

export type Schema = typeof schema;
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
/** What a transaction callback receives: the same query API as `Database`. */
export type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];
export type DatabaseKind = "postgres" | "pglite";

export const MIGRATIONS_DIR = `${import.meta.dir}/migrations`;
export const PGLITE_MEMORY = "memory://";

export interface DatabaseOptions {
  /** postgres:// URL. Unset → embedded PGlite at `pgliteDir`. */
  databaseUrl?: string | undefined;
  /** Directory of the embedded database, or "memory://". Default "memory://". */
  pgliteDir?: string;
  /** postgres.js pool size. Default 10. */
  maxConnections?: number;
  /**
   * Called for every statement sent to PostgreSQL, BEGIN and COMMIT included (benchmarks count
   * round trips with it). postgres.js then keeps a stack per query: leave unset outside measurements.
   * On PGlite: every statement Drizzle runs (a transaction's BEGIN and COMMIT are PGlite's own, uncounted).
   */
  onQuery?: () => void;
}

export interface DatabaseHandle {
  readonly db: Database;
  readonly kind: DatabaseKind;
  /** Applies the pending drizzle-kit migrations of db/migrations. */
  migrate(): Promise<void>;
  /** Resolves when the database answers a trivial query (health checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function openDatabase(options: DatabaseOptions = {}): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    // `onnotice` muted: migrations print NOTICEs ("relation already exists, skipping") on every start.
    const onQuery = options.onQuery;
    const client = postgres(options.databaseUrl, {
      max: options.maxConnections ?? 10,
      onnotice: () => {},
      ...(onQuery ? { debug: () => onQuery() } : {}),
    });
    const db = drizzlePostgres(client, { schema });
    return {
      db,
      kind: "postgres",
      migrate: () => migratePostgres(db, { migrationsFolder: MIGRATIONS_DIR }),
      ping: async () => {
        await db.execute(sql`select 1`);
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  const dir = options.pgliteDir ?? PGLITE_MEMORY;
  let lock: { release(): void } | null = null;
  if (dir !== PGLITE_MEMORY) {
    mkdirSync(dir, { recursive: true });
    // Before PGlite reads or writes the directory: another live process holding it is a refusal.
    lock = acquirePgliteLock(dir);
  }
  const client = dir === PGLITE_MEMORY ? new PGlite() : new PGlite(dir);
  try {
    await client.waitReady;
  } catch (err) {
    lock?.release();
    throw err;
  }
  const onQuery = options.onQuery;
  const db = drizzlePglite(client, { schema, ...(onQuery ? { logger: { logQuery: () => onQuery() } } : {}) });
  return {
    db: db as unknown as Database,
    kind: "pglite",
    migrate: () => migratePglite(db, { migrationsFolder: MIGRATIONS_DIR }),
    ping: async () => {
      await client.query("select 1");
    },
    close: async () => {
      try {
        await client.close();
      } finally {
        lock?.release();
      }
    },
  };
}
