/**
 * The official `instrument()` on two Switchboard nodes over Redis, with the admin client on one of
 * them: it receives both nodes' stats and sockets, and its actions reach the sockets of the other.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { instrument } from "@socket.io/admin-ui";
import { type Socket as ClientSocket, io as connectClient } from "socket.io-client";
import { createRedisCluster, type RedisCluster } from "../../../protocol/adapter/redis/index.ts";
import { Server } from "../../../protocol/index.ts";
import { uniqueKey } from "../../cluster/support.ts";
import { hasRedis, TEST_REDIS_URL } from "../../support/services.ts";
import { next, withTimeout } from "../socketio/support.ts";

const STATS_WAIT_MS = 10_000;
const redisUp = await hasRedis();

interface Node {
  io: Server;
  cluster: RedisCluster;
  url: string;
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  await withTimeout(
    (async () => {
      while (!check()) await Bun.sleep(10);
    })(),
    what,
    ms,
  );
}

describe.skipIf(!redisUp)("@socket.io/admin-ui instrument() on two nodes over Redis", () => {
  const nodes: Node[] = [];
  const clients: ClientSocket[] = [];
  let admin: ClientSocket;
  const serverIds = new Set<string>();

  function client(node: Node): ClientSocket {
    const socket = connectClient(node.url, {
      forceNew: true,
      reconnection: false,
      transports: ["websocket"],
    });
    clients.push(socket);
    return socket;
  }

  beforeAll(async () => {
    const key = uniqueKey("admin-ui-instrument");
    for (const serverId of ["node-a", "node-b"]) {
      const cluster = createRedisCluster({ url: TEST_REDIS_URL, key });
      const io = new Server({ adapter: cluster.adapter, pingInterval: 2000, pingTimeout: 2000 });
      instrument(io as never, { auth: false, mode: "development", serverId });
      const port = io.listen(0, "127.0.0.1").port;
      nodes.push({ io, cluster, url: `http://127.0.0.1:${port}` });
    }
    await until(() => nodes.every((n) => n.cluster.link.state === "connected"), "both nodes on Redis");
    admin = connectClient(`${nodes[0]!.url}/admin`, { forceNew: true, reconnection: false });
    clients.push(admin);
    admin.on("server_stats", (s: { serverId: string }) => serverIds.add(s.serverId));
    await next(admin, "connect");
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const n of nodes) {
      await n.io.close();
      await n.cluster.close();
    }
  });

  test("server_stats of both nodes reach the admin connected to one", async () => {
    await until(
      () => serverIds.has("node-a") && serverIds.has("node-b"),
      "stats of both nodes",
      STATS_WAIT_MS,
    );
  });

  test("the socket list covers both nodes; join, emit, leave and disconnect act on the other node's socket", async () => {
    const [a, b] = nodes as [Node, Node];
    const onA = client(a);
    const onB = client(b);
    await Promise.all([next(onA, "connect"), next(onB, "connect")]);
    const probe = connectClient(`${a.url}/admin`, { forceNew: true, reconnection: false });
    clients.push(probe);
    const [sockets] = await next<[{ id: string }[]]>(probe, "all_sockets");
    expect(sockets.map((s) => s.id)).toEqual(expect.arrayContaining([onA.id!, onB.id!]));

    const remote = b.io.of("/").sockets.get(onB.id!)!;
    admin.emit("join", "/", "team", onB.id);
    await until(() => remote.rooms.has("team"), "the socket on node B joined");
    expect(a.io.of("/").sockets.get(onA.id!)!.rooms.has("team")).toBe(false);

    const got = next<[string]>(onB, "memo");
    admin.emit("emit", "/", "team", "memo", "to the team");
    expect((await got)[0]).toBe("to the team");

    admin.emit("leave", "/", "team", onB.id);
    await until(() => !remote.rooms.has("team"), "the socket on node B left");

    const gone = next<[string]>(onB, "disconnect");
    admin.emit("_disconnect", "/", false, onB.id);
    expect((await gone)[0]).toBe("io server disconnect");
    expect(onA.connected).toBe(true);
  });
});
