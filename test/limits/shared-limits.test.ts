/**
 * The cluster-wide limits' store operations, on the real stores (Redis and PostgreSQL), and the
 * documented fallback when the store cannot answer: two limiters standing for two nodes share one
 * budget; "oldest" is by accept time even when the store hears of connections out of order; a
 * lapsed lease (a dead node) stops counting; an unreachable store falls back to the node's own
 * bucket, bounded, and counts it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AddressInfo, createServer } from "node:net";
import postgres from "postgres";
import { RedisLink } from "../../protocol/adapter/redis/index.ts";
import { postgresLimitStores } from "../../src/limits/postgres-limits.ts";
import { redisLimitStores } from "../../src/limits/redis-limits.ts";
import type { ConnectionStore, RateStore } from "../../src/limits/shared-store.ts";
import { SharedTokenBuckets } from "../../src/limits/shared-token-bucket.ts";
import { type FreshDatabase, freshDatabase } from "../cluster/postgres-support.ts";
import { freePort, uniqueKey, waitFor } from "../cluster/support.ts";
import { hasPostgres, hasRedis, TEST_REDIS_URL } from "../support/services.ts";

const [redisUp, postgresUp] = await Promise.all([hasRedis(), hasPostgres()]);

interface StoreUnderTest {
  name: string;
  available: boolean;
  open(): Promise<{ connections: ConnectionStore; rate: RateStore }>;
  close(): Promise<void>;
}

let link: RedisLink | undefined;
let db: FreshDatabase | undefined;
let sql: postgres.Sql | undefined;

const STORES: StoreUnderTest[] = [
  {
    name: "Redis",
    available: redisUp,
    async open() {
      link = new RedisLink({ url: TEST_REDIS_URL });
      link.start();
      await waitFor("redis", () => link?.state === "connected");
      return redisLimitStores(link.commands, uniqueKey("limits"));
    },
    close: async () => link?.close(),
  },
  {
    name: "PostgreSQL",
    available: postgresUp,
    async open() {
      db = await freshDatabase("limits");
      sql = postgres(db.url, { max: 4, onnotice: () => {} });
      return postgresLimitStores(sql);
    },
    async close() {
      await sql?.end({ timeout: 1 });
      await db?.drop();
    },
  },
];

for (const store of STORES)
  describe.skipIf(!store.available)(`cluster-wide limit operations on ${store.name}`, () => {
    let stores: { connections: ConnectionStore; rate: RateStore };
    beforeAll(async () => {
      stores = await store.open();
    });
    afterAll(() => store.close());

    test("two nodes draw from one token bucket, and concurrent takes never overspend it", async () => {
      const nodeA = new SharedTokenBuckets(stores.rate, () => true, { ratePerSecond: 0.001, burst: 10 });
      const nodeB = new SharedTokenBuckets(stores.rate, () => true, { ratePerSecond: 0.001, burst: 10 });
      const key = uniqueKey("user");
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) => ((i % 2 === 0 ? nodeA : nodeB) as SharedTokenBuckets).take(key)),
      );
      expect(answers.filter(Boolean)).toHaveLength(10);
      expect(nodeA.guard.counters.fallbacks + nodeB.guard.counters.fallbacks).toBe(0);
    });

    test("leases: nodes never allow more than the shared bucket grants; a node withholds at most leaseSize − 1 unspent tokens, for at most leaseTtl", async () => {
      let roundTrips = 0;
      const counted: RateStore = {
        take: (...args) => {
          roundTrips++;
          return stores.rate.take(...args);
        },
      };
      // No refill to speak of (one token in 1,000 s): the bound burst + rate × T + … is the burst.
      const options = { ratePerSecond: 0.001, burst: 10, leaseSize: 4, leaseTtlMs: 60_000 };
      const nodeA = new SharedTokenBuckets(counted, () => true, options);
      const nodeB = new SharedTokenBuckets(stores.rate, () => true, options);
      const key = uniqueKey("user");
      expect(await nodeA.take(key)).toBe(true);
      // One round trip took four tokens: one spent, three held by A.
      expect(roundTrips).toBe(1);
      expect(nodeA.leased(key)).toBe(3);
      const onB: boolean[] = [];
      for (let i = 0; i < 20; i++) onB.push(await nodeB.take(key));
      // B is refused while A still holds three unspent tokens: burst − leaseSize for B.
      expect(onB.filter(Boolean)).toHaveLength(10 - 4);
      const onA: boolean[] = [];
      for (let i = 0; i < 5; i++) onA.push(await nodeA.take(key));
      // A's three leased tokens were spent without the store; then the store had none.
      expect(onA).toEqual([true, true, true, false, false]);
      expect(roundTrips).toBe(1 + 2);
      // Across both nodes: exactly what the bucket held, never more.
      expect(1 + onA.filter(Boolean).length + onB.filter(Boolean).length).toBe(10);
    });

    test("leases: unspent leased tokens are dropped after leaseTtl, and concurrent takes on two leasing nodes never overspend", async () => {
      const key = uniqueKey("user");
      const short = new SharedTokenBuckets(stores.rate, () => true, {
        ratePerSecond: 0.001,
        burst: 10,
        leaseSize: 4,
        leaseTtlMs: 300,
      });
      expect(await short.take(key)).toBe(true);
      expect(short.leased(key)).toBe(3);
      await waitFor("the lease to lapse", () => short.leased(key) === 0, 5_000);
      // The three lapsed tokens were never spent and are not spent now: the store has 6 left.
      const answers: boolean[] = [];
      for (let i = 0; i < 10; i++) answers.push(await short.take(key));
      expect(answers.filter(Boolean)).toHaveLength(6);

      const other = uniqueKey("user");
      const options = { ratePerSecond: 0.001, burst: 25, leaseSize: 8, leaseTtlMs: 60_000 };
      const nodes = [0, 1, 2].map(() => new SharedTokenBuckets(stores.rate, () => true, options));
      const all = await Promise.all(
        Array.from({ length: 90 }, (_, i) => (nodes[i % 3] as SharedTokenBuckets).take(other)),
      );
      expect(all.filter(Boolean).length).toBeLessThanOrEqual(25);
    });

    test("the oldest connection by accept time is dropped, even when the store hears of it last", async () => {
      const userId = uniqueKey("user");
      const at = Date.now();
      const lease = 60_000;
      expect(
        await stores.connections.open({ userId, connectionId: "c2", connectedAt: at + 2 }, 3, lease),
      ).toEqual([]);
      expect(
        await stores.connections.open({ userId, connectionId: "c3", connectedAt: at + 3 }, 3, lease),
      ).toEqual([]);
      expect(
        await stores.connections.open({ userId, connectionId: "c4", connectedAt: at + 4 }, 3, lease),
      ).toEqual([]);
      // c1 was accepted first but reaches the store last: it is the one over the cap.
      expect(
        await stores.connections.open({ userId, connectionId: "c1", connectedAt: at + 1 }, 3, lease),
      ).toEqual(["c1"]);
      expect(
        await stores.connections.open({ userId, connectionId: "c5", connectedAt: at + 5 }, 3, lease),
      ).toEqual(["c2"]);
      await stores.connections.close({ userId, connectionId: "c3" });
      expect(
        await stores.connections.open({ userId, connectionId: "c6", connectedAt: at + 6 }, 3, lease),
      ).toEqual([]);
    });

    test("connections whose lease lapsed (their node died) no longer count", async () => {
      const userId = uniqueKey("user");
      const at = Date.now();
      await stores.connections.open({ userId, connectionId: "dead-1", connectedAt: at }, 2, 1000);
      await stores.connections.open({ userId, connectionId: "live", connectedAt: at + 1 }, 2, 60_000);
      await stores.connections.refresh([{ userId, connectionId: "live" }], 60_000);
      await Bun.sleep(1500);
      // dead-1 lapsed: a new connection fits under the cap of 2 without dropping "live".
      expect(
        await stores.connections.open({ userId, connectionId: "new", connectedAt: at + 2 }, 2, 60_000),
      ).toEqual([]);
    });
  });

describe("when the cluster store cannot answer", () => {
  test("the node's own bucket decides (bounded by the same rate and burst), and each fallback is counted", async () => {
    // A Redis nobody listens on: a real, unreachable store.
    const down = new RedisLink({ url: `redis://127.0.0.1:${await freePort()}`, connectTimeoutMs: 200 });
    down.start();
    try {
      const unreachable = redisLimitStores(down.commands, uniqueKey("down"));
      // Claimed available, so the first take really tries the store, fails, and suspends it.
      const buckets = new SharedTokenBuckets(unreachable.rate, () => true, {
        ratePerSecond: 0.001,
        burst: 3,
        deadlineMs: 500,
      });
      const answers: boolean[] = [];
      for (let i = 0; i < 5; i++) answers.push(await buckets.take("user-1"));
      expect(answers).toEqual([true, true, true, false, false]);
      expect(buckets.guard.counters.fallbacks).toBe(5);
    } finally {
      await down.close();
    }
  });

  test("a store that does not answer in time is not waited for beyond the deadline", async () => {
    // A "database" that accepts the connection and never says a word.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    const hung = postgres(`postgres://x@127.0.0.1:${port}/x`, {
      max: 1,
      connect_timeout: 30,
      onnotice: () => {},
    });
    try {
      const buckets = new SharedTokenBuckets(postgresLimitStores(hung).rate, () => true, {
        ratePerSecond: 0.001,
        burst: 1,
        deadlineMs: 200,
      });
      expect(await buckets.take("user-2")).toBe(true);
      expect(await buckets.take("user-2")).toBe(false);
      expect(buckets.guard.counters.fallbacks).toBe(2);
    } finally {
      await hung.end({ timeout: 0 });
      silent.close();
    }
  });
});
