/**
 * Tables created at runtime by several nodes starting at once (protocol/adapter/postgres/
 * create-tables.ts): PostgreSQL's `CREATE TABLE IF NOT EXISTS` fails in the later of two sessions
 * that race ("type … already exists"), which left a chat node on its local limits (seen in CI).
 * Many nodes' limit stores, each on its own connection, use a fresh schema at the same moment:
 * every one of them must get the store's answer, none an error.
 */
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { createTablesOnce } from "../../protocol/adapter/postgres/create-tables.ts";
import { postgresLimitStores } from "../../src/limits/postgres-limits.ts";
import { uniqueKey } from "../cluster/support.ts";
import { hasPostgres, TEST_POSTGRES_URL } from "../support/services.ts";

const postgresUp = await hasPostgres();
const NODES = 12;
const ROUNDS = 4;

describe.skipIf(!postgresUp)("runtime tables on PostgreSQL, many nodes at once", () => {
  const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
  const schemas: string[] = [];
  afterAll(async () => {
    for (const schema of schemas) await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end({ timeout: 2 });
  });

  /** `NODES` clients, one connection each, whose tables go into a fresh schema. */
  async function nodesOnFreshSchema(): Promise<postgres.Sql[]> {
    const schema = uniqueKey("ddl").replaceAll("-", "_");
    schemas.push(schema);
    await admin.unsafe(`CREATE SCHEMA ${schema}`);
    return Array.from({ length: NODES }, () =>
      postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {}, connection: { search_path: schema } }),
    );
  }

  test("every node's first limit check is answered by the store", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const clients = await nodesOnFreshSchema();
      try {
        const answers = await Promise.allSettled(
          clients.map((sql, i) => postgresLimitStores(sql).rate.take(`user-${i}`, 10, 20, 1)),
        );
        expect(answers.filter((a) => a.status === "rejected")).toEqual([]);
        expect(answers.map((a) => (a as PromiseFulfilledResult<number>).value)).toEqual(Array(NODES).fill(1));
      } finally {
        await Promise.all(clients.map((sql) => sql.end({ timeout: 2 })));
      }
    }
  });

  test("a failed creation is tried again on the next use, not remembered", async () => {
    const [sql] = await nodesOnFreshSchema();
    const client = sql as postgres.Sql;
    try {
      const ensure = createTablesOnce(client, "CREATE TABLE IF NOT EXISTS ddl_retry (id int); SELECT 1/0");
      await expect(ensure()).rejects.toThrow();
      // Nothing of the failed run stayed (one transaction), and the next call runs it again.
      expect([...(await client`SELECT to_regclass('ddl_retry') AS t`)]).toEqual([{ t: null }]);
      await expect(ensure()).rejects.toThrow();
    } finally {
      await client.end({ timeout: 2 });
    }
  });
});
