/**
 * A fresh database per test file on the machine's PostgreSQL (TEST_POSTGRES_URL), dropped at the
 * end, so suites never see each other's rows and can kill their own connections freely.
 */
import postgres from "postgres";
import { TEST_POSTGRES_URL } from "../../support/services.ts";

export interface FreshDatabase {
  /** postgres:// URL of the new database. */
  url: string;
  name: string;
  /** Terminates every connection to this database except the admin one; returns how many. */
  killConnections(): Promise<number>;
  /** Drops the database (terminating what is left connected). */
  drop(): Promise<void>;
}

export async function createFreshDatabase(prefix: string): Promise<FreshDatabase> {
  const name = `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async killConnections() {
      const rows = await admin`
        SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
        WHERE datname = ${name} AND pid <> pg_backend_pid()`;
      return rows.filter((r) => r.killed === true).length;
    },
    async drop() {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end({ timeout: 2 });
    },
  };
}
