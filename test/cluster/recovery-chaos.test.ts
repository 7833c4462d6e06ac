/**
 * Connection-state recovery across nodes, on each store that keeps it (PostgreSQL, Redis with the
 * classic adapter, a Redis Cluster with the sharded one): CHAOS_CLIENTS stock clients
 * (default 300) spread over three node processes, each behind a failover balancer that prefers its
 * home node; a broadcast to all of them every 10 ms; one node SIGKILLed mid-stream (once each of
 * its clients has received a broadcast), then restarted. Every client of the killed node reconnects through its balancer to a survivor, is
 * recovered (`socket.recovered` true, same id), and every client has every broadcast exactly once,
 * in order.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import { hasPostgres, hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import { type FreshDatabase, freshDatabase } from "./postgres-support.ts";
import { hasRedisCluster, RedisCluster } from "./redis-cluster.ts";
import { type FailoverProxy, startFailoverProxy } from "./support/failover-proxy.ts";
import { SwitchboardProcess, uniqueKey, waitFor, within } from "./support.ts";

setDefaultTimeout(120_000);
const [postgresUp, redisUp] = await Promise.all([hasPostgres(), hasRedis()]);
const redisClusterUp = hasRedisCluster();
if (!redisClusterUp && process.env.CI === "true")
  throw new Error("redis-server and redis-cli are required in CI");
const CLIENTS = Number(process.env.CHAOS_CLIENTS ?? 300);
const TICKS = 300;

interface ChaosClient {
  socket: ClientSocket;
  home: number;
  ticks: number[];
  recoveredOnce: boolean;
}

interface Store {
  name: string;
  available: boolean;
  /** The node program (fixtures/) and its environment. */
  fixture?: string;
  env(): Promise<Record<string, string>>;
  dispose(): Promise<void>;
}

let db: FreshDatabase | undefined;
let redisCluster: RedisCluster | undefined;
const STORES: Store[] = [
  {
    name: "PostgreSQL",
    available: postgresUp,
    env: async () => {
      db = await freshDatabase("chaos");
      return { CLUSTER_URL: db.url, CLUSTER_PREFIX: uniqueKey("chaos") };
    },
    dispose: async () => {
      await db?.drop();
    },
  },
  {
    name: "Redis, classic adapter",
    available: redisUp,
    env: async () => ({ REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: uniqueKey("chaos") }),
    dispose: async () => {},
  },
  {
    name: "Redis Cluster, sharded adapter",
    available: redisClusterUp,
    fixture: "sharded-recovery-node.ts",
    env: async () => {
      redisCluster = await RedisCluster.start();
      return { REDIS_CLUSTER_URL: redisCluster.url, CLUSTER_PREFIX: uniqueKey("chaos") };
    },
    dispose: async () => redisCluster?.stop(),
  },
];

for (const store of STORES)
  describe.skipIf(!store.available)(`recovery across nodes when a node is killed (${store.name})`, () => {
    let env: Record<string, string>;
    const nodes: SwitchboardProcess[] = [];
    const proxies: FailoverProxy[] = [];
    const clients: ChaosClient[] = [];
    let broadcaster: ClientSocket;

    beforeAll(async () => {
      env = {
        ...(await store.env()),
        CLUSTER_SECRET: "chaos-cluster-secret-0123456789",
        RECOVERY_MS: "60000",
      };
      nodes.push(...(await Promise.all([0, 1, 2].map(() => SwitchboardProcess.start(env, store.fixture)))));
      // Balancer i prefers node i, then the others: a client of a dead node lands on a survivor.
      for (let i = 0; i < 3; i++)
        proxies.push(
          startFailoverProxy([i, (i + 1) % 3, (i + 2) % 3].map((n) => (nodes[n] as SwitchboardProcess).port)),
        );
    });

    afterAll(async () => {
      for (const client of clients) client.socket.close();
      broadcaster?.close();
      for (const proxy of proxies) proxy.stop();
      await Promise.all(nodes.map((node) => node.kill()));
      await store.dispose();
    });

    test("every client is recovered on a survivor with every broadcast exactly once, in order", async () => {
      for (let i = 0; i < CLIENTS; i++) {
        const home = i % 3;
        const socket = connect((proxies[home] as FailoverProxy).url, {
          transports: ["websocket"],
          forceNew: true,
          reconnectionDelay: 100,
          reconnectionDelayMax: 500,
          timeout: 10_000,
        });
        const client: ChaosClient = { socket, home, ticks: [], recoveredOnce: false };
        socket.on("tick", (n: number) => client.ticks.push(n));
        socket.on("connect", () => {
          if (socket.recovered) client.recoveredOnce = true;
        });
        clients.push(client);
      }
      await within(
        "all connected and in the room",
        Promise.all(clients.map((c) => c.socket.timeout(20_000).emitWithAck("join", "news"))),
        60_000,
      );

      // The broadcaster sits on node 1, which survives.
      broadcaster = connect((nodes[1] as SwitchboardProcess).url, {
        transports: ["websocket"],
        forceNew: true,
      });
      await within("broadcaster", new Promise((resolve) => broadcaster.once("connect", () => resolve(null))));
      const ids = new Map(clients.map((c) => [c, c.socket.id]));
      // The broadcasts go on at their pace while node 0 dies and comes back.
      let sent = 0;
      const b = broadcaster;
      const broadcasting = (async () => {
        for (; sent < TICKS; sent++) {
          b.emit("broadcast", "news", "tick", sent);
          await Bun.sleep(10);
        }
      })();
      // Killed once its clients hold an offset to recover from: on a loaded machine delivery can lag
      // the sends by a second, and a client that has received nothing has nothing to recover.
      const doomed = clients.filter((c) => c.home === 0);
      await waitFor("100 broadcasts sent", () => sent > 100, 30_000);
      await waitFor(
        "a broadcast at every client of node 0",
        () => doomed.every((c) => c.ticks.length > 0),
        30_000,
      );
      await (nodes[0] as SwitchboardProcess).kill();
      await waitFor("200 broadcasts sent", () => sent > 200, 30_000);
      nodes[0] = await SwitchboardProcess.start(env, store.fixture);
      await broadcasting;

      const killed = clients.filter((c) => c.home === 0);
      await waitFor(
        "every client has every tick",
        () => clients.every((c) => c.ticks.length >= TICKS && c.socket.connected),
        60_000,
      );
      const expected = Array.from({ length: TICKS }, (_, n) => n);
      for (const client of clients) expect(client.ticks).toEqual(expected);
      for (const client of killed) {
        expect(client.recoveredOnce).toBe(true);
        expect(client.socket.id).toBe(ids.get(client));
      }
    });
  });
