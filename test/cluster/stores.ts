/**
 * The cluster stores every cluster-layer suite runs on: Redis (the machine's, a unique key
 * prefix) and PostgreSQL (a fresh database, a unique channel prefix). Each gives the environment a
 * node process reads (src/cluster/config.ts) and is skipped, loudly, when its service is down.
 */
import { hasPostgres, hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import { type FreshDatabase, freshDatabase } from "./postgres-support.ts";
import { uniqueKey } from "./support.ts";

export interface StoreUnderTest {
  name: "Redis" | "PostgreSQL";
  available: boolean;
  /** The cluster environment for one suite (call in beforeAll). */
  env(label: string): Promise<Record<string, string>>;
  /** Drops what `env` created (call in afterAll). */
  dispose(): Promise<void>;
}

export async function clusterStores(): Promise<StoreUnderTest[]> {
  const [redisUp, postgresUp] = await Promise.all([hasRedis(), hasPostgres()]);
  let db: FreshDatabase | undefined;
  return [
    {
      name: "Redis",
      available: redisUp,
      env: async (label) => ({ REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: uniqueKey(label) }),
      dispose: async () => {},
    },
    {
      name: "PostgreSQL",
      available: postgresUp,
      env: async (label) => {
        db = await freshDatabase(label.replace(/\W/g, "_"));
        return { CLUSTER_URL: db.url, CLUSTER_PREFIX: uniqueKey(label) };
      },
      dispose: async () => {
        await db?.drop();
      },
    },
  ];
}
