/**
 * A fresh, empty PostgreSQL database per suite for the Postgres adapter suites (the adapter needs
 * no migrations: it creates its attachments table), dropped at the end.
 */
import postgres from "postgres";
import { TEST_POSTGRES_URL } from "../support/services.ts";

export interface FreshDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function freshDatabase(label: string): Promise<FreshDatabase> {
  const name = `sb_${label}_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
  const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      if (!process.env.KEEP_TEST_DB)
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await admin.end({ timeout: 1 });
    },
  };
}
