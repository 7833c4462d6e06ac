/**
 * Connection-state recovery across nodes on the Redis adapters, classic (the machine's Redis) and
 * sharded (a private three-master Redis Cluster): a client that dropped from one node and comes
 * back through another is recovered with its id, rooms, data and every missed broadcast once, in
 * order, even while broadcasts keep flowing during its restore; a recovery that cannot be done
 * gives a fresh session, counted by reason (`switchboard_recovery_refused_total`).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import { NotRecoveredReason, type RecoveryCounters } from "../../protocol/adapter/cluster/recovery.ts";
import { createRedisCluster } from "../../protocol/adapter/redis/index.ts";
import { createShardedRedisCluster } from "../../protocol/adapter/redis/sharded.ts";
import type { Socket } from "../../protocol/index.ts";
import { hasRedis, TEST_REDIS_URL } from "../support/services.ts";
import { type ClusterLike, type SwitchboardNode, startNodeOn } from "./harness.ts";
import { hasRedisCluster, RedisCluster } from "./redis-cluster.ts";
import { freePort, uniqueKey, waitFor, within } from "./support.ts";

setDefaultTimeout(30_000);
const redisUp = await hasRedis();
const clusterAvailable = hasRedisCluster();
if (!clusterAvailable && process.env.CI === "true")
  throw new Error("redis-server and redis-cli are required in CI");

type RecoveringCluster = ClusterLike & { link: { state: string; recoveryCounters: RecoveryCounters } };

interface Variant {
  name: string;
  available: boolean;
  /** A node's cluster package on the store, with this key prefix (a fresh one per suite). */
  cluster(prefix: string): Promise<RecoveringCluster>;
  /** The same on a store that stops answering when `cut` is called. */
  unreachable(prefix: string): Promise<{ cluster: RecoveringCluster; cut(): void }>;
}

let redisCluster: RedisCluster | undefined;

const VARIANTS: Variant[] = [
  {
    name: "classic",
    available: redisUp,
    cluster: async (key) => createRedisCluster({ url: TEST_REDIS_URL, key }),
    unreachable: async (key) => ({
      cluster: createRedisCluster({
        url: `redis://127.0.0.1:${await freePort()}`,
        key,
        connectTimeoutMs: 200,
      }),
      cut: () => {},
    }),
  },
  {
    name: "sharded",
    available: clusterAvailable,
    cluster: async (channelPrefix) => {
      redisCluster ??= await RedisCluster.start();
      const cluster = createShardedRedisCluster({ rootUrls: [redisCluster.url], channelPrefix });
      await cluster.ready;
      return cluster;
    },
    unreachable: async (channelPrefix) => {
      // A cluster whose masters go away once the node is up: every command fails.
      const doomed = await RedisCluster.start();
      const cluster = createShardedRedisCluster({ rootUrls: [doomed.url], channelPrefix });
      await cluster.ready;
      return { cluster, cut: () => doomed.stop() };
    },
  },
];

afterAll(() => redisCluster?.stop());

/** Middlewares run on recovery too, so that a slow one can hold a recovered socket before it joins. */
const RECOVERY = { connectionStateRecovery: { maxDisconnectionDuration: 10_000, skipMiddlewares: false } };

/** A stock client that reconnects by itself and records "tick" payloads. */
function tickClient(
  url: string,
  auth: Record<string, unknown> = {},
): { socket: ClientSocket; ticks: number[]; connected: Promise<void> } {
  const socket = connect(url, {
    auth,
    transports: ["websocket"],
    forceNew: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
  });
  const ticks: number[] = [];
  socket.on("tick", (n: number) => ticks.push(n));
  const connected = within("client connect", new Promise<void>((resolve) => socket.once("connect", resolve)));
  return { socket, ticks, connected };
}

/** Drops the client's transport and makes its next reconnection go to `url` (another node). */
function moveTo(socket: ClientSocket, url: string): Promise<void> {
  (socket.io as unknown as { uri: string }).uri = url;
  const back = within(
    "reconnection",
    new Promise<void>((resolve) => socket.once("connect", () => resolve())),
  );
  socket.io.engine.close();
  return back;
}

for (const variant of VARIANTS)
  describe.skipIf(!variant.available)(`recovery across nodes on the ${variant.name} Redis adapter`, () => {
    let a: SwitchboardNode<RecoveringCluster>;
    let b: SwitchboardNode<RecoveringCluster>;
    const clients: ClientSocket[] = [];
    const prefix = uniqueKey(`recovery-${variant.name}`);

    beforeAll(async () => {
      a = await startNodeOn("a", await variant.cluster(prefix), RECOVERY);
      b = await startNodeOn("b", await variant.cluster(prefix), RECOVERY);
      for (const node of [a, b]) {
        // A recovered socket whose client asks for it is admitted late: broadcasts go on meanwhile.
        node.io.use((socket, next) => {
          if (socket.recovered && socket.handshake.auth.slow) setTimeout(next, 30);
          else next();
        });
        node.io.on("connection", (socket) => {
          socket.on("broadcast", (room: string | null, n: number) =>
            (room === null ? node.io : node.io.to(room)).emit("tick", n),
          );
        });
      }
    }, 60_000);

    afterAll(async () => {
      for (const client of clients) client.close();
      await a?.close();
      await b?.close();
    });

    test("a client that drops from one node is recovered on another with its id, rooms, data and missed broadcasts, binary included", async () => {
      const restored: Socket[] = [];
      b.io.on("connection", (socket) => {
        if (socket.recovered) restored.push(socket);
      });
      const client = tickClient(a.url);
      clients.push(client.socket);
      const blobs: number[][] = [];
      client.socket.on("blob", (bytes: ArrayBuffer | Uint8Array) => blobs.push([...new Uint8Array(bytes)]));
      await client.connected;
      await within("join", client.socket.emitWithAck("join", "news"));
      const id = client.socket.id;
      a.io.to("news").emit("tick", 1);
      await waitFor("the first tick", () => client.ticks.length === 1);

      const back = moveTo(client.socket, b.url);
      await waitFor("a's socket gone", () => a.io.of("/").sockets.size === 0);
      b.io.to("news").emit("tick", 2);
      a.io.to("news").emit("blob", Buffer.from([1, 2, 3]));
      a.io.to("elsewhere").emit("tick", 99);
      a.io.emit("tick", 3);
      b.io.except("news").emit("tick", 98);
      await back;
      await waitFor("the missed ticks", () => client.ticks.length >= 3);
      b.io.to("news").emit("tick", 4);
      await waitFor("a live tick after recovery", () => client.ticks.length >= 4);

      expect(client.socket.recovered).toBe(true);
      expect(client.socket.id).toBe(id);
      expect(client.ticks).toEqual([1, 2, 3, 4]);
      expect(blobs).toEqual([[1, 2, 3]]);
      const [socket] = restored;
      expect(socket?.id).toBe(id);
      expect(socket?.rooms).toEqual(new Set([id as string, "news"]));
      expect(socket?.data).toEqual({ node: "a", nsp: "/" });
      expect(b.cluster.link.recoveryCounters.recovered).toBeGreaterThanOrEqual(1);
    });

    test("clients recovering while broadcasts flow get each broadcast exactly once, in the log's order", async () => {
      // The reference stays on a: broadcasts from two nodes have one order, the log's, seen by all.
      const reference = tickClient(a.url);
      const many = Array.from({ length: 20 }, (_, i) => tickClient(a.url, { slow: i % 2 === 0 }));
      const all = [reference, ...many];
      clients.push(...all.map((c) => c.socket));
      await Promise.all(all.map((c) => c.connected));
      await Promise.all(all.map((c) => within("join", c.socket.emitWithAck("join", "race"))));
      // Broadcasts from both nodes, one every millisecond or so, across the restores on b.
      let n = 0;
      let stop = false;
      const flow = (async () => {
        while (!stop) {
          (n % 2 === 0 ? a : b).io.to("race").emit("tick", n++);
          await Bun.sleep(1);
        }
      })();
      await waitFor("everyone got something", () => all.every((c) => c.ticks.length > 0));
      await Promise.all(many.map((c) => moveTo(c.socket, b.url)));
      await Bun.sleep(100);
      stop = true;
      await flow;
      await waitFor(
        "every tick everywhere",
        () => all.every((c) => c.ticks.length > 0 && new Set(c.ticks).has(n - 1)),
        10_000,
      );
      await Bun.sleep(100);
      expect(reference.ticks.length).toBe(n);
      expect(new Set(reference.ticks).size).toBe(n);
      for (const client of many) {
        expect(client.socket.recovered).toBe(true);
        const start = reference.ticks.indexOf(client.ticks[0] as number);
        expect(client.ticks).toEqual(reference.ticks.slice(start));
      }
    });

    test("a client of a node that shuts down is recovered on another (rolling restart)", async () => {
      const leaving = await startNodeOn("leaving", await variant.cluster(prefix), RECOVERY);
      const client = tickClient(leaving.url);
      clients.push(client.socket);
      await client.connected;
      await within("join", client.socket.emitWithAck("join", "news"));
      const id = client.socket.id;
      leaving.io.to("news").emit("tick", 1);
      await waitFor("the first tick", () => client.ticks.length === 1);
      (client.socket.io as unknown as { uri: string }).uri = b.url;
      const back = within(
        "reconnection",
        new Promise<void>((resolve) => client.socket.once("connect", () => resolve())),
      );
      await leaving.close();
      a.io.to("news").emit("tick", 2);
      await back;
      await waitFor("the missed tick", () => client.ticks.length >= 2);
      expect(client.socket.recovered).toBe(true);
      expect(client.socket.id).toBe(id);
      expect(client.ticks).toEqual([1, 2]);
    });

    test("an unknown session or offset gives a fresh session, counted by reason", async () => {
      const counters = b.cluster.link.recoveryCounters;
      const before = { ...counters.notRecovered };
      for (const auth of [
        { pid: "no-such-session", offset: "1-0" },
        { pid: "no-such-session", offset: "not-an-offset" },
      ]) {
        const client = connect(b.url, {
          transports: ["websocket"],
          forceNew: true,
          reconnection: false,
          auth,
        });
        clients.push(client);
        await within("connect", new Promise((resolve) => client.once("connect", () => resolve(null))));
        expect(client.recovered).toBe(false);
      }
      const grew = (reason: string) => (counters.notRecovered[reason] ?? 0) - (before[reason] ?? 0);
      expect(grew(NotRecoveredReason.UNKNOWN_SESSION)).toBe(1);
      expect(grew(NotRecoveredReason.UNKNOWN_OFFSET)).toBe(1);
    });

    test("an offset older than the log gives a fresh session", async () => {
      const client = tickClient(a.url);
      clients.push(client.socket);
      await client.connected;
      a.io.emit("tick", 1);
      await waitFor("a tick", () => client.ticks.length === 1);
      const id = client.socket.id;
      // Its session is stored (live snapshot), but the offset it holds was never in this log.
      (client.socket as unknown as { _lastOffset: string })._lastOffset = "1-0";
      const before = b.cluster.link.recoveryCounters.notRecovered[NotRecoveredReason.UNKNOWN_OFFSET] ?? 0;
      await moveTo(client.socket, b.url);
      expect(client.socket.recovered).toBe(false);
      expect(client.socket.id).not.toBe(id);
      expect(b.cluster.link.recoveryCounters.notRecovered[NotRecoveredReason.UNKNOWN_OFFSET]).toBe(
        before + 1,
      );
    });

    test("when the store is unreachable the client gets a fresh session, counted", async () => {
      const store = await variant.unreachable(uniqueKey("down"));
      const down = await startNodeOn("down", store.cluster, RECOVERY, false);
      // Serving (its namespaces subscribed) before the store goes.
      const probe = tickClient(down.url);
      clients.push(probe.socket);
      await probe.connected;
      store.cut();
      try {
        const client = connect(down.url, {
          transports: ["websocket"],
          forceNew: true,
          reconnection: false,
          auth: { pid: "some-session", offset: "1-0" },
        });
        clients.push(client);
        await within(
          "connect",
          new Promise((resolve) => client.once("connect", () => resolve(null))),
          10_000,
        );
        expect(client.recovered).toBe(false);
        expect(down.cluster.link.recoveryCounters.notRecovered[NotRecoveredReason.STORE_ERROR]).toBe(1);
      } finally {
        await down.io.close();
        // A client of a store that went away may wait for it to come back: do not wait long.
        await Promise.race([down.cluster.close(), Bun.sleep(1000)]);
      }
    });
  });
