/**
 * Three Switchboard node processes behind nginx (docs/deployment.md's round-robin block) plus an official
 * socket.io node, on a private redis-server: one Switchboard node is killed with SIGKILL mid-test;
 * its clients reconnect through the balancer to the survivors, and the cluster (broadcasts,
 * fetchSockets, serverSideEmit from the official node) carries on with the remaining nodes. Then
 * Redis itself is restarted: every node reconnects and broadcasts cross again.
 *
 * Without sticky sessions a polling request may be relayed by any node, so the kill also ends the
 * polling sessions of survivors' clients whose pending request the victim was relaying (the owner
 * sees the relayed poll cut, "poll connection closed prematurely", as engine.io does for any cut
 * poll). Those clients reconnect too; the checks below wait until every client is back in the lobby.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import { hasRedisServer } from "../support/services.ts";
import { type RecordingClient, recordingClient } from "./harness.ts";
import {
  hasNginx,
  Nginx,
  OfficialNode,
  PrivateRedis,
  SwitchboardProcess,
  uniqueKey,
  waitFor,
  within,
} from "./support.ts";

setDefaultTimeout(30_000);
const redisServerUp = hasRedisServer();
const nginxUp = hasNginx();

describe.skipIf(!redisServerUp || !nginxUp)("three node processes and an official node, one killed", () => {
  const key = uniqueKey("procs");
  let nodes: SwitchboardProcess[];
  let official: OfficialNode;
  let nginx: Nginx;
  let redis: PrivateRedis;
  let onOfficial: RecordingClient;
  /**
   * Clients through nginx; each (re)joins "lobby" on every connect and records which node serves it.
   * `inLobby` is true from the join's acknowledgement until the next disconnect.
   */
  const clients: {
    socket: ClientSocket;
    news: unknown[];
    node: string;
    connects: number;
    inLobby: boolean;
  }[] = [];
  const everyoneInLobby = () => clients.every((c) => c.inLobby && c.socket.connected);

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    const env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: key,
      CLUSTER_SECRET: "three-nodes-cluster-secret",
    };
    nodes = await Promise.all([
      SwitchboardProcess.start(env),
      SwitchboardProcess.start(env),
      SwitchboardProcess.start(env),
    ]);
    official = await OfficialNode.start(redis.url, key);
    nginx = await Nginx.start(nodes.map((node) => node.port));
    onOfficial = await recordingClient(official.url);
    await onOfficial.join("lobby");
    for (const transports of [["polling"], ["websocket"], ["polling", "websocket"]] as const) {
      for (let i = 0; i < 3; i++) {
        const socket = connect(nginx.url, {
          transports: [...transports],
          forceNew: true,
          reconnectionDelay: 100,
          reconnectionDelayMax: 300,
          timeout: 3000,
        });
        const entry = { socket, news: [] as unknown[], node: "", connects: 0, inLobby: false };
        socket.on("news", (payload: unknown) => entry.news.push(payload));
        socket.on("disconnect", () => {
          entry.inLobby = false;
        });
        socket.on("connect", async () => {
          await socket.timeout(3000).emitWithAck("join", "lobby");
          entry.node = ((await socket.timeout(3000).emitWithAck("echo", null)) as { node: string }).node;
          entry.connects++;
          entry.inLobby = socket.connected;
        });
        clients.push(entry);
      }
    }
    await waitFor(
      "all clients joined",
      () => clients.every((c) => c.connects === 1) && everyoneInLobby(),
      10_000,
    );
  });

  afterAll(async () => {
    for (const c of clients) c.socket.close();
    onOfficial?.close();
    official?.stop();
    await nginx?.stop();
    await Promise.all(nodes?.map((node) => node.kill()) ?? []);
    await redis?.stop();
  });

  test("before the kill, the official node reaches every client of the three nodes", async () => {
    expect(await official.run<number>("serverCount")).toBe(4);
    await official.run("emit", { rooms: ["lobby"], event: "news", args: ["before"] });
    await waitFor("everyone got it", () => clients.every((c) => c.news.includes("before")));
  });

  test("a node killed with SIGKILL: its clients reconnect through nginx and the cluster carries on", async () => {
    const victim = nodes.find((node) => clients.some((c) => c.node === node.nodeId))!;
    const orphans = clients.filter((c) => c.node === victim.nodeId);
    expect(orphans.length).toBeGreaterThan(0);
    await victim.kill();
    await waitFor(
      "orphans reconnected to a survivor",
      () => orphans.every((c) => c.connects >= 2 && c.node !== victim.nodeId),
      15_000,
    );
    // Survivors' polling clients whose relayed request the victim cut reconnect as well.
    await waitFor("every client back in the lobby", everyoneInLobby, 15_000);
    expect(clients.every((c) => c.node !== victim.nodeId)).toBe(true);
    await waitFor("three servers left", async () => (await official.run<number>("serverCount")) === 3, 5000);

    const sockets = await official.run<{ id: string }[]>("fetchSockets", { rooms: ["lobby"] });
    expect(sockets).toHaveLength(clients.length + 1);
    const answers = await within(
      "serverSideEmit",
      official.run<string[]>("serverSideEmit", { arg: "alive?" }),
    );
    expect(answers).toHaveLength(2);
  }, 45_000);

  test("after the kill, a broadcast from the official node reaches every client exactly once", async () => {
    await official.run("emit", { rooms: ["lobby"], event: "news", args: ["after"] });
    await waitFor("everyone got the broadcast after the kill", () =>
      clients.every((c) => c.news.includes("after")),
    );
    expect(clients.map((c) => c.news.filter((n) => n === "after").length)).toEqual(clients.map(() => 1));
  });

  test("Redis restarted mid-test: every node reconnects and broadcasts cross again", async () => {
    await redis.stop();
    await Bun.sleep(300);
    await redis.restart();
    // The official node's client and the Switchboard nodes all reconnect and resubscribe by themselves.
    await waitFor(
      "three servers back",
      async () => (await official.run<number>("serverCount").catch(() => 0)) === 3,
      15_000,
    );
    await waitFor(
      "a broadcast after the restart reaches everyone",
      async () => {
        await official.run("emit", { rooms: ["lobby"], event: "news", args: ["after-restart"] });
        await Bun.sleep(100);
        return clients.every((c) => c.news.includes("after-restart"));
      },
      15_000,
    );
  });
});
