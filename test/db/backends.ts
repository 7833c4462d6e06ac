/**
 * The database backends every repository/service suite runs against: embedded PGlite (in memory)
 * and, when reachable, the machine's PostgreSQL with a fresh database per suite (dropped after).
 */
import postgres from "postgres";
import { type DatabaseHandle, openDatabase } from "../../db/client.ts";
import { hasPostgres, TEST_POSTGRES_URL } from "../support/services.ts";

export interface Backend {
  name: "pglite" | "postgres";
  /** A migrated, empty database, and how to dispose of it. */
  open(): Promise<{ handle: DatabaseHandle; url: string | undefined; dispose(): Promise<void> }>;
}

const pglite: Backend = {
  name: "pglite",
  async open() {
    const handle = await openDatabase({ pgliteDir: "memory://" });
    await handle.migrate();
    return { handle, url: undefined, dispose: () => handle.close() };
  },
};

const postgresBackend: Backend = {
  name: "postgres",
  async open() {
    const name = `sb_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;
    const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const url = new URL(TEST_POSTGRES_URL);
    url.pathname = `/${name}`;
    const handle = await openDatabase({ databaseUrl: url.toString(), maxConnections: 5 });
    await handle.migrate();
    return {
      handle,
      url: url.toString(),
      async dispose() {
        await handle.close();
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end({ timeout: 5 });
      },
    };
  },
};

/** PGlite always; PostgreSQL when `hasPostgres()` (which throws in CI when it is missing). */
export async function backends(): Promise<Backend[]> {
  return (await hasPostgres()) ? [pglite, postgresBackend] : [pglite];
}
