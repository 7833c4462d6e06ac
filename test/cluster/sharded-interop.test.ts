/**
 * The sharded Redis adapter on a real Redis Cluster (three masters started by the suite), in each
 * subscription mode of `createShardedAdapter`: two Switchboard nodes and an official socket.io 4.8
 * node with `@socket.io/redis-adapter` 8.3's sharded adapter, stock clients on each. Broadcasts,
 * rooms, acks, fetchSockets and serverSideEmit, both ways; and Switchboard's sharded emitter
 * reaching the clients of both kinds of node.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  createShardedRedisCluster,
  ShardedEmitter,
  type ShardedRedisCluster,
  ShardedRedisLink,
  type ShardedSubscriptionMode,
} from "../../protocol/adapter/redis/sharded.ts";
import { type RecordingClient, recordingClient, type SwitchboardNode, startNodeOn } from "./harness.ts";
import { hasRedisCluster, RedisCluster } from "./redis-cluster.ts";
import { OfficialNode, uniqueKey, waitFor } from "./support.ts";

setDefaultTimeout(30_000);
const available = hasRedisCluster();
if (!available && process.env.CI === "true") throw new Error("redis-server and redis-cli are required in CI");

let redis: RedisCluster;
beforeAll(async () => {
  if (available) redis = await RedisCluster.start();
}, 60_000);
afterAll(() => redis?.stop());

const MODES: ShardedSubscriptionMode[] = ["static", "dynamic", "dynamic-private"];

for (const mode of MODES)
  describe.skipIf(!available)(`a mixed sharded cluster on Redis Cluster (${mode})`, () => {
    const prefix = uniqueKey(`sharded-${mode}`);
    let sb1: SwitchboardNode<ShardedRedisCluster>;
    let sb2: SwitchboardNode<ShardedRedisCluster>;
    let official: OfficialNode;
    let a: RecordingClient;
    let b: RecordingClient;
    let c: RecordingClient;

    async function startSwitchboard(name: string): Promise<SwitchboardNode<ShardedRedisCluster>> {
      const cluster = createShardedRedisCluster({
        rootUrls: [redis.url],
        channelPrefix: prefix,
        subscriptionMode: mode,
        requestsTimeout: 3000,
      });
      await cluster.ready;
      return startNodeOn(name, cluster);
    }

    beforeAll(async () => {
      official = await OfficialNode.start(redis.url, prefix, mode);
      [sb1, sb2] = await Promise.all([startSwitchboard("sb1"), startSwitchboard("sb2")]);
      [a, b, c] = await Promise.all([
        recordingClient(sb1.url),
        recordingClient(sb2.url, { transports: ["polling"] }),
        recordingClient(official.url),
      ]);
      await Promise.all([a, b, c].map((client) => client.join("room1")));
      await Promise.all([a.join("a-only"), b.join("b-only"), c.join("c-only")]);
    });

    afterAll(async () => {
      for (const client of [a, b, c]) client?.close();
      official?.stop();
      await Promise.all([sb1?.close(), sb2?.close()]);
    });

    test("every node counts three servers (SHARDNUMSUB)", async () => {
      await waitFor("three servers", async () => (await sb1.io.of("/").adapter.serverCount()) === 3);
      expect(await official.run<number>("serverCount")).toBe(3);
    });

    test("room and global broadcasts cross in both directions, except honoured", async () => {
      sb1.io.to("room1").emit("hello-room", 1);
      sb2.io.to("c-only").emit("to-c");
      await official.run("emit", { rooms: ["room1"], except: ["b-only"], event: "from-official" });
      await official.run("emit", { rooms: ["a-only"], event: "official-to-a" });
      await official.run("emit", { event: "official-everyone" });
      await waitFor("everyone got it", () =>
        [a, b, c].every((client) => client.got("official-everyone").length === 1),
      );
      await waitFor("room broadcast", () =>
        [a, b, c].every((client) => client.got("hello-room").length === 1),
      );
      expect(c.got("to-c")).toHaveLength(1);
      expect(a.got("official-to-a")).toHaveLength(1);
      expect(a.got("from-official")).toHaveLength(1);
      expect(b.got("from-official")).toHaveLength(0);
      expect(a.got("to-c")).toHaveLength(0);
    });

    test("a broadcast to one socket reaches it on another node", async () => {
      sb1.io.to(c.socket.id as string).emit("direct-c");
      await official.run("emit", { rooms: [b.socket.id], event: "direct-b" });
      await waitFor("direct", () => c.got("direct-c").length === 1 && b.got("direct-b").length === 1);
    });

    test("acks, fetchSockets and serverSideEmit work from either kind of node", async () => {
      const operator = sb1.io.to("room1").timeout(3000) as unknown as {
        emitWithAck(ev: string, arg: string): Promise<string[]>;
      };
      expect((await operator.emitWithAck("ask", "q")).sort()).toEqual(
        [`${a.socket.id}:q`, `${b.socket.id}:q`, `${c.socket.id}:q`].sort(),
      );
      const fromOfficial = await official.run<string[]>("emitWithAck", {
        rooms: ["room1"],
        event: "ask",
        args: ["r"],
        timeout: 3000,
      });
      expect(fromOfficial.sort()).toEqual(
        [`${a.socket.id}:r`, `${b.socket.id}:r`, `${c.socket.id}:r`].sort(),
      );

      const sockets = await sb1.io.in("room1").fetchSockets();
      expect(sockets.map((s) => s.id).sort()).toEqual(
        [a.socket.id, b.socket.id, c.socket.id].sort() as string[],
      );
      const official1 = await official.run<{ id: string; data: unknown }[]>("fetchSockets", {
        rooms: ["b-only"],
      });
      expect(official1.map((s) => s.data)).toEqual([{ node: "sb2", nsp: "/" }]);

      const responses = await new Promise<unknown[]>((resolve, reject) =>
        sb1.io.serverSideEmit("ping-servers", "x", (err: Error | null, answers: unknown[]) =>
          err ? reject(err) : resolve(answers),
        ),
      );
      expect(responses.sort()).toEqual(["official:x", "sb2:x"]);
      expect((await official.run<string[]>("serverSideEmit", { arg: "y" })).sort()).toEqual([
        "sb1:y",
        "sb2:y",
      ]);
    });

    test("the sharded emitter reaches clients on every node: rooms, one socket, except, binary, server-side", async () => {
      const link = new ShardedRedisLink({ rootUrls: [redis.url] });
      await link.start();
      try {
        const emitter = new ShardedEmitter(link, { channelPrefix: prefix, subscriptionMode: mode });
        expect(await emitter.to("room1").except("b-only").emit("emitted", 42)).toBe(true);
        await emitter.to(c.socket.id as string).emit("emitted-c");
        await emitter.to("a-only").emit("emitted-bin", new Uint8Array([7, 8]));
        await emitter.serverSideEmit("hello", "from-emitter");
        await waitFor("emitted", () => a.got("emitted").length === 1 && c.got("emitted").length === 1);
        await waitFor("emitted to c", () => c.got("emitted-c").length === 1);
        await waitFor("binary to a", () => a.got("emitted-bin").length === 1);
        expect([...new Uint8Array(a.got("emitted-bin")[0]?.[0] as ArrayBuffer)]).toEqual([7, 8]);
        expect(a.got("emitted")[0]).toEqual([42]);
        await waitFor("server side", () => sb2.serverSide.some((e) => e[1] === "from-emitter"));
        expect(b.got("emitted")).toHaveLength(0);
      } finally {
        await link.close();
      }
    });

    test("binary payloads and remote room changes cross nodes", async () => {
      sb2.io.to("room1").emit("bin", new Uint8Array([1, 2, 255]));
      await waitFor("binary", () => [a, c].every((client) => client.got("bin").length === 1));
      expect([...new Uint8Array(c.got("bin")[0]?.[0] as ArrayBuffer)]).toEqual([1, 2, 255]);
      sb1.io.in("room1").socketsJoin("joined");
      await waitFor(
        "joined everywhere",
        async () => (await official.run<unknown[]>("fetchSockets", { rooms: ["joined"] })).length === 3,
      );
      await official.run("emit", { rooms: ["joined"], event: "to-joined" });
      await waitFor("to-joined", () => [a, b, c].every((client) => client.got("to-joined").length === 1));
    });
  });
